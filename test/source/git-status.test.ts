import fs from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import git from 'isomorphic-git';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_BOT_IDENTITY,
  GitSourceError,
  StatusWriter,
  isOwnStatusCommit,
  type StatusWriteResult,
  type StatusWriteSuccess,
  type StatusWriterOptions,
} from '../../src/source/git.js';
import { RepoFixture, runGit, startGitHttpServer, type GitHttpServer } from '../support/git-http-server.js';

const BRANCH = 'joch/status';

let root: string;
let server: GitHttpServer;
let count = 0;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'joch-git-status-'));
  server = await startGitHttpServer({ root });
});

afterAll(async () => {
  await server?.close();
  await rm(root, { recursive: true, force: true });
});

async function newRepo(): Promise<RepoFixture> {
  const repo = await RepoFixture.create(root, `status-${++count}.git`);
  await repo.commitAndPush({ 'agents/a.yaml': 'kind: Agent\n' }, 'manifests');
  return repo;
}

function writer(repo: RepoFixture, options: Partial<StatusWriterOptions> = {}): StatusWriter {
  return new StatusWriter({ url: server.url(repo.name), cacheDir: path.join(root, `status-cache-${++count}`), ...options });
}

function ok(result: StatusWriteResult): StatusWriteSuccess {
  if (!result.ok) throw new Error(`status write failed: ${JSON.stringify(result.failure)}`);
  return result;
}

/** Commits on the server's status branch, newest first. */
async function serverLog(repo: RepoFixture): Promise<Array<{ oid: string; author: string; subject: string }>> {
  const out = await repo.served(['log', '--format=%H%x09%ae%x09%s', BRANCH]);
  return out.split('\n').map((line) => {
    const [oid = '', author = '', subject = ''] = line.split('\t');
    return { oid, author, subject };
  });
}

async function serverFile(repo: RepoFixture, file: string): Promise<string> {
  return repo.served(['show', `${BRANCH}:${file}`]);
}

async function serverFiles(repo: RepoFixture): Promise<string[]> {
  return (await repo.served(['ls-tree', '-r', '--name-only', BRANCH])).split('\n').filter(Boolean);
}

