/**
 * `node --import tsx bench/compile.ts`: compile time and peak memory of
 * `joch compile` (validate, policy, compile, write; a fresh process, as a
 * user runs it; AgBOMs measured in a column of their own) for fleets of 100, 1,000 and 10,000 agents, next to
 * `joch validate` on the same fleet; the in-process stage breakdown; a
 * one-file change recompiled incrementally; and the ratio against
 * `kubectl kustomize` building the same number of plain objects.
 *
 * Figures, not assertions: the machine is shared and its disk is slow and
 * noisy, so each figure is the best of a few runs.
 *
 * Options: --sizes 100,1000,10000  --runs 3  --kustomize-max 4000 (objects
 * kustomize builds for real; above it the time is extrapolated from its
 * quadratic fit and marked as an estimate).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createCompiler, renderFiles, writeFiles } from '../src/compile/index.js';
import { runCompile } from '../src/pipeline/compile.js';
import { BENCH_WORK, keptFleet } from './fleet.js';

const ROOT = new URL('..', import.meta.url).pathname;
const BIN = path.join(ROOT, 'bin/joch.js');
const HAS_TIME = existsSync('/usr/bin/time');
const WORK = BENCH_WORK;

interface Measurement {
  readonly seconds: number;
  readonly peakMiB: number | undefined;
}

const fmt = {
  s: (x: number) => `${x.toFixed(2)} s`,
  ms: (x: number) => `${x.toFixed(0)} ms`,
  mib: (x: number | undefined) => (x === undefined ? 'n/a' : `${x.toFixed(0)} MiB`),
};

/** Best-of-N wall time and peak RSS of a command; `before` runs untimed ahead of each run. */
function measure(cmd: string, args: readonly string[], runs: number, before?: () => void, okStatus: readonly number[] = [0]): Measurement {
  let best: Measurement | undefined;
  for (let i = 0; i < runs; i++) {
    before?.();
    const start = performance.now();
    const r = HAS_TIME
      ? spawnSync('/usr/bin/time', ['-f', '%M', cmd, ...args], { encoding: 'utf8', maxBuffer: 1 << 30 })
      : spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 30 });
    const seconds = (performance.now() - start) / 1000;
    if (!okStatus.includes(r.status ?? -1)) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr.slice(-2000)}`);
    const kb = HAS_TIME ? Number(r.stderr.trim().split('\n').pop()) : NaN;
    const m = { seconds, peakMiB: Number.isFinite(kb) ? kb / 1024 : undefined };
    if (!best || m.seconds < best.seconds) best = m;
  }
  return best as Measurement;
}

const joch = (args: readonly string[], runs: number, before?: () => void, okStatus?: readonly number[]) => measure(process.execPath, [BIN, ...args], runs, before, okStatus);

interface SizeResult {
  readonly agents: number;
  readonly objects: number;
  /** The policy stage failed at this size: compiled with --without-policy, and said so. */
  readonly withoutPolicy: boolean;
  readonly validate: Measurement;
  readonly compile: Measurement;
  readonly single: Measurement;
  /** `-o` on tmpfs: the same work with the disk taken out. */
  readonly tmpfs: Measurement | undefined;
  /** `-o` on tmpfs with every agent's AgBOM (the default of joch compile -o). */
  readonly withAgbom: Measurement | undefined;
  /** `--stdout` to /dev/null: a YAML stream, as `kubectl kustomize` produces one. */
  readonly stream: Measurement;
}

const SHM = existsSync('/dev/shm') ? '/dev/shm' : undefined;

function benchSize(agents: number, runs: number): SizeResult {
  const { dir } = keptFleet(agents);
  const out = path.join(WORK, `out-${agents}`);
  const fresh = () => rmSync(out, { recursive: true, force: true });
  // validate exits 1 when it finds errors; its time counts all the same.
  const validate = joch(['validate', dir, '--format', 'json'], runs, undefined, [0, 1]);
  const probe = spawnSync(process.execPath, [BIN, 'compile', dir, '--stdout', '--crds', 'only'], { encoding: 'utf8', maxBuffer: 1 << 30 });
  const withoutPolicy = probe.status !== 0;
  const extra = withoutPolicy ? ['--without-policy'] : [];
  // The goal counts validate, policy, compile and write: the AgBOM stage is measured apart.
  const compile = joch(['compile', dir, '--output-dir', out, '-q', '--no-agbom', ...extra], runs, fresh);
  const single = joch(['compile', dir, '--output-dir', out, '-q', '--no-agbom', '--single-file', ...extra], runs, fresh);
  const objects = (readFileSync(path.join(out, 'objects.yaml'), 'utf8').match(/^---$/gm) ?? []).length;
  const shmOut = SHM ? path.join(SHM, `joch-bench-out-${agents}`) : undefined;
  const clean = () => shmOut && rmSync(shmOut, { recursive: true, force: true });
  const tmpfs = shmOut ? joch(['compile', dir, '--output-dir', shmOut, '-q', '--no-agbom', ...extra], runs, clean) : undefined;
  const withAgbom = shmOut ? joch(['compile', dir, '--output-dir', shmOut, '-q', ...extra], runs, clean) : undefined;
  clean();
  const stream = measure('sh', ['-c', `"${process.execPath}" "${BIN}" compile "${dir}" --stdout -q ${extra.join(' ')} > /dev/null`], runs);
  return { agents, objects, withoutPolicy, validate, compile, single, tmpfs, withAgbom, stream };
}

/** In process: each stage of a full compile, then the same after a one-file change to one agent. */
async function incremental(agents: number): Promise<string[]> {
  const { dir } = keptFleet(agents);
  const copy = path.join(WORK, `incremental-${agents}`);
  rmSync(copy, { recursive: true, force: true });
  spawnSync('cp', ['-r', dir, copy]);
  const out = path.join(WORK, `incremental-out-${agents}`);
  rmSync(out, { recursive: true, force: true });
  const compiler = createCompiler();
  const round = async () => {
    const run = await runCompile({ paths: [copy], cwd: ROOT, compiler });
    if (!run.output || run.refused) throw new Error(`compile refused: ${run.diagnostics.find((d) => d.severity === 'error')?.message}`);
    let t = performance.now();
    const files = renderFiles(run.output);
    const render = performance.now() - t;
    t = performance.now();
    const written = writeFiles(out, files);
    const write = performance.now() - t;
    return { run, render, write, written };
  };
  const full = await round();
  const agentFile = path.join(copy, 'team-000/agents/agent-00000.yaml');
  writeFileSync(agentFile, readFileSync(agentFile, 'utf8').replace('drafts answers', 'drafts short answers'));
  const change = await round();
  const t = (r: typeof full, k: string) => fmt.ms(r.run.timings[k] ?? 0);
  const readPhase = (r: typeof full) => (r.run.timings.source ?? 0) + (r.run.timings.load ?? 0) + (r.run.timings.validate ?? 0) + (r.run.timings.graph ?? 0);
  return [
    `## one ${agents}-agent run in process, then a one-file change (team-000/agents/agent-00000.yaml)`,
    '| run | read+load+validate | policy | compile (units built) | render | write (files written) |',
    '|---|---:|---:|---:|---:|---:|',
    ...[
      ['full', full],
      ['one file changed', change],
    ].map(([name, r]) => {
      const x = r as typeof full;
      return `| ${String(name)} | ${fmt.ms(readPhase(x))} | ${t(x, 'policy')} | ${t(x, 'compile')} (${x.run.output?.stats.built}/${x.run.output?.stats.units}) | ${fmt.ms(x.render)} | ${fmt.ms(x.write)} (${x.written.written}) |`;
    }),
  ];
}

