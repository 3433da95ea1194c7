/**
 * The per-file unit (files.ts) over a batch of files on every core: worker
 * threads take chunks of files from a queue while the main thread works
 * through the same queue, then takes back the chunks the workers have not
 * answered yet, so a slow or late worker costs nothing. Results come back in
 * input order and are the same data the main thread would compute, so the
 * output is byte-identical to a single-threaded run. A file a worker fails
 * on, and every file of a worker that dies, is checked again on the main
 * thread: the outcome is then exactly the single-threaded one.
 *
 * What crosses back is either a file's summary (summarizeFiles: findings and
 * counts, for a run that reads no document afterwards) or its parse
 * (checkFiles), not the assembled documents: each document's value as JSON
 * text (V8 parses JSON several times faster than it deserializes the same
 * object graph), and the main thread classifies them again, which is cheap.
 * A value JSON cannot carry exactly (NaN, -0, a shared alias) is cloned
 * instead.
 */
import { existsSync } from 'node:fs';
import module from 'node:module';
import path from 'node:path';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parentPort, Worker, type MessagePort } from 'node:worker_threads';
import { errorMessage } from '../diagnostics/index.js';
import type { Finding } from '../diagnostics/index.js';
import { classifyFile, parseFileBytes, type FileLoad, type ManifestDocument, type ParsedDocument, type ParsedFile } from '../manifests/index.js';
import { displayPath, type Snapshot, type SourceFile } from '../source/types.js';
import { checkFile, checkParsed, summarizeFile, type FileCheck, type FileCheckOptions, type FileInput, type FileSummary } from './files.js';

/**
 * Below this many bytes of YAML one thread is as fast: a worker takes ~0.1 s
 * to start and load its modules, in which the main thread checks about a
 * megabyte itself (~1,200 documents). A small repository stays
 * single-threaded and starts instantly.
 */
export const PARALLEL_MIN_BYTES = 2 << 20;
/** Each thread gets at least this much work; fewer threads for less. */
const BYTES_PER_THREAD = 512 << 10;
/** Chunks small enough to balance the threads, large enough that messages are few. */
const CHUNK_BYTES = 128 << 10;
const CHUNK_FILES = 256;

export interface ParallelOptions {
  /** Threads to use, the main thread included; 1 runs everything on the main thread. */
  readonly threads: number;
  /** The worker's entry module; by default the one beside this module. */
  readonly workerUrl?: URL | undefined;
  /**
   * Whether the main thread checks files too while the workers start and run
   * (default). Off, it only waits, unless no worker could do the work.
   */
  readonly mainShare?: boolean | undefined;
  /** Told how many files each thread checked: `main`, `worker`, or `retry` (on the main thread, after a worker failed). */
  readonly onChecked?: ((by: 'main' | 'worker' | 'retry', files: number) => void) | undefined;
}

/** A worker thread watched from its start, so that a failure while it loads is never an unhandled error. */
interface PoolWorker {
  readonly worker: Worker;
  /** Settles when the thread has stopped, for whatever reason. */
  readonly stopped: Promise<void>;
}

/** Starts `count` workers (none when the worker module is missing). */
function startWorkers(count: number, workerUrl: URL | undefined): PoolWorker[] {
  const file = workerEntry(workerUrl);
  const out: PoolWorker[] = [];
  for (let i = 0; file && i < count; i++) out.push(watched(spawnWorker(file)));
  return out;
}

function watched(worker: Worker): PoolWorker {
  const stopped = new Promise<void>((resolve) => {
    worker.on('error', () => undefined);
    worker.once('exit', () => resolve());
  });
  return { worker, stopped };
}

async function stopAll(workers: readonly PoolWorker[]): Promise<void> {
  await Promise.all(workers.map((w) => w.worker.terminate()));
}

/**
 * A request to a worker: check these files. Their bytes travel in one
 * transferred buffer: a file read by Node is often a view of a shared 8 KiB
 * pool, which a structured clone would copy whole for every file.
 */
interface CheckRequest {
  readonly id: number;
  readonly mode: Mode;
  readonly paths: readonly string[];
  /** Where each file ends in `bytes`. */
  readonly ends: readonly number[];
  readonly bytes: Uint8Array<ArrayBuffer>;
  readonly options: FileCheckOptions;
}

