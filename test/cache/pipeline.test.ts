/**
 * The persistent cache changes how fast, never what: cached and uncached
 * runs print the same diagnostics and write the same files, a changed file is
 * worked out again (and only it), another build never reads an entry, and
 * `--no-cache` writes nothing.
 */
import { cpSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CacheStore, cacheUsage } from '../../src/cache/index.js';
import { runCompile } from '../../src/pipeline/compile.js';
import { runValidate } from '../../src/pipeline/index.js';
import { runSnapshot } from '../../src/pipeline/snapshot.js';
import { readLocalSourceSync } from '../../src/source/local.js';
import { cli, tmpDir } from '../support/repo.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A copy of a folder of this repository, with a .git folder so joch.yaml is looked up no further. */
function copyOf(rel: string): string {
  const dir = tmpDir('joch-cache-repo-');
  cpSync(path.join(ROOT, rel), dir, { recursive: true });
  cpSync(path.join(ROOT, 'schemas'), path.join(dir, 'schemas'), { recursive: true });
  return dir;
}

/** Every file under a folder, by relative path, with its bytes. */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const full = path.join(d, name);
      if (statSync(full).isDirectory()) walk(full);
      else out[path.relative(dir, full)] = readFileSync(full, 'base64');
    }
  };
  walk(dir);
  return out;
}

const CONFORMANCE = 'test/fixtures/conformance';
const SECRET = 'sk-proj-' + 'Zq8rT2vL9wX4yB7nM3kP6sD1fG5hJ0aC';
const LEAKY_MODEL = `apiVersion: model.joch.dev/v1alpha1\nkind: Model\nmetadata:\n  name: leaky\nspec:\n  provider: openai\n  model: gpt-5\n  apiKey: ${SECRET}\n`;

