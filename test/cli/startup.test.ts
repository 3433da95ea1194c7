/**
 * What `joch validate` loads and runs: only what validating needs. The
 * cluster client, the Git library, cdk8s, the logger, the signing library and
 * ajv's compiler are for other commands (the schemas are precompiled at build
 * time), and a small repository starts no worker thread. Checked on the
 * installed entry (bin/joch.js): a module hook records every module resolved
 * (the dependencies left out of the bundle, by their node_modules path, and
 * the bundle's own files), and V8's coverage tells which modules of the
 * command's script, dist/bundle/joch.cjs, ran (esbuild marks each module's
 * code with a `// path` line, and each module's initialiser is a function).
 * The ES module files of the bundle map to their inputs through esbuild's
 * record (a build into a temporary folder gives the same names and bytes:
 * the build is deterministic, which a test below checks).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { crc32 } from 'node:zlib';
import type { Metafile } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCliBundle, CLI_BUNDLE_DIR, CLI_SCRIPT } from '../../src/cli/bundle.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BUNDLE = path.join(ROOT, CLI_BUNDLE_DIR);
const exec = promisify(execFile);

/** Packages (or their heavy parts) that must stay off the validate path. */
const HEAVY = ['@kubernetes/client-node', 'isomorphic-git', 'cdk8s', 'constructs', 'pino', 'openpgp', 'prom-client', 'ajv/dist/2020', 'ajv/dist/core'];

let dir: string;
let hook: string;
/** Each file of the bundle (by name) to the sources and packages inlined into it. */
let inputsOf: Map<string, string[]>;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'joch-startup-'));
  const meta: Metafile = await buildCliBundle(path.join(dir, 'bundle'));
  inputsOf = new Map(Object.entries(meta.outputs).map(([file, out]) => [path.basename(file), Object.keys(out.inputs)]));
  hook = path.join(dir, 'record.mjs');
  // module.registerHooks sees import() and require() alike, in this thread; worker threads are recorded by their start.
  writeFileSync(
    hook,
    `import { registerHooks } from 'node:module';
import { writeFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
const seen = new Set();
registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); seen.add(r.url); return r; } });
const Original = Worker.prototype.postMessage;
Worker.prototype.postMessage = function (...args) { seen.add('worker-thread'); return Original.apply(this, args); };
process.on('exit', () => writeFileSync(process.env.JOCH_TEST_MODULES, [...seen].join('\\n')));
`,
  );
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  /** Every module URL resolved, and `worker-thread` when one started. */
  readonly modules: string[];
  /** The sources and packages whose code ran: in the script, or inlined into an ES module file of the bundle that loaded. */
  readonly ran: string[];
  readonly stdout: string;
}

async function modulesAndOutput(args: string[]): Promise<Run> {
  const out = path.join(dir, `modules-${args.join('-').replace(/[^a-z0-9-]/gi, '_')}.txt`);
  const coverage = mkdtempSync(path.join(dir, 'coverage-'));
  const run = exec(process.execPath, ['--import', pathToFileURL(hook).href, path.join(ROOT, 'bin/joch.js'), ...args], {
    cwd: ROOT,
    // A cold cache of its own: a warm one would answer without loading the validators the check looks for.
    env: { ...process.env, CI: '', JOCH_TEST_MODULES: out, JOCH_CACHE_DIR: mkdtempSync(path.join(dir, 'cache-')), NODE_V8_COVERAGE: coverage },
  });
  // Exit code 1 (errors found) is an answer too.
  const { stdout } = await run.catch((e: { code?: number; stdout?: string }) => {
    if (e.code === 1 && e.stdout !== undefined) return { stdout: e.stdout };
    throw e;
  });
  const modules = readFileSync(out, 'utf8').split('\n');
  return { modules, ran: [...ranInScript(coverage), ...inlinedIn(modules)], stdout };
}

interface CoveredFunction {
  readonly ranges: readonly { readonly startOffset: number; readonly count: number }[];
}

/** The modules of the command's script with a function that was called (a module's initialiser is one). */
function ranInScript(coverageDir: string): string[] {
  const scriptUrl = pathToFileURL(path.join(BUNDLE, CLI_SCRIPT)).href;
  const source = readFileSync(path.join(BUNDLE, CLI_SCRIPT), 'latin1');
  const marks = [...source.matchAll(/^\s*\/\/ ((?:src|node_modules)\/\S+)$/gm)].map((m) => ({ at: m.index, name: m[1] ?? '' }));
  const moduleAt = (offset: number) => marks.findLast((m) => m.at <= offset)?.name;
  const ran = new Set<string>();
  for (const file of readdirSync(coverageDir)) {
    const { result } = JSON.parse(readFileSync(path.join(coverageDir, file), 'utf8')) as { result: { url: string; functions: CoveredFunction[] }[] };
    for (const script of result.filter((r) => r.url === scriptUrl)) {
      for (const fn of script.functions) {
        const [whole] = fn.ranges;
        const name = whole && whole.count > 0 ? moduleAt(whole.startOffset) : undefined;
        if (name) ran.add(name);
      }
    }
  }
  return [...ran].sort();
}

