/**
 * A Git revision's links, submodules and oversize files are not read; the
 * pipeline says so at each path, so `joch sync` never takes a record it could
 * not read for a record that was deleted (and prunes it). The same holds for
 * the readers of promote/rollback and of the Action's base commit.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRevisionFiles } from '../../src/action/base.js';
import { DEFAULT_CONFIG } from '../../src/config/index.js';
import { runSnapshot } from '../../src/pipeline/snapshot.js';
import { openRepo, readSnapshot } from '../../src/promote/git.js';
import { GitSource, type GitSnapshotResult } from '../../src/source/git.js';
import { DEFAULT_MAX_FILE_BYTES } from '../../src/source/types.js';
import { RepoFixture, runGit, startGitHttpServer, type GitHttpServer } from '../support/git-http-server.js';

const FLEET = path.resolve(import.meta.dirname, '../../examples/fleet');
let root: string;
let server: GitHttpServer;
let count = 0;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'joch-unread-'));
  server = await startGitHttpServer({ root });
});

afterAll(async () => {
  await server?.close();
  await rm(root, { recursive: true, force: true });
});

/** The example fleet's files, by path relative to its root. */
function fleetFiles(): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const abs = path.join(dir, name);
      if (statSync(abs).isDirectory()) walk(abs);
      else out[path.relative(FLEET, abs).split(path.sep).join('/')] = readFileSync(abs, 'utf8');
    }
  };
  walk(FLEET);
  return out;
}

/** A valid record padded with a comment to `bytes`. */
function padded(bytes: number): string {
  const record = 'apiVersion: joch.dev/v1alpha1\nkind: Tool\nmetadata:\n  name: padded\n  namespace: platform\nspec:\n  type: http\n';
  return `${record}# ${'x'.repeat(bytes - record.length - 3)}\n`;
}

async function fleetRepo(extra: Record<string, string>): Promise<RepoFixture> {
  const repo = await RepoFixture.create(root, `unread-${++count}.git`);
  await repo.write({ ...fleetFiles(), ...extra });
  await repo.symlink('platform/linked-agent.yaml', '../research/research.yaml');
  await repo.symlink('platform/shared', '../research');
  return repo;
}

async function syncRead(repo: RepoFixture, maxFileBytes?: number): Promise<GitSnapshotResult> {
  await repo.commit('fleet');
  await repo.push();
  const result = await new GitSource({ url: server.url(repo.name), cacheDir: path.join(root, `cache-${++count}`), maxFileBytes }).update();
  if (!result.ok) throw new Error(result.failure.message);
  return result;
}

const places = (run: ReturnType<typeof runSnapshot>, codes: readonly string[]) =>
  run.diagnostics.filter((d) => codes.includes(d.code)).map((d) => `${d.severity} ${d.code} ${d.file}:${d.line} ${d.message}`);

