/**
 * Why a Git source or status write failed, as data the caller can switch on
 * (keep the last good state, back off, alert), plus the redaction that keeps
 * credentials out of every message we build.
 */
import git from 'isomorphic-git';

export type GitFailure =
  /** The server could not be reached (refused, DNS, timeout, TLS) or answered 5xx. */
  | { readonly reason: 'unreachable'; readonly url: string; readonly message: string }
  /** The server refused the credentials (or asked for some and none were given). */
  | { readonly reason: 'auth-failed'; readonly url: string; readonly status: number; readonly message: string }
  /** The branch or tag is not on the remote (deleted, renamed, never pushed). */
  | { readonly reason: 'ref-not-found'; readonly url: string; readonly ref: string; readonly message: string }
  /** No tag satisfies the semver range. */
  | { readonly reason: 'no-matching-tag'; readonly url: string; readonly range: string; readonly message: string }
  /** The exact commit asked for is not reachable from what the remote serves. */
  | { readonly reason: 'commit-not-found'; readonly url: string; readonly commit: string; readonly message: string }
  /** The configured subdirectory is missing (or is not a folder) in the revision. */
  | { readonly reason: 'root-not-found'; readonly revision: string; readonly root: string; readonly message: string }
  /** Verification was asked for and the commit is unsigned, untrusted or badly signed. */
  | {
      readonly reason: 'unverified';
      readonly revision: string;
      readonly verification: UnverifiedCommit;
      readonly message: string;
    }
  /** A status push was refused for a reason other than the branch having moved (a hook, a protected branch). */
  | { readonly reason: 'push-rejected'; readonly url: string; readonly message: string }
  /** The status branch kept moving under us until the retry budget ran out. */
  | { readonly reason: 'conflict-retries-exhausted'; readonly url: string; readonly attempts: number; readonly message: string }
  /** The answer was not Git's smart-HTTP protocol, or the cache is unusable. */
  | { readonly reason: 'protocol-error'; readonly url: string; readonly message: string }
  | { readonly reason: 'invalid-options'; readonly message: string }
  | { readonly reason: 'internal'; readonly message: string };

export type GitFailureReason = GitFailure['reason'];

/** Why a commit did not pass signature verification. */
export interface UnverifiedCommit {
  readonly verified: false;
  readonly reason: 'unsigned' | 'untrusted-key' | 'bad-signature' | 'unsupported-signature';
  /** Key IDs (hex) the signature names as its issuer, when it could be parsed. */
  readonly keyIds: readonly string[];
  readonly detail: string;
}

export function isFailure<T extends object>(value: T | GitFailure): value is GitFailure {
  return 'reason' in value;
}

/** Thrown only for programming or configuration errors found before any I/O (bad options). */
export class GitSourceError extends Error {
  constructor(readonly failure: GitFailure) {
    super(failure.message);
    this.name = 'GitSourceError';
  }
}

export function invalidOptions(message: string): GitSourceError {
  return new GitSourceError({ reason: 'invalid-options', message });
}

/** Strips `user:password@` from every URL in a text. */
export function redactUrls(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/gi, '$1***@');
}

/** Redacts URLs' userinfo and every given secret (a token, a password), wherever it appears. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = redactUrls(text);
  for (const secret of secrets) {
    if (secret.length >= 3) out = out.split(secret).join('***');
    const encoded = encodeURIComponent(secret);
    if (encoded !== secret && encoded.length >= 3) out = out.split(encoded).join('***');
  }
  return out;
}

/** Node's network error codes that mean "could not talk to the server at all". */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

interface ErrorLike {
  readonly code?: unknown;
  readonly message?: unknown;
  readonly data?: unknown;
}

/**
 * Maps an error thrown by isomorphic-git or Node's HTTP stack during a
 * transfer to a failure. The message is rebuilt from known fields and then
 * redacted, so a server's echo of a URL with credentials cannot leak.
 */
export function transferFailure(error: unknown, url: string, secrets: readonly string[]): GitFailure {
  const e = (error ?? {}) as ErrorLike;
  const code = typeof e.code === 'string' ? e.code : undefined;
  const raw = typeof e.message === 'string' ? e.message : String(error);
  const message = redact(raw, secrets);
  if (code === git.Errors.HttpError.code) {
    const status = (e.data as { statusCode?: number } | undefined)?.statusCode ?? 0;
    if (status === 401 || status === 403) {
      return { reason: 'auth-failed', url, status, message: `the server refused the credentials (HTTP ${status})` };
    }
    if (status === 404) return { reason: 'protocol-error', url, message: 'no Git repository at this URL (HTTP 404)' };
    if (status >= 500) return { reason: 'unreachable', url, message: `the server failed (HTTP ${status})` };
    return { reason: 'protocol-error', url, message: `unexpected HTTP ${status}` };
  }
  if (code === git.Errors.UserCanceledError.code) {
    return { reason: 'auth-failed', url, status: 401, message: 'the server refused the credentials (HTTP 401)' };
  }
  if (code === git.Errors.SmartHttpError.code || code === git.Errors.EmptyServerResponseError.code) {
    return { reason: 'protocol-error', url, message: 'the server did not answer with the Git smart-HTTP protocol' };
  }
  if (code !== undefined && NETWORK_CODES.has(code)) return { reason: 'unreachable', url, message: `${code}: ${message}` };
  // simple-get (isomorphic-git's Node client) reports its timeout with this bare message.
  if (raw === 'Request timed out') return { reason: 'unreachable', url, message: 'the server did not answer in time' };
  return { reason: 'internal', message };
}
