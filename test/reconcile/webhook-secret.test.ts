/**
 * The webhook secret of `joch sync` is read once, at start: a secret file
 * rewritten on disk (a rotated mounted Secret) changes nothing until a
 * restart, and only one secret is accepted at a time.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { signGithubPayload } from '../../src/reconcile/index.js';
import { syncRuntime } from './support/fleet.js';

let root: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'joch-sync-hook-secret-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

it('keeps verifying with the secret read at start after the secret file is rewritten', async () => {
  const secretFile = path.join(root, 'webhook-secret');
  await writeFile(secretFile, 'old-secret\n');
  // Nothing to fetch from: only the HTTP side matters here.
  const sync = await syncRuntime(
    {
      repo: 'http://127.0.0.1:9/fleet.git',
      'cache-dir': path.join(root, 'cache'),
      target: 'folder',
      output: path.join(root, 'out'),
      'no-status': true,
      interval: '1h',
      'webhook-port': '0',
      'webhook-secret-file': secretFile,
    },
    root,
  );
  await sync.start();
  try {
    const ping = async (secret: string) => {
      const body = JSON.stringify({ zen: 'rotate' });
      const res = await fetch(`http://127.0.0.1:${sync.ports.webhook as number}/webhook`, {
        method: 'POST',
        headers: { 'X-GitHub-Event': 'ping', 'X-Hub-Signature-256': signGithubPayload(secret, body), 'Content-Type': 'application/json' },
        body,
      });
      return res.status;
    };
    expect(await ping('old-secret')).toBe(200);
    await writeFile(secretFile, 'new-secret\n');
    expect(await ping('new-secret')).toBe(401);
    expect(await ping('old-secret')).toBe(200);
  } finally {
    await sync.shutdown(1000);
  }
});