describe('validate with and without the cache', () => {
  it('prints byte-identical diagnostics in every format: uncached, filling the cache, and from it', async () => {
    const repo = copyOf(CONFORMANCE);
    const cacheDir = path.join(tmpDir('joch-cache-'), 'c');
    const env = { JOCH_CACHE_DIR: cacheDir };
    for (const format of ['text', 'json', 'sarif']) {
      const uncached = await cli(['validate', '-o', format, '--no-cache'], repo, { env });
      const cold = await cli(['validate', '-o', format], repo, { env });
      const warm = await cli(['validate', '-o', format], repo, { env });
      expect(uncached.code).toBe(1);
      expect(uncached.stdout.length).toBeGreaterThan(1000);
      expect(cold.stdout).toBe(uncached.stdout);
      expect(warm.stdout).toBe(uncached.stdout);
      expect([cold.code, warm.code]).toEqual([uncached.code, uncached.code]);
    }
    // One entry holds the project's files. The fixture defines an agent twice, so no incremental state is kept.
    expect(cacheUsage(cacheDir).entries).toBe(1);
  });

  it('serves every unchanged file from the cache, and works out a changed one again', async () => {
    const repo = copyOf(CONFORMANCE);
    writeFileSync(path.join(repo, 'leaky.yaml'), LEAKY_MODEL);
    const dir = tmpDir('joch-cache-');
    const first = new CacheStore({ dir, buildId: 'test' });
    const cold = await runValidate({ paths: [], cwd: repo, cache: first });
    const files = cold.set.files.length;
    // A file with a credential finding is never stored, so it misses every time.
    const withCredentials = new Set(cold.diagnostics.filter((d) => d.code === 'JOCH601' || d.code === 'JOCH602').map((d) => d.file)).size;
    expect(withCredentials).toBeGreaterThan(0);
    expect(cold.cached).toEqual({ reused: 0, worked: files });
    expect(first.counters.writes).toBe(1);

    const second = new CacheStore({ dir, buildId: 'test' });
    const warm = await runValidate({ paths: [], cwd: repo, cache: second });
    expect(warm.cached).toEqual({ reused: files - withCredentials, worked: withCredentials });
    // Files that can never be stored are no reason to write the project's entry again.
    expect(second.counters.writes).toBe(0);
    expect(warm.diagnostics).toEqual(cold.diagnostics);
    expect(warm.set.resources).toEqual(cold.set.resources);

    const clean = cold.set.files.find((f) => !cold.diagnostics.some((d) => d.file === f.path && d.code.startsWith('JOCH6'))) as { path: string };
    const abs = path.join(repo, clean.path);
    writeFileSync(abs, `${readFileSync(abs, 'utf8')}\n# changed\n`);
    const third = new CacheStore({ dir, buildId: 'test' });
    const changed = await runValidate({ paths: [], cwd: repo, cache: third });
    expect(changed.cached).toEqual({ reused: files - withCredentials - 1, worked: withCredentials + 1 });
    expect(third.counters.writes).toBe(1);
    const uncached = await runValidate({ paths: [], cwd: repo });
    expect(changed.diagnostics).toEqual(uncached.diagnostics);
  });

  it('keeps the files a narrower run did not read', async () => {
    const repo = copyOf(CONFORMANCE);
    const dir = tmpDir('joch-cache-');
    const whole = await runValidate({ paths: [], cwd: repo, cache: new CacheStore({ dir, buildId: 't' }) });
    const one = whole.set.files[0]?.path as string;
    writeFileSync(path.join(repo, one), `${readFileSync(path.join(repo, one), 'utf8')}\n# edited\n`);
    const narrow = await runValidate({ paths: [one], cwd: repo, cache: new CacheStore({ dir, buildId: 't' }) });
    expect(narrow.cached).toEqual({ reused: 0, worked: 1 });
    const again = await runValidate({ paths: [], cwd: repo, cache: new CacheStore({ dir, buildId: 't' }) });
    expect(again.cached).toEqual({ reused: whole.set.files.length, worked: 0 });
  });

  it('never reads an entry written by another version of the tool', async () => {
    const repo = copyOf(CONFORMANCE);
    const dir = tmpDir('joch-cache-');
    const first = await runValidate({ paths: [], cwd: repo, cache: new CacheStore({ dir, buildId: 'joch 0.1.0 schemas A' }) });
    const same = await runValidate({ paths: [], cwd: repo, cache: new CacheStore({ dir, buildId: 'joch 0.1.0 schemas A' }) });
    expect(same.cached?.reused).toBeGreaterThan(0);
    const other = new CacheStore({ dir, buildId: 'joch 0.1.1 schemas A' });
    const otherRun = await runValidate({ paths: [], cwd: repo, cache: other });
    expect(other.counters.hits).toBe(0);
    expect(otherRun.cached).toEqual({ reused: 0, worked: first.set.files.length });
    const schemaChanged = new CacheStore({ dir, buildId: 'joch 0.1.0 schemas B' });
    const schemaRun = await runValidate({ paths: [], cwd: repo, cache: schemaChanged });
    expect(schemaChanged.counters.hits).toBe(0);
    expect(schemaRun.cached?.reused).toBe(0);
  });

  it('keeps the schema findings apart from a run that did not check schemas', async () => {
    const repo = copyOf(CONFORMANCE);
    const dir = tmpDir('joch-cache-');
    const all = await runValidate({ paths: [], cwd: repo, cache: new CacheStore({ dir, buildId: 't' }) });
    const checks = new Set(['identity', 'references', 'secrets'] as const);
    const narrow = await runValidate({ paths: [], cwd: repo, checks, cache: new CacheStore({ dir, buildId: 't' }) });
    const narrowUncached = await runValidate({ paths: [], cwd: repo, checks });
    expect(all.diagnostics.some((d) => d.code.startsWith('JOCH30'))).toBe(true);
    expect(narrow.diagnostics).toEqual(narrowUncached.diagnostics);
  });

  it('stores no file that holds a credential, nor the credential', async () => {
    const repo = tmpDir('joch-cache-repo-');
    writeFileSync(path.join(repo, 'clean.yaml'), 'apiVersion: model.joch.dev/v1alpha1\nkind: Model\nmetadata:\n  name: clean\nspec:\n  provider: openai\n  model: gpt-5\n');
    writeFileSync(path.join(repo, 'model.yaml'), LEAKY_MODEL);
    const cacheDir = tmpDir('joch-cache-');
    const run = await cli(['validate', '-o', 'json'], repo, { env: { JOCH_CACHE_DIR: cacheDir } });
    expect(run.stdout).toContain('JOCH601');
    const stored = Object.values(tree(cacheDir)).map((b64) => Buffer.from(b64, 'base64'));
    expect(stored.length).toBeGreaterThan(0);
    for (const bytes of stored) expect(bytes.includes(SECRET)).toBe(false);
  });
});

