/**
 * The per-file checks on worker threads give exactly what one thread gives:
 * same documents, resources, findings and texts, in input order, whatever
 * the files hold; a worker that fails or dies changes nothing but the time.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateFleet } from '../../bench/fleet.js';
import { DEFAULT_PARSE_LIMITS } from '../../src/manifests/index.js';
import {
  checkFile,
  checkFiles,
  checkForWire,
  fromWire,
  MIN_FREE_CORES,
  PARALLEL_MIN_BYTES,
  SUMMARY_MIN_FREE_CORES,
  summarizeFile,
  summarizeFiles,
  threadsFor,
  type FileCheck,
  type FileCheckOptions,
  type FileInput,
} from '../../src/schema/index.js';

const OPTIONS: FileCheckOptions = { defaultNamespace: 'default', limits: DEFAULT_PARSE_LIMITS, schema: true };
const enc = (s: string) => new TextEncoder().encode(s);

/** Files that take every road through the parsers and the wire: errors, values JSON cannot carry, aliases, bad bytes. */
const ODD_FILES: readonly FileInput[] = [
  { path: 'odd/syntax.yaml', bytes: enc('apiVersion: joch.dev/v1alpha1\nkind: Tool\nmetadata: {name: [unclosed\n') },
  { path: 'odd/unknown-field.yaml', bytes: enc('apiVersion: joch.dev/v1alpha1\nkind: Tool\nmetadata:\n  name: t\nspec:\n  bogus: 1\n') },
  { path: 'odd/nan.yaml', bytes: enc('apiVersion: joch.dev/v1alpha1\nkind: Model\nmetadata:\n  name: m\nspec:\n  x: .nan\n  y: -.inf\n  z: -0\n') },
  { path: 'odd/alias.yaml', bytes: enc('apiVersion: joch.dev/v1alpha1\nkind: Tool\nmetadata:\n  name: a\n  labels: &l {team: x}\n  annotations: *l\n') },
  { path: 'odd/latin1.yaml', bytes: Uint8Array.from([0x6b, 0x3a, 0x20, 0xe9, 0xff, 0x0a]) },
  { path: 'odd/multi.yaml', bytes: enc('---\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n---\n- 1\n') },
  { path: 'odd/secret.yaml', bytes: enc('apiVersion: joch.dev/v1alpha1\nkind: Tool\nmetadata:\n  name: s\n  annotations:\n    note: "password=hunter2hunter2"\n') },
  { path: 'odd/proto.yaml', bytes: enc('apiVersion: joch.dev/v1alpha1\nkind: Tool\nmetadata:\n  name: p\nspec:\n  "__proto__": {polluted: true}\n') },
];

let dir: string;
let files: FileInput[];

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'joch-parallel-'));
  generateFleet(dir, 150);
  const list = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.yaml')).sort();
  files = list.map((f) => ({ path: f.split(path.sep).join('/'), bytes: readFileSync(path.join(dir, f)) }));
  // The odd files spread through the batch, so several chunks and both kinds of thread meet them.
  ODD_FILES.forEach((f, i) => files.splice(Math.floor(((i + 1) * files.length) / (ODD_FILES.length + 1)), 0, f));
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** How many files each kind of thread checked, from checkFiles' report. */
function counter(): { counts: Record<string, number>; onChecked: (by: string, n: number) => void } {
  const counts: Record<string, number> = {};
  return { counts, onChecked: (by, n) => void (counts[by] = (counts[by] ?? 0) + n) };
}

const serial = (batch: readonly FileInput[]): FileCheck[] => batch.map((f) => checkFile(f, OPTIONS));

/** A worker module from a test fixture, written beside nothing it could break. */
function workerModule(body: string): URL {
  const file = path.join(dir, `worker-${Math.random().toString(36).slice(2)}.mts`);
  const parallel = path.resolve(import.meta.dirname, '../../src/schema/parallel.ts');
  const files = path.resolve(import.meta.dirname, '../../src/schema/files.ts');
  writeFileSync(file, `import { checkForWire, serveChecks } from ${JSON.stringify(parallel)};\nimport { summarizeFile } from ${JSON.stringify(files)};\n${body}\n`);
  return new URL(`file://${file}`);
}

