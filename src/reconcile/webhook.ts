/**
 * GitHub push webhooks: the HMAC-SHA256 signature check and the parts of a
 * push event the loop looks at. A push that is not for the followed branch,
 * or whose head commit is the reconciler's own status commit, triggers nothing.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { isOwnStatusCommit, type BotIdentity } from '../source/git.js';

export type SignatureCheck = { readonly ok: true } | { readonly ok: false; readonly reason: 'missing-signature' | 'bad-signature' };

/** Checks `X-Hub-Signature-256: sha256=<hex>` against the body, in constant time. */
export function verifyGithubSignature(secret: string, body: Uint8Array, header: string | undefined): SignatureCheck {
  if (!header) return { ok: false, reason: 'missing-signature' };
  const match = /^sha256=([0-9a-f]{64})$/i.exec(header.trim());
  if (!match?.[1]) return { ok: false, reason: 'bad-signature' };
  const expected = createHmac('sha256', secret).update(body).digest();
  const given = Buffer.from(match[1], 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected) ? { ok: true } : { ok: false, reason: 'bad-signature' };
}

export function signGithubPayload(secret: string, body: Uint8Array | string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export interface PushEvent {
  /** Full ref pushed, e.g. `refs/heads/main`. */
  readonly ref: string;
  /** Commit the ref points at after the push; all zeros for a deletion. */
  readonly after: string;
  readonly deleted: boolean;
  readonly headCommit?: { readonly message: string; readonly author: { readonly name: string; readonly email: string } } | undefined;
}

/** The fields of a push event payload we use, or undefined when it is not one. */
export function parsePushEvent(body: Uint8Array): PushEvent | undefined {
  let data: unknown;
  try {
    data = JSON.parse(Buffer.from(body).toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof data !== 'object' || data === null) return undefined;
  const d = data as Record<string, unknown>;
  if (typeof d.ref !== 'string' || typeof d.after !== 'string') return undefined;
  const head = d.head_commit as { message?: unknown; author?: { name?: unknown; email?: unknown } } | null | undefined;
  const headCommit =
    head && typeof head.message === 'string'
      ? { message: head.message, author: { name: String(head.author?.name ?? ''), email: String(head.author?.email ?? '') } }
      : undefined;
  return { ref: d.ref, after: d.after, deleted: d.deleted === true || /^0{40}$/.test(d.after), headCommit };
}

export type PushDecision = { readonly trigger: true } | { readonly trigger: false; readonly why: string };

/** Whether a push should start a cycle now. A watched ref ending in `/` matches every ref under it (`refs/tags/`). */
export function decidePush(event: PushEvent, watchedRefs: readonly string[], bot: BotIdentity): PushDecision {
  const watched = watchedRefs.some((r) => (r.endsWith('/') ? event.ref.startsWith(r) : r === event.ref));
  if (!watched) return { trigger: false, why: `push to ${event.ref}, which is not followed` };
  if (event.headCommit && isOwnStatusCommit(event.headCommit, bot)) return { trigger: false, why: "the reconciler's own commit" };
  return { trigger: true };
}
