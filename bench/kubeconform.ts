/**
 * The reference points of `npm run bench`'s `kubeconform` and `startup`
 * sections, measured in the same run as joch:
 *
 * - kubeconform (the Go Kubernetes manifest validator, built from the Go
 *   module proxy at a pinned version) validating the same documents against
 *   the same JSON Schemas as `joch validate --checks schema`;
 * - `node -e 0`, the floor of any Node command, against `joch validate` of
 *   the example fleet.
 *
 * kubeconform reads one self-contained schema per kind from a
 * `-schema-location` template; the project's schemas refer to each other
 * (common.schema.json) by relative URL, which it would try to download. So
 * each kind's schema gets the schemas it refers to embedded under $defs with
 * their own $id: a JSON Schema 2020-12 compound document, whose references
 * then resolve without a fetch.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, homedir, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { KINDS } from '../src/model/kinds.js';
import type { BenchContext } from './run.js';

const ROOT = new URL('..', import.meta.url).pathname;
const SCHEMAS = path.join(ROOT, 'schemas');
const BIN = path.join(ROOT, 'bin/joch.js');
export const KUBECONFORM_MODULE = 'github.com/yannh/kubeconform/cmd/kubeconform@v0.8.0';

/** Where the bench keeps what it builds: the OS cache folder, safe to delete. */
function benchCache(): string {
  return path.join(process.env.XDG_CACHE_HOME || path.join(homedir(), '.cache'), 'joch-bench');
}

/** The kubeconform binary, built once with `go install` into the bench cache; undefined (with the reason) without Go. */
export function kubeconformBinary(): { path: string } | { missing: string } {
  const gobin = path.join(benchCache(), 'bin');
  const binary = path.join(gobin, 'kubeconform');
  if (existsSync(binary)) return { path: binary };
  const go = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (go.error || go.status !== 0) return { missing: 'Go is not installed (needed to build kubeconform)' };
  mkdirSync(gobin, { recursive: true });
  const r = spawnSync('go', ['install', KUBECONFORM_MODULE], { encoding: 'utf8', env: { ...process.env, GOBIN: gobin } });
  if (r.status !== 0 || !existsSync(binary)) return { missing: `go install ${KUBECONFORM_MODULE} failed: ${r.stderr.trim().split('\n').slice(-2).join(' / ')}` };
  return { path: binary };
}

type Json = Record<string, unknown>;