/** The sources and packages inlined into the ES module files of dist/bundle that a run loaded. */
function inlinedIn(modules: readonly string[]): string[] {
  const prefix = pathToFileURL(BUNDLE).href + '/';
  return modules.filter((m) => m.startsWith(prefix)).flatMap((m) => inputsOf.get(m.slice(prefix.length)) ?? []);
}

const inlinedFrom = (inputs: readonly string[], name: string) => inputs.filter((i) => i.includes(`node_modules/${name}/`));

const fromPackage = (modules: readonly string[], name: string) => modules.filter((m) => m.includes(`/node_modules/${name}/`) || m.includes(`/node_modules/${name}.`));

describe('the validate path', () => {
  it('loads none of the modules other commands need, and no worker', async () => {
    const { modules, ran: inlined } = await modulesAndOutput(['validate', 'examples/fleet']);
    // The hook and the coverage work: the validators and the code validate needs are seen.
    expect(inlined).toContain('src/cli/main.ts');
    expect(modules).toContain(pathToFileURL(path.join(BUNDLE, 'validators.generated.cjs')).href);
    expect(inlined).toContain('src/pipeline/index.ts');
    expect(inlined).toContain('src/manifests/yaml-fast.ts');
    // Every file of the example fleet is in the fast scanner's subset, and so are the places of its findings: no `yaml`.
    expect([...fromPackage(modules, 'yaml'), ...inlinedFrom(inlined, 'yaml')]).toEqual([]);
    // Nothing runs from the tsc output, and the packages left out of the bundle are not loaded either.
    expect(modules.filter((m) => /\/dist\/(?!bundle\/)/.test(m))).toEqual([]);
    for (const name of HEAVY) expect([...fromPackage(modules, name), ...inlinedFrom(inlined, name)], name).toEqual([]);
    // The sync command's definition reads its flag table from reconcile/flags.ts (no zod); nothing else of the sync loop runs.
    const stages = inlined.filter((m) => /^src\/(cluster|compile|reconcile|agbom|source\/git)/.test(m));
    expect(stages).toEqual(['src/reconcile/flags.ts']);
    expect(modules).not.toContain('worker-thread');
    // A common, valid joch.yaml and a correct command line are read without zod (src/config/common.ts).
    expect([...fromPackage(modules, 'zod'), ...inlinedFrom(inlined, 'zod')]).toEqual([]);
    expect(inlined.filter((m) => m.startsWith('src/config/')).sort()).toEqual(['src/config/common.ts', 'src/config/index.ts']);
  }, 60_000);

  it('loads zod for a joch.yaml outside the common subset, and explains its mistakes', async () => {
    const repo = mkdtempSync(path.join(dir, 'repo-'));
    writeFileSync(path.join(repo, 'joch.yaml'), 'workloads:\n  podSecurity: sometimes\n');
    const { modules, ran, stdout } = await modulesAndOutput(['validate', repo]);
    expect(modules).toContain(pathToFileURL(path.join(BUNDLE, 'config-schema.js')).href);
    expect(inlinedFrom(ran, 'zod').length).toBeGreaterThan(0);
    expect(stdout).toMatch(/joch\.yaml:2:16 error JOCH001 joch\.yaml: workloads\.podSecurity: Invalid option/);
  }, 60_000);

  it('loads yaml for a file outside the fast subset, once, from node_modules', async () => {
    const repo = mkdtempSync(path.join(dir, 'repo-'));
    writeFileSync(path.join(repo, 'model.yaml'), 'apiVersion: joch.dev/v1alpha1\nkind: Model\nmetadata: &m {name: m}\nspec: {}\n');
    const { modules, ran, stdout } = await modulesAndOutput(['validate', repo]);
    expect(fromPackage(modules, 'yaml').length).toBeGreaterThan(0);
    expect(inlinedFrom(ran, 'yaml')).toEqual([]);
    expect(stdout).toMatch(/model\.yaml:4:1 error JOCH302 missing required field "model" in spec/);
  }, 60_000);

  it('--version loads no pipeline stage', async () => {
    const { modules, ran: inlined } = await modulesAndOutput(['--version']);
    expect(inlined).toContain('src/cli/main.ts');
    expect(inlined.filter((m) => /^src\/(pipeline|schema|manifests|policy|source)\//.test(m))).toEqual([]);
    // Nor the option schemas: every command's definition is built at start, and none may pull zod in for the others.
    expect([...fromPackage(modules, 'zod'), ...inlinedFrom(inlined, 'zod')]).toEqual([]);
  }, 60_000);
});

describe('the bundle', () => {
  it('is what a fresh build writes, byte for byte', () => {
    const fresh = path.join(dir, 'bundle');
    const names = readdirSync(fresh).sort();
    expect(names).toContain(CLI_SCRIPT);
    expect(readdirSync(BUNDLE).sort()).toEqual(names);
    // Buffer.equals: a deep equality of a 2 MB script element by element takes seconds.
    for (const name of names) expect(readFileSync(path.join(BUNDLE, name)).equals(readFileSync(path.join(fresh, name))), name).toBe(true);
  });
});

describe("the script's code cache", () => {
  /** A run of the installed entry with its own compile cache folder (Node's NODE_COMPILE_CACHE); exit code 0 expected. */
  async function runWith(cacheFolder: string, args: string[], nodeArgs: string[] = []): Promise<string> {
    const { stdout } = await exec(process.execPath, [...nodeArgs, path.join(ROOT, 'bin/joch.js'), ...args], {
      cwd: ROOT,
      env: { ...process.env, CI: '', NODE_COMPILE_CACHE: cacheFolder, JOCH_CACHE_DIR: mkdtempSync(path.join(dir, 'cache-')) },
    });
    return stdout;
  }

  /** The script's cache files under a compile cache folder, relative. */
  function scriptCaches(cacheFolder: string): string[] {
    return readdirSync(cacheFolder, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.includes('joch-script') && f.endsWith('.v8'))
      .sort();
  }

  /** A cache file's checksum holds (4 bytes of CRC-32 of the rest). */
  const checksumHolds = (bytes: Buffer) => bytes.length > 4 && crc32(bytes.subarray(4)) === bytes.readUInt32LE(0);

  it('is written by a first run, used as is by the next, one file per command, and a damaged one is replaced', async () => {
    const folder = mkdtempSync(path.join(dir, 'compile-cache-'));
    const first = await runWith(folder, ['validate', 'examples/fleet']);
    const [file, ...others] = scriptCaches(folder);
    expect(others).toEqual([]);
    expect(path.basename(file ?? '')).toMatch(/^validate\.[0-9a-f]{32}\.[0-9a-f]{8}\.v8$/);
    const written = readFileSync(path.join(folder, file ?? ''));
    expect(checksumHolds(written)).toBe(true);
    const { mtimeMs } = statSync(path.join(folder, file ?? ''));

    // V8 accepted it: a rejected cache would be written again.
    expect(await runWith(folder, ['validate', 'examples/fleet'])).toBe(first);
    expect(statSync(path.join(folder, file ?? '')).mtimeMs).toBe(mtimeMs);

    // Bytes flipped in the middle: the checksum refuses them, the run is the same, and a sound file replaces them.
    const damaged = Buffer.from(written);
    for (let i = damaged.length >> 1; i < (damaged.length >> 1) + 64; i++) damaged[i] = (damaged[i] ?? 0) ^ 0xff;
    writeFileSync(path.join(folder, file ?? ''), damaged);
    expect(await runWith(folder, ['validate', 'examples/fleet'])).toBe(first);
    const replaced = readFileSync(path.join(folder, file ?? ''));
    expect(checksumHolds(replaced)).toBe(true);
    expect(replaced.equals(damaged)).toBe(false);

    // Another command, and other Node options (their V8 flags would make V8 reject the code of this set), get files of their own.
    await runWith(folder, ['--version']);
    await runWith(folder, ['validate', 'examples/fleet'], ['--stack-size=2000']);
    const names = scriptCaches(folder).map((f) => path.basename(f).split('.'));
    expect(names.map((n) => n[0]).sort()).toEqual(['-', 'validate', 'validate']);
    expect(new Set(names.map((n) => n[1])).size).toBe(1);
  }, 120_000);

  it('costs nothing but speed when it cannot be written, and NODE_DISABLE_COMPILE_CACHE turns it off', async () => {
    const expected = await runWith(mkdtempSync(path.join(dir, 'compile-cache-')), ['validate', 'examples/fleet']);
    // The script's folder is a file: nothing can be written under it (a permission would not stop root).
    const blocked = mkdtempSync(path.join(dir, 'compile-cache-'));
    await runWith(blocked, ['--version']);
    const versionFolder = readdirSync(blocked).find((f) => !f.startsWith('.'));
    rmSync(path.join(blocked, versionFolder ?? '', 'joch-script'), { recursive: true, force: true });
    writeFileSync(path.join(blocked, versionFolder ?? '', 'joch-script'), 'not a folder');
    expect(await runWith(blocked, ['validate', 'examples/fleet'])).toBe(expected);

    const off = mkdtempSync(path.join(dir, 'compile-cache-'));
    const { stdout } = await exec(process.execPath, [path.join(ROOT, 'bin/joch.js'), 'validate', 'examples/fleet'], {
      cwd: ROOT,
      env: { ...process.env, CI: '', NODE_COMPILE_CACHE: off, NODE_DISABLE_COMPILE_CACHE: '1', JOCH_CACHE_DIR: mkdtempSync(path.join(dir, 'cache-')) },
    });
    expect(stdout).toBe(expected);
    expect(readdirSync(off)).toEqual([]);
  }, 120_000);
});
