/**
 * A past revision of a local Git repository through the pipeline, read from
 * the object store (no checkout, the working tree untouched): what the GitHub
 * Action and `joch agbom diff --from` compare the current state with.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GitSource } from '../source/git.js';
import { resolveRevision } from '../source/revision.js';
import { runSnapshot, type SnapshotRun } from './snapshot.js';

export type RevisionRun = { readonly ok: true; readonly run: SnapshotRun; readonly commit: string } | { readonly ok: false; readonly reason: string };

/**
 * Resolves `rev` (a commit id, a short one, a branch or a tag, with `~N` and `^N`) in the
 * repository at `repo`, and runs load, validate and policy on the files under
 * `root` at that commit.
 */
export async function validateRevision(repo: string, rev: string, root: string): Promise<RevisionRun> {
  const resolved = await resolveRevision(repo, rev);
  if (!resolved.ok) return resolved;
  const commit = resolved.commit;
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
