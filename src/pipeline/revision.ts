/**
 * A past revision of a local Git repository through the pipeline, read from
 * the object store (no checkout, the working tree untouched): what the GitHub
 * Action and `joch agbom diff --from` compare the current state with.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import git from 'isomorphic-git';
import * as fs from 'node:fs';
import { GitSource } from '../source/git.js';
import { runSnapshot, type SnapshotRun } from './snapshot.js';

export type RevisionRun = { readonly ok: true; readonly run: SnapshotRun; readonly commit: string } | { readonly ok: false; readonly reason: string };

/**
 * Resolves `rev` (a commit id, a short one, a branch or a tag) in the
 * repository at `repo`, and runs load, validate and policy on the files under
 * `root` at that commit.
 */
export async function validateRevision(repo: string, rev: string, root: string): Promise<RevisionRun> {
  const commit = await resolveRevision(repo, rev);
  if (!commit) return { ok: false, reason: `"${rev}" is not a commit, branch or tag of ${repo}` };
  const scratch = mkdtempSync(path.join(tmpdir(), 'joch-revision-'));
  try {
    const dir = path.posix.normalize(root.replace(/\\/g, '/')).replace(/^\.\/?$/, '');
    const source = new GitSource({ url: path.resolve(repo), cacheDir: scratch, ref: { commit }, ...(dir ? { root: dir } : {}) });
    const update = await source.update();
    if (!update.ok) return { ok: false, reason: `revision ${rev} could not be read (${update.failure.reason}): ${update.failure.message}` };
    return { ok: true, commit, run: runSnapshot({ snapshot: update.snapshot, compile: false }) };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

async function resolveRevision(repo: string, rev: string): Promise<string | undefined> {
  const dir = path.resolve(repo);
  try {
    return await git.resolveRef({ fs, dir, ref: rev });
  } catch {
    // Not a ref: a commit id, possibly abbreviated.
  }
  if (!/^[0-9a-f]{4,40}$/i.test(rev)) return undefined;
  try {
    return await git.expandOid({ fs, dir, oid: rev.toLowerCase() });
  } catch {
    return undefined;
  }
}
