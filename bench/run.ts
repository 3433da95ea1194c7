/**
 * `npm run bench`: generates fleets of 100, 1,000 and 10,000 agents and
 * measures each stage end to end as a user runs it (a fresh `joch` process),
 * with peak memory, next to reference implementations measured in the same
 * run on the same machine. Figures, not assertions: these machines are shared
 * and noisy, so each measurement is the best of a few runs.
 *
 * Sections: validate, kubeconform, startup, policy, compile, agbom, git, cluster, sync, incremental.
 * Options: --sizes 100,1000   --runs 3   --only validate,sync
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { keptFleet, type FleetStats } from './fleet.js';
import { naiveValidate } from './reference.js';
import { benchKubeconform } from './kubeconform.js';
import { benchStartup } from './startup.js';
import { benchSync } from './sync.js';

const ROOT = new URL('..', import.meta.url).pathname;
const BIN = path.join(ROOT, 'bin/joch.js');

export interface Measurement {
  readonly seconds: number;
  readonly peakMiB: number | undefined;
}

export interface BenchContext {
  readonly sizes: readonly number[];
  readonly runs: number;
  fleet(agents: number): { dir: string; stats: FleetStats };
  /** Best-of-N wall time and peak RSS of `node bin/joch.js ARGS`. */
  joch(args: readonly string[], runs?: number): Measurement;
  report(line: string): void;
}

/** GNU time gives peak RSS; without it only wall time is reported. */
const HAS_TIME = existsSync('/usr/bin/time');

function runJoch(args: readonly string[], runs: number): Measurement {
  let best: Measurement | undefined;
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    const r = HAS_TIME
      ? spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, BIN, ...args], { encoding: 'utf8', maxBuffer: 1 << 30 })
      : spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', maxBuffer: 1 << 30 });
    const seconds = (performance.now() - start) / 1000;
    if (r.status !== 0 && r.status !== 1) throw new Error(`joch ${args.join(' ')} failed (${r.status}): ${r.stderr.slice(-2000)}`);
    const kb = HAS_TIME ? Number(r.stderr.trim().split('\n').pop()) : NaN;
    const m = { seconds, peakMiB: Number.isFinite(kb) ? kb / 1024 : undefined };
    if (!best || m.seconds < best.seconds) best = m;
  }
  return best as Measurement;
}

export const fmt = {
  s: (x: number) => `${x.toFixed(2)} s`,
  ms: (x: number) => `${(x * 1000).toFixed(0)} ms`,
  mib: (x: number | undefined) => (x === undefined ? 'n/a' : `${x.toFixed(0)} MiB`),
  ratio: (ours: number, ref: number) => `${(ref / ours).toFixed(1)}x faster`,
};

async function benchValidate(ctx: BenchContext): Promise<void> {
  ctx.report('## load + validate (fresh process)');
  ctx.report('');
  ctx.report('`schema+refs`: `joch validate --checks schema,identity,references,secrets` (load and validate);');
  ctx.report('`all checks`: `joch validate` as users run it, the policy stage included.');
  ctx.report('');
  ctx.report('| agents | documents | MB | schema+refs | peak | docs/s | all checks | peak | naive reference | ratio |');
  ctx.report('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const n of ctx.sizes) {
    const { dir, stats } = ctx.fleet(n);
    const load = ctx.joch(['validate', dir, '--format', 'json', '--checks', 'schema,identity,references,secrets']);
    const all = ctx.joch(['validate', dir, '--format', 'json']);
    const ref = naiveValidate(dir, stats.documents <= 20_000 ? 1 : 0);
    ctx.report(
      `| ${n} | ${stats.documents} | ${(stats.bytes / 1e6).toFixed(1)} | ${fmt.s(load.seconds)} | ${fmt.mib(load.peakMiB)} | ${Math.round(stats.documents / load.seconds)} | ${fmt.s(all.seconds)} | ${fmt.mib(all.peakMiB)} | ${ref ? fmt.s(ref) : 'skipped'} | ${ref ? fmt.ratio(load.seconds, ref) : ''} |`,
    );
  }
  ctx.report('');
  ctx.report('naive reference: recursive readdir, `yaml` parseAllDocuments with a LineCounter, ajv compiled in-process, one thread (schema only).');
  ctx.report('');
}

type Section = (ctx: BenchContext) => Promise<void>;

/** A stage benchmark that is a script of its own: run it as a child and pass its report through. */
function script(title: string, file: string, args: (ctx: BenchContext) => string[]): Section {
  return async (ctx) => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench', file), ...args(ctx)], {
      cwd: ROOT,
      encoding: 'utf8',
      maxBuffer: 1 << 28,
    });
    const out = r.stdout.trimEnd();
    if (!out.startsWith('#')) ctx.report(`## ${title} (bench/${file})\n`);
    ctx.report(out);
    if (r.status !== 0) ctx.report(`\n(bench/${file} exited with ${r.status}: ${r.stderr.trim().split('\n').slice(-3).join(' / ')})`);
    ctx.report('');
  };
}

const thousand = (ctx: BenchContext) => String(ctx.sizes.includes(1000) ? 1000 : Math.max(...ctx.sizes));

/** Stage benchmarks register here; each prints its own table. */
const SECTIONS: Record<string, Section> = {
  validate: benchValidate,
  kubeconform: benchKubeconform,
  startup: benchStartup,
  policy: script('policy', 'policy.ts', (ctx) => [thousand(ctx), '20']),
  compile: script('compile', 'compile.ts', (ctx) => ['--sizes', ctx.sizes.join(','), '--runs', String(ctx.runs)]),
  agbom: script('AgBOM', 'agbom.ts', (ctx) => ['--agents', thousand(ctx), '--runs', String(ctx.runs)]),
  git: script('Git source', 'git-source.ts', () => ['10000', '50', '10']),
  cluster: script('apply', 'cluster.ts', (ctx) => [thousand(ctx)]),
  sync: benchSync,
  incremental: script('incremental (persistent cache)', 'incremental.ts', (ctx) => ['--sizes', ctx.sizes.join(','), '--runs', String(ctx.runs)]),
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { sizes: { type: 'string' }, runs: { type: 'string' }, only: { type: 'string' } },
  });
  const sizes = (values.sizes ?? '100,1000,10000').split(',').map(Number);
  const runs = Number(values.runs ?? 3);
  const only = values.only?.split(',');
  const build = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
  if (build.status !== 0) throw new Error('build failed');
  const ctx: BenchContext = {
    sizes,
    runs,
    fleet: keptFleet,
    joch: (args, r) => runJoch(args, r ?? runs),
    report: (line) => process.stdout.write(`${line}\n`),
  };
  ctx.report(`# joch benchmarks (node ${process.version}, ${new Date().toISOString().slice(0, 10)})`);
  ctx.report('');
  for (const [name, section] of Object.entries(SECTIONS)) {
    if (only && !only.includes(name)) continue;
    await section(ctx);
  }
}

await main();
