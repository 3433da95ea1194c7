/**
 * GitSource against system git, over the test suite's real smart-HTTP server.
 *
 *   node --import tsx bench/git-source.ts [files=10000] [commits=50] [rounds=10]
 *
 * Builds a repository of `files` YAML files with `commits` commits, serves it
 * with git http-backend, then measures in a child process (so its peak RSS is
 * its own): a cold update (clone + full snapshot) and incremental updates
 * (one new commit touching 3 files: fetch + new snapshot). The same is timed
 * for `git clone` and `git pull`.
 */
import { fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GitSource } from '../src/source/git-source.js';
import { RepoFixture, runGit, startGitHttpServer } from '../test/support/git-http-server.js';

interface ChildReport {
  readonly mode: string;
  readonly coldMs: number;
  readonly coldFiles: number;
  readonly incrementalMs: number[];
  readonly fetchMs: number[];
  readonly readMs: number[];
  readonly blobsRead: number[];
  readonly maxRssMiB: number;
}

type ToChild = { type: 'next' } | { type: 'done' };
type FromChild = { type: 'ready' } | { type: 'report'; report: ChildReport };

const self = fileURLToPath(import.meta.url);

if (process.argv[2] === '--child') await child(process.argv[3] as string, process.argv[4] as string, process.argv[5] as string);
else await main();

async function main(): Promise<void> {
  const files = Number(process.argv[2] ?? 10_000);
  const commits = Number(process.argv[3] ?? 50);
  const rounds = Number(process.argv[4] ?? 10);
  const root = await mkdtemp(path.join(tmpdir(), 'joch-bench-git-'));
  const server = await startGitHttpServer({ root });
  try {
    const t = performance.now();
    const repo = await buildRepo(root, files, commits);
    console.log(`repository: ${files} files, ${commits} commits, built in ${ms(performance.now() - t)}`);
    const url = server.url(repo.name);
    let bump = 0;
    const nextCommit = () => repo.commitAndPush(touch(++bump, files), `bench ${bump}`);

    const gitRef = await systemGit(root, url, rounds, nextCommit);
    const reports: ChildReport[] = [];
    for (const mode of ['shallow', 'full']) reports.push(await runChild(root, url, mode, rounds, nextCommit));

    console.log('');
    console.log(row('', 'cold (clone+snapshot)', 'incremental median', 'incremental p90', 'peak RSS'));
    console.log(row('git clone / git pull', ms(gitRef.cloneMs), ms(median(gitRef.pullMs)), ms(p90(gitRef.pullMs)), '-'));
    for (const r of reports) {
      console.log(row(`GitSource (${r.mode})`, ms(r.coldMs), ms(median(r.incrementalMs)), ms(p90(r.incrementalMs)), `${r.maxRssMiB} MiB`));
    }
    for (const r of reports) {
      console.log(
        `  ${r.mode}: ${r.coldFiles} files; incremental: fetch ${ms(median(r.fetchMs))}, snapshot read ${ms(median(r.readMs))} (medians); blobs read per update ${[...new Set(r.blobsRead)].join('/')}`,
      );
    }
    const best = Math.min(...reports.map((r) => median(r.incrementalMs)));
    console.log(`incremental / git pull: ${(best / median(gitRef.pullMs)).toFixed(2)}x`);
  } finally {
    await server.close();
    await rm(root, { recursive: true, force: true });
  }
}

async function buildRepo(root: string, files: number, commits: number): Promise<RepoFixture> {
  const repo = await RepoFixture.create(root, 'bench.git');
  const all: Record<string, string> = {};
  for (let i = 0; i < files; i++) all[fileName(i)] = manifest(i, 0);
  await repo.write(all);
  await repo.commit('initial');
  for (let c = 1; c < commits; c++) {
    await repo.write(touch(-c, files));
    await repo.commit(`history ${c}`);
  }
  await repo.push();
  return repo;
}

