import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, utimesSync, writeFileSync, cpSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { bundleCodeDigest, CacheStore, cacheDirectory, cacheUsage, clearCache, CODE_DIGEST_FILE, computeBuildId, openCache } from '../../src/cache/index.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const dirs: string[] = [];

function tmp(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'joch-cache-test-'));
  dirs.push(d);
  return d;
}

afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function entryFiles(dir: string): string[] {
  const root = path.join(dir, 'entries');
  let shards: string[];
  try {
    shards = readdirSync(root);
  } catch {
    return [];
  }
  return shards.flatMap((s) => readdirSync(path.join(root, s)).map((n) => path.join(root, s, n)));
}

describe('the store', () => {
  it('returns what was put, with the values JSON would lose', () => {
    const dir = tmp();
    const shared = { a: 1 };
    const value = { nan: NaN, negZero: -0, inf: -Infinity, bytes: new Uint8Array([0, 1, 255]), when: new Date(0), left: shared, right: shared };
    new CacheStore({ dir, buildId: 'b1' }).put('file', 'k', value);
    const back = new CacheStore({ dir, buildId: 'b1' }).get<typeof value>('file', 'k');
    expect(back).toEqual(value);
    expect(Object.is(back?.negZero, -0)).toBe(true);
    expect(back?.left).toBe(back?.right);
  });

  it('never serves an entry to another build, kind or key', () => {
    const dir = tmp();
    new CacheStore({ dir, buildId: 'version-1' }).put('file', 'k', 'v');
    const other = new CacheStore({ dir, buildId: 'version-2' });
    expect(other.get('file', 'k')).toBeUndefined();
    expect(new CacheStore({ dir, buildId: 'version-1' }).get('unit', 'k')).toBeUndefined();
    expect(new CacheStore({ dir, buildId: 'version-1' }).get('file', 'k2')).toBeUndefined();
    expect(other.counters).toMatchObject({ hits: 0, misses: 1 });
  });

  it('treats a truncated, overwritten or foreign entry as a miss, and writes it again', () => {
    const dir = tmp();
    const store = new CacheStore({ dir, buildId: 'b' });
    store.put('file', 'k', { big: 'x'.repeat(1000) });
    const [file] = entryFiles(dir);
    expect(file).toBeDefined();
    const whole = readFileSync(file as string);
    const damage: ((f: string) => void)[] = [
      (f) => truncateSync(f, whole.length - 10),
      (f) => truncateSync(f, 5),
      (f) => writeFileSync(f, Buffer.concat([whole.subarray(0, 50), Buffer.from('garbage'), whole.subarray(57)])),
      (f) => writeFileSync(f, 'not an entry at all'),
      (f) => writeFileSync(f, ''),
    ];
    for (const harm of damage) {
      writeFileSync(file as string, whole);
      harm(file as string);
      const reader = new CacheStore({ dir, buildId: 'b' });
      expect(reader.get('file', 'k')).toBeUndefined();
      reader.put('file', 'k', { big: 'x'.repeat(1000) });
      expect(reader.get('file', 'k')).toEqual({ big: 'x'.repeat(1000) });
    }
  });

  it('keeps its files private: 0600 entries in 0700 folders', () => {
    const dir = path.join(tmp(), 'cache');
    new CacheStore({ dir, buildId: 'b' }).put('file', 'k', 1);
    const [file] = entryFiles(dir);
    expect(statSync(file as string).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(file as string)).mode & 0o777).toBe(0o700);
    expect(statSync(path.join(dir, 'entries')).mode & 0o777).toBe(0o700);
  });

  it('evicts the least recently used entries beyond its bound', () => {
    const dir = tmp();
    const now = Date.now();
    const store = new CacheStore({ dir, buildId: 'b', maxBytes: 10_000, now: () => now });
    for (let i = 0; i < 10; i++) store.put('file', `k${i}`, 'y'.repeat(1500));
    // Entry i was last used i hours ago: the oldest go first.
    for (let i = 0; i < 10; i++) {
      const [file] = entryFiles(dir).filter((f) => readFileSync(f).subarray(8, 40).equals(digestOf('b', 'file', `k${i}`)));
      const t = (now - i * 3600_000) / 1000;
      utimesSync(file as string, t, t);
    }
    store.collect(true);
    expect(cacheUsage(dir).bytes).toBeLessThanOrEqual(8_000);
    const reader = new CacheStore({ dir, buildId: 'b' });
    const kept = [...Array(10).keys()].filter((i) => reader.get('file', `k${i}`) !== undefined);
    expect(kept.length).toBeGreaterThan(0);
    expect(kept).toEqual([...Array(kept.length).keys()]);
  });

  it('refreshes the LRU clock of an old entry it serves', () => {
    const dir = tmp();
    new CacheStore({ dir, buildId: 'b' }).put('file', 'k', 1);
    const [file] = entryFiles(dir);
    const old = Date.now() / 1000 - 3 * 24 * 3600;
    utimesSync(file as string, old, old);
    new CacheStore({ dir, buildId: 'b' }).get('file', 'k');
    expect(statSync(file as string).mtimeMs).toBeGreaterThan(old * 1000 + 24 * 3600_000);
  });

  it('is emptied by clearCache and rebuilt by the next write', () => {
    const dir = tmp();
    const store = new CacheStore({ dir, buildId: 'b' });
    store.put('file', 'a', 1);
    store.put('file', 'b', 2);
    expect(cacheUsage(dir).entries).toBe(2);
    clearCache(dir);
    expect(cacheUsage(dir).entries).toBe(0);
    expect(store.get('file', 'a')).toBeUndefined();
    store.put('file', 'a', 1);
    expect(store.get('file', 'a')).toBe(1);
  });

  it('goes on uncached when it cannot write', () => {
    const dir = tmp();
    const blocked = path.join(dir, 'file-not-folder');
    writeFileSync(blocked, '');
    const store = new CacheStore({ dir: blocked, buildId: 'b' });
    store.put('file', 'k', 1);
    expect(store.get('file', 'k')).toBeUndefined();
    expect(store.counters.failures).toBe(1);
  });

  it('survives concurrent writers and readers of the same entries: every read is a whole entry or a miss', async () => {
    const dir = tmp();
    const script = path.join(ROOT, 'test/cache/support/hammer.ts');
    const children = [0, 1, 2, 3].map(
      (writer) =>
        new Promise<string>((resolve, reject) => {
          const child = spawn(process.execPath, ['--import', 'tsx', script, dir, String(writer)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
          let out = '';
          child.stdout.on('data', (d: Buffer) => (out += d.toString()));
          child.stderr.on('data', (d: Buffer) => (out += d.toString()));
          child.on('error', reject);
          child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`writer ${writer} exited ${code}: ${out}`))));
        }),
    );
    const reports = (await Promise.all(children)).map((o) => JSON.parse(o.trim().split('\n').pop() as string) as { torn: number; hits: number });
    expect(reports.map((r) => r.torn)).toEqual([0, 0, 0, 0]);
    expect(reports.reduce((n, r) => n + r.hits, 0)).toBeGreaterThan(0);
    const reader = new CacheStore({ dir, buildId: 'hammer' });
    for (let k = 0; k < 20; k++) {
      const v = reader.get<{ key: number; writer: number; body: string }>('file', `k${k}`);
      expect(v?.key).toBe(k);
      expect(v?.body).toBe(`${k}:${v?.writer}:`.repeat(2000));
    }
    expect(entryFiles(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});

/** The digest in an entry's header, as the store computes it. */
function digestOf(buildId: string, kind: string, key: string): Buffer {
  return createHash('sha256').update(`${buildId}\0${kind}\0${key}`).digest();
}

describe('where the cache lives', () => {
  it('follows JOCH_CACHE_DIR, then the platform convention', () => {
    expect(cacheDirectory({ env: { JOCH_CACHE_DIR: '/x/y' }, platform: 'linux', home: '/h' })).toBe(path.resolve('/x/y'));
    expect(cacheDirectory({ env: {}, platform: 'linux', home: '/h' })).toBe(path.join('/h', '.cache', 'joch'));
    expect(cacheDirectory({ env: { XDG_CACHE_HOME: '/xdg' }, platform: 'linux', home: '/h' })).toBe(path.join('/xdg', 'joch'));
    expect(cacheDirectory({ env: { XDG_CACHE_HOME: 'relative' }, platform: 'linux', home: '/h' })).toBe(path.join('/h', '.cache', 'joch'));
    expect(cacheDirectory({ env: {}, platform: 'darwin', home: '/Users/u' })).toBe(path.join('/Users/u', 'Library', 'Caches', 'joch'));
    expect(cacheDirectory({ env: { LOCALAPPDATA: 'C:\\Users\\u\\AppData\\Local' }, platform: 'win32', home: 'C:\\Users\\u' })).toBe(
      path.join('C:\\Users\\u\\AppData\\Local', 'joch', 'Cache'),
    );
    expect(cacheDirectory({ env: {}, platform: 'linux', home: '' })).toBeUndefined();
  });

  it('is off with --no-cache or JOCH_NO_CACHE', () => {
    const env = { JOCH_CACHE_DIR: tmp() };
    expect(openCache({ env })).toBeDefined();
    expect(openCache({ env, disabled: true })).toBeUndefined();
    for (const v of ['1', 'true', 'yes']) expect(openCache({ env: { ...env, JOCH_NO_CACHE: v } })).toBeUndefined();
    for (const v of ['0', 'false', '']) expect(openCache({ env: { ...env, JOCH_NO_CACHE: v } })).toBeDefined();
  });
});

describe('the build id', () => {
  /** A package root like the real one: package.json, schemas/, and the code folders beside a cache module. */
  function fakePackage(): { root: string; self: string } {
    const root = tmp();
    writeFileSync(path.join(root, 'package.json'), JSON.stringify({ version: '1.0.0' }));
    cpSync(path.join(ROOT, 'schemas'), path.join(root, 'schemas'), { recursive: true });
    for (const folder of ['cache', 'manifests', 'schema']) {
      mkdirSync(path.join(root, 'src', folder), { recursive: true });
      writeFileSync(path.join(root, 'src', folder, 'index.ts'), `export const ${folder} = 1;\n`);
    }
    return { root, self: path.join(root, 'src', 'cache', 'build-id.ts') };
  }

  it('changes with the version, a schema or the code that produces entries, and only then', () => {
    const { root, self } = fakePackage();
    const first = computeBuildId(root, self);
    expect(computeBuildId(root, self)).toBe(first);

    writeFileSync(path.join(root, 'package.json'), JSON.stringify({ version: '1.0.1' }));
    const bumped = computeBuildId(root, self);
    expect(bumped).not.toBe(first);

    const schema = readdirSync(path.join(root, 'schemas')).find((f) => f.endsWith('.json')) as string;
    const file = path.join(root, 'schemas', schema);
    writeFileSync(file, readFileSync(file, 'utf8').replace('{', '{"description":"changed",'));
    const schemaChanged = computeBuildId(root, self);
    expect(schemaChanged).not.toBe(bumped);

    writeFileSync(path.join(root, 'src', 'manifests', 'index.ts'), 'export const manifests = 2;\n');
    expect(computeBuildId(root, self)).not.toBe(schemaChanged);
  });

  it('hashes a bundle itself when no stage folders sit beside it', () => {
    const root = tmp();
    writeFileSync(path.join(root, 'package.json'), JSON.stringify({ version: '1.0.0' }));
    mkdirSync(path.join(root, 'action', 'lib'), { recursive: true });
    const bundle = path.join(root, 'action', 'lib', 'index.js');
    writeFileSync(bundle, 'console.log(1)');
    const first = computeBuildId(root, bundle);
    writeFileSync(bundle, 'console.log(2)');
    expect(computeBuildId(root, bundle)).not.toBe(first);
  });

  it('hashes every file of a bundle split in chunks, even beside the stage folders of dist/', () => {
    const { root } = fakePackage();
    const bundle = path.join(root, 'src', 'bundle');
    mkdirSync(bundle);
    // The module is inlined into a chunk; a change in another chunk is a change of the code all the same.
    const self = path.join(bundle, 'chunk-A.js');
    writeFileSync(self, 'export const a = 1;');
    writeFileSync(path.join(bundle, 'chunk-B.js'), 'export const b = 1;');
    const first = computeBuildId(root, self);
    expect(computeBuildId(root, self)).toBe(first);
    writeFileSync(path.join(bundle, 'chunk-B.js'), 'export const b = 2;');
    const chunkChanged = computeBuildId(root, self);
    expect(chunkChanged).not.toBe(first);
    // The stage folders beside it are another build's: not what this bundle runs.
    writeFileSync(path.join(root, 'src', 'manifests', 'index.ts'), 'export const manifests = 2;\n');
    expect(computeBuildId(root, self)).toBe(chunkChanged);
    // The digest the build writes stands for the files: the same id, without reading them.
    writeFileSync(path.join(bundle, CODE_DIGEST_FILE), `${bundleCodeDigest(bundle)}\n`);
    expect(computeBuildId(root, self)).toBe(chunkChanged);
    writeFileSync(path.join(bundle, CODE_DIGEST_FILE), `${'0'.repeat(64)}\n`);
    expect(computeBuildId(root, self)).not.toBe(chunkChanged);
  });
});