/** The schema files a schema refers to, directly or through others (by file name). */
function referencedFiles(file: string, schemas: ReadonlyMap<string, string>, seen = new Set<string>()): Set<string> {
  const text = schemas.get(file);
  if (text === undefined || seen.has(file)) return seen;
  seen.add(file);
  for (const m of text.matchAll(/"\$ref"\s*:\s*"([^"#]+)/g)) referencedFiles(m[1] as string, schemas, seen);
  return seen;
}

/**
 * Writes `<kind in lower case>.json` per catalog kind into `dir` and returns
 * the `-schema-location` template that finds them.
 */
export function writeKubeconformSchemas(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const schemas = new Map(
    readdirSync(SCHEMAS)
      .filter((f) => f.endsWith('.schema.json'))
      .sort()
      .map((f) => [f, readFileSync(path.join(SCHEMAS, f), 'utf8')] as const),
  );
  for (const k of KINDS) {
    const own = JSON.parse(schemas.get(k.schemaFile) ?? 'null') as Json | null;
    if (!own) throw new Error(`no schema file ${k.schemaFile} for ${k.kind}`);
    const defs: Json = { ...((own.$defs as Json | undefined) ?? {}) };
    for (const file of [...referencedFiles(k.schemaFile, schemas)].filter((f) => f !== k.schemaFile).sort()) {
      defs[`bundled:${file}`] = JSON.parse(schemas.get(file) as string) as Json;
    }
    writeFileSync(path.join(dir, `${k.kind.toLowerCase()}.json`), `${JSON.stringify({ ...own, $defs: defs })}\n`);
  }
  return `${dir}/{{ .ResourceKind }}.json`;
}

export interface ProcessMeasurement {
  readonly seconds: number;
  /** User plus system CPU seconds, every thread included. */
  readonly cpu: number;
  readonly peakMiB: number | undefined;
  readonly stdout: string;
}

const HAS_TIME = existsSync('/usr/bin/time');

/** Best-of-`runs` wall time of a command, with its CPU time and peak RSS (GNU time, when present). */
export function measure(command: string, args: readonly string[], runs: number, env: NodeJS.ProcessEnv = process.env): ProcessMeasurement {
  let best: ProcessMeasurement | undefined;
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    const r = HAS_TIME
      ? spawnSync('/usr/bin/time', ['-f', '%U %S %M', command, ...args], { cwd: ROOT, env, encoding: 'utf8', maxBuffer: 1 << 30 })
      : spawnSync(command, args, { cwd: ROOT, env, encoding: 'utf8', maxBuffer: 1 << 30 });
    const seconds = (performance.now() - start) / 1000;
    if (r.error) throw r.error;
    if (r.status !== 0 && r.status !== 1) throw new Error(`${command} ${args.join(' ')} failed (${r.status}): ${r.stderr.slice(-2000)}`);
    const [user, sys, kb] = HAS_TIME ? (r.stderr.trim().split('\n').pop() ?? '').split(' ').map(Number) : [];
    const m = { seconds, cpu: (user ?? NaN) + (sys ?? NaN), peakMiB: kb === undefined || !Number.isFinite(kb) ? undefined : kb / 1024, stdout: r.stdout };
    if (!best || m.seconds < best.seconds) best = m;
  }
  return best as ProcessMeasurement;
}

const s = (x: number) => (Number.isFinite(x) ? `${x.toFixed(2)} s` : 'n/a');
const mib = (x: number | undefined) => (x === undefined ? 'n/a' : `${x.toFixed(0)} MiB`);

/** `--only kubeconform`: `joch validate --checks schema` against kubeconform on the 1,000-agent fleet. */
export async function benchKubeconform(ctx: BenchContext): Promise<void> {
  ctx.report('## schema-only validation against kubeconform (fresh processes, same documents, same schemas)');
  ctx.report('');
  const binary = kubeconformBinary();
  if ('missing' in binary) {
    ctx.report(`**SKIPPED: ${binary.missing}; install Go to compare with kubeconform (${KUBECONFORM_MODULE}).**`);
    ctx.report('');
    process.stderr.write(`bench: kubeconform section SKIPPED: ${binary.missing}\n`);
    return;
  }
  const agents = ctx.sizes.includes(1000) ? 1000 : Math.max(...ctx.sizes);
  const { dir, stats } = ctx.fleet(agents);
  const location = writeKubeconformSchemas(path.join(benchCache(), 'kubeconform-schemas'));
  // joch.yaml is joch's configuration, .stats.json the generator's marker: neither is a manifest.
  const kcArgs = ['-summary', '-strict', '-ignore-filename-pattern', String.raw`(joch\.yaml|\.stats\.json)$`, '-schema-location', location, dir];
  const jochArgs = [BIN, 'validate', dir, '--checks', 'schema', '-o', 'json'];
  const cores = availableParallelism();
  // kubeconform keeps nothing between runs, so the headline is joch without its persistent cache: the same work.
  const { JOCH_THREADS: _threads, ...inherited } = process.env;
  const uncached = { ...inherited, JOCH_NO_CACHE: '1' };
  const oneThread = { ...uncached, JOCH_THREADS: '1' };
  const everyCore = { ...uncached, JOCH_THREADS: String(cores) };
  // The warm row reads a cache of its own, filled by a first run, never the user's.
  const warm = { ...inherited, JOCH_NO_CACHE: '', JOCH_CACHE_DIR: mkdtempSync(path.join(tmpdir(), 'joch-bench-kc-cache-')) };
  measure(process.execPath, jochArgs, 1, warm);
  // Interleaved, so a busy moment on a shared machine hits all of them alike.
  let kc: ProcessMeasurement | undefined;
  let joch: ProcessMeasurement | undefined;
  let cached: ProcessMeasurement | undefined;
  let serial: ProcessMeasurement | undefined;
  let threaded: ProcessMeasurement | undefined;
  const loadBefore = loadavg()[0] ?? 0;
  const better = (a: ProcessMeasurement | undefined, b: ProcessMeasurement) => (a && a.seconds <= b.seconds ? a : b);
  try {
    for (let i = 0; i < ctx.runs; i++) {
      kc = better(kc, measure(binary.path, kcArgs, 1));
      joch = better(joch, measure(process.execPath, jochArgs, 1, uncached));
      cached = better(cached, measure(process.execPath, jochArgs, 1, warm));
      serial = better(serial, measure(process.execPath, jochArgs, 1, oneThread));
      threaded = better(threaded, measure(process.execPath, jochArgs, 1, everyCore));
    }
  } finally {
    rmSync(warm.JOCH_CACHE_DIR, { recursive: true, force: true });
  }
  if (!kc || !joch || !cached || !serial || !threaded) return;
  const summary = /Valid: (\d+), Invalid: (\d+), Errors: (\d+), Skipped: (\d+)/.exec(kc.stdout);
  ctx.report(`${agents} agents, ${stats.documents} documents in ${stats.files} files, ${(stats.bytes / 1e6).toFixed(1)} MB; best of ${ctx.runs}.`);
  ctx.report('');
  ctx.report('| | wall | CPU (user+sys) | peak |');
  ctx.report('|---|---:|---:|---:|');
  ctx.report(`| kubeconform ${KUBECONFORM_MODULE.split('@')[1]} (-strict) | ${s(kc.seconds)} | ${s(kc.cpu)} | ${mib(kc.peakMiB)} |`);
  ctx.report(`| joch validate --checks schema, no cache (JOCH_NO_CACHE=1; threads by default) | ${s(joch.seconds)} | ${s(joch.cpu)} | ${mib(joch.peakMiB)} |`);
  ctx.report(`| the same, one thread (JOCH_THREADS=1) | ${s(serial.seconds)} | ${s(serial.cpu)} | ${mib(serial.peakMiB)} |`);
  ctx.report(`| the same, every core (JOCH_THREADS=${cores}) | ${s(threaded.seconds)} | ${s(threaded.cpu)} | ${mib(threaded.peakMiB)} |`);
  ctx.report(`| joch with a warm persistent cache (not the same work: kubeconform has none) | ${s(cached.seconds)} | ${s(cached.cpu)} | ${mib(cached.peakMiB)} |`);
  ctx.report('');
  ctx.report(`**joch / kubeconform wall, no cache: ${(joch.seconds / kc.seconds).toFixed(2)}x** (goal: at most 0.5x); CPU: ${(joch.cpu / kc.cpu).toFixed(2)}x.`);
  const ratio = (m: ProcessMeasurement) => `${(m.seconds / kc.seconds).toFixed(2)}x`;
  ctx.report(`One thread: ${ratio(serial)}; every core: ${ratio(threaded)}; warm cache: ${ratio(cached)}. Load average before and after: ${loadBefore.toFixed(1)}, ${(loadavg()[0] ?? 0).toFixed(1)} on ${cores} cores (joch uses the cores the load leaves free).`);
  ctx.report(
    summary
      ? `kubeconform: ${summary[1]} valid, ${summary[2]} invalid, ${summary[3]} errors, ${summary[4]} skipped.`
      : `kubeconform printed no summary: ${kc.stdout.slice(-300)}`,
  );
  ctx.report('');
}