/** What a worker computes per file: the check for the trip back (checkForWire), or its summary (summarizeFile). */
type Mode = 'check' | 'summary';

/** A worker's answer: one outcome per file of the request, in order. */
interface CheckReply {
  readonly id: number;
  readonly results: readonly (WireCheck | FileSummary | { readonly failed: string })[];
}

/** A document's value: JSON text, or the value itself where JSON would change it. */
type WireValue = string | { readonly value: unknown };

/** One file's check as it crosses from a worker: the parse without values, the values, the per-document findings. */
export interface WireCheck {
  readonly parsed: Omit<ParsedFile, 'docs'> & { readonly docs: readonly Omit<ParsedDocument, 'value'>[] };
  readonly values: readonly WireValue[];
  readonly documentFindings: readonly (readonly Finding[])[];
}

interface Chunk {
  readonly id: number;
  readonly start: number;
  readonly end: number;
}

/**
 * Workers start only when this many cores are free. Measured on two idle
 * cores (1,000 agents, `npm run bench -- --only kubeconform`), one thread
 * took 0.61 s and two 0.85 s: a worker's start-up and the trip of its results
 * cost about half again the CPU time of one thread, which two cores do not
 * win back.
 */
export const MIN_FREE_CORES = 4;

/**
 * The same for summarizeFiles, whose workers send back findings and counts
 * only, so the main thread rebuilds nothing: three free cores. Not two: on
 * two idle cores one thread already keeps the second a third busy (V8's
 * concurrent garbage collection and compilation: 0.82 s of CPU in 0.61 s),
 * and a worker, which loads and warms up its own copy of the code, made the
 * 1,000-agent fleet slower (0.64-0.68 s against 0.61-0.63 s, same run).
 */
export const SUMMARY_MIN_FREE_CORES = 3;

/**
 * How many threads a batch of `totalBytes` deserves: JOCH_THREADS when set (1
 * turns workers off); else one per core that is free, by the load average
 * (as `make -l` does), when at least `minFreeCores` are, and only as many as
 * there is work for. On cores other processes keep busy, a worker only adds
 * its start-up and the trip of its results and finishes later.
 */
export function threadsFor(
  totalBytes: number,
  env: NodeJS.ProcessEnv = process.env,
  load: number = loadavg()[0] ?? 0,
  cores: number = availableParallelism(),
  minFreeCores: number = MIN_FREE_CORES,
): number {
  const forced = Number.parseInt(env.JOCH_THREADS ?? '', 10);
  if (Number.isInteger(forced) && forced >= 1) return forced;
  if (totalBytes < PARALLEL_MIN_BYTES) return 1;
  const free = Math.max(1, Math.min(cores, Math.floor(cores - load) + 1));
  if (free < minFreeCores) return 1;
  return Math.max(1, Math.min(free, Math.floor(totalBytes / BYTES_PER_THREAD)));
}

/** Checks every file; the results are in the order of `files`. */
export function checkFiles(files: readonly FileInput[], options: FileCheckOptions, parallel: ParallelOptions): Promise<FileCheck[]> {
  return runPool(files, options, parallel, { mode: 'check', onMain: (f) => checkOnMain(f, options, checkFile), fromWorker: (r) => fromWire(r as WireCheck, options) });
}

/**
 * Summarizes every file (summarizeFile), in the order of `files`: for a run
 * that needs no document values, so a worker sends back findings and counts
 * only, and the main thread rebuilds nothing.
 */
export function summarizeFiles(files: readonly FileInput[], options: FileCheckOptions, parallel: ParallelOptions): Promise<FileSummary[]> {
  return runPool(files, options, parallel, { mode: 'summary', onMain: (f) => checkOnMain(f, options, summarizeFile), fromWorker: (r) => r as FileSummary });
}

/** What the workers compute for a batch, and how each thread's result becomes the batch's. */
interface Job<T> {
  readonly mode: Mode;
  onMain(file: FileInput): T;
  fromWorker(reply: WireCheck | FileSummary): T;
}

