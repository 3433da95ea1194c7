/**
 * StatusWriter with a local repository as its target: objects are written
 * into the repository and the branch moves by compare-and-swap. Checked with
 * the system git, which must see a valid history and an untouched work tree.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_BOT_IDENTITY, StatusWriter, type StatusWriteResult, type StatusWriteSuccess } from '../../src/source/git.js';
import { runGit } from '../support/git-http-server.js';

const BRANCH = 'joch/status';
let root: string;
let count = 0;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'joch-status-local-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A work-tree repository on `main` with one commit. */
async function workRepo(): Promise<string> {
  const dir = path.join(root, `work-${++count}`);
  await runGit(root, ['init', '-q', '-b', 'main', dir]);
  await writeFile(path.join(dir, 'agent.yaml'), 'kind: Agent\n');
  await gitAs(dir, ['add', '-A']);
  await gitAs(dir, ['commit', '-q', '-m', 'manifests']);
  return dir;
}

function gitAs(dir: string, args: string[]): Promise<string> {
  return runGit(dir, ['-c', 'user.name=Person', '-c', 'user.email=person@example.com', '-c', 'commit.gpgsign=false', ...args]);
}

function ok(result: StatusWriteResult): StatusWriteSuccess {
  if (!result.ok) throw new Error(`status write failed: ${JSON.stringify(result.failure)}`);
  return result;
}

async function files(dir: string, ref = BRANCH): Promise<string[]> {
  return (await runGit(dir, ['ls-tree', '-r', '--name-only', ref])).split('\n').filter(Boolean);
}