describe('StatusWriter', () => {
  it('refuses the branch the manifests come from', () => {
    expect(() => new StatusWriter({ url: 'http://127.0.0.1:1/x.git', cacheDir: root, branch: 'main', manifestBranch: 'main' })).toThrow(
      GitSourceError,
    );
    expect(
      () => new StatusWriter({ url: 'http://127.0.0.1:1/x.git', cacheDir: root, branch: 'refs/heads/main', manifestBranch: 'main' }),
    ).toThrow(/must not be the branch the manifests come from/);
  });

  it('creates the status branch as an orphan, then commits only real changes', async () => {
    const repo = await newRepo();
    const w = writer(repo, { manifestBranch: 'main' });
    const first = ok(await w.write({ 'agents/a.yaml': 'phase: Ready\n', 'tools/t.yaml': 'phase: Pending\n' }));
    expect(first).toMatchObject({ committed: true, attempts: 1 });
    expect(await serverFiles(repo)).toEqual(['agents/a.yaml', 'tools/t.yaml']);
    expect(await serverFile(repo, 'tools/t.yaml')).toBe('phase: Pending');
    const log = await serverLog(repo);
    expect(log).toHaveLength(1);
    expect(log[0]?.oid).toBe(first.commit);
    expect(log[0]?.author).toBe(DEFAULT_BOT_IDENTITY.email);
    expect(log[0]?.subject).toContain('[skip ci]');
    expect(await repo.served(['log', '-1', '--format=%(trailers:key=Joch-Status,valueonly)', BRANCH])).toBe('true');
    // An orphan: no parent, and the manifests branch is untouched.
    expect(await repo.served(['rev-list', '--count', BRANCH])).toBe('1');
    expect(await repo.served(['ls-tree', '-r', '--name-only', 'main'])).toBe('agents/a.yaml');

    const same = ok(await w.write({ 'agents/a.yaml': 'phase: Ready\n' }));
    expect(same).toMatchObject({ committed: false, commit: first.commit, attempts: 0 });
    const removeMissing = ok(await w.write({ 'agents/none.yaml': null }));
    expect(removeMissing.committed).toBe(false);
    expect(await serverLog(repo)).toHaveLength(1);

    const second = ok(await w.write({ 'agents/a.yaml': 'phase: Failed\n', 'tools/t.yaml': null }));
    expect(second.committed).toBe(true);
    expect(await serverFiles(repo)).toEqual(['agents/a.yaml']);
    expect(await serverFile(repo, 'agents/a.yaml')).toBe('phase: Failed');
    expect((await serverLog(repo)).map((c) => c.oid)).toEqual([second.commit, first.commit]);

    // A fresh writer (new process, empty cache) also sees that nothing changed.
    const again = ok(await writer(repo).write({ 'agents/a.yaml': 'phase: Failed\n' }));
    expect(again.committed).toBe(false);
  });

  it('two writers racing on the same tip both land, and no commit is lost', async () => {
    const repo = await newRepo();
    const base = ok(await writer(repo).write({ 'shared.yaml': 'x: 0\n' }));
    const a = writer(repo);
    const b = writer(repo);
    // Both pushes are held until both have arrived: they were built on the same tip.
    server.holdPushes(2);
    const [ra, rb] = await Promise.all([a.write({ 'from-a.yaml': 'a: 1\n' }), b.write({ 'from-b.yaml': 'b: 1\n' })]);
    const [sa, sb] = [ok(ra), ok(rb)];
    expect(sa.committed && sb.committed).toBe(true);
    expect(Math.max(sa.attempts, sb.attempts)).toBeGreaterThanOrEqual(2); // the loser re-applied and retried

    const log = await serverLog(repo);
    expect(log.map((c) => c.oid)).toEqual(expect.arrayContaining([sa.commit, sb.commit, base.commit]));
    expect(log).toHaveLength(3);
    expect(await repo.served(['rev-list', '--merges', '--count', BRANCH])).toBe('0'); // linear: re-applied, not merged
    expect(await serverFiles(repo)).toEqual(['from-a.yaml', 'from-b.yaml', 'shared.yaml']);

    // More rounds, fully concurrent, without the gate.
    const rounds = await Promise.all(
      Array.from({ length: 4 }, (_, i) => [a.write({ [`a-${i}.yaml`]: `${i}\n` }), b.write({ [`b-${i}.yaml`]: `${i}\n` })]).flat(),
    );
    for (const r of rounds) expect(ok(r).committed).toBe(true);
    expect(await serverLog(repo)).toHaveLength(11);
    expect(await serverFiles(repo)).toHaveLength(11);
  });

  it("keeps a person's commit pushed between the writer's fetch and its push", async () => {
    const repo = await newRepo();
    const w = writer(repo);
    const first = ok(await w.write({ 'agents/a.yaml': 'phase: Ready\n' }));

    const human = path.join(root, `human-${++count}`);
    let humanCommit = '';
    server.onNextPush(async () => {
      await runGit(root, ['clone', '-q', '-b', BRANCH, server.url(repo.name), human]);
      await runGit(human, ['-c', 'user.name=Person', '-c', 'user.email=person@example.com', 'commit', '-q', '--allow-empty', '-m', 'note']);
      await fs.promises.writeFile(path.join(human, 'NOTES.md'), 'hand-written\n');
      await fs.promises.writeFile(path.join(human, 'agents', 'a.yaml'), 'phase: Ready\n# checked by hand\n');
      await runGit(human, ['add', '-A']);
      await runGit(human, ['-c', 'user.name=Person', '-c', 'user.email=person@example.com', 'commit', '-q', '-m', 'manual edit']);
      await runGit(human, ['push', '-q', 'origin', BRANCH]);
      humanCommit = await runGit(human, ['rev-parse', 'HEAD']);
    });

    const second = ok(await w.write({ 'tools/t.yaml': 'phase: Ready\n' }));
    expect(second.attempts).toBe(2);
    const log = await serverLog(repo);
    expect(log.map((c) => c.oid)).toEqual([second.commit, humanCommit, expect.any(String), first.commit]);
    await runGit(repo.bare, ['merge-base', '--is-ancestor', humanCommit, BRANCH]);
    expect(await serverFile(repo, 'NOTES.md')).toBe('hand-written');
    // The person's edit of a status file survives: the writer only touched tools/t.yaml.
    expect(await serverFile(repo, 'agents/a.yaml')).toBe('phase: Ready\n# checked by hand');

    // isOwnStatusCommit tells the bot's commits from the person's.
    const read = (oid: string) => git.readCommit({ fs, gitdir: repo.bare, oid }).then((c) => c.commit);
    expect(w.isOwnStatusCommit(await read(second.commit as string))).toBe(true);
    expect(w.isOwnStatusCommit(await read(humanCommit))).toBe(false);
    // The trailer alone is not enough: the author must be the bot.
    const forged = { message: 'x [skip ci]\n\nJoch-Status: true\n', author: { name: 'someone', email: 'someone@example.com' } };
    expect(isOwnStatusCommit(forged)).toBe(false);
    expect(isOwnStatusCommit({ ...forged, author: DEFAULT_BOT_IDENTITY })).toBe(true);
    expect(isOwnStatusCommit({ message: 'Joch-Status: true\n\nbody', author: DEFAULT_BOT_IDENTITY })).toBe(false);
  });

  it('gives up after a bounded number of attempts when the branch keeps moving', async () => {
    const repo = await newRepo();
    ok(await writer(repo).write({ 'a.yaml': '0\n' }));
    const other = writer(repo);
    const w = writer(repo, { maxAttempts: 2, backoffMs: 1 });
    let n = 0;
    const moveBranch = async (): Promise<void> => {
      ok(await other.write({ 'other.yaml': `${++n}\n` }));
      server.onNextPush(moveBranch);
    };
    server.onNextPush(moveBranch);
    const result = await w.write({ 'mine.yaml': 'x\n' });
    server.onNextPush(async () => undefined);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.failure).toMatchObject({ reason: 'conflict-retries-exhausted', attempts: 2 });
  });

  it('rejects paths that escape the branch root', async () => {
    const repo = await newRepo();
    const result = await writer(repo).write({ '../evil.yaml': 'x' });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.failure.reason).toBe('invalid-options');
  });
});
