/**
 * The loop's parts that need no Git server and no cluster: backoff, options,
 * the webhook's HMAC check and push filter, the HTTP endpoints (over real
 * HTTP on 127.0.0.1), the wake-up used by triggers, and log redaction.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  Backoff,
  SyncMetrics,
  createLogger,
  decidePush,
  jittered,
  parseDuration,
  parsePushEvent,
  parseSyncOptions,
  signGithubPayload,
  startSyncServer,
  verifyGithubSignature,
  type PushEvent,
} from '../../src/reconcile/index.js';
import { Wakeup } from '../../src/reconcile/wakeup.js';
import { DEFAULT_BOT_IDENTITY } from '../../src/source/git.js';

describe('backoff', () => {
  it('doubles from the initial delay up to the ceiling, jittered within the upper half, and resets', () => {
    const top = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 0.999999 });
    expect([1, 2, 3, 4, 5, 6].map(() => top.fail())).toEqual([100, 200, 400, 800, 1000, 1000]);
    const bottom = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 0 });
    expect([1, 2, 3].map(() => bottom.fail())).toEqual([50, 100, 200]);
    expect(bottom.attempts).toBe(3);
    bottom.reset();
    expect(bottom.fail()).toBe(50);
  });

  it('spreads the poll interval by the jitter fraction both ways', () => {
    expect(jittered(60_000, 0.1, () => 0)).toBe(54_000);
    expect(jittered(60_000, 0.1, () => 0.5)).toBe(60_000);
    expect(jittered(60_000, 0.1, () => 0.999999)).toBe(66_000);
    expect(jittered(60_000, 0, () => 0.3)).toBe(60_000);
  });

  it('cuts a wait short on a trigger, and keeps a trigger that came while nobody waited', async () => {
    const w = new Wakeup();
    const t0 = Date.now();
    const waiting = w.wait(60_000);
    w.notify();
    expect(await waiting).toBe(true);
    w.notify();
    expect(await w.wait(60_000)).toBe(true);
    expect(await w.wait(5)).toBe(false);
    expect(Date.now() - t0).toBeLessThan(10_000);
  });
});

describe('sync options', () => {
  it('reads flags, then JOCH_SYNC_* variables, with defaults and durations', () => {
    const r = parseSyncOptions({ interval: '30s', 'leader-elect': true }, { JOCH_SYNC_INTERVAL: '5m', JOCH_SYNC_DRIFT_INTERVAL: '90s', JOCH_SYNC_VERIFY_KEY: 'a.asc, b.asc' });
    if (!r.ok) throw new Error(r.errors.join('\n'));
    expect(r.options).toMatchObject({
      interval: 30_000,
      'drift-interval': 90_000,
      'leader-elect': true,
      'verify-key': ['a.asc', 'b.asc'],
      'status-branch': 'joch/status',
      'rendered-branch': 'joch/rendered',
      'backoff-max': 300_000,
      once: false,
    });
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('1.5h')).toBe(5_400_000);
    expect(parseDuration('12')).toBe(12_000);
    expect(parseDuration('soon')).toBeUndefined();
  });

  it('reports every invalid option at once, naming the flag and its variable', () => {
    const r = parseSyncOptions(
      { interval: 'often', tag: 'v1', semver: '>=1', 'webhook-port': '8080' },
      { JOCH_SYNC_BOT_EMAIL: 'not-an-email', JOCH_SYNC_JITTER: '3', JOCH_SYNC_STATUS_BRANCH: 'joch/rendered' },
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const text = r.errors.join('\n');
    expect(text).toContain('--interval (JOCH_SYNC_INTERVAL): must be a duration');
    expect(text).toContain('--bot-email (JOCH_SYNC_BOT_EMAIL)');
    expect(text).toContain('--jitter (JOCH_SYNC_JITTER)');
    // zod runs the cross-field checks only when the fields themselves are valid; fix those and they show.
    const r2 = parseSyncOptions({ tag: 'v1', semver: '>=1', 'webhook-port': '8080' }, { JOCH_SYNC_STATUS_BRANCH: 'joch/rendered' });
    expect(r2.ok).toBe(false);
    if (r2.ok) return;
    expect(r2.errors.join('\n')).toMatch(/at most one of --branch, --tag and --semver[\s\S]*webhook needs a secret[\s\S]*status and rendered branches must differ/);
  });
});

describe('sync shards', () => {
  it('--cluster names the shard: its Lease and status branch default to names of their own', () => {
    const r = parseSyncOptions({ cluster: ['prod-eu'] }, {});
    if (!r.ok) throw new Error(r.errors.join('\n'));
    expect(r.options).toMatchObject({ cluster: ['prod-eu'], 'lease-name': 'joch-sync-prod-eu', 'status-branch': 'joch/status-prod-eu' });
    const env = parseSyncOptions({}, { JOCH_SYNC_CLUSTER: 'us-east, eu-west' });
    if (!env.ok) throw new Error(env.errors.join('\n'));
    expect(env.options).toMatchObject({ cluster: ['us-east', 'eu-west'], 'lease-name': 'joch-sync-eu-west-us-east', 'status-branch': 'joch/status-eu-west-us-east' });
    // Without shards, and with names given, nothing changes.
    const plain = parseSyncOptions({}, {});
    if (!plain.ok) throw new Error(plain.errors.join('\n'));
    expect(plain.options).toMatchObject({ cluster: [], 'lease-name': 'joch-sync', 'status-branch': 'joch/status' });
    const named = parseSyncOptions({ cluster: ['prod-eu'], 'lease-name': 'mine', 'status-branch': 'status/prod' }, {});
    expect(named.ok && named.options).toMatchObject({ 'lease-name': 'mine', 'status-branch': 'status/prod' });
    // A Lease name stays a DNS name however many clusters a shard has.
    const many = parseSyncOptions({ cluster: Array.from({ length: 12 }, (_, i) => `cluster-number-${i}`) }, {});
    expect(many.ok && many.options['lease-name'].length).toBeLessThanOrEqual(63);
  });

  it('refuses a shard of a rendered target, a cluster name that is not a DNS label, and a default status branch equal to the rendered one', () => {
    const r = parseSyncOptions({ cluster: ['prod-eu'], target: 'git' }, {});
    expect(!r.ok && r.errors.join('\n')).toContain('--cluster (JOCH_SYNC_CLUSTER): --cluster shards a sync to clusters: it goes with --target cluster');
    const bad = parseSyncOptions({ cluster: ['Prod_EU'] }, {});
    expect(!bad.ok && bad.errors.join('\n')).toContain('--cluster (JOCH_SYNC_CLUSTER): must be a cluster name of joch.yaml');
    const same = parseSyncOptions({ 'rendered-branch': 'joch/status' }, {});
    expect(!same.ok && same.errors.join('\n')).toContain('the status and rendered branches must differ');
  });
});

describe('GitHub webhook signature and push filter', () => {
  const secret = "It's a Secret to Everybody";
  const body = Buffer.from('Hello, World!');

  it('accepts the signature GitHub documents and rejects tampering, other secrets, missing and malformed headers', () => {
    // The example from GitHub's "Validating webhook deliveries" page.
    const documented = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17';
    expect(signGithubPayload(secret, body)).toBe(documented);
    expect(verifyGithubSignature(secret, body, documented)).toEqual({ ok: true });
    expect(verifyGithubSignature(secret, Buffer.from('Hello, World?'), documented)).toEqual({ ok: false, reason: 'bad-signature' });
    expect(verifyGithubSignature('another secret', body, documented)).toEqual({ ok: false, reason: 'bad-signature' });
    expect(verifyGithubSignature(secret, body, undefined)).toEqual({ ok: false, reason: 'missing-signature' });
    expect(verifyGithubSignature(secret, body, 'sha1=757107ea0eb2509fc211221cce984b8a37570b6d')).toEqual({ ok: false, reason: 'bad-signature' });
    expect(verifyGithubSignature(secret, body, 'sha256=zz')).toEqual({ ok: false, reason: 'bad-signature' });
  });

  it('triggers only for the followed ref, and never for the reconciler’s own commits', () => {
    const push = (ref: string, author = 'dev@example.com', message = 'change an agent'): PushEvent => ({
      ref,
      after: 'a'.repeat(40),
      deleted: false,
      headCommit: { message, author: { name: 'x', email: author } },
    });
    const refs = ['refs/heads/main'];
    expect(decidePush(push('refs/heads/main'), refs, DEFAULT_BOT_IDENTITY)).toEqual({ trigger: true });
    expect(decidePush(push('refs/heads/joch/status'), refs, DEFAULT_BOT_IDENTITY).trigger).toBe(false);
    const own = push('refs/heads/main', DEFAULT_BOT_IDENTITY.email, 'joch: status [skip ci]\n\nJoch-Status: true\n');
    expect(decidePush(own, refs, DEFAULT_BOT_IDENTITY)).toEqual({ trigger: false, why: "the reconciler's own commit" });
    expect(decidePush(push('refs/tags/v1.2.0'), ['refs/tags/'], DEFAULT_BOT_IDENTITY).trigger).toBe(true);
    expect(parsePushEvent(Buffer.from('{"zen":"ping"}'))).toBeUndefined();
    expect(parsePushEvent(Buffer.from(JSON.stringify({ ref: 'refs/heads/main', after: '0'.repeat(40), deleted: true })))?.deleted).toBe(true);
  });
});

describe('HTTP endpoints', () => {
  it('serves metrics and health, rejects and counts bad webhook signatures, and triggers on a good push', async () => {
    const metrics = new SyncMetrics();
    const pushes: PushEvent[] = [];
    let ready = false;
    const server = await startSyncServer({
      port: 0,
      host: '127.0.0.1',
      metrics,
      health: { live: () => true, ready: () => ready },
      webhook: { secret: () => 's3cret', refs: ['refs/heads/main'], bot: DEFAULT_BOT_IDENTITY, onPush: (e) => pushes.push(e) },
    });
    const base = `http://127.0.0.1:${server.port}`;
    try {
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      expect((await fetch(`${base}/readyz`)).status).toBe(503);
      ready = true;
      expect((await fetch(`${base}/readyz`)).status).toBe(200);

      const payload = JSON.stringify({ ref: 'refs/heads/main', after: 'b'.repeat(40), head_commit: { message: 'x', author: { name: 'a', email: 'a@b.c' } } });
      const post = (headers: Record<string, string>, body = payload) => fetch(`${base}/webhook`, { method: 'POST', headers, body });
      expect((await post({ 'X-GitHub-Event': 'push' })).status).toBe(401);
      expect((await post({ 'X-GitHub-Event': 'push', 'X-Hub-Signature-256': signGithubPayload('wrong', payload) })).status).toBe(401);
      expect((await post({ 'X-GitHub-Event': 'push', 'X-Hub-Signature-256': signGithubPayload('s3cret', `${payload} `) })).status).toBe(401);
      expect(pushes).toHaveLength(0);
      const good = await post({ 'X-GitHub-Event': 'push', 'X-Hub-Signature-256': signGithubPayload('s3cret', payload) });
      expect(good.status).toBe(202);
      expect(pushes.map((p) => p.after)).toEqual(['b'.repeat(40)]);
      const ping = await post({ 'X-GitHub-Event': 'ping', 'X-Hub-Signature-256': signGithubPayload('s3cret', '{}') }, '{}');
      expect(ping.status).toBe(200);

      const text = await (await fetch(`${base}/metrics`)).text();
      expect(text).toMatch(/joch_webhook_rejections_total\{reason="missing-signature"\} 1/);
      expect(text).toMatch(/joch_webhook_rejections_total\{reason="bad-signature"\} 2/);
      for (const name of [
        'joch_reconcile_duration_seconds',
        'joch_last_successful_revision_info',
        'joch_last_successful_reconcile_timestamp_seconds',
        'joch_objects_applied_total',
        'joch_objects_pruned_total',
        'joch_objects_drift_corrected_total',
        'joch_policy_denials_total',
        'joch_git_fetch_errors_total',
      ]) {
        expect(text).toContain(`# TYPE ${name}`);
      }
      expect((await fetch(`${base}/nothing`)).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});

describe('logs', () => {
  it('writes JSON lines with credentials redacted from messages and fields', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = createLogger({ destination: sink, secrets: () => ['hunter2-token-value'] });
    logger.error({ url: 'https://user:pa55word@git.example.com/repo.git', token: 'abc', detail: 'got hunter2-token-value back' }, 'fetch failed for https://x:ghp_abcdefghijklmnopqrstuvwxyz0123456789@h/r');
    const text = lines.join('');
    const line = JSON.parse(text) as Record<string, unknown>;
    expect(line.level).toBe(50);
    expect(text).not.toContain('pa55word');
    expect(text).not.toContain('hunter2-token-value');
    expect(text).not.toContain('ghp_abcdefghijklmnopqrstuvwxyz0123456789');
    expect(line.token).toBe('***');
  });
});