function fileName(i: number): string {
  return `fleet/team-${String(Math.floor(i / 100)).padStart(3, '0')}/agent-${String(i).padStart(5, '0')}.yaml`;
}

function manifest(i: number, version: number): string {
  return `apiVersion: joch.dev/v1\nkind: Agent\nmetadata:\n  name: agent-${i}\n  labels:\n    team: team-${Math.floor(i / 100)}\nspec:\n  model: gpt-test\n  version: ${version}\n  tools: [search, ticket]\n`;
}

/** Three files changed by commit `n` (negative: history commits). */
function touch(n: number, files: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (let k = 0; k < 3; k++) {
    const i = Math.abs(n * 7919 + k * 104729) % files;
    out[fileName(i)] = manifest(i, n + 1000 * k);
  }
  return out;
}

async function systemGit(root: string, url: string, rounds: number, nextCommit: () => Promise<string>) {
  const dir = path.join(root, 'git-clone');
  const t = performance.now();
  await runGit(root, ['clone', '-q', url, dir]);
  const cloneMs = performance.now() - t;
  const pullMs: number[] = [];
  for (let i = 0; i < rounds; i++) {
    await nextCommit();
    const s = performance.now();
    await runGit(dir, ['pull', '-q', '--ff-only']);
    pullMs.push(performance.now() - s);
  }
  return { cloneMs, pullMs };
}

function runChild(root: string, url: string, mode: string, rounds: number, nextCommit: () => Promise<string>): Promise<ChildReport> {
  return new Promise((resolve, reject) => {
    const proc = fork(self, ['--child', url, path.join(root, `cache-${mode}`), mode], { execArgv: ['--import', 'tsx'] });
    let left = rounds;
    proc.on('message', (raw) => {
      const msg = raw as FromChild;
      if (msg.type === 'report') {
        resolve(msg.report);
        return;
      }
      if (left-- <= 0) {
        proc.send({ type: 'done' } satisfies ToChild);
        return;
      }
      nextCommit().then(
        () => proc.send({ type: 'next' } satisfies ToChild),
        (e: unknown) => reject(e instanceof Error ? e : new Error(String(e))),
      );
    });
    proc.on('error', reject);
    proc.on('exit', (code) => {
      if (code) reject(new Error(`benchmark child exited with ${code}`));
    });
  });
}

async function child(url: string, cacheDir: string, mode: string): Promise<void> {
  const src = new GitSource({ url, cacheDir, shallow: mode === 'shallow' });
  const t = performance.now();
  const cold = await src.update();
  if (!cold.ok) throw new Error(JSON.stringify(cold.failure));
  const coldMs = performance.now() - t;
  const incrementalMs: number[] = [];
  const fetchMs: number[] = [];
  const readMs: number[] = [];
  const blobsRead: number[] = [];
  const send = (m: FromChild) => process.send?.(m);
  process.on('message', (raw) => {
    const msg = raw as ToChild;
    if (msg.type === 'done') {
      send({
        type: 'report',
        report: {
          mode,
          coldMs,
          coldFiles: cold.snapshot.files.length,
          incrementalMs,
          fetchMs,
          readMs,
          blobsRead,
          maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
        },
      });
      process.disconnect();
      return;
    }
    const s = performance.now();
    void src.update().then((r) => {
      if (!r.ok) throw new Error(JSON.stringify(r.failure));
      incrementalMs.push(performance.now() - s);
      fetchMs.push(r.stats.fetchMs);
      readMs.push(r.stats.readMs);
      blobsRead.push(r.stats.blobsRead);
      send({ type: 'ready' });
    });
  });
  send({ type: 'ready' });
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

function p90(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * 0.9))] ?? NaN;
}

function ms(x: number): string {
  return x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(0)} ms`;
}

function row(...cells: string[]): string {
  return cells.map((c, i) => c.padEnd(i === 0 ? 24 : 22)).join('');
}
