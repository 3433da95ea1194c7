import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  GitSource,
  GitSourceError,
  StatusWriter,
  redactUrls,
  type GitSourceEvent,
  type GitSourceOptions,
  type GitSnapshotResult,
  type GitUpdateResult,
} from '../../src/source/git.js';
import { RepoFixture, startGitHttpServer, type GitHttpServer } from '../support/git-http-server.js';

const USER = 'joch';
const PASSWORD = 's3cr3t-Pa55word';

let root: string;
let server: GitHttpServer;
let authServer: GitHttpServer;
let count = 0;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'joch-git-refs-'));
  server = await startGitHttpServer({ root });
  authServer = await startGitHttpServer({ root, auth: { username: USER, password: PASSWORD } });
});

afterAll(async () => {
  await server?.close();
  await authServer?.close();
  await rm(root, { recursive: true, force: true });
});

const newRepo = () => RepoFixture.create(root, `repo-${++count}.git`);

function source(url: string, options: Partial<GitSourceOptions> = {}): GitSource {
  return new GitSource({ url, cacheDir: path.join(root, `cache-${++count}`), ...options });
}

function ok(result: GitUpdateResult): GitSnapshotResult {
  if (!result.ok) throw new Error(`update failed: ${JSON.stringify(result.failure)}`);
  return result;
}

function failureOf(result: GitUpdateResult) {
  if (result.ok) throw new Error(`expected a failure, got revision ${result.revision}`);
  return result.failure;
}

function text(result: GitSnapshotResult): Record<string, string> {
  return Object.fromEntries(result.snapshot.files.map((f) => [f.path, Buffer.from(f.bytes).toString('utf8')]));
}

describe('ref selection', () => {
  let repo: RepoFixture;
  const commits = { one: '', two: '', three: '', feature: '' };

  beforeAll(async () => {
    repo = await newRepo();
    commits.one = await repo.commitAndPush({ 'v.yaml': 'v: 1.0.0\n' }, 'one');
    await repo.git(['tag', 'v1.0.0']);
    commits.two = await repo.commitAndPush({ 'v.yaml': 'v: 1.2.0\n' }, 'two');
    await repo.git(['tag', '-a', '-m', 'annotated', 'v1.2.0']);
    commits.three = await repo.commitAndPush({ 'v.yaml': 'v: 2.0.0\n' }, 'three');
    await repo.git(['tag', 'v2.0.0']);
    await repo.git(['tag', 'not-a-version']);
    await repo.git(['tag', 'v2.1.0-rc.1']);
    await repo.git(['push', '-q', 'origin', '--tags']);
    await repo.git(['checkout', '-q', '-b', 'feature', commits.one]);
    commits.feature = await repo.commitAndPush({ 'feature.yaml': 'f: 1\n' }, 'feature', 'feature');
    await repo.git(['checkout', '-q', 'main']);
  });

  it('follows a branch', async () => {
    const r = ok(await source(server.url(repo.name), { ref: { branch: 'feature' } }).update());
    expect(r.revision).toBe(commits.feature);
    expect(r.ref).toMatchObject({ kind: 'branch', name: 'feature', commit: commits.feature });
    expect(Object.keys(text(r))).toEqual(['feature.yaml', 'v.yaml']);
  });

  it('follows a lightweight tag and an annotated tag (peeled to its commit)', async () => {
    const light = ok(await source(server.url(repo.name), { ref: { tag: 'v1.0.0' } }).update());
    expect(light.revision).toBe(commits.one);
    const annotated = ok(await source(server.url(repo.name), { ref: { tag: 'v1.2.0' } }).update());
    expect(annotated.revision).toBe(commits.two);
    expect(text(annotated)).toEqual({ 'v.yaml': 'v: 1.2.0\n' });
  });

  it('picks the highest tag in a semver range and moves when a higher one is pushed', async () => {
    const src = source(server.url(repo.name), { ref: { semver: '^1.0.0' } });
    const first = ok(await src.update());
    expect(first.ref.name).toBe('v1.2.0');
    expect(first.revision).toBe(commits.two);

    const major = ok(await source(server.url(repo.name), { ref: { semver: '>=2.0.0' } }).update());
    expect(major.ref.name).toBe('v2.0.0'); // the release candidate is excluded, as semver ranges do

    await repo.git(['checkout', '-q', '-b', 'maint', commits.two]);
    const patch = await repo.commitAndPush({ 'v.yaml': 'v: 1.3.0\n' }, 'patch', 'maint');
    await repo.git(['tag', 'v1.3.0']);
    await repo.git(['push', '-q', 'origin', 'v1.3.0']);
    await repo.git(['checkout', '-q', 'main']);
    const next = ok(await src.update());
    expect(next.ref.name).toBe('v1.3.0');
    expect(next.revision).toBe(patch);
    expect(next.rewritten).toBe(false);
    expect(next.changes.modified).toEqual(['v.yaml']);

    const none = failureOf(await source(server.url(repo.name), { ref: { semver: '^3' } }).update());
    expect(none).toMatchObject({ reason: 'no-matching-tag', range: '^3' });
  });

  it('checks out an exact commit that is no longer the tip', async () => {
    const r = ok(await source(server.url(repo.name), { ref: { commit: commits.one } }).update());
    expect(r.revision).toBe(commits.one);
    expect(text(r)).toEqual({ 'v.yaml': 'v: 1.0.0\n' });
    const fromBranch = ok(await source(server.url(repo.name), { ref: { commit: commits.feature, branch: 'feature' } }).update());
    expect(fromBranch.revision).toBe(commits.feature);
  });

  it('fetches an exact commit older than a shallow cache holds', async () => {
    const cacheDir = path.join(root, 'cache-shallow-then-commit');
    ok(await new GitSource({ url: server.url(repo.name), cacheDir }).update()); // shallow: tip only
    const r = ok(await new GitSource({ url: server.url(repo.name), cacheDir, ref: { commit: commits.one } }).update());
    expect(r.revision).toBe(commits.one);
  });

  it('reports a commit the remote does not have', async () => {
    const missing = 'f'.repeat(40);
    const failure = failureOf(await source(server.url(repo.name), { ref: { commit: missing } }).update());
    expect(failure).toMatchObject({ reason: 'commit-not-found', commit: missing });
  });

  it('rejects malformed selectors before any I/O', () => {
    expect(() => source(server.url(repo.name), { ref: { commit: 'abc' } })).toThrow(GitSourceError);
    expect(() => source(server.url(repo.name), { ref: { semver: 'not a range!' } })).toThrow(GitSourceError);
    expect(() => source(server.url(repo.name), { ref: { branch: 'bad..name' } })).toThrow(GitSourceError);
    expect(() => source('ssh://git@example.com/repo.git')).toThrow(/only http\(s\) URLs and local paths/);
  });
});