async function runPool<T>(files: readonly FileInput[], options: FileCheckOptions, parallel: ParallelOptions, job: Job<T>): Promise<T[]> {
  const results: (T | undefined)[] = new Array<T | undefined>(files.length);
  const queue = chunksOf(files);
  const runOnMain = (c: Chunk, by: 'main' | 'retry') => {
    for (let i = c.start; i < c.end; i++) results[i] = job.onMain(files[i] as FileInput);
    parallel.onChecked?.(by, c.end - c.start);
  };
  const wanted = parallel.threads > 1 && queue.length > 1 ? Math.min(parallel.threads - 1, queue.length - 1) : 0;
  const pool = startWorkers(wanted, parallel.workerUrl);
  const shared: SharedState<T> = { queue, retry: [], results, failure: undefined, drivers: [] };
  try {
    const driving = pool.map((w) => drive(w, files, options, job, shared, parallel.onChecked));
    if (parallel.mainShare !== false || pool.length === 0) {
      // The main thread takes chunks too, and between two lets the workers' replies in.
      for (let c = queue.shift(); c && !shared.failure; c = queue.shift()) {
        runOnMain(c, 'main');
        if (pool.length) await nextTurn();
      }
      // Then it takes back what the workers have not answered yet, so a worker late to start or slowed by other processes costs nothing.
      for (let c = takeBack(shared); c && !shared.failure; c = takeBack(shared)) {
        runOnMain(c, 'main');
        await nextTurn();
      }
    }
    await Promise.all(driving);
    if (shared.failure) throw shared.failure.error;
    // Whatever a dead worker left: in flight, and still queued if no worker is left.
    for (const c of [...shared.retry, ...queue.splice(0)].sort((a, b) => a.id - b.id)) runOnMain(c, 'retry');
  } finally {
    await stopAll(pool);
  }
  return results as T[];
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The chunk with the lowest id that a worker was given and has not answered, now the main thread's; the worker's answer to it is ignored. */
function takeBack<T>(shared: SharedState<T>): Chunk | undefined {
  let best: { driver: Driver; chunk: Chunk } | undefined;
  for (const driver of shared.drivers) {
    for (const chunk of driver.inFlight.values()) if (!best || chunk.id < best.chunk.id) best = { driver, chunk };
  }
  if (!best) return undefined;
  best.driver.inFlight.delete(best.chunk.id);
  if (best.driver.inFlight.size === 0) best.driver.finish();
  return best.chunk;
}

/** What the main thread and the workers' handlers share. */
interface SharedState<T> {
  readonly queue: Chunk[];
  /** Chunks a dead worker left unanswered, for the main thread. */
  readonly retry: Chunk[];
  readonly results: (T | undefined)[];
  /** The first error a file raised on the main thread: it ends the batch, as it would end a single thread. */
  failure: { readonly error: unknown } | undefined;
  readonly drivers: Driver[];
}

/** One worker's chunks in flight, and how its feeding ends. */
interface Driver {
  readonly inFlight: Map<number, Chunk>;
  finish(): void;
}

/**
 * Feeds one worker chunks until the queue is empty. Two chunks are in flight
 * so the worker never waits for the main thread. Resolves when the worker
 * has answered everything it was given, or has died (its chunks then go to
 * `retry`), or the main thread took back what it had left.
 */
function drive<T>(
  { worker, stopped }: PoolWorker,
  files: readonly FileInput[],
  options: FileCheckOptions,
  job: Job<T>,
  shared: SharedState<T>,
  onChecked: ParallelOptions['onChecked'],
): Promise<void> {
  const { queue, retry, results } = shared;
  const inFlight = new Map<number, Chunk>();
  return new Promise<void>((resolve) => {
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      retry.push(...inFlight.values());
      inFlight.clear();
      resolve();
    };
    shared.drivers.push({ inFlight, finish });
    const send = () => {
      const c = shared.failure || finished ? undefined : queue.shift();
      if (!c) return false;
      inFlight.set(c.id, c);
      const request = packRequest(c.id, job.mode, files.slice(c.start, c.end), options);
      worker.postMessage(request, [request.bytes.buffer]);
      return true;
    };
    worker.on('message', (reply: CheckReply) => {
      try {
        receive(reply);
      } catch (error) {
        shared.failure ??= { error };
        inFlight.clear();
        finish();
      }
    });
    const receive = (reply: CheckReply) => {
      const c = inFlight.get(reply.id);
      // Unknown: taken back by the main thread, which computed the same results.
      if (!c) return;
      inFlight.delete(reply.id);
      let failed = 0;
      reply.results.forEach((r, i) => {
        const at = c.start + i;
        // A file the worker failed on is checked on the main thread, which then fails (or not) exactly as a single thread would.
        if ('failed' in r) failed++;
        results[at] = 'failed' in r ? job.onMain(files[at] as FileInput) : job.fromWorker(r);
      });
      onChecked?.('worker', reply.results.length - failed);
      if (failed) onChecked?.('retry', failed);
      send();
      if (inFlight.size === 0) finish();
    };
    void stopped.then(finish);
    send();
    send();
    if (inFlight.size === 0) finish();
  });
}

