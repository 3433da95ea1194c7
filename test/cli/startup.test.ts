/**
 * What `joch validate` loads: only what validating needs. The cluster client,
 * the Git library, cdk8s, the logger, the signing library and ajv's compiler
 * are for other commands (the schemas are precompiled at build time), and a
 * small repository starts no worker thread. Checked on the installed entry
 * (bin/joch.js) with a module hook that records every module resolved.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const exec = promisify(execFile);

/** Packages (or their heavy parts) that must stay off the validate path. */
const HEAVY = ['@kubernetes/client-node', 'isomorphic-git', 'cdk8s', 'constructs', 'pino', 'openpgp', 'prom-client', 'ajv/dist/2020', 'ajv/dist/core'];

let dir: string;
let hook: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'joch-startup-'));
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

async function modulesLoadedBy(args: string[]): Promise<string[]> {
  const out = path.join(dir, `modules-${args.join('-').replace(/[^a-z0-9-]/gi, '_')}.txt`);
  await exec(process.execPath, ['--import', pathToFileURL(hook).href, path.join(ROOT, 'bin/joch.js'), ...args], {
    cwd: ROOT,
    // A cold cache of its own: a warm one would answer without loading the validators the check looks for.
    env: { ...process.env, JOCH_TEST_MODULES: out, JOCH_CACHE_DIR: mkdtempSync(path.join(dir, 'cache-')) },
  });
  return readFileSync(out, 'utf8').split('\n');
}

const fromPackage = (modules: readonly string[], name: string) => modules.filter((m) => m.includes(`/node_modules/${name}/`) || m.includes(`/node_modules/${name}.`));

describe('the validate path', () => {
  it('loads none of the modules other commands need, and no worker', async () => {
    const modules = await modulesLoadedBy(['validate', 'examples/fleet']);
    // The hook works: the modules validate does need are seen.
    expect(fromPackage(modules, 'yaml').length).toBeGreaterThan(0);
    expect(modules.some((m) => m.endsWith('/dist/schema/validators.generated.cjs'))).toBe(true);
    for (const name of HEAVY) expect(fromPackage(modules, name), name).toEqual([]);
    // The sync command's definition reads its flag table from reconcile/flags.js (no zod); nothing else of the sync loop loads.
    const stages = modules.filter((m) => /\/dist\/(cluster|compile|reconcile|agbom|source\/git)/.test(m));
    expect(stages.map((m) => m.replace(/^.*\/dist\//, ''))).toEqual(['reconcile/flags.js']);
    expect(modules).not.toContain('worker-thread');
  }, 60_000);

  it('--version loads no pipeline stage', async () => {
    const modules = await modulesLoadedBy(['--version']);
    expect(modules.filter((m) => /\/dist\/(pipeline|schema|manifests|policy|source)\//.test(m))).toEqual([]);
    // Nor the option schemas: every command's definition is built at start, and none may pull zod in for the others.
    expect(fromPackage(modules, 'zod')).toEqual([]);
  }, 60_000);
});