/** `kubectl kustomize` over `count` plain ConfigMaps, one file each; seconds, or undefined without kubectl. */
function kustomize(count: number, runs: number): Measurement | undefined {
  if (spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).error) return undefined;
  const dir = path.join(WORK, `kustomize-${count}`);
  if (!existsSync(path.join(dir, 'kustomization.yaml'))) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(path.join(dir, 'objects'), { recursive: true });
    const names: string[] = [];
    for (let i = 0; i < count; i++) {
      const name = `objects/cm-${String(i).padStart(6, '0')}.yaml`;
      writeFileSync(
        path.join(dir, name),
        `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-${i}\n  namespace: team-${Math.floor(i / 500)}\n  labels:\n    app.kubernetes.io/name: agent-${i}\ndata:\n  key: value-${i}\n`,
      );
      names.push(name);
    }
    writeFileSync(path.join(dir, 'kustomization.yaml'), `resources:\n${names.map((n) => `- ${n}`).join('\n')}\n`);
  }
  return measure('kubectl', ['kustomize', dir], runs);
}

/** Least-squares fit of t = a n^2 + b n + c through the measured points. */
function quadratic(points: readonly [number, number][]): (n: number) => number {
  const [[x1, y1], [x2, y2], [x3, y3]] = points as [[number, number], [number, number], [number, number]];
  const d = (x1 - x2) * (x1 - x3) * (x2 - x3);
  const a = (x3 * (y2 - y1) + x2 * (y1 - y3) + x1 * (y3 - y2)) / d;
  const b = (x3 * x3 * (y1 - y2) + x2 * x2 * (y3 - y1) + x1 * x1 * (y2 - y3)) / d;
  const c = (x2 * x3 * (x2 - x3) * y1 + x3 * x1 * (x3 - x1) * y2 + x1 * x2 * (x1 - x2) * y3) / d;
  return (n) => a * n * n + b * n + c;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { sizes: { type: 'string' }, runs: { type: 'string' }, 'kustomize-max': { type: 'string' } } });
  const sizes = (values.sizes ?? '100,1000,10000').split(',').map(Number);
  const runs = Number(values.runs ?? 3);
  const kMax = Number(values['kustomize-max'] ?? 4000);
  const report = (line: string) => process.stdout.write(`${line}\n`);
  spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });

  report('## joch compile (fresh process: validate, policy, compile, write)');
  report('| agents | objects | joch validate | peak | joch compile -o (file per object) | peak | compile - validate | -o on tmpfs | --single-file | peak | --stdout | per agent (tmpfs) | -o with AgBOMs (tmpfs) | peak |');
  report('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  const results: SizeResult[] = [];
  for (const n of sizes) {
    const r = benchSize(n, n >= 10_000 ? 1 : runs);
    results.push(r);
    report(
      `| ${n}${r.withoutPolicy ? ' (without policy: the policy stage failed)' : ''} | ${r.objects} | ${fmt.s(r.validate.seconds)} | ${fmt.mib(r.validate.peakMiB)} | ${fmt.s(r.compile.seconds)} | ${fmt.mib(r.compile.peakMiB)} | ` +
        `${fmt.s(r.compile.seconds - r.validate.seconds)} | ${r.tmpfs ? fmt.s(r.tmpfs.seconds) : 'n/a'} | ${fmt.s(r.single.seconds)} | ${fmt.mib(r.single.peakMiB)} | ` +
        `${fmt.s(r.stream.seconds)} | ${fmt.ms(((r.tmpfs ?? r.compile).seconds * 1000) / n)} | ` +
        `${r.withAgbom ? fmt.s(r.withAgbom.seconds) : 'n/a'} | ${fmt.mib(r.withAgbom?.peakMiB)} |`,
    );
  }

  report('');
  for (const line of await incremental(sizes.includes(1000) ? 1000 : (sizes[0] as number))) report(line);

  report('');
  report('## against `kubectl kustomize` building the same number of plain objects');
  const calibration = [500, 1000, 2000].map((c) => [c, kustomize(c, 1)?.seconds] as const);
  if (calibration.some(([, s]) => s === undefined)) {
    report('kubectl is not installed: no comparison');
    return;
  }
  const fit = quadratic(calibration as [number, number][]);
  report(`kustomize calibration: ${calibration.map(([c, s]) => `${c} objects ${fmt.s(s as number)}`).join(', ')}`);
  report('Both produce one YAML stream on stdout (joch: `compile --stdout`, from the Joch sources, validate and policy included).');
  report('| agents | objects | joch compile --stdout | kubectl kustomize | kustomize / joch |');
  report('|---:|---:|---:|---:|---:|');
  for (const r of results) {
    const real = r.objects <= kMax ? kustomize(r.objects, 1) : undefined;
    const seconds = real?.seconds ?? fit(r.objects);
    const mark = real ? '' : ' (estimate, quadratic fit)';
    report(`| ${r.agents} | ${r.objects} | ${fmt.s(r.stream.seconds)} | ${fmt.s(seconds)}${mark} | ${(seconds / r.stream.seconds).toFixed(1)}x |`);
  }
}

await main();