function checkOnMain<T>(file: FileInput, options: FileCheckOptions, unit: (file: FileInput, options: FileCheckOptions) => T): T {
  try {
    return unit(file, options);
  } catch (e) {
    throw new Error(`${file.path}: ${errorMessage(e)}`, { cause: e });
  }
}

function packRequest(id: number, mode: Mode, files: readonly FileInput[], options: FileCheckOptions): CheckRequest {
  const bytes = new Uint8Array(files.reduce((n, f) => n + f.bytes.byteLength, 0));
  const ends: number[] = [];
  let at = 0;
  for (const f of files) {
    bytes.set(f.bytes, at);
    at += f.bytes.byteLength;
    ends.push(at);
  }
  return { id, mode, paths: files.map((f) => f.path), ends, bytes, options };
}

function unpackFiles(request: CheckRequest): FileInput[] {
  return request.paths.map((path, i) => ({ path, bytes: request.bytes.subarray(request.ends[i - 1] ?? 0, request.ends[i]) }));
}

/** Contiguous runs of files of about CHUNK_BYTES each, in input order. */
function chunksOf(files: readonly FileInput[]): Chunk[] {
  const chunks: Chunk[] = [];
  let start = 0;
  let bytes = 0;
  files.forEach((f, i) => {
    bytes += f.bytes.byteLength;
    if (bytes >= CHUNK_BYTES || i + 1 - start >= CHUNK_FILES) {
      chunks.push({ id: chunks.length, start, end: i + 1 });
      start = i + 1;
      bytes = 0;
    }
  });
  if (start < files.length) chunks.push({ id: chunks.length, start, end: files.length });
  return chunks;
}

/**
 * The worker module beside this one: worker.js in the built package, worker.ts
 * when running from source (tests), which needs tsx to load. Undefined when
 * it is missing (a bundle that inlined this module): everything then runs on
 * the main thread.
 */
function workerEntry(override: URL | undefined): URL | undefined {
  const fromSource = import.meta.url.endsWith('.ts');
  const url = override ?? new URL(fromSource ? './worker.ts' : './worker.js', import.meta.url);
  return existsSync(fileURLToPath(url)) ? url : undefined;
}

/**
 * A worker running `url`. TypeScript source (tests) goes through tsx, whose
 * loader must be registered inside the worker itself: `--import tsx` in
 * execArgv does not reach a worker's module resolution.
 */
