import { statSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GitSource, type GitSourceEvent, type GitSourceOptions, type GitUpdateResult, type GitSnapshotResult } from '../../src/source/git.js';
import { RepoFixture, startGitHttpServer, type GitHttpServer } from '../support/git-http-server.js';

let root: string;
let server: GitHttpServer;
let repoCount = 0;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'joch-git-source-'));
  server = await startGitHttpServer({ root });
});

afterAll(async () => {
  await server?.close();
  await rm(root, { recursive: true, force: true });
});

async function newRepo(): Promise<RepoFixture> {
  return RepoFixture.create(root, `repo-${++repoCount}.git`);
}

function source(repo: RepoFixture, options: Partial<GitSourceOptions> = {}): GitSource {
  return new GitSource({ url: server.url(repo.name), cacheDir: path.join(root, `cache-${++repoCount}`), ...options });
}

function ok(result: GitUpdateResult): GitSnapshotResult {
  if (!result.ok) throw new Error(`update failed: ${JSON.stringify(result.failure)}`);
  return result;
}

function text(result: GitSnapshotResult): Record<string, string> {
  return Object.fromEntries(result.snapshot.files.map((f) => [f.path, Buffer.from(f.bytes).toString('utf8')]));
}

/** Object ids in the newest pack of a cache: what the last fetch transferred. */
async function objectsInNewestPack(cacheDir: string): Promise<number> {
  const dir = path.join(cacheDir, 'objects', 'pack');
  const idxs = (await readdir(dir)).filter((n) => n.endsWith('.idx'));
  const counts = await Promise.all(
    idxs.map(async (n) => {
      const idx = await readFile(path.join(dir, n));
      return { count: idx.readUInt32BE(8 + 255 * 4), mtime: statSync(path.join(dir, n)).mtimeMs };
    }),
  );
  counts.sort((a, b) => b.mtime - a.mtime);
  return counts[0]?.count ?? 0;
}

describe('GitSource snapshot', () => {
  it('clones over HTTP into a bare cache and reads YAML files from the object store', async () => {
    const repo = await newRepo();
    await repo.write({
      'agents/a.yaml': 'kind: Agent\nname: a\n',
      'agents/b.yml': 'kind: Agent\nname: b\n',
      'tools/t.yaml': 'kind: Tool\n',
      'README.md': '# not a manifest\n',
      'top.yaml': 'kind: Fleet\n',
    });
    const head = await repo.commit('init');
    await repo.push();
    const cacheDir = path.join(root, 'cache-basic');
    const src = new GitSource({ url: server.url(repo.name), cacheDir });
    const result = ok(await src.update());

    expect(result.revision).toBe(head);
    expect(result.snapshot.revision).toBe(head);
    expect(result.snapshot.commitTime).toBe(Number(await repo.git(['log', '-1', '--format=%ct'])));
    expect(result.snapshot.root).toBe(server.url(repo.name));
    expect(text(result)).toEqual({
      'agents/a.yaml': 'kind: Agent\nname: a\n',
      'agents/b.yml': 'kind: Agent\nname: b\n',
      'tools/t.yaml': 'kind: Tool\n',
      'top.yaml': 'kind: Fleet\n',
    });
    expect(result.snapshot.files.map((f) => f.path)).toEqual(['agents/a.yaml', 'agents/b.yml', 'tools/t.yaml', 'top.yaml']);
    expect(result.changes.added).toHaveLength(4);
    expect(result.rewritten).toBe(false);
    // A bare cache: objects and refs, never a working tree.
    const entries = await readdir(cacheDir);
    expect(entries).toEqual(expect.arrayContaining(['objects', 'refs', 'HEAD', 'config']));
    expect(entries).not.toContain('agents');
    expect(entries).not.toContain('.git');
  });

  it('uses a subdirectory as root, honours .jochignore, skips symlinks and reports oversize files', async () => {
    const repo = await newRepo();
    await repo.write({
      'outside.yaml': 'kind: Outside\n',
      'deploy/prod/.jochignore': 'drafts/\n*.tmp.yaml\n!keep.tmp.yaml\n',
      'deploy/prod/agent.yaml': 'kind: Agent\n',
      'deploy/prod/drafts/wip.yaml': 'kind: Draft\n',
      'deploy/prod/scratch.tmp.yaml': 'kind: Tmp\n',
      'deploy/prod/keep.tmp.yaml': 'kind: Kept\n',
      'deploy/prod/nested/tool.yaml': 'kind: Tool\n',
      'deploy/prod/big.yaml': `data: "${'x'.repeat(5000)}"\n`,
    });
    await repo.symlink('deploy/prod/link.yaml', '../../outside.yaml');
    await repo.commit('init');
    await repo.push();
    const result = ok(await source(repo, { root: 'deploy/prod', maxFileBytes: 1000 }).update());

    expect(Object.keys(text(result))).toEqual(['agent.yaml', 'keep.tmp.yaml', 'nested/tool.yaml']);
    expect(result.snapshot.displayPrefix).toBe('deploy/prod');
    expect(result.skipped).toEqual([
      { path: 'big.yaml', reason: 'oversize', size: 5009, limit: 1000 },
      { path: 'link.yaml', reason: 'symlink' },
    ]);
  });

  it('fails with root-not-found when the subdirectory is missing', async () => {
    const repo = await newRepo();
    await repo.commitAndPush({ 'a.yaml': 'a: 1\n' });
    const result = await source(repo, { root: 'nope' }).update();
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.failure.reason).toBe('root-not-found');
  });
});

