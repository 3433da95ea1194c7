/**
 * Revisions as Git users write them, resolved with isomorphic-git (which
 * resolves refs and full ids only): `HEAD`, branches, tags (annotated ones
 * peeled to their commit), full and abbreviated commit ids, each followed by
 * any number of `~N` (Nth first-parent ancestor) and `^N` (Nth parent).
 */
import * as fs from 'node:fs';
import path from 'node:path';
import git from 'isomorphic-git';

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
  const repo = path.resolve(dir);
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

async function resolveBase(dir: string, base: string): Promise<string | undefined> {
  for (const ref of [base, `refs/tags/${base}`, `refs/heads/${base}`, `refs/remotes/${base}`]) {
    try {
      return await peelToCommit(dir, await git.resolveRef({ fs, dir, ref }));
    } catch {
      // Not this spelling of a ref.
    }
  }
  if (!/^[0-9a-f]{4,40}$/i.test(base)) return undefined;
  try {
    return await peelToCommit(dir, await git.expandOid({ fs, dir, oid: base.toLowerCase() }));
  } catch {
    return undefined;
  }
}

/** An annotated tag points at a tag object; a revision means the commit behind it. */
async function peelToCommit(dir: string, oid: string): Promise<string> {
  let current = oid;
  for (let depth = 0; depth < 10; depth++) {
    const { type, object } = await git.readObject({ fs, dir, oid: current, format: 'parsed' });
    if (type === 'commit') return current;
    if (type !== 'tag') throw new Error(`${oid} is a ${type}, not a commit`);
    current = (object as { object: string }).object;
  }
  throw new Error(`${oid}: tags nested too deep`);
}

async function firstParentAncestor(dir: string, commit: string, n: number): Promise<string | undefined> {
  let current: string | undefined = commit;
  for (let i = 0; i < n && current; i++) current = await nthParent(dir, current, 1);
  return current;
}

async function nthParent(dir: string, commit: string, n: number): Promise<string | undefined> {
  if (n === 0) return commit;
  const { commit: c } = await git.readCommit({ fs, dir, oid: commit });
  return c.parent[n - 1];
}