describe('StatusWriter on a local repository', () => {
  it('commits to the status branch inside the repository without touching HEAD or the work tree', async () => {
    const dir = await workRepo();
    const head = await runGit(dir, ['rev-parse', 'HEAD']);
    const w = new StatusWriter({ url: dir, cacheDir: path.join(root, 'unused'), manifestBranch: 'main' });
    const first = ok(await w.write({ 'agents/a.yaml': 'phase: Ready\n', 'summary.yaml': 'ok: true\n' }, { subject: 'joch: status', body: '1 resource ready' }));
    expect(first).toMatchObject({ committed: true, attempts: 1 });
    expect(await runGit(dir, ['rev-parse', BRANCH])).toBe(first.commit);
    expect(await files(dir)).toEqual(['agents/a.yaml', 'summary.yaml']);
    expect(await runGit(dir, ['show', `${BRANCH}:agents/a.yaml`])).toBe('phase: Ready');
    expect(await runGit(dir, ['log', '-1', '--format=%ae%n%s%n%b', BRANCH])).toBe(
      `${DEFAULT_BOT_IDENTITY.email}\njoch: status [skip ci]\n1 resource ready\n\nJoch-Status: true`,
    );
    // git sees a sound repository; the checkout is where it was and clean.
    await runGit(dir, ['fsck', '--no-dangling', '--strict']);
    expect(await runGit(dir, ['rev-parse', 'HEAD'])).toBe(head);
    expect(await runGit(dir, ['status', '--porcelain'])).toBe('');
    expect(existsSync(path.join(root, 'unused'))).toBe(false);

    const read = await w.read(['summary.yaml', 'missing.yaml']);
    if (!read.ok) throw new Error(read.failure.message);
    expect(read.commit).toBe(first.commit);
    expect([...read.files.keys()]).toEqual(['summary.yaml']);
    expect(Buffer.from(read.files.get('summary.yaml') as Uint8Array).toString()).toBe('ok: true\n');

    const same = ok(await w.write({ 'agents/a.yaml': 'phase: Ready\n' }));
    expect(same).toMatchObject({ committed: false, commit: first.commit, attempts: 0 });
    // file:// names the same repository.
    const again = ok(await new StatusWriter({ url: `file://${dir}`, cacheDir: root }).write({ 'summary.yaml': 'ok: false\n' }));
    expect(again.committed).toBe(true);
    expect(await runGit(dir, ['rev-list', '--count', BRANCH])).toBe('2');
  });

  it('re-applies on top when the branch moves between reading the tip and the swap, keeping the other commit', async () => {
    const dir = await workRepo();
    const w0 = new StatusWriter({ url: dir, cacheDir: root });
    const base = ok(await w0.write({ 'agents/a.yaml': 'phase: Ready\n' }));
    let person = '';
    // `now` runs after the tip was read and before the swap: the moment a person's commit lands.
    const w = new StatusWriter({
      url: dir,
      cacheDir: root,
      backoffMs: 1,
      now: () => {
        if (!person) person = commitOnBranch(dir, base.commit as string, { 'NOTES.md': 'hand-written\n' });
        return new Date();
      },
    });
    const second = ok(await w.write({ 'tools/t.yaml': 'phase: Ready\n' }));
    expect(second.attempts).toBe(2);
    const log = (await runGit(dir, ['log', '--format=%H', BRANCH])).split('\n');
    expect(log).toEqual([second.commit, person, base.commit]);
    expect(await files(dir)).toEqual(['NOTES.md', 'agents/a.yaml', 'tools/t.yaml']);
    expect(existsSync(path.join(dir, '.git', 'refs', 'heads', 'joch', 'status.lock'))).toBe(false);
  });

  it('lets concurrent writers all land, linear and with nothing lost', async () => {
    const dir = await workRepo();
    const writers = Array.from({ length: 3 }, () => new StatusWriter({ url: dir, cacheDir: root, backoffMs: 2, maxAttempts: 30 }));
    const results = await Promise.all(
      writers.flatMap((w, i) => Array.from({ length: 4 }, (_, j) => w.write({ [`w${i}/f${j}.yaml`]: `${i}.${j}\n` }))),
    );
    for (const r of results) expect(ok(r).committed).toBe(true);
    expect(await runGit(dir, ['rev-list', '--count', BRANCH])).toBe('12');
    expect(await runGit(dir, ['rev-list', '--merges', '--count', BRANCH])).toBe('0');
    expect(await files(dir)).toHaveLength(12);
    await runGit(dir, ['fsck', '--no-dangling', '--strict']);
  });

  it('treats a lock held by someone else as a move in progress: bounded retries, then success once it is released', async () => {
    const dir = await workRepo();
    const w = new StatusWriter({ url: dir, cacheDir: root, backoffMs: 1, maxAttempts: 3 });
    ok(await w.write({ 'a.yaml': '1\n' }));
    const lock = path.join(dir, '.git', 'refs', 'heads', 'joch', 'status.lock');
    writeFileSync(lock, '');
    const blocked = await w.write({ 'a.yaml': '2\n' });
    expect(blocked.ok).toBe(false);
    if (!blocked.ok) expect(blocked.failure).toMatchObject({ reason: 'conflict-retries-exhausted', attempts: 3 });
    expect(existsSync(lock)).toBe(true); // someone else's lock is never removed
    await rm(lock);
    expect(ok(await w.write({ 'a.yaml': '2\n' })).committed).toBe(true);
    expect(await runGit(dir, ['show', `${BRANCH}:a.yaml`])).toBe('2');
  });

  it('refuses to move a branch that is checked out, and writes into a bare repository', async () => {
    const dir = await workRepo();
    await gitAs(dir, ['checkout', '-q', '-b', 'joch/status']);
    const refused = await new StatusWriter({ url: dir, cacheDir: root }).write({ 'a.yaml': '1\n' });
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.failure).toMatchObject({ reason: 'push-rejected', message: expect.stringMatching(/checked out/) });

    const bare = path.join(root, `bare-${++count}.git`);
    await runGit(root, ['clone', '-q', '--bare', dir, bare]);
    ok(await new StatusWriter({ url: bare, cacheDir: root, branch: 'joch/rendered' }).write({ 'x/y.yaml': 'y\n' }));
    expect(await files(bare, 'joch/rendered')).toEqual(['x/y.yaml']);
  });

  it('with `replace`, removes files of the replaced folders that the write does not name, and nothing else', async () => {
    const dir = await workRepo();
    const w = new StatusWriter({ url: dir, cacheDir: root, branch: 'joch/rendered' });
    ok(await w.write({ 'objects/a.yaml': 'a\n', 'objects/sub/b.yaml': 'b\n', 'README.md': 'keep\n' }));
    const next = ok(await w.write({ 'objects/a.yaml': 'a\n' }, { replace: ['objects', 'manifests'] }));
    expect(next.committed).toBe(true);
    expect(await files(dir, 'joch/rendered')).toEqual(['README.md', 'objects/a.yaml']);
    expect(ok(await w.write({ 'objects/a.yaml': 'a\n' }, { replace: ['objects'] })).committed).toBe(false);
  });
});

/** A person's commit on the status branch made with plumbing (synchronous: it runs inside `now`). */
function commitOnBranch(dir: string, parent: string, add: Record<string, string>): string {
  const git = (args: string[], input?: string) =>
    execFileSync('git', args, { cwd: dir, input, encoding: 'utf8', env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1' } }).trim();
  const index = path.join(dir, '.git', `tmp-index-${++count}`);
  const env = { ...process.env, GIT_INDEX_FILE: index };
  execFileSync('git', ['read-tree', parent], { cwd: dir, env });
  for (const [file, content] of Object.entries(add)) {
    const blob = git(['hash-object', '-w', '--stdin'], content);
    execFileSync('git', ['update-index', '--add', '--cacheinfo', `100644,${blob},${file}`], { cwd: dir, env });
  }
  const tree = execFileSync('git', ['write-tree'], { cwd: dir, env, encoding: 'utf8' }).trim();
  const commit = execFileSync('git', ['commit-tree', tree, '-p', parent, '-m', 'manual note'], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...env, GIT_AUTHOR_NAME: 'Person', GIT_AUTHOR_EMAIL: 'person@example.com', GIT_COMMITTER_NAME: 'Person', GIT_COMMITTER_EMAIL: 'person@example.com' },
  }).trim();
  git(['update-ref', `refs/heads/${BRANCH}`, commit, parent]);
  return commit;
}
