/**
 * `--only startup`: how long `joch validate` takes on a small repository (the
 * example fleet), as a multiple of the floor of any Node command, `node -e 0`,
 * measured in the same run. Pre-commit hooks and editors call a validator on
 * every save, so this is the figure they feel.
 *
 * JOCH_BENCH_BASELINE=FOLDER adds the same commands run by another build of
 * joch (a built checkout, or an unpacked package: FOLDER/bin/joch.js), on the
 * same example fleet and interleaved with the others, for a before and after
 * measured in one run.
 */
import { appendFileSync, cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { measure, type ProcessMeasurement } from './kubeconform.js';
import type { BenchContext } from './run.js';

const ROOT = new URL('..', import.meta.url).pathname;
const BIN = path.join(ROOT, 'bin/joch.js');

const ONE_FILE = 'joch validate (a copy of examples/fleet), one file changed since the last run';

export async function benchStartup(ctx: BenchContext): Promise<void> {
  // Start-up figures are tens of milliseconds: more runs, interleaved, so a busy moment hits all of them alike.
  const runs = Math.max(ctx.runs, 7);
  const commands: Record<string, readonly string[]> = {
    'node -e 0': ['-e', '0'],
    'joch --version': [BIN, '--version'],
    'joch validate examples/fleet': [BIN, 'validate', 'examples/fleet'],
    'joch validate examples/fleet (no compile cache)': [BIN, 'validate', 'examples/fleet'],
  };
  // What an editor's save costs: one file changed since the last run (a new change each time), and no persistent cache at all.
  const copy = mkdtempSync(path.join(tmpdir(), 'joch-startup-'));
  cpSync(path.join(ROOT, 'examples/fleet'), copy, { recursive: true });
  const edited = path.join(copy, 'research/research.yaml');
  commands[ONE_FILE] = [BIN, 'validate', copy];
  commands['joch validate examples/fleet (no persistent cache: JOCH_NO_CACHE=1)'] = [BIN, 'validate', 'examples/fleet'];
  const baseline = baselineBin();
  if (baseline) {
    commands['baseline: joch --version'] = [baseline, '--version'];
    commands['baseline: joch validate examples/fleet'] = [baseline, 'validate', 'examples/fleet'];
  }
  const noCache = { ...process.env, NODE_DISABLE_COMPILE_CACHE: '1' };
  const noStore = { ...process.env, JOCH_NO_CACHE: '1' };
  const envOf = (name: string) => (name.includes('no compile cache') ? noCache : name.includes('JOCH_NO_CACHE') ? noStore : process.env);
  const best = new Map<string, ProcessMeasurement>();
  // The copy's first run fills its state; each timed run then finds one file changed.
  measure(process.execPath, commands[ONE_FILE] as readonly string[], 1, process.env);
  for (let i = 0; i < runs; i++) {
    for (const [name, args] of Object.entries(commands)) {
      if (name === ONE_FILE) appendFileSync(edited, `# edit ${i}\n`);
      const m = measure(process.execPath, args, 1, envOf(name));
      const prev = best.get(name);
      if (!prev || m.seconds < prev.seconds) best.set(name, m);
    }
  }
  rmSync(copy, { recursive: true, force: true });
  const floor = (best.get('node -e 0') as ProcessMeasurement).seconds;
  ctx.report('## start-up on a small repository (fresh processes)');
  ctx.report('');
  ctx.report(`Best of ${runs}, interleaved. The example fleet: 22 files, 79 resources.`);
  ctx.report('');
  ctx.report('| command | wall | CPU (user+sys) | peak | / node -e 0 |');
  ctx.report('|---|---:|---:|---:|---:|');
  for (const [name, m] of best) {
    ctx.report(`| ${name} | ${(m.seconds * 1000).toFixed(0)} ms | ${(m.cpu * 1000).toFixed(0)} ms | ${m.peakMiB?.toFixed(0) ?? 'n/a'} MiB | ${(m.seconds / floor).toFixed(1)}x |`);
  }
  const validate = (best.get('joch validate examples/fleet') as ProcessMeasurement).seconds;
  ctx.report('');
  const changed = (best.get(ONE_FILE) as ProcessMeasurement).seconds;
  ctx.report(`**joch validate / node -e 0: ${(validate / floor).toFixed(1)}x** (goal: at most 2.5x), nothing changed since the last run; one file changed: ${(changed / floor).toFixed(1)}x.`);
  const before = best.get('baseline: joch validate examples/fleet');
  if (before && baseline) {
    ctx.report('');
    ctx.report(`Baseline (${process.env.JOCH_BENCH_BASELINE}): joch validate / node -e 0 ${(before.seconds / floor).toFixed(1)}x; this build takes ${((validate / before.seconds) * 100).toFixed(0)}% of its time.`);
  }
  ctx.report('');
}

/** FOLDER/bin/joch.js of JOCH_BENCH_BASELINE, when set. */
function baselineBin(): string | undefined {
  const folder = process.env.JOCH_BENCH_BASELINE;
  if (!folder) return undefined;
  const bin = path.resolve(folder, 'bin/joch.js');
  if (!existsSync(bin)) throw new Error(`JOCH_BENCH_BASELINE: no bin/joch.js in ${folder}`);
  return bin;
}
