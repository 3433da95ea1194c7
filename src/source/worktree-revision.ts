/**
 * The revision of a snapshot read from a local folder: the commit checked
 * out in the Git repository around it, marked dirty when what was read is
 * not exactly that commit's content. `joch apply` from a clean checkout then
 * records the same revision `joch sync` would for that commit.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import path from 'node:path';
import git from 'isomorphic-git';
import { YAML_FILE, type Snapshot } from './types.js';

/** Appended to the commit when the files read differ from it (as `git describe --dirty`). */
const DIRTY_SUFFIX = '-dirty';

/**
 * `<commit>` when every file of the snapshot is that commit's blob and no
 * file of the commit under the snapshot's root is missing from the working
 * tree; `<commit>-dirty` otherwise; undefined outside a Git repository or
 * before the first commit.
 */
export async function workingTreeRevision(snapshot: Pick<Snapshot, 'root' | 'files'>): Promise<string | undefined> {
  let dir: string;
  let commit: string;
  try {
    dir = await git.findRoot({ fs, filepath: snapshot.root });
    commit = await git.resolveRef({ fs, dir, ref: 'HEAD' });
  } catch {
    return undefined;
  }
  const prefix = path.relative(dir, snapshot.root).split(path.sep).join('/');
  const committed = await committedBlobs(dir, commit, prefix);
  return isClean(snapshot, committed) ? commit : `${commit}${DIRTY_SUFFIX}`;
}

/** Blob ids of the commit's files under `prefix`, by path relative to it. */
async function committedBlobs(dir: string, commit: string, prefix: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const start = prefix ? prefix : '.';
  await git.walk({
    fs,
    dir,
    trees: [git.TREE({ ref: commit })],
    map: async (filepath, [entry]) => {
      if (!entry) return null;
      // Only descend into the snapshot's root and the folders leading to it.
      if (start !== '.' && filepath !== '.' && !filepath.startsWith(`${start}/`) && filepath !== start && !start.startsWith(`${filepath}/`)) return null;
      if ((await entry.type()) === 'blob' && (start === '.' || filepath.startsWith(`${start}/`))) {
        out.set(start === '.' ? filepath : filepath.slice(start.length + 1), await entry.oid());
      }
      return true;
    },
  });
  return out;
}

function isClean(snapshot: Pick<Snapshot, 'root' | 'files'>, committed: ReadonlyMap<string, string>): boolean {
  const read = new Set<string>();
  for (const f of snapshot.files) {
    read.add(f.path);
    if (committed.get(f.path) !== blobId(f.bytes)) return false;
  }
  // A committed manifest that was not read: deleted in the working tree (dirty), or ignored (clean).
  for (const p of committed.keys()) {
    if (!read.has(p) && YAML_FILE.test(p) && !fs.existsSync(path.join(snapshot.root, p))) return false;
  }
  return true;
}

/** Git's object id of a blob with these bytes. */
function blobId(bytes: Uint8Array): string {
  return createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
}
