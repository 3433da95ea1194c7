/**
 * `node --import tsx bench/incremental.ts`: what the persistent cache buys a
 * user who changes one file. For fleets of 100, 1,000 and 10,000 agents,
 * each command runs as a fresh process (as a user, a pre-commit hook or CI
 * runs it) in four states, with its peak memory:
 *
 * - uncached: `JOCH_NO_CACHE=1`, the reference every ratio is taken against;
 * - cold: an empty cache folder (the run that fills it);
 * - warm: nothing changed since the last run;
 * - one file: one agent's file changed since the last run (a new change each time).
 *
 * Commands: `joch validate`, `joch compile --output-dir` (into a folder the
 * previous run wrote, so unchanged files are not rewritten) and `joch action`
 * (the GitHub Action's review of a commit against its parent, from a Git
 * checkout). The goal is a one-file change under 0.10 of the uncached run.
 * Run `npm run build` first (bench/run.ts does).
 *
 * Options: --sizes 100,1000,10000  --runs 3 (10,000 agents run once)  --commands validate,compile,action
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { BENCH_WORK, keptFleet } from './fleet.js';

const ROOT = new URL('..', import.meta.url).pathname;
const BIN = path.join(ROOT, 'bin/joch.js');
const HAS_TIME = existsSync('/usr/bin/time');
const WORK = BENCH_WORK;
/** The file the one-file change edits: the first agent of the first team. */
const CHANGED = 'team-000/agents/agent-00000.yaml';

interface Measurement {
  readonly seconds: number;
  readonly peakMiB: number | undefined;
}

/** One fresh `joch` process: wall time, and peak RSS from GNU time when it is there. */
function once(args: readonly string[], env: NodeJS.ProcessEnv, cwd: string): Measurement {
  const start = performance.now();
  const r = HAS_TIME
    ? spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, BIN, ...args], { cwd, env, encoding: 'utf8', maxBuffer: 1 << 30 })
    : spawnSync(process.execPath, [BIN, ...args], { cwd, env, encoding: 'utf8', maxBuffer: 1 << 30 });
  const seconds = (performance.now() - start) / 1000;
  if (r.status !== 0 && r.status !== 1) throw new Error(`joch ${args.join(' ')} failed (${r.status}): ${r.stderr.slice(-2000)}`);
  const kb = HAS_TIME ? Number(r.stderr.trim().split('\n').pop()) : NaN;
  return { seconds, peakMiB: Number.isFinite(kb) ? kb / 1024 : undefined };
}

/** Best of `runs`; `before` runs untimed ahead of each. */
function best(runs: number, before: () => void, run: () => Measurement): Measurement {
  let out: Measurement | undefined;
  for (let i = 0; i < runs; i++) {
    before();
    const m = run();
    if (!out || m.seconds < out.seconds) out = m;
  }
  return out as Measurement;
}

interface Row {
  readonly command: string;
  readonly uncached: Measurement;
  readonly cold: Measurement;
  readonly warm: Measurement;
  readonly oneFile: Measurement;
}

interface Workspace {
  /** The folder the command runs in. */
  readonly cwd: string;
  readonly args: readonly string[];
  /** Makes a new one-file change (a new revision for the Action). */
  change(n: number): void;
  restore(): void;
}

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'bench@example.com', GIT_COMMITTER_NAME: 'bench', GIT_COMMITTER_EMAIL: 'bench@example.com' },
  }).trim();
}

function editAgent(file: string, original: string, n: number): void {
  const changed = original.replace(/displayName: Agent 0( \(revision \d+\))?\n/, `displayName: Agent 0 (revision ${n})\n`);
  if (changed === original) throw new Error(`${file}: no displayName line to change`);
  writeFileSync(file, changed);
}

function workspaces(agents: number, commands: readonly string[]): Map<string, Workspace> {
  const { dir } = keptFleet(agents);
  const file = path.join(dir, CHANGED);
  const original = readFileSync(file, 'utf8');
  const local = { cwd: dir, change: (n: number) => editAgent(file, original, n), restore: () => writeFileSync(file, original) };
  const out = new Map<string, Workspace>();
  if (commands.includes('validate')) out.set('validate', { ...local, args: ['validate', '.', '-o', 'json'] });
  if (commands.includes('compile')) {
    const target = path.join(WORK, `incremental-out-${agents}`);
    out.set('compile -o', { ...local, args: ['compile', '.', '--output-dir', target, '-q', '-o', 'json'] });
  }
  if (commands.includes('action')) {
    // A Git checkout of the fleet: each change is a commit reviewed against its parent.
    const repo = path.join(WORK, `incremental-git-${agents}`);
    if (!existsSync(path.join(repo, '.git'))) {
      rmSync(repo, { recursive: true, force: true });
      cpSync(dir, repo, { recursive: true });
      git(repo, 'init', '-q', '-b', 'main');
      git(repo, 'add', '-A');
      git(repo, 'commit', '-q', '-m', 'fleet');
    }
    const gitFile = path.join(repo, CHANGED);
    out.set('action', {
      cwd: repo,
      args: ['action'],
      change: (n) => {
        // Numbered after the commits already there, so a second run of the bench still changes the file.
        editAgent(gitFile, readFileSync(gitFile, 'utf8'), Number(git(repo, 'rev-list', '--count', 'HEAD')) * 1000 + n);
        git(repo, 'commit', '-q', '-m', `change ${n}`, '--', CHANGED);
      },
      restore: () => undefined,
    });
  }
  return out;
}

