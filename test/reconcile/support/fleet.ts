/**
 * Shared by the sync tests: a served repository holding a generated fleet
 * (the benchmark's generator: valid, governed, compilable), edits that
 * change one agent, and a sync runtime built from real options.
 */
import { cpSync, readdirSync, rmSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { generateFleet } from '../../../bench/fleet.js';
import { runCompile } from '../../../src/pipeline/compile.js';
import { createSyncRuntime, parseSyncOptions, type RawSyncOptions, type SyncRuntime } from '../../../src/reconcile/index.js';
import { RepoFixture, runGit } from '../../support/git-http-server.js';

/** A bare repository `<root>/<name>` on branch main with a generated fleet committed and pushed. */
export async function fleetRepo(root: string, name: string, agents: number): Promise<{ repo: RepoFixture; commit: string }> {
  const repo = await RepoFixture.create(root, name);
  // The generator empties its folder first: generate beside the clone, then copy in.
  const generated = `${repo.work}.fleet`;
  generateFleet(generated, agents);
  cpSync(generated, repo.work, { recursive: true });
  rmSync(generated, { recursive: true, force: true });
  const commit = await repo.commit('fleet');
  await repo.push('HEAD:refs/heads/main');
  return { repo, commit };
}

export function agentFile(i: number): string {
  return `team-${String(Math.floor(i / 50)).padStart(3, '0')}/agents/agent-${String(i).padStart(5, '0')}.yaml`;
}

/** Changes agent `i`'s image tag (its Deployment and manifest change); commits and pushes. */
export async function bumpAgent(repo: RepoFixture, i: number, tag: string, message = `agent ${i} to ${tag}`): Promise<string> {
  const file = path.join(repo.work, agentFile(i));
  const text = await readFile(file, 'utf8');
  await writeFile(file, text.replace(/(image: ghcr\.io\/example\/agent-\d+:)\S+/, `$1${tag}`));
  const oid = await repo.commit(message);
  await repo.push('HEAD:refs/heads/main');
  return oid;
}

/** Every file of agent `i` (the agent, its tools, memory, deployments, eval, secret, AgBOM settings), as null edits. */
export function agentFiles(repo: RepoFixture, i: number): Record<string, null> {
  const name = `agent-${String(i).padStart(5, '0')}`;
  const team = agentFile(i).split('/')[0] as string;
  const out: Record<string, null> = {};
  for (const rel of readdirSync(path.join(repo.work, team), { recursive: true }) as string[]) {
    if (path.basename(rel).startsWith(`${name}.`) || path.basename(rel).startsWith(`${name}-`)) out[`${team}/${rel}`] = null;
  }
  return out;
}

export interface LogSink {
  readonly lines: Array<Record<string, unknown>>;
  readonly stream: Writable;
}

export function logSink(): LogSink {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { lines, stream };
}

/** A runtime from flags, as `joch sync` builds it; logs collected in memory. */
export async function syncRuntime(
  flags: RawSyncOptions,
  cwd: string,
  env: Record<string, string> = {},
): Promise<SyncRuntime & { logs: LogSink; clock: TestClock }> {
  const parsed = parseSyncOptions({ 'log-level': 'info', ...flags }, env);
  if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
  const logs = logSink();
  const clock = new TestClock();
  // The loop's cache stays in the test cache folder (vitest.config.ts), whatever environment the test gives.
  const cache = process.env.JOCH_CACHE_DIR ? { JOCH_CACHE_DIR: process.env.JOCH_CACHE_DIR } : {};
  const runtime = await createSyncRuntime(parsed.options, { cwd, env: { ...cache, ...env }, toolVersion: '0.0.0-test', logDestination: logs.stream, now: () => clock.now() });
  return Object.assign(runtime, { logs, clock });
}

/** Wall time plus an offset the test moves forward (to make a drift check due). */
export class TestClock {
  private offset = 0;
  now(): Date {
    return new Date(Date.now() + this.offset);
  }
  advance(ms: number): void {
    this.offset += ms;
  }
}

/** Polls until `check` returns a value that is not undefined, or fails after `timeoutMs`. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function branchLog(repo: RepoFixture, branch: string): Promise<Array<{ oid: string; author: string; subject: string }>> {
  const out = await repo.served(['log', '--format=%H%x09%ae%x09%s', branch]).catch(() => '');
  return out
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [oid = '', author = '', subject = ''] = line.split('\t');
      return { oid, author, subject };
    });
}

export function show(repo: RepoFixture, spec: string): Promise<string> {
  return runGit(repo.bare, ['show', spec]);
}

/** What the repository's working copy compiles to: the desired set, as sorted `Kind ns/name`. */
export async function desiredNames(repo: RepoFixture): Promise<string[]> {
  const run = await runCompile({ paths: [], cwd: repo.work });
  if (!run.output) throw new Error(`the fixture does not compile: ${run.diagnostics.map((d) => d.message).join('; ')}`);
  return run.output.objects.map(({ object: o }) => `${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`).sort();
}