describe('what a Git revision holds but the snapshot does not', () => {
  it('reads up to the size joch.yaml allows by default', () => {
    expect(DEFAULT_MAX_FILE_BYTES).toBe(DEFAULT_CONFIG.limits.maxFileBytes);
  });

  it('refuses a revision whose manifest is too large or a link, and warns of a linked folder', async () => {
    const repo = await fleetRepo({ 'platform/huge.yaml': padded(9000) });
    const read = await syncRead(repo, 8000);
    expect(read.snapshot.files.some((f) => f.path === 'platform/huge.yaml')).toBe(false);
    const run = runSnapshot({ snapshot: read.snapshot });
    expect(run.refused).toBe(true);
    expect(run.output).toBeUndefined();
    expect(places(run, ['JOCH106', 'JOCH112', 'JOCH113'])).toEqual([
      'error JOCH106 platform/huge.yaml:1 the file is 9000 bytes; files are read from a Git revision up to 8000 bytes',
      'error JOCH112 platform/linked-agent.yaml:1 the file is a symbolic link in the Git revision; links are not followed there, so its records are not read',
      'warning JOCH113 platform/shared:1 a symbolic link in the Git revision is not read; any manifests it leads to are missing',
    ]);
  });

  it("applies joch.yaml's own limit and exclusions to what was and was not read", async () => {
    const config = fleetFiles()['joch.yaml'] as string;
    const repo = await fleetRepo({
      'joch.yaml': `${config}\nlimits:\n  maxFileBytes: 7000\nexclude:\n  - platform/linked-agent.yaml\n  - platform/shared\n`,
      'platform/huge.yaml': padded(7500),
    });
    const run = runSnapshot({ snapshot: (await syncRead(repo)).snapshot });
    expect(places(run, ['JOCH106', 'JOCH112', 'JOCH113'])).toEqual(['error JOCH106 platform/huge.yaml:1 the file is 7500 bytes; the limit is 7000 (limits.maxFileBytes in joch.yaml)']);
    expect(run.set.files).not.toContain('platform/huge.yaml');
    expect(run.refused).toBe(true);
  });

  it('compiles as before when the unread entries are outside the selected paths', async () => {
    const repo = await fleetRepo({ 'docs/huge.yaml': padded(9000) });
    const run = runSnapshot({ snapshot: (await syncRead(repo, 8000)).snapshot });
    expect(places(run, ['JOCH106'])).toEqual([]);
  });

  it('promote and rollback read a commit with the same limits and report the same entries', async () => {
    const repo = await fleetRepo({ 'platform/huge.yaml': padded(DEFAULT_MAX_FILE_BYTES + 10) });
    const head = await repo.commit('fleet');
    const snapshot = await readSnapshot(await openRepo(repo.work), head, '', repo.work, undefined);
    expect(snapshot.unread).toEqual([
      { path: 'platform/huge.yaml', reason: 'oversize', size: DEFAULT_MAX_FILE_BYTES + 10, limit: DEFAULT_MAX_FILE_BYTES },
      { path: 'platform/linked-agent.yaml', reason: 'symlink' },
      { path: 'platform/shared', reason: 'symlink' },
    ]);
    expect(runSnapshot({ snapshot }).refused).toBe(true);
  });

  it("the Action's base commit never loads an oversize file, lists links and submodules, and honours .jochignore", async () => {
    const repo = await fleetRepo({
      'platform/huge.yaml': padded(DEFAULT_MAX_FILE_BYTES + 10),
      '.jochignore': 'drafts/\nlinks/\n',
      'drafts/broken.yaml': 'kind: [\n',
    });
    await repo.symlink('links/agent.yaml', '../research/research.yaml');
    const sub = await RepoFixture.create(root, `unread-sub-${++count}.git`);
    await sub.write({ 'x.yaml': 'a: 1\n' });
    await sub.commit('sub');
    await runGit(repo.work, ['-c', 'protocol.file.allow=always', 'submodule', 'add', '-q', sub.work, 'vendor/sub']);
    const head = await repo.commit('fleet');
    const read = await readRevisionFiles(repo.work, head, '');
    if (!read.ok) throw new Error(read.reason);
    expect(read.snapshot.files.some((f) => f.path === 'platform/huge.yaml')).toBe(false);
    expect(read.snapshot.files.some((f) => f.path.startsWith('drafts/'))).toBe(false);
    expect(read.snapshot.unread).toEqual([
      { path: 'platform/huge.yaml', reason: 'oversize', size: DEFAULT_MAX_FILE_BYTES + 10, limit: DEFAULT_MAX_FILE_BYTES },
      { path: 'platform/linked-agent.yaml', reason: 'symlink' },
      { path: 'platform/shared', reason: 'symlink' },
      { path: 'vendor/sub', reason: 'submodule' },
    ]);
    // Without its own exclusions the base would have been broken, and every agent of the head "new".
    expect(runSnapshot({ snapshot: { ...read.snapshot, unread: [] }, compile: false }).diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  });
});
