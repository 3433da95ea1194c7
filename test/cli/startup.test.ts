/**
 * What `joch validate` loads: only what validating needs. The cluster client,
 * the Git library, cdk8s, the logger, the signing library and ajv's compiler
 * are for other commands (the schemas are precompiled at build time), and a
 * small repository starts no worker thread. Checked on the installed entry
 * (bin/joch.js) with a module hook that records every module resolved: the
 * dependencies left out of the bundle by their node_modules path, the code
 * inlined into the bundle's chunks by the inputs esbuild records for each
 * chunk (a build into a temporary folder gives the same chunk names: the
 * build is deterministic, which the last test checks).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type { Metafile } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCliBundle, CLI_BUNDLE_DIR } from '../../src/cli/bundle.js';

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

async function modulesAndOutput(args: string[]): Promise<{ modules: string[]; stdout: string }> {
  const out = path.join(dir, `modules-${args.join('-').replace(/[^a-z0-9-]/gi, '_')}.txt`);
  const run = exec(process.execPath, ['--import', pathToFileURL(hook).href, path.join(ROOT, 'bin/joch.js'), ...args], {
    cwd: ROOT,
    // A cold cache of its own: a warm one would answer without loading the validators the check looks for.
    env: { ...process.env, CI: '', JOCH_TEST_MODULES: out, JOCH_CACHE_DIR: mkdtempSync(path.join(dir, 'cache-')) },
  });
  // Exit code 1 (errors found) is an answer too.
  const { stdout } = await run.catch((e: { code?: number; stdout?: string }) => {
    if (e.code === 1 && e.stdout !== undefined) return { stdout: e.stdout };
    throw e;
  });
  return { modules: readFileSync(out, 'utf8').split('\n'), stdout };
}

async function modulesLoadedBy(args: string[]): Promise<string[]> {
  return (await modulesAndOutput(args)).modules;
}

/** The sources and packages inlined into the files of dist/bundle that a run loaded. */
function inlinedIn(modules: readonly string[]): string[] {
  const prefix = pathToFileURL(BUNDLE).href + '/';
  return modules.filter((m) => m.startsWith(prefix)).flatMap((m) => inputsOf.get(m.slice(prefix.length)) ?? []);
}

const inlinedFrom = (inputs: readonly string[], name: string) => inputs.filter((i) => i.includes(`node_modules/${name}/`));

const fromPackage = (modules: readonly string[], name: string) => modules.filter((m) => m.includes(`/node_modules/${name}/`) || m.includes(`/node_modules/${name}.`));

describe('the validate path', () => {
  it('loads none of the modules other commands need, and no worker', async () => {
    const modules = await modulesLoadedBy(['validate', 'examples/fleet']);
    const inlined = inlinedIn(modules);
    // The hook and the map work: the bundle's entry, the validators and the code validate needs are seen.
    expect(modules).toContain(pathToFileURL(path.join(BUNDLE, 'joch.js')).href);
    expect(modules).toContain(pathToFileURL(path.join(BUNDLE, 'validators.generated.cjs')).href);
    expect(inlined).toContain('src/pipeline/index.ts');
    expect(inlined).toContain('src/manifests/yaml-fast.ts');
    // Every file of the example fleet is in the fast scanner's subset, and so are the places of its findings: no `yaml`.
    expect([...fromPackage(modules, 'yaml'), ...inlinedFrom(inlined, 'yaml')]).toEqual([]);
    // Nothing runs from the tsc output, and the packages left out of the bundle are not loaded either.
    expect(modules.filter((m) => /\/dist\/(?!bundle\/)/.test(m))).toEqual([]);
    for (const name of HEAVY) expect([...fromPackage(modules, name), ...inlinedFrom(inlined, name)], name).toEqual([]);
    // The sync command's definition reads its flag table from reconcile/flags.ts (no zod); nothing else of the sync loop loads.
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
    const { modules, stdout } = await modulesAndOutput(['validate', repo]);
    expect(modules).toContain(pathToFileURL(path.join(BUNDLE, 'config-schema.js')).href);
    expect(inlinedFrom(inlinedIn(modules), 'zod').length).toBeGreaterThan(0);
    expect(stdout).toMatch(/joch\.yaml:2:16 error JOCH001 joch\.yaml: workloads\.podSecurity: Invalid option/);
  }, 60_000);

  it('loads yaml for a file outside the fast subset, once, from node_modules', async () => {
    const repo = mkdtempSync(path.join(dir, 'repo-'));
    writeFileSync(path.join(repo, 'model.yaml'), 'apiVersion: joch.dev/v1alpha1\nkind: Model\nmetadata: &m {name: m}\nspec: {}\n');
    const { modules, stdout } = await modulesAndOutput(['validate', repo]);
    expect(fromPackage(modules, 'yaml').length).toBeGreaterThan(0);
    expect(inlinedFrom(inlinedIn(modules), 'yaml')).toEqual([]);
    expect(stdout).toMatch(/model\.yaml:4:1 error JOCH302 missing required field "model" in spec/);
  }, 60_000);

  it('--version loads no pipeline stage', async () => {
    const modules = await modulesLoadedBy(['--version']);
    const inlined = inlinedIn(modules);
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
    expect(names).toContain('joch.js');
    expect(readdirSync(BUNDLE).sort()).toEqual(names);
    for (const name of names) expect(readFileSync(path.join(BUNDLE, name)), name).toEqual(readFileSync(path.join(fresh, name)));
  });
});