describe('compile with and without the cache', () => {
  it('writes byte-identical files and findings; a warm run builds no unit again', async () => {
    const repo = copyOf('examples/fleet');
    const cacheDir = path.join(tmpDir('joch-cache-'), 'c');
    const out = tmpDir('joch-cache-out-');
    const env = { JOCH_CACHE_DIR: cacheDir, SOURCE_DATE_EPOCH: '1735689600' };
    const runs = [];
    for (const [name, flags] of [
      ['uncached', ['--no-cache']],
      ['cold', []],
      ['warm', []],
    ] as const) {
      const dir = path.join(out, name);
      const r = await cli(['compile', '--output-dir', dir, '-o', 'json', ...flags], repo, { env });
      expect(r.code, r.stderr).toBe(0);
      runs.push({ stdout: r.stdout, files: tree(dir) });
    }
    expect(Object.keys(runs[0]?.files ?? {}).length).toBeGreaterThan(50);
    expect(runs[1]).toEqual(runs[0]);
    expect(runs[2]).toEqual(runs[0]);

    // Records many agents read (a model, a policy, a tool): every output that depends on one follows its change.
    for (const [rel, from, to] of [
      ['platform/models.yaml', 'inputPerMillionTokens: 5\n', 'inputPerMillionTokens: 6\n'],
      ['platform/policies.yaml', '- name: allowlisted-providers\n', '- name: allowlisted-model-providers\n'],
      ['support-platform/tools/zendesk.yaml', /(description: .*)\n/, '$1 Now faster.\n'],
    ] as const) {
      const file = path.join(repo, rel);
      const text = readFileSync(file, 'utf8');
      writeFileSync(file, text.replace(from, to));
      expect(readFileSync(file, 'utf8'), rel).not.toBe(text);
      const before = tree(path.join(out, 'warm'));
      const cached = await cli(['compile', '--output-dir', path.join(out, 'warm'), '-o', 'json'], repo, { env });
      const fresh = await cli(['compile', '--output-dir', path.join(out, 'uncached'), '-o', 'json', '--no-cache'], repo, { env });
      expect([cached.code, fresh.code], rel).toEqual([0, 0]);
      expect(tree(path.join(out, 'warm')), rel).not.toEqual(before);
      expect(cached.stdout, rel).toBe(fresh.stdout);
      expect(tree(path.join(out, 'warm')), rel).toEqual(tree(path.join(out, 'uncached')));
    }

    // From a fresh process's point of view (a new compiler), every unit comes from the store.
    const store = new CacheStore({ dir: cacheDir, buildId: 'compile-test' });
    await runCompile({ paths: [], cwd: repo, cache: store });
    const warm = await runCompile({ paths: [], cwd: repo, cache: new CacheStore({ dir: cacheDir, buildId: 'compile-test' }) });
    expect(warm.output?.stats.built).toBe(1); // the shared unit, rebuilt every run by design
  });

  it('rebuilds only the units of a changed agent', async () => {
    const repo = copyOf('examples/fleet');
    const dir = tmpDir('joch-cache-');
    const cold = await runCompile({ paths: [], cwd: repo, cache: new CacheStore({ dir, buildId: 't' }) });
    const agent = cold.validation.set.resources.find((r) => r.kind === 'Agent') as { file: string };
    const abs = path.join(repo, agent.file);
    const text = readFileSync(abs, 'utf8');
    writeFileSync(abs, text.replace(/description: (.*)/, 'description: $1 (changed)'));
    expect(readFileSync(abs, 'utf8')).not.toBe(text);
    const store = new CacheStore({ dir, buildId: 't' });
    const changed = await runCompile({ paths: [], cwd: repo, cache: store });
    const uncached = await runCompile({ paths: [], cwd: repo });
    expect(changed.output?.stats.built).toBeLessThan((cold.output?.stats.built ?? 0) / 2);
    // Only the entries holding a rebuilt unit are written again (with the files' findings).
    const unitEntries = cacheUsage(dir).entries - 1;
    expect(store.counters.writes - 1).toBeLessThanOrEqual((changed.output?.stats.built ?? 0) - 1);
    expect(store.counters.writes - 1).toBeLessThan(unitEntries / 2);
    expect(changed.output?.stats.built).toBeGreaterThan(1);
    expect(changed.diagnostics).toEqual(uncached.diagnostics);
    expect(changed.output?.objects).toEqual(uncached.output?.objects);
    expect(changed.output?.manifests).toEqual(uncached.output?.manifests);
  });
});

