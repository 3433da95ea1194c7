/**
 * Which revision of the remote to follow: a branch, a tag, the highest tag in
 * a semver range, or an exact commit (like Flux's GitRepository `ref`).
 */
import semver from 'semver';
import { invalidOptions, type GitFailure } from './git-errors.js';

export type RefSelector =
  | { readonly branch: string }
  | { readonly tag: string }
  /** The highest tag (`v` prefix allowed) whose version satisfies the range, e.g. `>=1.2.0 <2`. */
  | { readonly semver: string }
  /** An exact commit; `branch` says where to fetch it from (default: the remote's HEAD). */
  | { readonly commit: string; readonly branch?: string | undefined };

/** A ref as the remote advertises it. */
export interface RemoteRef {
  readonly oid: string;
  /** For an annotated tag: the commit it points to. */
  readonly peeled?: string | undefined;
}

/** Full ref name (`refs/heads/main`, `refs/tags/v1`, `HEAD`) to what it points at. */
export type RemoteRefs = ReadonlyMap<string, RemoteRef>;

export interface ResolvedRef {
  readonly kind: 'branch' | 'tag' | 'commit';
  /** Branch or tag name (short); the commit for `commit`. */
  readonly name: string;
  /** Full ref name to fetch; for `commit`, the branch it is fetched from. */
  readonly fetchRef: string;
  /** The commit the selection designates. */
  readonly commit: string;
}

const OID = /^[0-9a-f]{40}$/;

export function describeSelector(ref: RefSelector): string {
  if ('commit' in ref) return `commit ${ref.commit}`;
  if ('semver' in ref) return `semver ${ref.semver}`;
  if ('tag' in ref) return `tag ${ref.tag}`;
  return `branch ${ref.branch}`;
}

/** Throws on a selector that can never resolve, before anything is fetched. */
export function checkSelector(ref: RefSelector): void {
  if ('commit' in ref) {
    if (!OID.test(ref.commit)) throw invalidOptions(`ref.commit must be a full 40-character hex SHA-1, got "${ref.commit}"`);
    if (ref.branch !== undefined) checkName(ref.branch, 'ref.branch');
  } else if ('semver' in ref) {
    if (semver.validRange(ref.semver) === null) throw invalidOptions(`ref.semver is not a valid semver range: "${ref.semver}"`);
  } else if ('tag' in ref) {
    checkName(ref.tag, 'ref.tag');
  } else {
    checkName(ref.branch, 'ref.branch');
  }
}

function checkName(name: string, field: string): void {
  // The subset of git-check-ref-format that matters for names typed into a manifest.
  if (!name || name.startsWith('-') || name.startsWith('/') || name.endsWith('/') || /\.\.|[\s~^:?*[\\]|@\{|\.lock$/.test(name)) {
    throw invalidOptions(`${field} is not a valid ref name: "${name}"`);
  }
}

/** Picks the commit the selector designates among the remote's refs, or says why none. */
export function resolveSelector(ref: RefSelector, refs: RemoteRefs, url: string): ResolvedRef | GitFailure {
  if ('commit' in ref) {
    const fetchRef = ref.branch !== undefined ? `refs/heads/${ref.branch}` : 'HEAD';
    if (!refs.has(fetchRef)) return refNotFound(url, ref.branch ?? 'HEAD');
    return { kind: 'commit', name: ref.commit, fetchRef, commit: ref.commit };
  }
  if ('semver' in ref) return highestTag(ref.semver, refs, url);
  if ('tag' in ref) {
    const found = refs.get(`refs/tags/${ref.tag}`);
    if (!found) return refNotFound(url, `refs/tags/${ref.tag}`);
    return { kind: 'tag', name: ref.tag, fetchRef: `refs/tags/${ref.tag}`, commit: found.peeled ?? found.oid };
  }
  const found = refs.get(`refs/heads/${ref.branch}`);
  if (!found) return refNotFound(url, `refs/heads/${ref.branch}`);
  return { kind: 'branch', name: ref.branch, fetchRef: `refs/heads/${ref.branch}`, commit: found.oid };
}

function highestTag(range: string, refs: RemoteRefs, url: string): ResolvedRef | GitFailure {
  let best: { name: string; version: string; ref: RemoteRef } | undefined;
  let tags = 0;
  for (const [full, target] of refs) {
    if (!full.startsWith('refs/tags/') || full.endsWith('^{}')) continue;
    tags++;
    const name = full.slice('refs/tags/'.length);
    const version = semver.clean(name);
    if (version === null || !semver.satisfies(version, range)) continue;
    // Ties (`v1.0.0` and `1.0.0`) go to the lexically first name so the pick is stable.
    const order = best ? semver.compare(version, best.version) : 1;
    if (order > 0 || (order === 0 && best && name < best.name)) best = { name, version, ref: target };
  }
  if (!best) {
    return { reason: 'no-matching-tag', url, range, message: `none of the ${tags} tags satisfies the semver range "${range}"` };
  }
  return { kind: 'tag', name: best.name, fetchRef: `refs/tags/${best.name}`, commit: best.ref.peeled ?? best.ref.oid };
}

function refNotFound(url: string, ref: string): GitFailure {
  return { reason: 'ref-not-found', url, ref, message: `${ref} does not exist on the remote (deleted or never pushed)` };
}
