import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import git from 'isomorphic-git';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  GitSource,
  StatusWriter,
  TrustedKeys,
  openpgpSigner,
  verifyCommitSignature,
  type GitSnapshotResult,
  type GitUpdateResult,
} from '../../src/source/git.js';
import { RepoFixture, runGit, startGitHttpServer, type GitHttpServer } from '../support/git-http-server.js';

const exec = promisify(execFile);
const hasGpg = fs.existsSync('/usr/bin/gpg') || fs.existsSync('/usr/local/bin/gpg');

let root: string;
let server: GitHttpServer;
let count = 0;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'joch-git-verify-'));
  server = await startGitHttpServer({ root });
});

afterAll(async () => {
  await server?.close();
  await rm(root, { recursive: true, force: true });
});

function ok(result: GitUpdateResult): GitSnapshotResult {
  if (!result.ok) throw new Error(`update failed: ${JSON.stringify(result.failure)}`);
  return result;
}

/** A throwaway GnuPG home with one ed25519 signing key. */
interface GpgKey {
  readonly home: string;
  readonly fingerprint: string;
  readonly armoredPublic: string;
}

async function gpg(home: string, args: readonly string[]): Promise<string> {
  const { stdout } = await exec('gpg', ['--batch', '--homedir', home, ...args], { env: { ...process.env, GNUPGHOME: home } });
  return stdout;
}

async function makeGpgKey(name: string): Promise<GpgKey> {
  // Short path: gpg-agent's socket path must fit in a sockaddr_un.
  const home = await mkdtemp(path.join(tmpdir(), 'jg-'));
  await fs.promises.chmod(home, 0o700);
  await gpg(home, ['--pinentry-mode', 'loopback', '--passphrase', '', '--quick-gen-key', `${name} <${name}@example.com>`, 'ed25519', 'sign', 'never']);
  const colons = await gpg(home, ['--with-colons', '--list-keys']);
  const fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(colons)?.[1] ?? '';
  return { home, fingerprint, armoredPublic: await gpg(home, ['--armor', '--export', fingerprint]) };
}

async function dropGpgKey(key: GpgKey | undefined): Promise<void> {
  if (!key) return;
  await exec('gpgconf', ['--homedir', key.home, '--kill', 'gpg-agent'], { env: { ...process.env, GNUPGHOME: key.home } }).catch(() => undefined);
  await rm(key.home, { recursive: true, force: true });
}

async function signedCommit(repo: RepoFixture, key: GpgKey, files: Record<string, string>): Promise<string> {
  await repo.write(files);
  const oid = await repo.commit('signed', [`-S${key.fingerprint}`], { GNUPGHOME: key.home });
  await repo.push();
  return oid;
}