function spawnWorker(url: URL): Worker {
  if (!/\.m?ts$/.test(url.pathname)) return new Worker(url, { workerData: { compileCacheDir: compileCacheDir() } });
  const boot = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(url.href)}); });`;
  return new Worker(boot, { eval: true });
}

/**
 * The folder the compile cache of this thread was turned on with (bin/joch.js
 * does), for the workers to use the same: Node keeps its entries in a folder
 * per Node version below it, which getCompileCacheDir names.
 */
function compileCacheDir(): string | undefined {
  const dir = typeof module.getCompileCacheDir === 'function' ? module.getCompileCacheDir() : undefined;
  if (dir === undefined) return undefined;
  return path.basename(dir).startsWith(`v${process.versions.node}-`) ? path.dirname(dir) : dir;
}

/** A file checked in a worker, for the trip to the main thread. */
export function checkForWire(file: FileInput, options: FileCheckOptions): WireCheck {
  const parsed = parseFileBytes(file.path, file.bytes, options.limits);
  const { documentFindings } = checkParsed(parsed, options);
  const docs = parsed.docs.map(({ value: _value, ...rest }) => rest);
  return { parsed: { ...parsed, docs }, values: parsed.docs.map((d) => encodeValue(d.value)), documentFindings };
}

/**
 * The main thread's half: values back, documents classified again (their
 * KindInfo is then the catalog's own). With checkForWire, also the form a
 * file's check can be stored in and read back from.
 */
export function fromWire(wire: WireCheck, options: FileCheckOptions): FileCheck {
  const parsed: ParsedFile = { ...wire.parsed, docs: wire.parsed.docs.map((d, i) => ({ ...d, value: decodeValue(wire.values[i]) })) };
  const load = classifyFile(parsed, options.defaultNamespace);
  // Classification is deterministic, so the counts agree; if they ever did not, check here rather than misattribute findings.
  if (load.documents.length !== wire.documentFindings.length) return checkParsed(parsed, options);
  return { load, documentFindings: wire.documentFindings };
}

function encodeValue(value: unknown): WireValue {
  return jsonExact(value, new Set()) ? JSON.stringify(value) : { value };
}

function decodeValue(wire: WireValue | undefined): unknown {
  return typeof wire === 'string' ? JSON.parse(wire) : wire?.value;
}

/** Whether JSON.parse(JSON.stringify(v)) is exactly v: the same values, prototypes and no shared objects. */
function jsonExact(v: unknown, seen: Set<object>): boolean {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(v) && !Object.is(v, -0);
    case 'object': {
      if (v === null) return true;
      if (seen.has(v)) return false;
      seen.add(v);
      if (Array.isArray(v)) {
        if (Object.getPrototypeOf(v) !== Array.prototype) return false;
        for (let i = 0; i < v.length; i++) if (!jsonExact(v[i], seen)) return false;
        return true;
      }
      if (Object.getPrototypeOf(v) !== Object.prototype || Object.hasOwn(v, '__proto__')) return false;
      for (const key of Object.keys(v)) if (!jsonExact((v as Record<string, unknown>)[key], seen)) return false;
      return true;
    }
    default:
      return false;
  }
}

/**
 * Answers check requests on `port` (a worker's parentPort): the body of the
 * worker module, with the check injectable so tests can make a worker fail.
 */
export function serveChecks(
  port: MessagePort | null = parentPort,
  check: (file: FileInput, options: FileCheckOptions) => WireCheck = checkForWire,
  summarize: (file: FileInput, options: FileCheckOptions) => FileSummary = summarizeFile,
): void {
  if (!port) throw new Error('serveChecks runs in a worker thread');
  port.on('message', (request: CheckRequest) => {
    const unit = request.mode === 'summary' ? summarize : check;
    const results = unpackFiles(request).map((f) => {
      try {
        return unit(f, request.options);
      } catch (e) {
        return { failed: errorMessage(e) };
      }
    });
    const reply: CheckReply = { id: request.id, results };
    port.postMessage(reply);
  });
}

/** What the load and validate stages take to skip work already done: see LoadOptions.cache and ValidateOptions.documentCache. */
export interface PreparedFiles {
  readonly files: WeakMap<SourceFile, FileLoad>;
  readonly documents: WeakMap<ManifestDocument, readonly Finding[]>;
  readonly threads: number;
  /** How many of the files the workers checked (the main thread did the rest). */
  readonly byWorkers: number;
}

/**
 * Checks a snapshot's files on `threads` threads and returns the results as
 * the caches loadManifests and validateManifests read, so those stages then
 * only assemble. Undefined when one thread is enough: the stages do the work.
 */
export async function prepareSnapshot(
  snapshot: Snapshot,
  options: FileCheckOptions,
  parallel: Partial<ParallelOptions> = {},
): Promise<PreparedFiles | undefined> {
  const bytes = snapshot.files.reduce((n, f) => n + f.bytes.byteLength, 0);
  const threads = parallel.threads ?? threadsFor(bytes);
  if (threads <= 1) return undefined;
  const inputs = snapshot.files.map((f) => ({ path: displayPath(snapshot, f.path), bytes: f.bytes }));
  let byWorkers = 0;
  const onChecked = (by: string, n: number) => void (by === 'worker' && (byWorkers += n));
  const checks = await checkFiles(inputs, options, { threads, workerUrl: parallel.workerUrl, onChecked });
  const files = new WeakMap<SourceFile, FileLoad>();
  const documents = new WeakMap<ManifestDocument, readonly Finding[]>();
  snapshot.files.forEach((f, i) => {
    const check = checks[i] as FileCheck;
    files.set(f, check.load);
    check.load.documents.forEach((d, j) => documents.set(d, check.documentFindings[j] ?? []));
  });
  return { files, documents, threads, byWorkers };
}