function actionEnv(cwd: string): NodeJS.ProcessEnv {
  const runner = path.join(WORK, 'action-runner');
  mkdirSync(runner, { recursive: true });
  const summary = path.join(runner, 'summary.md');
  const output = path.join(runner, 'output.txt');
  writeFileSync(summary, '');
  writeFileSync(output, '');
  return {
    GITHUB_ACTIONS: 'true',
    GITHUB_WORKSPACE: cwd,
    GITHUB_EVENT_NAME: 'push',
    GITHUB_STEP_SUMMARY: summary,
    GITHUB_OUTPUT: output,
    GITHUB_REPOSITORY: 'acme/agents',
    GITHUB_SHA: git(cwd, 'rev-parse', 'HEAD'),
    GITHUB_API_URL: 'http://127.0.0.1:9',
    INPUT_BASE: 'HEAD~1',
    'INPUT_FAIL-ON': 'never',
    'INPUT_FAIL-ON-RISK': 'never',
    'INPUT_SARIF-FILE': '',
    'INPUT_GITHUB-TOKEN': '',
    INPUT_COMMENT: 'false',
  };
}

function benchCommand(command: string, ws: Workspace, agents: number, runs: number): Row {
  const cache = path.join(WORK, `incremental-cache-${agents}`);
  let revision = 0;
  const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
    ...process.env,
    JOCH_CACHE_DIR: cache,
    ...(command === 'action' ? actionEnv(ws.cwd) : {}),
    ...extra,
  });
  const run = (extra?: NodeJS.ProcessEnv) => () => once(ws.args, env(extra), ws.cwd);
  const clear = () => rmSync(cache, { recursive: true, force: true });
  // The Action reviews a commit against its parent: every state starts from a fresh commit.
  if (command === 'action') ws.change(++revision);
  const uncached = best(runs, () => undefined, run({ JOCH_NO_CACHE: '1' }));
  const cold = best(runs, clear, run());
  run()(); // the output folder and the cache both hold the last run
  const warm = best(runs, () => undefined, run());
  const oneFile = best(runs, () => ws.change(++revision), run());
  ws.restore();
  return { command, uncached, cold, warm, oneFile };
}

const fmt = {
  s: (m: Measurement) => `${m.seconds.toFixed(2)} s`,
  mib: (m: Measurement) => (m.peakMiB === undefined ? 'n/a' : `${m.peakMiB.toFixed(0)} MiB`),
  ratio: (m: Measurement, ref: Measurement) => (m.seconds / ref.seconds).toFixed(2),
};

function main(): void {
  const { values } = parseArgs({ options: { sizes: { type: 'string' }, runs: { type: 'string' }, commands: { type: 'string' } } });
  const sizes = (values.sizes ?? '100,1000,10000').split(',').map(Number);
  const runs = Number(values.runs ?? 3);
  const commands = (values.commands ?? 'validate,compile,action').split(',');
  const say = (line: string) => process.stdout.write(`${line}\n`);
  say('## incremental: the persistent cache (fresh process per run)');
  say('');
  say('Ratios are to the uncached run (`JOCH_NO_CACHE=1`) of the same command in the same run; the goal for one changed file is under 0.10.');
  say('`cold` fills an empty cache; `warm` changes nothing; `one file` changes one agent (a new change each run).');
  say('');
  say('| agents | command | uncached | peak | cold | ratio | warm | ratio | one file | ratio | peak |');
  say('|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const agents of sizes) {
    const r = agents >= 10_000 ? 1 : runs;
    for (const [command, ws] of workspaces(agents, commands)) {
      let row: Row;
      try {
        row = benchCommand(command === 'action' ? 'action' : command, ws, agents, r);
      } finally {
        ws.restore();
      }
      say(
        `| ${agents} | ${row.command} | ${fmt.s(row.uncached)} | ${fmt.mib(row.uncached)} | ${fmt.s(row.cold)} | ${fmt.ratio(row.cold, row.uncached)} | ` +
          `${fmt.s(row.warm)} | ${fmt.ratio(row.warm, row.uncached)} | ${fmt.s(row.oneFile)} | ${fmt.ratio(row.oneFile, row.uncached)} | ${fmt.mib(row.oneFile)} |`,
      );
    }
  }
  say('');
}

main();