describe('GitSource incremental updates', () => {
  it('reports exactly the changed files, reads only changed blobs and fetches only the new objects', async () => {
    const repo = await newRepo();
    const many: Record<string, string> = {};
    for (let i = 0; i < 60; i++) many[`fleet/agent-${i}.yaml`] = `kind: Agent\nname: agent-${i}\n`;
    await repo.commitAndPush({ ...many, 'tools/a.yaml': 'a: 1\n', 'tools/b.yaml': 'b: 1\n' });
    const cacheDir = path.join(root, 'cache-incremental');
    const src = new GitSource({ url: server.url(repo.name), cacheDir });
    const first = ok(await src.update());
    expect(first.snapshot.files).toHaveLength(62);
    expect(first.stats.blobsRead).toBe(62);

    const second = await repo.commitAndPush({ 'tools/a.yaml': 'a: 2\n', 'tools/b.yaml': null, 'tools/c.yaml': 'c: 1\n' });
    const requestsBefore = server.requests.length;
    const next = ok(await src.update());
    expect(next.revision).toBe(second);
    expect(next.changed).toBe(true);
    expect(next.rewritten).toBe(false);
    expect(next.changes).toEqual({ added: ['tools/c.yaml'], modified: ['tools/a.yaml'], deleted: ['tools/b.yaml'] });
    expect(next.stats.blobsRead).toBe(2);
    expect(next.stats.fullScan).toBe(false);
    // Only the root and tools/ trees changed: fleet/ (60 files) was never opened.
    expect(next.stats.treesRead).toBe(2);
    expect(text(next)['tools/a.yaml']).toBe('a: 2\n');
    expect(next.snapshot.files).toHaveLength(62);
    // Unchanged files are the very same objects, bytes included.
    const before = new Map(first.snapshot.files.map((f) => [f.path, f]));
    for (const f of next.snapshot.files) if (f.path.startsWith('fleet/')) expect(f).toBe(before.get(f.path));
    // The incremental fetch brought the new commit, two trees and two blobs: not the whole snapshot again.
    expect(await objectsInNewestPack(cacheDir)).toBeLessThanOrEqual(6);
    expect(server.requests.length - requestsBefore).toBe(3); // ls-remote, then fetch's discovery and pack

    const requestsIdle = server.requests.length;
    const idle = ok(await src.update());
    expect(idle.changed).toBe(false);
    expect(idle.changes).toEqual({ added: [], modified: [], deleted: [] });
    expect(idle.stats.fetched).toBe(false);
    expect(idle.snapshot).toBe(next.snapshot);
    expect(server.requests.length - requestsIdle).toBe(1); // one ref listing, no fetch
  });

  it('re-evaluates every path when .jochignore changes', async () => {
    const repo = await newRepo();
    await repo.commitAndPush({ 'a.yaml': 'a: 1\n', 'b.yaml': 'b: 1\n' });
    const src = source(repo);
    ok(await src.update());
    await repo.commitAndPush({ '.jochignore': 'b.yaml\n' });
    const next = ok(await src.update());
    expect(next.changes).toEqual({ added: [], modified: [], deleted: ['b.yaml'] });
    expect(next.stats.fullScan).toBe(true);
    // Every path was reconsidered, yet a.yaml's bytes came from memory.
    expect(next.stats.blobsRead).toBe(0);
  });

  it('detects a force-push (rewritten history) and still yields the new snapshot', async () => {
    const repo = await newRepo();
    const a = await repo.commitAndPush({ 'a.yaml': 'v: a\n' });
    await repo.commitAndPush({ 'a.yaml': 'v: b\n' });
    const src = source(repo);
    expect(ok(await src.update()).rewritten).toBe(false);

    await repo.git(['reset', '-q', '--hard', a]);
    await repo.write({ 'a.yaml': 'v: c\n' });
    const c = await repo.commit('rewrite');
    await repo.push('main', true);
    const next = ok(await src.update());
    expect(next.revision).toBe(c);
    expect(next.rewritten).toBe(true);
    expect(text(next)).toEqual({ 'a.yaml': 'v: c\n' });
    expect(next.changes.modified).toEqual(['a.yaml']);

    const d = await repo.commitAndPush({ 'a.yaml': 'v: d\n' });
    const after = ok(await src.update());
    expect(after.revision).toBe(d);
    expect(after.rewritten).toBe(false);
  });

  it('rebuilds the cache from a shallow fetch once packs pile up, and keeps diffing', async () => {
    const repo = await newRepo();
    await repo.commitAndPush({ 'a.yaml': 'n: 0\n', 'b.yaml': 'b\n' });
    const cacheDir = path.join(root, 'cache-compact');
    const events: GitSourceEvent[] = [];
    const src = new GitSource({ url: server.url(repo.name), cacheDir, maxPacks: 2, onEvent: (e) => events.push(e) });
    ok(await src.update());
    for (let n = 1; n <= 3; n++) {
      await repo.commitAndPush({ 'a.yaml': `n: ${n}\n` });
      const r = ok(await src.update());
      expect(r.changes).toEqual({ added: [], modified: ['a.yaml'], deleted: [] });
      expect(text(r)['a.yaml']).toBe(`n: ${n}\n`);
    }
    expect(events.some((e) => e.type === 'compacted')).toBe(true);
    const packs = (await readdir(path.join(cacheDir, 'objects', 'pack'))).filter((n) => n.endsWith('.pack'));
    expect(packs.length).toBeLessThanOrEqual(2);
    await repo.commitAndPush({ 'a.yaml': 'n: 4\n' });
    expect(ok(await src.update()).rewritten).toBe(false);
  });
});