describe('failures the caller can act on', () => {
  it('a deleted branch is ref-not-found, and the source recovers when it comes back', async () => {
    const repo = await newRepo();
    await repo.commitAndPush({ 'a.yaml': 'a: 1\n' });
    await repo.git(['checkout', '-q', '-b', 'release']);
    const release = await repo.commitAndPush({ 'a.yaml': 'a: 2\n' }, 'release', 'release');
    const src = source(server.url(repo.name), { ref: { branch: 'release' } });
    expect(ok(await src.update()).revision).toBe(release);

    await repo.git(['push', '-q', 'origin', ':release']);
    const failure = failureOf(await src.update());
    expect(failure).toMatchObject({ reason: 'ref-not-found', ref: 'refs/heads/release' });

    await repo.push('release');
    const back = ok(await src.update());
    expect(back.revision).toBe(release);
    expect(back.changed).toBe(false); // same revision as the last good state
  });

  it('an unreachable server is a typed failure', async () => {
    const gone = await startGitHttpServer({ root });
    const url = gone.url('nothing.git');
    await gone.close();
    const failure = failureOf(await source(url).update());
    expect(failure.reason).toBe('unreachable');
  });

  it('a server that never answers times out as unreachable', async () => {
    const held: ServerResponse[] = [];
    const silent = createServer((_req, res) => void held.push(res));
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    const { port } = silent.address() as AddressInfo;
    try {
      const started = Date.now();
      const failure = failureOf(await source(`http://127.0.0.1:${port}/repo.git`, { timeoutMs: 300 }).update());
      expect(failure.reason).toBe('unreachable');
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      for (const res of held) res.destroy();
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('a URL that is not a repository is a protocol error', async () => {
    const failure = failureOf(await source(server.url('missing.git')).update());
    expect(failure.reason).toBe('protocol-error');
  });

  it('a local path that is not a repository is a typed failure', async () => {
    const failure = failureOf(await source(path.join(root, 'no-such-dir')).update());
    expect(failure.reason).toBe('unreachable');
  });
});

describe('authentication', () => {
  let repo: RepoFixture;
  let head: string;

  beforeAll(async () => {
    repo = await newRepo();
    head = await repo.commitAndPush({ 'a.yaml': 'a: 1\n' });
  });

  it('accepts basic credentials from a file, a token from the environment and a given value', async () => {
    const file = path.join(root, 'password');
    await writeFile(file, `${PASSWORD}\n`); // as a mounted Secret often is
    const fromFile = ok(
      await source(authServer.url(repo.name), { auth: { kind: 'basic', username: USER, password: { file } } }).update(),
    );
    expect(fromFile.revision).toBe(head);

    process.env.JOCH_TEST_GIT_TOKEN = PASSWORD;
    try {
      const fromEnv = ok(
        await source(authServer.url(repo.name), {
          auth: { kind: 'token', username: USER, token: { env: 'JOCH_TEST_GIT_TOKEN' } },
        }).update(),
      );
      expect(fromEnv.revision).toBe(head);
    } finally {
      delete process.env.JOCH_TEST_GIT_TOKEN;
    }

    const direct = ok(
      await source(authServer.url(repo.name), { auth: { kind: 'basic', username: USER, password: { value: PASSWORD } } }).update(),
    );
    expect(direct.revision).toBe(head);
  });

  it('takes credentials out of a URL that carries them', async () => {
    const src = source(authServer.urlWithCredentials(repo.name, USER, PASSWORD));
    const r = ok(await src.update());
    expect(src.url).toBe(authServer.url(repo.name));
    expect(JSON.stringify(r.snapshot.root)).not.toContain(PASSWORD);
  });

  it('fails with 401 and never shows the password in the failure or the events', async () => {
    const wrong = 'wr0ng-Pa55word-xyz';
    const events: GitSourceEvent[] = [];
    const results: GitUpdateResult[] = [
      await source(authServer.url(repo.name), {
        auth: { kind: 'basic', username: USER, password: { value: wrong } },
        onEvent: (e) => events.push(e),
      }).update(),
      await source(authServer.urlWithCredentials(repo.name, USER, wrong), { onEvent: (e) => events.push(e) }).update(),
      await source(authServer.url(repo.name), { onEvent: (e) => events.push(e) }).update(),
    ];
    for (const result of results) expect(failureOf(result)).toMatchObject({ reason: 'auth-failed', status: 401 });
    const everything = JSON.stringify({ results, events });
    expect(everything).not.toContain(wrong);
    expect(everything).not.toContain(PASSWORD);
    expect(everything).not.toContain(encodeURIComponent(wrong));
    expect(events.filter((e) => e.type === 'failed')).toHaveLength(3);
  });

  it('reports a missing credential file without its content and as invalid options', async () => {
    const failure = failureOf(
      await source(authServer.url(repo.name), {
        auth: { kind: 'basic', username: USER, password: { file: path.join(root, 'nope') } },
      }).update(),
    );
    expect(failure.reason).toBe('invalid-options');
  });

  it.skipIf(!existsSync('/usr/bin/openssl'))('works over HTTPS with a private CA, and refuses an untrusted certificate', async () => {
    const dir = await mkdtemp(path.join(root, 'tls-'));
    await promisify(execFile)('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
      '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'),
    ]);
    const [key, cert] = await Promise.all([readFile(path.join(dir, 'key.pem'), 'utf8'), readFile(path.join(dir, 'cert.pem'), 'utf8')]);
    const tls = await startGitHttpServer({ root, tls: { key, cert }, auth: { username: USER, password: PASSWORD } });
    try {
      const auth = { kind: 'basic', username: USER, password: { value: PASSWORD } } as const;
      const r = ok(await source(tls.url(repo.name), { auth, caCertificates: cert }).update());
      expect(r.revision).toBe(head);
      const status = await new StatusWriter({ url: tls.url(repo.name), cacheDir: path.join(root, `cache-${++count}`), auth, caCertificates: cert }).write({
        'tls.yaml': 'ok: true\n',
      });
      expect(status.ok).toBe(true);
      const untrusted = failureOf(await source(tls.url(repo.name), { auth }).update());
      expect(untrusted.reason).toBe('unreachable');
      expect(JSON.stringify(untrusted)).not.toContain(PASSWORD);
    } finally {
      await tls.close();
    }
  });

  it('redacts userinfo from any URL in a text', () => {
    expect(redactUrls('fetch https://user:tok@github.com/x.git failed')).toBe('fetch https://***@github.com/x.git failed');
  });
});
