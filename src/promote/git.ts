/**
 * The Git side of promotion and rollback, with isomorphic-git so no git
 * binary is needed: the Joch files of a commit as a Snapshot, a file's
 * first-parent history, and a commit of changed files on a new branch made
 * from objects alone. The user's working tree, index and HEAD are never
 * touched: the change is a branch, ready to push and review.
 */
import * as fs from 'node:fs';
import git, { type TreeEntry } from 'isomorphic-git';
import { DEFAULT_MAX_FILE_BYTES, SnapshotReader } from '../source/git-snapshot.js';
import { localGitdir } from '../source/git-transport.js';
import { IGNORE_FILE, type Snapshot } from '../source/types.js';

export interface Repo {
  readonly gitdir: string;
  readonly cache: object;
}

export async function openRepo(worktree: string): Promise<Repo> {
  return { gitdir: await localGitdir(worktree), cache: {} };
}

export async function resolveCommit(repo: Repo, ref: string): Promise<string | undefined> {
  try {
    return await git.resolveRef({ fs, gitdir: repo.gitdir, ref });
  } catch {
    return undefined;
  }
}

export interface CommitInfo {
  readonly oid: string;
  readonly tree: string;
  readonly parent: string | undefined;
  readonly time: number;
  readonly subject: string;
}

export async function readCommitInfo(repo: Repo, oid: string): Promise<CommitInfo> {
  const { commit } = await git.readCommit({ fs, gitdir: repo.gitdir, oid, cache: repo.cache });
  return { oid, tree: commit.tree, parent: commit.parent[0], time: commit.committer.timestamp, subject: commit.message.split('\n')[0] ?? '' };
}

/** The blob oid at `filepath` in the commit, or undefined when there is none. */
export async function blobOid(repo: Repo, commit: string, filepath: string): Promise<string | undefined> {
  return blobInTree(repo, (await readCommitInfo(repo, commit)).tree, filepath);
}

async function blobInTree(repo: Repo, tree: string, filepath: string): Promise<string | undefined> {
  let current = tree;
  const parts = filepath.split('/');
  for (const [i, name] of parts.entries()) {
    const entry = (await readTree(repo, current)).find((e) => e.path === name);
    if (!entry) return undefined;
    if (i === parts.length - 1) return entry.type === 'blob' ? entry.oid : undefined;
    if (entry.type !== 'tree') return undefined;
    current = entry.oid;
  }
  return undefined;
}

export async function readBlobText(repo: Repo, oid: string): Promise<string> {
  const { blob } = await git.readBlob({ fs, gitdir: repo.gitdir, oid, cache: repo.cache });
  return Buffer.from(blob).toString('utf8');
}

async function readTree(repo: Repo, oid: string): Promise<TreeEntry[]> {
  return (await git.readTree({ fs, gitdir: repo.gitdir, oid, cache: repo.cache })).tree;
}

/**
 * The Joch files of a commit under `prefix` (the project root inside the
 * repository), read as `joch sync` reads a revision: YAML files minus what
 * `.jochignore` names, with links, submodules and oversize files listed as
 * unread for the pipeline to report.
 */
export async function readSnapshot(repo: Repo, commit: string, prefix: string, root: string, displayPrefix: string | undefined): Promise<Snapshot> {
  const reader = new SnapshotReader({ gitdir: repo.gitdir, cache: repo.cache }, { root: prefix, maxFileBytes: DEFAULT_MAX_FILE_BYTES, ignoreFile: IGNORE_FILE, exclude: [] });
  const read = await reader.read(commit);
  // A folder the commit does not have holds no records (the project may be younger than the commit).
  if ('reason' in read) return { root, displayPrefix, revision: commit, files: [] };
  return { root, displayPrefix, revision: commit, commitTime: read.commitTime, files: read.files, unread: read.skipped };
}

/**
 * Paths of the commit's files named `name` in a folder named `folder`, at
 * any depth, skipping the folders in `skip` (large generated content).
 */
export async function findFiles(repo: Repo, commit: string, folder: string, name: string, skip: ReadonlySet<string>): Promise<string[]> {
  const out: string[] = [];
  const walk = async (tree: string, at: string): Promise<void> => {
    for (const e of await readTree(repo, tree)) {
      const p = at ? `${at}/${e.path}` : e.path;
      if (e.type === 'tree' && !skip.has(e.path)) await walk(e.oid, p);
      else if (e.type === 'blob' && e.path === name && (at === folder || at.endsWith(`/${folder}`))) out.push(p);
    }
  };
  await walk((await readCommitInfo(repo, commit)).tree, '');
  return out.sort();
}

/** The first-parent history of a branch, newest first, at most `limit` commits. */
export async function firstParents(repo: Repo, head: string, limit: number): Promise<string[]> {
  const out: string[] = [];
  let oid: string | undefined = head;
  while (oid && out.length < limit) {
    out.push(oid);
    oid = (await readCommitInfo(repo, oid)).parent;
  }
  return out;
}

