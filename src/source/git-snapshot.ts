/**
 * Reads a revision's manifests straight from the object store (trees and
 * blobs, no checkout). Between revisions it diffs trees by oid, descending
 * only into subtrees whose oid changed, and reads only blobs it has not
 * already got: unchanged files reuse their bytes from an in-memory cache.
 */
import fs from 'node:fs';
import git, { type TreeEntry } from 'isomorphic-git';
import ignore, { type Ignore } from 'ignore';
import type { GitFailure } from './git-errors.js';
import type { CacheRepo } from './git-transport.js';
import { YAML_FILE, type SourceFile, type UnreadEntry } from './types.js';

export { DEFAULT_MAX_FILE_BYTES } from './types.js';
const MODE_SYMLINK = '120000';
const MODE_SUBMODULE = '160000';
const READ_CONCURRENCY = 16;

/** A path under the root that is not in the snapshot, and why. */
export type SkippedEntry = UnreadEntry;

/** Snapshot files that differ from the previous snapshot this reader produced. */
export interface ChangeSet {
  readonly added: readonly string[];
  readonly modified: readonly string[];
  readonly deleted: readonly string[];
}

export interface ReadStats {
  /** Trees read from the object store (not from memory). */
  readonly treesRead: number;
  /** Blobs read from the object store (not from memory), oversize ones included. */
  readonly blobsRead: number;
  /** True when every path was reconsidered (first read, or the ignore rules changed). */
  readonly fullScan: boolean;
}

export interface RevisionRead {
  readonly revision: string;
  readonly commitTime: number;
  readonly files: readonly SourceFile[];
  readonly changes: ChangeSet;
  readonly skipped: readonly SkippedEntry[];
  readonly stats: ReadStats;
}

export interface SnapshotReaderOptions {
  /** Subdirectory of the repository that is the root; '' for the top. */
  readonly root: string;
  readonly maxFileBytes: number;
  readonly ignoreFile: string;
  /** gitignore-style patterns added to those of the ignore file. */
  readonly exclude: readonly string[];
}

interface Entry {
  readonly oid: string;
  readonly mode: string;
}

interface State {
  readonly revision: string;
  readonly rootTree: string;
  readonly ignoreOid: string | undefined;
  /** Every non-ignored candidate under the root: YAML blobs, symlinks, submodules. */
  readonly entries: ReadonlyMap<string, Entry>;
  readonly files: readonly SourceFile[];
  readonly fileOids: ReadonlyMap<string, string>;
}

/** A non-tree path whose entry differs between two trees; `after` is absent when it was deleted. */
interface RawChange {
  readonly path: string;
  readonly after: Entry | undefined;
}

export class SnapshotReader {
  private state: State | undefined;
  private rules: Ignore = ignore();
  /** The ignore file blob `rules` were built from; null before the first read. */
  private rulesOid: string | undefined | null = null;
  private trees = new Map<string, TreeEntry[]>();
  private blobs = new Map<string, Uint8Array>();
  /** Blob oid -> size for blobs over the limit: they are measured once, never kept. */
  private oversize = new Map<string, number>();
  private treesRead = 0;
  private blobsRead = 0;

  constructor(
    private readonly repo: CacheRepo,
    private readonly options: SnapshotReaderOptions,
  ) {}

  /** The revision of the last snapshot produced. */
  get revision(): string | undefined {
    return this.state?.revision;
  }

  /** Reads `commitOid` and diffs it against the previous read, if any. */
  async read(commitOid: string): Promise<RevisionRead | GitFailure> {
    this.treesRead = 0;
    this.blobsRead = 0;
    const { commit } = await git.readCommit({ fs, gitdir: this.repo.gitdir, oid: commitOid, cache: this.repo.cache });
    const rootTree = await this.subtree(commit.tree, this.options.root);
    if (rootTree === undefined) {
      return {
        reason: 'root-not-found',
        revision: commitOid,
        root: this.options.root,
        message: `the folder "${this.options.root}" does not exist in revision ${commitOid}`,
      };
    }
    const previous = this.state;
    const ignoreOid = (await this.tree(rootTree)).find((e) => e.path === this.options.ignoreFile && e.type === 'blob')?.oid;
    const rulesChanged = !previous || previous.ignoreOid !== ignoreOid;
    if (this.rulesOid !== ignoreOid) {
      this.rules = await this.loadRules(ignoreOid);
      this.rulesOid = ignoreOid;
    }

    const { entries, changed } = await this.nextEntries(previous, rootTree, rulesChanged);
    await this.loadBlobs(changed.map((p) => entries.get(p)).filter((e): e is Entry => e !== undefined && isBlobMode(e.mode)));
    const next = this.nextFiles(previous, entries, changed);
    this.state = { revision: commitOid, rootTree, ignoreOid, entries, files: next.files, fileOids: next.fileOids };
    this.evict(commit.tree, entries, next.fileOids);
    return {
      revision: commitOid,
      commitTime: commit.committer.timestamp,
      files: next.files,
      changes: next.changes,
      skipped: this.skipped(entries),
      stats: { treesRead: this.treesRead, blobsRead: this.blobsRead, fullScan: !previous || rulesChanged },
    };
  }

