/**
 * Revisions as Git users write them, resolved with isomorphic-git (which
 * resolves refs and full ids only): `HEAD`, branches, tags (annotated ones
 * peeled to their commit), full and abbreviated commit ids, each followed by
 * any number of `~N` (Nth first-parent ancestor) and `^N` (Nth parent).
 */
import * as fs from 'node:fs';
import path from 'node:path';
import git from 'isomorphic-git';
import { localGitdir, peelToCommit, type CacheRepo } from './git-transport.js';

export type RevisionResult = { readonly ok: true; readonly commit: string } | { readonly ok: false; readonly reason: string };

const SUFFIX = /(~|\^)(\d*)/g;

/** The working tree holding `start`: the nearest folder at or above it with a `.git`. */
export function gitWorkTreeRoot(start: string): string | undefined {
  for (let dir = path.resolve(start); ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, '.git'))) return dir;
    if (path.dirname(dir) === dir) return undefined;
  }
}

/** Resolves `rev` in the repository whose working tree (or bare folder) is `dir`. */
export async function resolveRevision(dir: string, rev: string): Promise<RevisionResult> {
  const at = rev.search(/[~^]/);
  const base = at < 0 ? rev : rev.slice(0, at);
  const suffixes = at < 0 ? '' : rev.slice(at);
  if (!base || suffixes.replace(SUFFIX, '') !== '') return { ok: false, reason: `"${rev}" is not a revision (write NAME, NAME~N or NAME^N)` };
  let repo: CacheRepo;
  try {
    repo = { gitdir: await localGitdir(path.resolve(dir)), cache: {} };
  } catch {
    return { ok: false, reason: `${dir} is not a Git repository` };
  }
  let commit = await resolveBase(repo, base);
  if (!commit) return { ok: false, reason: `"${base}" is not a commit, branch or tag of ${dir}` };
  for (const [, op, digits] of suffixes.matchAll(SUFFIX)) {
    const n = digits === '' ? 1 : Number(digits);
    const next: string | undefined = op === '~' ? await firstParentAncestor(repo, commit, n) : await nthParent(repo, commit, n);
    if (!next) return { ok: false, reason: `"${rev}": ${commit.slice(0, 12)} has no ${op === '~' ? `ancestor ${n} generations back` : `parent ${n}`}` };
    commit = next;
  }
  return { ok: true, commit };
}

/** A ref in any of Git's spellings (resolveRef tries them in Git's order), else a full or abbreviated commit id. */
async function resolveBase(repo: CacheRepo, base: string): Promise<string | undefined> {
  const { gitdir, cache } = repo;
  try {
    return await peelToCommit(repo, await git.resolveRef({ fs, gitdir, ref: base }));
  } catch {
    // Not a ref: perhaps a commit id.
  }
  if (!/^[0-9a-f]{4,40}$/i.test(base)) return undefined;
  try {
    return await peelToCommit(repo, await git.expandOid({ fs, gitdir, cache, oid: base.toLowerCase() }));
  } catch {
    return undefined;
  }
}

async function firstParentAncestor(repo: CacheRepo, commit: string, n: number): Promise<string | undefined> {
  let current: string | undefined = commit;
  for (let i = 0; i < n && current; i++) current = await nthParent(repo, current, 1);
  return current;
}

async function nthParent(repo: CacheRepo, commit: string, n: number): Promise<string | undefined> {
  if (n === 0) return commit;
  const { commit: c } = await git.readCommit({ fs, gitdir: repo.gitdir, cache: repo.cache, oid: commit });
  return c.parent[n - 1];
}