/** One version of a file along the first-parent history, oldest first; consecutive commits with the same blob are one entry. */
export interface FileVersion {
  /** The first commit (oldest) that has this content. */
  readonly commit: string;
  readonly blob: string;
  readonly time: number;
  readonly subject: string;
}

/** How far back history is read: a bound on the work a rollback does on a very long history. */
const MAX_HISTORY = 5000;

export async function firstParentHistory(repo: Repo, head: string, filepath: string): Promise<FileVersion[]> {
  const newestFirst: FileVersion[] = [];
  let oid: string | undefined = head;
  for (let n = 0; oid && n < MAX_HISTORY; n++) {
    const info = await readCommitInfo(repo, oid);
    const blob = await blobInTree(repo, info.tree, filepath);
    if (!blob) break;
    const last = newestFirst[newestFirst.length - 1];
    // Walking back: an older commit with the same blob moves the entry's first commit back.
    if (last && last.blob === blob) newestFirst[newestFirst.length - 1] = { ...last, commit: oid, time: info.time, subject: info.subject };
    else newestFirst.push({ commit: oid, blob, time: info.time, subject: info.subject });
    oid = info.parent;
  }
  return newestFirst.reverse();
}

/** A file's new content; undefined deletes it. Paths are relative to the repository. */
export type FileChanges = ReadonlyMap<string, string | undefined>;

/** The tree of `base` with the changes applied, written to the object store. */
export async function writeChangedTree(repo: Repo, baseTree: string, changes: FileChanges): Promise<string> {
  const byFolder = new Map<string, Map<string, string | undefined>>();
  for (const [p, content] of changes) {
    const slash = p.indexOf('/');
    const head = slash < 0 ? '' : p.slice(0, slash);
    const rest = slash < 0 ? p : p.slice(slash + 1);
    const key = slash < 0 ? '' : head;
    if (!byFolder.has(key)) byFolder.set(key, new Map());
    byFolder.get(key)?.set(rest, content);
  }
  const entries = new Map((await readTree(repo, baseTree)).map((e) => [e.path, e]));
  for (const [name, content] of byFolder.get('') ?? []) {
    if (content === undefined) entries.delete(name);
    else entries.set(name, { mode: '100644', path: name, type: 'blob', oid: await git.writeBlob({ fs, gitdir: repo.gitdir, blob: Buffer.from(content, 'utf8') }) });
  }
  for (const [folder, inner] of byFolder) {
    if (folder === '') continue;
    const existing = entries.get(folder);
    const base = existing?.type === 'tree' ? existing.oid : await git.writeTree({ fs, gitdir: repo.gitdir, tree: [] });
    const oid = await writeChangedTree(repo, base, inner);
    entries.set(folder, { mode: '040000', path: folder, type: 'tree', oid });
  }
  // isomorphic-git sorts the entries as Git does (folders compare as "name/").
  return git.writeTree({ fs, gitdir: repo.gitdir, tree: [...entries.values()] });
}

export interface Identity {
  readonly name: string;
  readonly email: string;
}

/** user.name and user.email of the repository's configuration, else a neutral identity. */
export async function committer(repo: Repo): Promise<Identity> {
  const name = (await git.getConfig({ fs, gitdir: repo.gitdir, path: 'user.name' })) as unknown;
  const email = (await git.getConfig({ fs, gitdir: repo.gitdir, path: 'user.email' })) as unknown;
  return { name: typeof name === 'string' && name ? name : 'joch', email: typeof email === 'string' && email ? email : 'joch@localhost' };
}

export interface NewCommit {
  readonly parent: string;
  readonly tree: string;
  readonly message: string;
  readonly author: Identity;
  /** Seconds since the epoch. */
  readonly time: number;
}

export async function writeCommit(repo: Repo, c: NewCommit): Promise<string> {
  const who = { name: c.author.name, email: c.author.email, timestamp: c.time, timezoneOffset: 0 };
  return git.writeCommit({
    fs,
    gitdir: repo.gitdir,
    commit: { tree: c.tree, parent: [c.parent], author: who, committer: who, message: c.message },
  });
}

/** Creates `refs/heads/<branch>` at the commit; refuses a branch that exists unless `force`. */
export async function createBranch(repo: Repo, branch: string, oid: string, force: boolean): Promise<void> {
  await git.writeRef({ fs, gitdir: repo.gitdir, ref: `refs/heads/${branch}`, value: oid, force });
}

export async function branchExists(repo: Repo, branch: string): Promise<boolean> {
  return (await resolveCommit(repo, `refs/heads/${branch}`)) !== undefined;
}

export function isValidBranchName(name: string): boolean {
  // Git's check-ref-format rules that matter for a branch a person will push.
  const control = [...name].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);
  return name.length > 0 && !control && !/(^[./-])|(\.\.)|([\s~^:?*[\\])|(@\{)|(\/\/)|(\.lock$)|(\/$)|(\.$)|(\/\.)/.test(name);
}