describe.skipIf(!hasGpg)('commit signature verification (signed by git + gpg)', () => {
  let trusted: GpgKey | undefined;
  let stranger: GpgKey | undefined;

  beforeAll(async () => {
    [trusted, stranger] = await Promise.all([makeGpgKey('trusted'), makeGpgKey('stranger')]);
  });

  afterAll(async () => {
    await Promise.all([dropGpgKey(trusted), dropGpgKey(stranger)]);
  });

  it('accepts a commit signed by a trusted key', async () => {
    const repo = await RepoFixture.create(root, `signed-${++count}.git`);
    const oid = await signedCommit(repo, trusted as GpgKey, { 'a.yaml': 'a: 1\n' });
    const src = new GitSource({
      url: server.url(repo.name),
      cacheDir: path.join(root, `cache-${++count}`),
      verify: { trustedKeys: [(trusted as GpgKey).armoredPublic] },
    });
    const r = ok(await src.update());
    expect(r.revision).toBe(oid);
    expect(r.verification).toMatchObject({ verified: true, fingerprint: (trusted as GpgKey).fingerprint.toLowerCase() });
  });

  it('rejects unsigned and untrusted commits with the reason, keeping the last verified state', async () => {
    const repo = await RepoFixture.create(root, `signed-${++count}.git`);
    const good = await signedCommit(repo, trusted as GpgKey, { 'a.yaml': 'a: 1\n' });
    const src = new GitSource({
      url: server.url(repo.name),
      cacheDir: path.join(root, `cache-${++count}`),
      verify: { trustedKeys: [(trusted as GpgKey).armoredPublic] },
    });
    expect(ok(await src.update()).revision).toBe(good);

    const unsigned = await repo.commitAndPush({ 'a.yaml': 'a: 2\n' }, 'unsigned');
    const r1 = await src.update();
    expect(r1.ok).toBe(false);
    if (!r1.ok) {
      expect(r1.failure).toMatchObject({ reason: 'unverified', revision: unsigned, verification: { verified: false, reason: 'unsigned' } });
    }

    const untrusted = await signedCommit(repo, stranger as GpgKey, { 'a.yaml': 'a: 3\n' });
    const r2 = await src.update();
    expect(r2.ok ? undefined : r2.failure).toMatchObject({
      reason: 'unverified',
      revision: untrusted,
      verification: { reason: 'untrusted-key', keyIds: [(stranger as GpgKey).fingerprint.slice(-16).toLowerCase()] },
    });

    // A trusted commit on top is accepted, and the change set spans from the last verified snapshot.
    const fixed = await signedCommit(repo, trusted as GpgKey, { 'a.yaml': 'a: 4\n', 'b.yaml': 'b: 1\n' });
    const r3 = ok(await src.update());
    expect(r3.revision).toBe(fixed);
    expect(r3.changes).toEqual({ added: ['b.yaml'], modified: ['a.yaml'], deleted: [] });
  });

  it('detects a signature that does not match the payload', async () => {
    const repo = await RepoFixture.create(root, `signed-${++count}.git`);
    const first = await signedCommit(repo, trusted as GpgKey, { 'a.yaml': 'a: 1\n' });
    const second = await signedCommit(repo, trusted as GpgKey, { 'a.yaml': 'a: 2\n' });
    const keys = await TrustedKeys.fromArmored([(trusted as GpgKey).armoredPublic]);
    const a = await git.readCommit({ fs, gitdir: repo.bare, oid: first });
    const b = await git.readCommit({ fs, gitdir: repo.bare, oid: second });
    expect(await verifyCommitSignature({ gpgsig: a.commit.gpgsig, payload: a.payload }, keys)).toMatchObject({ verified: true });
    expect(await verifyCommitSignature({ gpgsig: a.commit.gpgsig, payload: b.payload }, keys)).toMatchObject({
      verified: false,
      reason: 'bad-signature',
    });
    expect(await verifyCommitSignature({ gpgsig: '-----BEGIN SSH SIGNATURE-----\nAAAA\n-----END SSH SIGNATURE-----', payload: 'x' }, keys)).toMatchObject({
      verified: false,
      reason: 'unsupported-signature',
    });
  });

  it('signs status commits with openpgp in a form git verify-commit accepts', async () => {
    const { privateKey, publicKey } = await openpgp.generateKey({
      type: 'ecc',
      curve: 'ed25519Legacy',
      userIDs: [{ name: 'joch-bot', email: 'joch-bot@example.com' }],
      format: 'armored',
    });
    const repo = await RepoFixture.create(root, `signed-${++count}.git`);
    await repo.commitAndPush({ 'a.yaml': 'a: 1\n' });
    const w = new StatusWriter({
      url: server.url(repo.name),
      cacheDir: path.join(root, `cache-${++count}`),
      signer: await openpgpSigner(privateKey),
    });
    const written = await w.write({ 'status/a.yaml': 'phase: Ready\n' });
    if (!written.ok) throw new Error(JSON.stringify(written.failure));
    const oid = written.commit as string;

    const { commit, payload } = await git.readCommit({ fs, gitdir: repo.bare, oid });
    const keys = await TrustedKeys.fromArmored([publicKey]);
    expect(await verifyCommitSignature({ gpgsig: commit.gpgsig, payload }, keys)).toMatchObject({ verified: true });

    const home = await mkdtemp(path.join(tmpdir(), 'jg-'));
    const key: GpgKey = { home, fingerprint: '', armoredPublic: publicKey };
    try {
      await fs.promises.writeFile(path.join(home, 'bot.asc'), publicKey);
      await gpg(home, ['--import', path.join(home, 'bot.asc')]);
      await runGit(repo.bare, ['verify-commit', oid], { GNUPGHOME: home });
    } finally {
      await dropGpgKey(key);
    }
  });
});

describe('commit signature verification (openpgp only)', () => {
  it('classifies unsigned, untrusted and valid signatures without gpg installed', async () => {
    const make = (name: string) =>
      openpgp.generateKey({ type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ name, email: `${name}@example.com` }], format: 'armored' });
    const [mine, theirs] = await Promise.all([make('mine'), make('theirs')]);
    const keys = await TrustedKeys.fromArmored([mine.publicKey]);
    const payload = 'tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor a <a@example.com> 0 +0000\ncommitter a <a@example.com> 0 +0000\n\nm\n';
    const sign = async (armored: string) => (await openpgpSigner(armored))(payload);
    expect(await verifyCommitSignature({ payload }, keys)).toMatchObject({ verified: false, reason: 'unsigned' });
    expect(await verifyCommitSignature({ payload, gpgsig: await sign(theirs.privateKey) }, keys)).toMatchObject({
      verified: false,
      reason: 'untrusted-key',
    });
    expect(await verifyCommitSignature({ payload, gpgsig: await sign(mine.privateKey) }, keys)).toMatchObject({ verified: true });
  });
});