describe('GitSource from a local path', () => {
  it('copies only missing objects into the cache and diffs like the HTTP source', async () => {
    const repo = await newRepo();
    await repo.commitAndPush({ 'a.yaml': 'a: 1\n', 'dir/b.yaml': 'b: 1\n' });
    const src = new GitSource({ url: repo.bare, cacheDir: path.join(root, 'cache-local') });
    const first = ok(await src.update());
    expect(text(first)).toEqual({ 'a.yaml': 'a: 1\n', 'dir/b.yaml': 'b: 1\n' });
    await repo.commitAndPush({ 'dir/b.yaml': 'b: 2\n' });
    const next = ok(await src.update());
    expect(next.changes).toEqual({ added: [], modified: ['dir/b.yaml'], deleted: [] });
    expect(next.stats.blobsRead).toBe(1);

    // A working copy (with .git) given as a file:// URL works too.
    const fromWork = ok(await new GitSource({ url: `file://${repo.work}`, cacheDir: path.join(root, 'cache-local-work') }).update());
    expect(fromWork.revision).toBe(next.revision);
  });

  it('flags a rewrite of a local branch', async () => {
    const repo = await newRepo();
    const a = await repo.commitAndPush({ 'a.yaml': 'v: a\n' });
    await repo.commitAndPush({ 'a.yaml': 'v: b\n' });
    const src = new GitSource({ url: repo.bare, cacheDir: path.join(root, 'cache-local-rw') });
    ok(await src.update());
    await repo.git(['reset', '-q', '--hard', a]);
    await repo.write({ 'a.yaml': 'v: c\n' });
    await repo.commit('rewrite');
    await repo.push('main', true);
    const next = ok(await src.update());
    expect(next.rewritten).toBe(true);
    expect(text(next)).toEqual({ 'a.yaml': 'v: c\n' });
  });
});