describe('checkFiles', () => {
  it('gives the single-threaded results, in input order, byte for byte', async () => {
    const expected = serial(files);
    // The workers do all the work, so everything crossed the thread boundary.
    const { counts, onChecked } = counter();
    const threaded = await checkFiles(files, OPTIONS, { threads: 3, mainShare: false, onChecked });
    expect(counts).toEqual({ worker: files.length });
    expect(threaded.map((r) => r.load.file.path)).toEqual(files.map((f) => f.path));
    expect(threaded).toEqual(expected);
    // Beyond deep equality: NaN, -0 and shared aliases survive, and the serialized output is the same bytes.
    const nan = threaded.find((r) => r.load.file.path === 'odd/nan.yaml')?.load.documents[0]?.body.spec as Record<string, number>;
    expect(Number.isNaN(nan.x)).toBe(true);
    expect(Object.is(nan.z, -0)).toBe(true);
    const alias = threaded.find((r) => r.load.file.path === 'odd/alias.yaml')?.load.documents[0]?.body.metadata as Record<string, unknown>;
    expect(alias.labels).toBe(alias.annotations);
    expect(JSON.stringify(threaded)).toBe(JSON.stringify(expected));
    // Some files have findings, so the comparison covers them.
    expect(threaded.flatMap((r) => [...r.load.findings, ...r.documentFindings.flat()]).map((f) => f.code)).toEqual(
      expect.arrayContaining(['JOCH101', 'JOCH303', 'JOCH105']),
    );
  }, 120_000);

  it('shares the work with the main thread, with the same results', async () => {
    const { counts, onChecked } = counter();
    expect(await checkFiles(files, OPTIONS, { threads: 2, onChecked })).toEqual(serial(files));
    expect((counts.main ?? 0) + (counts.worker ?? 0)).toBe(files.length);
  }, 120_000);

  it('re-checks on the main thread what a worker failed on, with the same outcome', async () => {
    const failing = workerModule(
      `serveChecks(undefined, (file, options) => { if (file.path.includes('/agents/')) throw new Error('worker bug'); return checkForWire(file, options); });`,
    );
    const { counts, onChecked } = counter();
    expect(await checkFiles(files, OPTIONS, { threads: 3, workerUrl: failing, mainShare: false, onChecked })).toEqual(serial(files));
    expect(counts.retry).toBe(files.filter((f) => f.path.includes('/agents/')).length);
    expect(counts.worker).toBe(files.length - (counts.retry ?? 0));
  }, 120_000);

  it('finishes with the same results when a worker dies mid-batch', async () => {
    const dying = workerModule(`serveChecks(undefined, (file, options) => { if (file.path.includes('/tools/')) process.exit(7); return checkForWire(file, options); });`);
    const { counts, onChecked } = counter();
    expect(await checkFiles(files, OPTIONS, { threads: 3, workerUrl: dying, mainShare: false, onChecked })).toEqual(serial(files));
    expect(counts.retry).toBeGreaterThan(0);
    expect((counts.worker ?? 0) + (counts.retry ?? 0)).toBe(files.length);
  }, 120_000);

  it('runs everything on the main thread when a worker cannot even start', async () => {
    const broken = workerModule('throw new Error("cannot load");');
    const { counts, onChecked } = counter();
    expect(await checkFiles(files.slice(0, 400), OPTIONS, { threads: 2, workerUrl: broken, mainShare: false, onChecked })).toEqual(serial(files.slice(0, 400)));
    expect(counts).toEqual({ retry: 400 });
  }, 120_000);

  it('reports a file that cannot be checked at all by its path, on one thread or after a worker failed on it', async () => {
    // Not bytes at all: checking it throws, and the error names the file.
    const bad: FileInput = { path: 'odd/not-bytes.yaml', bytes: { byteLength: 3 } as unknown as Uint8Array };
    const batch = [...files.slice(0, 300), bad];
    await expect(checkFiles(batch, OPTIONS, { threads: 1 })).rejects.toThrow(/^odd\/not-bytes\.yaml: /);
    const failing = workerModule(`serveChecks(undefined, () => { throw new Error('worker bug'); });`);
    await expect(checkFiles(batch, OPTIONS, { threads: 2, workerUrl: failing, mainShare: false })).rejects.toThrow(/^odd\/not-bytes\.yaml: /);
  }, 120_000);
});

describe('summarizeFiles', () => {
  const summaries = () => files.map((f) => summarizeFile(f, OPTIONS));

  it('is each file\'s check reduced to its findings and counts, without hashes', () => {
    for (const f of files) {
      const { load, documentFindings } = checkFile(f, OPTIONS);
      expect(load.file.hash).toMatch(/^[0-9a-f]{64}$/);
      expect(summarizeFile(f, OPTIONS)).toEqual({ file: { ...load.file, hash: '' }, loadFindings: load.findings, documentFindings: documentFindings.flat(), resources: load.resources.length });
    }
  });

  it('gives the single-threaded summaries, in input order, when the workers do all the work', async () => {
    const { counts, onChecked } = counter();
    const threaded = await summarizeFiles(files, OPTIONS, { threads: 3, mainShare: false, onChecked });
    expect(counts).toEqual({ worker: files.length });
    expect(JSON.stringify(threaded)).toBe(JSON.stringify(summaries()));
    expect(threaded.flatMap((s) => [...s.loadFindings, ...s.documentFindings]).map((f) => f.code)).toEqual(expect.arrayContaining(['JOCH101', 'JOCH303', 'JOCH105', 'JOCH601']));
  }, 120_000);

  it('gives the same with the main thread taking part, whatever share the workers get', async () => {
    const { counts, onChecked } = counter();
    expect(await summarizeFiles(files, OPTIONS, { threads: 2, onChecked })).toEqual(summaries());
    expect((counts.main ?? 0) + (counts.worker ?? 0)).toBe(files.length);
  }, 120_000);

  it('does not wait for a worker that is slow to start: the main thread takes its chunks back', async () => {
    // A worker that answers nothing for a minute: the batch still finishes, on the main thread, with the same results.
    const asleep = workerModule(`Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60_000); serveChecks();`);
    const { counts, onChecked } = counter();
    expect(await summarizeFiles(files, OPTIONS, { threads: 2, workerUrl: asleep, onChecked })).toEqual(summaries());
    expect(counts).toEqual({ main: files.length });
  }, 30_000);

  it('re-checks on the main thread what a worker failed on, and finishes when a worker dies', async () => {
    const failing = workerModule(
      `serveChecks(undefined, checkForWire, (file, options) => { if (file.path.includes('/agents/')) throw new Error('worker bug'); return summarizeFile(file, options); });`,
    );
    const failed = counter();
    expect(await summarizeFiles(files, OPTIONS, { threads: 3, workerUrl: failing, mainShare: false, onChecked: failed.onChecked })).toEqual(summaries());
    expect(failed.counts.retry).toBe(files.filter((f) => f.path.includes('/agents/')).length);
    const dying = workerModule(`serveChecks(undefined, checkForWire, (file, options) => { if (file.path.includes('/tools/')) process.exit(7); return summarizeFile(file, options); });`);
    const died = counter();
    expect(await summarizeFiles(files, OPTIONS, { threads: 3, workerUrl: dying, mainShare: false, onChecked: died.onChecked })).toEqual(summaries());
    expect(died.counts.retry).toBeGreaterThan(0);
  }, 120_000);
});