  /**
   * The candidates of the new revision and the paths that may have changed:
   * from a tree diff when the rules are unchanged, else from a full listing.
   */
  private async nextEntries(
    previous: State | undefined,
    rootTree: string,
    rulesChanged: boolean,
  ): Promise<{ entries: Map<string, Entry>; changed: string[] }> {
    if (previous && !rulesChanged) {
      const raw: RawChange[] = [];
      await this.diffTrees(previous.rootTree, rootTree, '', raw);
      const entries = new Map(previous.entries);
      for (const { path, after } of raw) {
        if (after && this.isCandidate(path, after)) entries.set(path, after);
        else entries.delete(path);
      }
      return { entries, changed: raw.map((c) => c.path) };
    }
    const entries = new Map<string, Entry>();
    await this.collect(rootTree, '', entries);
    return { entries, changed: [...new Set([...(previous?.entries.keys() ?? []), ...entries.keys()])] };
  }

  private async tree(oid: string): Promise<TreeEntry[]> {
    const known = this.trees.get(oid);
    if (known) return known;
    const { tree } = await git.readTree({ fs, gitdir: this.repo.gitdir, oid, cache: this.repo.cache });
    this.treesRead++;
    this.trees.set(oid, tree);
    return tree;
  }

  /** The oid of the folder `dir` (slash-separated) under `treeOid`, or undefined. */
  private async subtree(treeOid: string, dir: string): Promise<string | undefined> {
    let current = treeOid;
    for (const name of dir.split('/').filter(Boolean)) {
      const entry = (await this.tree(current)).find((e) => e.path === name);
      if (entry?.type !== 'tree') return undefined;
      current = entry.oid;
    }
    return current;
  }

  private async loadRules(ignoreOid: string | undefined): Promise<Ignore> {
    const rules = ignore().add([...this.options.exclude]);
    if (ignoreOid) {
      const { blob } = await git.readBlob({ fs, gitdir: this.repo.gitdir, oid: ignoreOid, cache: this.repo.cache });
      rules.add(Buffer.from(blob).toString('utf8'));
    }
    return rules;
  }

  private isCandidate(path: string, entry: Entry): boolean {
    if (entry.mode !== MODE_SYMLINK && entry.mode !== MODE_SUBMODULE && !YAML_FILE.test(path)) return false;
    return !this.rules.ignores(path);
  }

  /** Lists the candidates of a whole tree, pruning ignored folders. */
  private async collect(treeOid: string, prefix: string, out: Map<string, Entry>): Promise<void> {
    for (const e of await this.tree(treeOid)) {
      const path = prefix + e.path;
      if (e.type === 'tree') {
        if (!this.rules.ignores(`${path}/`)) await this.collect(e.oid, `${path}/`, out);
      } else if (this.isCandidate(path, e)) {
        out.set(path, { oid: e.oid, mode: e.mode });
      }
    }
  }

  /** Non-tree paths that differ between two trees; equal subtrees (same oid) are never opened. */
  private async diffTrees(before: string | undefined, after: string | undefined, prefix: string, out: RawChange[]): Promise<void> {
    if (before === after) return;
    const [old, now] = await Promise.all([before ? this.tree(before) : [], after ? this.tree(after) : []]);
    const oldByName = new Map(old.map((e) => [e.path, e]));
    const names = new Set([...old.map((e) => e.path), ...now.map((e) => e.path)]);
    const nowByName = new Map(now.map((e) => [e.path, e]));
    for (const name of names) {
      const o = oldByName.get(name);
      const n = nowByName.get(name);
      if (o && n && o.oid === n.oid && o.mode === n.mode) continue;
      const path = prefix + name;
      const oldTree = o?.type === 'tree' ? o.oid : undefined;
      const newTree = n?.type === 'tree' ? n.oid : undefined;
      if (oldTree !== undefined || newTree !== undefined) await this.diffTrees(oldTree, newTree, `${path}/`, out);
      const oldLeaf = o !== undefined && o.type !== 'tree';
      const newLeaf = n !== undefined && n.type !== 'tree';
      if (oldLeaf || newLeaf) out.push({ path, after: newLeaf && n ? { oid: n.oid, mode: n.mode } : undefined });
    }
  }

