#!/usr/bin/env node
// Entry point of the `joch` command. It runs the command's script the build
// writes, dist/bundle/joch.cjs, compiled with V8's code cache of an earlier
// run (see runScript). CommonJS (bin/package.json): an ES module entry starts
// Node's ES module loader and builds a facade for each built-in module it
// imports, a few milliseconds of every start.
'use strict';
const { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } = require('node:fs');
const Module = require('node:module');
const { homedir } = require('node:os');
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const vm = require('node:vm');

// An older Node fails deep inside a dependency with a message that names
// neither joch nor Node; say so up front instead.
const { engines } = JSON.parse(readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8'));
const [wantMajor, wantMinor] = engines.node.replace(/^>=\s*/, '').split('.').map(Number);
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < wantMajor || (major === wantMajor && minor < (wantMinor ?? 0))) {
  process.stderr.write(`joch: Node.js ${engines.node} is required; this is ${process.version}\n`);
  process.exit(2);
}

// A reader that stops early (`joch compile --stdout | head -1`) closes the
// pipe: that is the reader's choice, not an error, so end quietly.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}

const BUNDLE = path.join(__dirname, '..', 'dist', 'bundle');
const SCRIPT = path.join(BUNDLE, 'joch.cjs');

const cacheDir = enableCompileCache();
let source;
try {
  // The build writes ASCII only (src/cli/bundle.ts): latin1 reads it exactly, without decoding UTF-8.
  source = readFileSync(SCRIPT, 'latin1');
} catch {
  process.stderr.write('joch: dist/bundle is missing; in a checkout, run `npm ci` (or `npm run build`) first\n');
  process.exit(2);
}
// runCli answers every error itself with an exit code; anything else is a bug, reported as an unhandled rejection.
void runScript(source, cacheDir && scriptCacheFile(cacheDir, process.argv.slice(2))).then((code) => {
  process.exitCode = code;
});

/**
 * Runs the command, then stores V8's code for the script when there was none
 * to use. Node's compile cache is written when a module is compiled, before
 * it runs, and V8 compiles most functions lazily, on their first call: they
 * were compiled again at every start. `script.createCachedData()` after the
 * run holds them too, so the next run of the command compiles nearly nothing.
 * The file is keyed by Node's version and the bundle's digest, and V8 checks
 * its own version, flags and the source again; a stored checksum catches a
 * damaged file. Any problem with it costs speed, never the command.
 */
async function runScript(text, cacheFile) {
  const cachedData = cacheFile && readCache(cacheFile);
  const script = new vm.Script(text, {
    filename: SCRIPT,
    cachedData,
    // The script's import() of the packages it leaves external goes through Node's own loader.
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  const cli = { exports: {} };
  script.runInThisContext()(cli.exports, Module.createRequire(SCRIPT), cli, SCRIPT, BUNDLE, pathToFileURL(SCRIPT).href);
  const code = await cli.exports.runCli(process.argv.slice(2));
  if (cacheFile && (cachedData === undefined || script.cachedDataRejected)) writeCache(cacheFile, script.createCachedData());
  return code;
}

/**
 * The script's code cache for this command line's command: one per command,
 * because each stores the functions its run compiled. Under Node's compile
 * cache folder, in a folder per Node version and platform; the name carries
 * the bundle's digest (written by its build) and Node's options, whose V8
 * flags would make V8 reject the code of another set.
 */
function scriptCacheFile(dir, args) {
  let digest;
  try {
    digest = readFileSync(path.join(BUNDLE, 'code-digest.txt'), 'latin1').trim();
  } catch {
    return undefined;
  }
  if (!/^[0-9a-f]{64}$/.test(digest)) return undefined;
  const command = args.find((a) => !a.startsWith('-'));
  const name = command && /^[a-z][a-z-]{0,31}$/.test(command) ? command : '-';
  const options = fnv1a(`${process.execArgv.join('\0')}\0${process.env.NODE_OPTIONS ?? ''}`);
  return path.join(dir, 'joch-script', `${process.version}-${process.platform}-${process.arch}`, `${name}.${digest.slice(0, 32)}.${options}.v8`);
}

/** The stored code when its checksum holds (4 bytes of CRC-32, then the data). */
function readCache(file) {
  let bytes;
  try {
    bytes = readFileSync(file);
  } catch {
    return undefined;
  }
  if (bytes.length <= 4) return undefined;
  const data = bytes.subarray(4);
  return require('node:zlib').crc32(data) === bytes.readUInt32LE(0) ? data : undefined;
}

/** Atomic (a reader sees the old file or the new one), and the command's files of other builds go. */
function writeCache(file, data) {
  try {
    const dir = path.dirname(file);
    mkdirSync(dir, { recursive: true });
    const header = Buffer.alloc(4);
    header.writeUInt32LE(require('node:zlib').crc32(data));
    const temp = `${file}.${process.pid}.tmp`;
    writeFileSync(temp, Buffer.concat([header, data]));
    renameSync(temp, file);
    const command = `${path.basename(file).split('.')[0]}.`;
    for (const other of readdirSync(dir)) {
      if (other.startsWith(command) && other !== path.basename(file) && other.endsWith('.v8')) rmSync(path.join(dir, other), { force: true });
    }
  } catch {
    // A read-only or full cache folder costs speed, never the command.
  }
}

/** A short hash of a short string, without loading node:crypto. */
function fnv1a(text) {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

/**
 * V8's code cache for the modules loaded from files (Node >= 22.1): the
 * dependencies a command loads from node_modules and the bundle's other
 * files. Node keys it by its own version and each file's content, so it is
 * never used across versions and is safe to delete. NODE_COMPILE_CACHE
 * (Node's own variable) chooses the folder, NODE_DISABLE_COMPILE_CACHE=1
 * turns it off, and the script's cache with it. Returns the folder in use.
 */
function enableCompileCache() {
  if (typeof Module.enableCompileCache !== 'function' || process.env.NODE_DISABLE_COMPILE_CACHE) return undefined;
  try {
    Module.enableCompileCache(process.env.NODE_COMPILE_CACHE || path.join(osCacheFolder(), 'joch', 'node-compile-cache'));
    return Module.getCompileCacheDir();
  } catch {
    // A read-only home or a full disk costs speed, never the command.
    return undefined;
  }
}

/** The per-user cache folder of the platform (XDG on Linux). */
function osCacheFolder() {
  if (process.platform === 'win32') return process.env.LOCALAPPDATA || path.join(homedir(), 'AppData', 'Local');
  if (process.platform === 'darwin') return path.join(homedir(), 'Library', 'Caches');
  return process.env.XDG_CACHE_HOME || path.join(homedir(), '.cache');
}