describe('the wire form of a file check', () => {
  it.each(ODD_FILES.map((f) => [f.path, f] as const))('reads back as the check itself (%s)', (_path, file) => {
    expect(fromWire(structuredClone(checkForWire(file, OPTIONS)), OPTIONS)).toEqual(checkFile(file, OPTIONS));
  });
});

describe('threadsFor', () => {
  it('keeps a small repository on one thread', () => {
    expect(threadsFor(PARALLEL_MIN_BYTES - 1, {}, 0, 8)).toBe(1);
  });

  it('uses the cores that are free, when enough are to win back the workers\' cost', () => {
    expect(threadsFor(100 * PARALLEL_MIN_BYTES, {}, 0, 8)).toBe(8);
    expect(threadsFor(100 * PARALLEL_MIN_BYTES, {}, 3, 8)).toBe(6);
    expect(threadsFor(100 * PARALLEL_MIN_BYTES, {}, 8, 8)).toBe(1);
    expect(threadsFor(100 * PARALLEL_MIN_BYTES, {}, 13, 8)).toBe(1);
    // Fewer free cores than MIN_FREE_CORES: one thread, on an idle two-core machine too.
    expect(threadsFor(100 * PARALLEL_MIN_BYTES, {}, 0, 2)).toBe(1);
    expect(threadsFor(100 * PARALLEL_MIN_BYTES, {}, 0, MIN_FREE_CORES)).toBe(MIN_FREE_CORES);
    expect(threadsFor(100 * PARALLEL_MIN_BYTES, {}, 1.5, MIN_FREE_CORES)).toBe(1);
    // No more threads than there is work for.
    expect(threadsFor(PARALLEL_MIN_BYTES, {}, 0, 8)).toBe(4);
  });

  it('uses fewer free cores for summaries, whose workers send back findings only, but not two', () => {
    expect(SUMMARY_MIN_FREE_CORES).toBeLessThan(MIN_FREE_CORES);
    expect(threadsFor(100 * PARALLEL_MIN_BYTES, {}, 0, 3, SUMMARY_MIN_FREE_CORES)).toBe(3);
    expect(threadsFor(100 * PARALLEL_MIN_BYTES, {}, 0.5, 4, SUMMARY_MIN_FREE_CORES)).toBe(4);
    expect(threadsFor(100 * PARALLEL_MIN_BYTES, {}, 1.5, 4, SUMMARY_MIN_FREE_CORES)).toBe(3);
    // On two cores, idle or not, one thread: V8's own background work already uses the second.
    expect(threadsFor(100 * PARALLEL_MIN_BYTES, {}, 0, 2, SUMMARY_MIN_FREE_CORES)).toBe(1);
    expect(threadsFor(100 * PARALLEL_MIN_BYTES, {}, 2.5, 4, SUMMARY_MIN_FREE_CORES)).toBe(1);
    expect(threadsFor(PARALLEL_MIN_BYTES - 1, {}, 0, 8, SUMMARY_MIN_FREE_CORES)).toBe(1);
  });

  it('honours JOCH_THREADS whatever the load', () => {
    expect(threadsFor(10, { JOCH_THREADS: '3' }, 0)).toBe(3);
    expect(threadsFor(10, { JOCH_THREADS: '3' }, 100)).toBe(3);
    expect(threadsFor(100 * PARALLEL_MIN_BYTES, { JOCH_THREADS: '1' }, 0)).toBe(1);
    expect(threadsFor(PARALLEL_MIN_BYTES - 1, { JOCH_THREADS: 'many' }, 0)).toBe(1);
  });
});