describe('turning the cache off', () => {
  it('--no-cache and JOCH_NO_CACHE=1 write nothing', async () => {
    const repo = copyOf('examples/fleet');
    const cacheDir = path.join(tmpDir('joch-cache-'), 'never');
    const out = tmpDir('joch-cache-out-');
    await cli(['validate', '--no-cache'], repo, { env: { JOCH_CACHE_DIR: cacheDir } });
    await cli(['compile', '--output-dir', out, '--no-cache'], repo, { env: { JOCH_CACHE_DIR: cacheDir } });
    await cli(['validate'], repo, { env: { JOCH_CACHE_DIR: cacheDir, JOCH_NO_CACHE: '1' } });
    expect(existsSync(cacheDir)).toBe(false);
    await cli(['validate'], repo, { env: { JOCH_CACHE_DIR: cacheDir } });
    expect(cacheUsage(cacheDir).entries).toBeGreaterThan(0);
  });

  it('joch cache dir, stats and clear', async () => {
    const repo = copyOf('examples/fleet');
    const cacheDir = path.join(tmpDir('joch-cache-'), 'c');
    const env = { JOCH_CACHE_DIR: cacheDir };
    await cli(['validate'], repo, { env });
    expect((await cli(['cache', 'dir'], repo, { env })).stdout).toBe(`${cacheDir}\n`);
    const stats = JSON.parse((await cli(['cache', 'stats', '-o', 'json'], repo, { env })).stdout) as { entries: number; bytes: number };
    expect(stats.entries).toBeGreaterThan(0);
    expect((await cli(['cache', 'clear'], repo, { env })).stdout).toBe(`removed ${stats.entries} entries from ${cacheDir}\n`);
    expect(cacheUsage(cacheDir).entries).toBe(0);
  });
});

describe('the snapshot pipeline (the sync loop and the Action base)', () => {
  it('gives the same run from the store after a restart', () => {
    const repo = copyOf('examples/fleet');
    const snapshot = readLocalSourceSync({ root: repo, maxFileBytes: 1 << 20, cwd: repo }).snapshot;
    const dir = tmpDir('joch-cache-');
    const uncached = runSnapshot({ snapshot });
    runSnapshot({ snapshot, store: new CacheStore({ dir, buildId: 't' }) });
    const restarted = new CacheStore({ dir, buildId: 't' });
    const warm = runSnapshot({ snapshot, store: restarted });
    // The project's files and its compiled units (in entries by a hash of the unit): every entry served, none written.
    expect(restarted.counters.writes).toBe(0);
    expect(restarted.counters.hits).toBeGreaterThan(2);
    expect(restarted.counters.hits).toBe(cacheUsage(dir).entries);
    expect(warm.diagnostics).toEqual(uncached.diagnostics);
    expect(warm.output?.objects).toEqual(uncached.output?.objects);
    expect(warm.output?.stats.built).toBe(1);
  });
});