  private async loadBlobs(entries: readonly Entry[]): Promise<void> {
    const wanted = [...new Set(entries.map((e) => e.oid))].filter((oid) => !this.blobs.has(oid) && !this.oversize.has(oid));
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < wanted.length) {
        const oid = wanted[next++] as string;
        const { blob } = await git.readBlob({ fs, gitdir: this.repo.gitdir, oid, cache: this.repo.cache });
        this.blobsRead++;
        // isomorphic-git has no size-only read, so an oversize blob is inflated once to be measured, then dropped.
        if (blob.byteLength > this.options.maxFileBytes) this.oversize.set(oid, blob.byteLength);
        else this.blobs.set(oid, blob);
      }
    };
    await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, wanted.length) }, worker));
  }

  /** The new file list and change set, touching only the paths that changed. */
  private nextFiles(previous: State | undefined, entries: ReadonlyMap<string, Entry>, changed: readonly string[]) {
    const fileOids = new Map(previous?.fileOids);
    const added: string[] = [];
    const modified: string[] = [];
    const deleted: string[] = [];
    for (const path of changed) {
      const entry = entries.get(path);
      const oid = entry && isBlobMode(entry.mode) && this.blobs.has(entry.oid) ? entry.oid : undefined;
      const before = fileOids.get(path);
      if (oid === before) continue;
      if (oid === undefined) {
        fileOids.delete(path);
        deleted.push(path);
      } else {
        fileOids.set(path, oid);
        (before === undefined ? added : modified).push(path);
      }
    }
    const byPath = new Map(previous?.files.map((f) => [f.path, f]));
    const file = (path: string): SourceFile => {
      const oid = fileOids.get(path) as string;
      const old = byPath.get(path);
      return old && previous?.fileOids.get(path) === oid ? old : { path, bytes: this.blobs.get(oid) as Uint8Array };
    };
    const files =
      previous && !added.length && !deleted.length
        ? previous.files.map((f) => (modified.length ? file(f.path) : f))
        : [...fileOids.keys()].sort(comparePaths).map(file);
    return { files, fileOids, changes: { added: added.sort(comparePaths), modified: modified.sort(comparePaths), deleted: deleted.sort(comparePaths) } };
  }

  private skipped(entries: ReadonlyMap<string, Entry>): SkippedEntry[] {
    const out: SkippedEntry[] = [];
    for (const [path, e] of entries) {
      if (e.mode === MODE_SYMLINK) out.push({ path, reason: 'symlink' });
      else if (e.mode === MODE_SUBMODULE) out.push({ path, reason: 'submodule' });
      else if (this.oversize.has(e.oid)) out.push({ path, reason: 'oversize', size: this.oversize.get(e.oid), limit: this.options.maxFileBytes });
    }
    return out.sort((a, b) => comparePaths(a.path, b.path));
  }

  /** Keeps only the blobs of the current files, the sizes of current oversize entries and the trees of the current revision. */
  private evict(commitTree: string, entries: ReadonlyMap<string, Entry>, fileOids: ReadonlyMap<string, string>): void {
    const liveBlobs = new Set(fileOids.values());
    for (const oid of this.blobs.keys()) if (!liveBlobs.has(oid)) this.blobs.delete(oid);
    if (this.oversize.size) {
      const candidates = new Set([...entries.values()].map((e) => e.oid));
      for (const oid of this.oversize.keys()) if (!candidates.has(oid)) this.oversize.delete(oid);
    }
    const liveTrees = new Map<string, TreeEntry[]>();
    const mark = (oid: string): void => {
      const tree = this.trees.get(oid);
      if (!tree || liveTrees.has(oid)) return;
      liveTrees.set(oid, tree);
      for (const e of tree) if (e.type === 'tree') mark(e.oid);
    };
    mark(commitTree);
    this.trees = liveTrees;
  }
}

function isBlobMode(mode: string): boolean {
  return mode === '100644' || mode === '100755';
}

/** Code-unit order, the same on every machine (no locale). */
export function comparePaths(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
