#!/usr/bin/env node
// Entry point of the `joch` command. It runs the bundle the build writes,
// dist/bundle/joch.js (a few files, where the tsc output of dist/ is
// hundreds of modules to resolve at every start): the published package
// ships it, and in a checkout `npm ci` builds it (the `prepare` script).
import { existsSync, readFileSync } from 'node:fs';
import module from 'node:module';
import { homedir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// An older Node fails deep inside a dependency with a message that names
// neither joch nor Node; say so up front instead.
const { engines } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
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

enableCompileCache();

const main = new URL('../dist/bundle/joch.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  process.stderr.write('joch: dist/bundle is missing; in a checkout, run `npm ci` (or `npm run build`) first\n');
  process.exit(2);
}
const { runCli } = await import(main.href);
process.exitCode = await runCli(process.argv.slice(2));

/**
 * V8's code cache for joch's bundle and the dependencies it loads (Node >=
 * 22.1): a start reuses the previous one's compiled code instead of parsing
 * it again. Node keys the cache by its own version and each file's content, so it is never used across
 * versions and is safe to delete. NODE_COMPILE_CACHE (Node's own variable)
 * chooses the folder, NODE_DISABLE_COMPILE_CACHE=1 turns it off.
 */
function enableCompileCache() {
  if (typeof module.enableCompileCache !== 'function' || process.env.NODE_DISABLE_COMPILE_CACHE) return;
  try {
    module.enableCompileCache(process.env.NODE_COMPILE_CACHE || path.join(osCacheFolder(), 'joch', 'node-compile-cache'));
  } catch {
    // A read-only home or a full disk costs speed, never the command.
  }
}

/** The per-user cache folder of the platform (XDG on Linux). */
function osCacheFolder() {
  if (process.platform === 'win32') return process.env.LOCALAPPDATA || path.join(homedir(), 'AppData', 'Local');
  if (process.platform === 'darwin') return path.join(homedir(), 'Library', 'Caches');
  return process.env.XDG_CACHE_HOME || path.join(homedir(), '.cache');
}
