/**
 * Writes reconciliation status back to Git as commits on a dedicated branch.
 * Each write replaces or removes the given files in the tree of the branch's
 * current tip and pushes without force; when the branch moved (another
 * replica, a person), it fetches the new tip, re-applies the same file
 * changes on top and retries with bounded exponential backoff. Nobody else's
 * commit is ever overwritten: history only grows.
 *
 * The target is a remote over http(s), or a repository on a local path: then
 * the objects are written straight into that repository and the branch ref is
 * moved with a compare-and-swap under git's own `<ref>.lock` protocol (the
 * local analogue of a non-forced push), so a concurrent `git commit`, another
 * writer or another replica is detected and retried exactly like a refused push.
 */
import fs from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import git, { type HttpClient, type TreeEntry } from 'isomorphic-git';
import nodeHttp from 'isomorphic-git/http/node';
import { NO_AUTH, resolveAuth, splitUserinfo, type GitAuth, type ResolvedAuth } from './git-auth.js';
import { GitSourceError, invalidOptions, redactUrls, transferFailure, type GitFailure } from './git-errors.js';
import { checkSelector } from './git-refs.js';
import {
  DEFAULT_TIMEOUT_MS,
  hasCommit,
  localGitdir,
  localRepositoryPath,
  packCount,
  openCache,
  readRef,
  withRequestOptions,
  writeRef,
  type CacheRepo,
} from './git-transport.js';
import type { CommitSigner } from './git-verify.js';

export const DEFAULT_STATUS_BRANCH = 'joch/status';
export const STATUS_TRAILER = 'Joch-Status';
export const DEFAULT_BOT_IDENTITY: BotIdentity = { name: 'joch-bot', email: 'joch-bot@noreply.invalid' };

/** The status branch's tip as last seen on the remote: the "have" of the next fetch. */
const TRACK_REF = 'refs/joch/status-remote';
const MAX_PACKS = 64;
const MAX_LOCAL_COMMITS = 500;

export interface BotIdentity {
  readonly name: string;
  readonly email: string;
}

export interface StatusWriterOptions {
  /**
   * `https://…`, `http://…`, or a local repository: `file:///abs/path` or an
   * absolute path (a work tree's top folder or a bare repository).
   */
  readonly url: string;
  /** Folder for the writer's own bare cache repository (unused for a local repository). */
  readonly cacheDir: string;
  /** Default `joch/status`. */
  readonly branch?: string | undefined;
  /** The branch the manifests come from: refused as the status branch. */
  readonly manifestBranch?: string | undefined;
  readonly auth?: GitAuth | undefined;
  /** Author and committer of status commits. */
  readonly identity?: BotIdentity | undefined;
  /** Signs each status commit (see `openpgpSigner`). */
  readonly signer?: CommitSigner | undefined;
  /** Push attempts before giving up on a branch that keeps moving. Default 8. */
  readonly maxAttempts?: number | undefined;
  /** First backoff delay; doubled per attempt, with jitter. Default 50 ms. */
  readonly backoffMs?: number | undefined;
  readonly maxBackoffMs?: number | undefined;
  /** Clock for commit timestamps. */
  readonly now?: (() => Date) | undefined;
  readonly http?: HttpClient | undefined;
  /** A request with no socket activity for this long fails as `unreachable`. Default 60 s. */
  readonly timeoutMs?: number | undefined;
  /** PEM CA certificates to trust for an HTTPS server with a private CA. */
  readonly caCertificates?: string | undefined;
}

/** File path (slash-separated, relative to the branch root) to new content, or null to remove it. */
export type StatusFiles =
  | ReadonlyMap<string, string | Uint8Array | null>
  | Readonly<Record<string, string | Uint8Array | null>>;

export interface StatusWriteOptions {
  /** First line of the commit message (`[skip ci]` and the trailer are added). */
  readonly subject?: string | undefined;
  /** Paragraph between the subject and the trailer (a short summary). */
  readonly body?: string | undefined;
  /**
   * Folders (slash-separated, '' for the whole branch) whose content the
   * write replaces: any file under them that `files` does not name is
   * removed. For rendered manifests, where an object that left the set must
   * leave the branch too.
   */
  readonly replace?: readonly string[] | undefined;
}

export interface StatusWriteSuccess {
  readonly ok: true;
  /** False when the content was already there: no commit was made. */
  readonly committed: boolean;
  /** The status branch tip after the write (undefined if the branch does not exist and nothing was written). */
  readonly commit: string | undefined;
  /** Push attempts made (0 when nothing needed committing). */
  readonly attempts: number;
}

export type StatusWriteResult = StatusWriteSuccess | { readonly ok: false; readonly failure: GitFailure };

export type StatusReadResult =
  | { readonly ok: true; readonly commit: string | undefined; readonly files: ReadonlyMap<string, Uint8Array> }
  | { readonly ok: false; readonly failure: GitFailure };

/** The part of a commit `isOwnStatusCommit` looks at (isomorphic-git's `CommitObject` fits). */
export interface CommitLike {
  readonly message: string;
  readonly author: { readonly name: string; readonly email: string };
}

/** A commit made by a status writer with this identity: it carries the trailer and the bot is its author. */
export function isOwnStatusCommit(commit: CommitLike, identity: BotIdentity = DEFAULT_BOT_IDENTITY): boolean {
  return hasStatusTrailer(commit.message) && commit.author.email.toLowerCase() === identity.email.toLowerCase();
}

function hasStatusTrailer(message: string): boolean {
  const paragraphs = message.trimEnd().split(/\n[ \t]*\n/);
  const trailers = paragraphs[paragraphs.length - 1] ?? '';
  return new RegExp(`^${STATUS_TRAILER}:[ \\t]*true[ \\t]*$`, 'im').test(trailers);
}

type Edit = Uint8Array | null;

export class StatusWriter {
  /** The remote URL without credentials, or the local repository's path: safe to log. */
  readonly url: string;
  readonly branch: string;
  readonly identity: BotIdentity;
  private readonly backend: StatusBackend;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: StatusWriterOptions) {
    const { url, auth } = splitUserinfo(options.url);
    const local = localRepositoryPath(url);
    if (local === undefined && !/^https?:\/\//i.test(url)) {
      throw invalidOptions(`the status writer needs an http(s) URL or a local repository path, got ${redactUrls(url)}`);
    }
    this.url = local ?? url;
    this.branch = options.branch ?? DEFAULT_STATUS_BRANCH;
    checkSelector({ branch: this.branch });
    if (options.manifestBranch !== undefined && stripHeads(options.manifestBranch) === stripHeads(this.branch)) {
      throw invalidOptions(`the status branch must not be the branch the manifests come from (${this.branch})`);
    }
    this.identity = options.identity ?? DEFAULT_BOT_IDENTITY;
    const fullRef = `refs/heads/${stripHeads(this.branch)}`;
    this.backend =
      local !== undefined
        ? new LocalBackend(local, fullRef)
        : new HttpBackend({
            url,
            fullRef,
            cacheDir: path.resolve(options.cacheDir),
            auth: options.auth ?? auth,
            http: withRequestOptions(options.http ?? nodeHttp, { timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS, ca: options.caCertificates }),
          });
  }

  /** Whether a commit is one of this writer's (so the reconciler can ignore it). */
  isOwnStatusCommit(commit: CommitLike): boolean {
    return isOwnStatusCommit(commit, this.identity);
  }

  /** Commits the files (replacing or removing them) on the status branch; no commit when nothing changes. */
  write(files: StatusFiles, options: StatusWriteOptions = {}): Promise<StatusWriteResult> {
    const run = this.queue.then(() => this.writeNow(files, options));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Files at the branch tip (absent ones are left out): state the writer's
   * owner keeps on the branch, read back after a restart.
   */
  read(paths: readonly string[]): Promise<StatusReadResult> {
    const run = this.queue.then(() => this.readNow(paths));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async readNow(paths: readonly string[]): Promise<StatusReadResult> {
    try {
      const repo = await this.backend.open();
      const tip = await this.backend.syncTip(repo);
      const files = new Map<string, Uint8Array>();
      for (const filepath of tip ? paths : []) {
        try {
          files.set(filepath, (await git.readBlob({ fs, gitdir: repo.gitdir, oid: tip as string, filepath, cache: repo.cache })).blob);
        } catch (e) {
          if ((e as { code?: unknown }).code !== git.Errors.NotFoundError.code) throw e;
        }
      }
      return { ok: true, commit: tip, files };
    } catch (e) {
      const failure = e instanceof GitSourceError ? e.failure : transferFailure(e, this.url, this.backend.secrets());
      return { ok: false, failure };
    }
  }

  private async writeNow(files: StatusFiles, options: StatusWriteOptions): Promise<StatusWriteResult> {
    try {
      const edits = normalizeEdits(files);
      return await this.writeWithRetry(edits, options);
    } catch (e) {
      const failure = e instanceof GitSourceError ? e.failure : transferFailure(e, this.url, this.backend.secrets());
      return { ok: false, failure };
    }
  }

  private async writeWithRetry(edits: ReadonlyMap<string, Edit>, options: StatusWriteOptions): Promise<StatusWriteResult> {
    const maxAttempts = Math.max(1, this.options.maxAttempts ?? 8);
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const repo = await this.backend.open();
      const tip = await this.backend.syncTip(repo);
      const base = tip ? (await git.readCommit({ fs, gitdir: repo.gitdir, oid: tip, cache: repo.cache })).commit.tree : undefined;
      const all = options.replace?.length ? await withRemovals(repo, base, edits, options.replace) : edits;
      const tree = await applyEdits(repo, base, all);
      if (tree === base || (tree === undefined && tip === undefined)) return { ok: true, committed: false, commit: tip, attempts: attempt - 1 };
      const commit = await this.commit(repo, tree ?? (await writeEmptyTree(repo)), tip, all, options);
      const published = await this.backend.publish(repo, commit, tip);
      if (published === 'ok') {
        await this.backend.afterWrite(repo);
        return { ok: true, committed: true, commit, attempts: attempt };
      }
      if (published !== 'moved') return { ok: false, failure: { reason: 'push-rejected', url: this.url, message: published.message } };
      if (attempt < maxAttempts) await sleep(this.backoff(attempt));
    }
    return {
      ok: false,
      failure: {
        reason: 'conflict-retries-exhausted',
        url: this.url,
        attempts: maxAttempts,
        message: `the status branch ${this.branch} kept moving; gave up after ${maxAttempts} attempts`,
      },
    };
  }

  private async commit(
    repo: CacheRepo,
    tree: string,
    parent: string | undefined,
    edits: ReadonlyMap<string, Edit>,
    options: StatusWriteOptions,
  ): Promise<string> {
    const when = this.options.now?.() ?? new Date();
    const person = { ...this.identity, timestamp: Math.floor(when.getTime() / 1000), timezoneOffset: 0 };
    const signer = this.options.signer;
    return git.commit({
      fs,
      gitdir: repo.gitdir,
      cache: repo.cache,
      ref: `refs/heads/${stripHeads(this.branch)}`,
      noUpdateBranch: true,
      tree,
      parent: parent ? [parent] : [],
      author: person,
      committer: person,
      message: statusMessage(options.subject ?? defaultSubject(edits), options.body),
      ...(signer ? { signingKey: 'joch-status', onSign: async ({ payload }) => ({ signature: await signer(payload) }) } : {}),
    });
  }

  private backoff(attempt: number): number {
    const base = this.options.backoffMs ?? 50;
    const cap = this.options.maxBackoffMs ?? 2000;
    const delay = Math.min(cap, base * 2 ** (attempt - 1));
    // Jitter keeps replicas that collided once from colliding again in lockstep.
    return delay / 2 + Math.random() * (delay / 2);
  }
}

/** Where the branch lives: how to read its tip and how to move it without force. */
interface StatusBackend {
  /** The repository commits are built in. */
  open(): Promise<CacheRepo>;
  /** The branch's current tip, its objects readable in `repo`; undefined when the branch does not exist. */
  syncTip(repo: CacheRepo): Promise<string | undefined>;
  /** Moves the branch from `expected` to `commit`: 'moved' when it no longer points at `expected`. */
  publish(repo: CacheRepo, commit: string, expected: string | undefined): Promise<'ok' | 'moved' | { message: string }>;
  afterWrite(repo: CacheRepo): Promise<void>;
  /** Secret values to redact from error messages. */
  secrets(): readonly string[];
}

interface HttpBackendOptions {
  readonly url: string;
  readonly fullRef: string;
  readonly cacheDir: string;
  readonly auth: GitAuth | undefined;
  readonly http: HttpClient;
}

/** A remote over smart HTTP: a bare cache holds the tip; publishing is a non-forced push. */
class HttpBackend implements StatusBackend {
  private repo: CacheRepo | undefined;
  private localCommits = 0;
  private lastSecrets: readonly string[] = [];

  constructor(private readonly options: HttpBackendOptions) {}

  secrets(): readonly string[] {
    return this.lastSecrets;
  }

  async open(): Promise<CacheRepo> {
    this.repo ??= await openCache(this.options.cacheDir, this.options.url);
    return this.repo;
  }

  private async headers(): Promise<Record<string, string>> {
    const auth: ResolvedAuth = this.options.auth ? await resolveAuth(this.options.auth) : NO_AUTH;
    this.lastSecrets = auth.secrets;
    return { ...auth.headers };
  }

  private async remoteTip(): Promise<string | undefined> {
    const refs = await git.listServerRefs({
      http: this.options.http,
      url: this.options.url,
      headers: await this.headers(),
      protocolVersion: 1,
      onAuthFailure: () => ({ cancel: true }),
    });
    return refs.find((r) => r.ref === this.options.fullRef)?.oid;
  }

  /** The remote tip of the status branch, fetched into the cache if new to it. */
  async syncTip(repo: CacheRepo): Promise<string | undefined> {
    const tip = await this.remoteTip();
    if (tip === undefined || (await hasCommit(repo, tip))) return tip;
    const first = (await readRef(repo, TRACK_REF)) === undefined;
    await git.fetch({
      fs,
      http: this.options.http,
      gitdir: repo.gitdir,
      cache: repo.cache,
      url: this.options.url,
      remote: 'origin',
      ref: TRACK_REF,
      remoteRef: this.options.fullRef,
      singleBranch: true,
      tags: false,
      // Only the tip's tree is needed; after that, fetches are incremental.
      ...(first ? { depth: 1 } : {}),
      headers: await this.headers(),
      onAuthFailure: () => ({ cancel: true }),
    });
    await writeRef(repo, TRACK_REF, tip);
    return tip;
  }

  async publish(repo: CacheRepo, commit: string, expected: string | undefined): Promise<'ok' | 'moved' | { message: string }> {
    await writeRef(repo, this.options.fullRef, commit);
    this.localCommits++;
    try {
      await git.push({
        fs,
        http: this.options.http,
        gitdir: repo.gitdir,
        cache: repo.cache,
        url: this.options.url,
        remote: 'origin',
        ref: this.options.fullRef,
        remoteRef: this.options.fullRef,
        force: false,
        headers: await this.headers(),
        onAuthFailure: () => ({ cancel: true }),
      });
      await writeRef(repo, TRACK_REF, commit);
      return 'ok';
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      if (code !== git.Errors.PushRejectedError.code && code !== git.Errors.GitPushError.code) throw e;
      // The push was refused: a race only if the branch is no longer where we built on.
      if ((await this.remoteTip()) !== expected) return 'moved';
      return { message: transferFailure(e, this.options.url, this.lastSecrets).message };
    }
  }

  /**
   * Every commit adds loose objects and every fetch a pack; the writer needs
   * nothing but the remote tip, so it drops its cache when it grows and
   * refetches the tip (shallow) on the next write.
   */
  async afterWrite(repo: CacheRepo): Promise<void> {
    const packs = await packCount(repo.gitdir);
    if (packs <= MAX_PACKS && this.localCommits <= MAX_LOCAL_COMMITS) return;
    await rm(repo.gitdir, { recursive: true, force: true });
    this.repo = undefined;
    this.localCommits = 0;
  }
}

/**
 * A repository on this machine: objects go straight into it, and the branch
 * moves by compare-and-swap under git's lock-file protocol, so git itself and
 * other writers see a consistent ref at every moment.
 */
class LocalBackend implements StatusBackend {
  constructor(
    private readonly repoPath: string,
    private readonly fullRef: string,
  ) {}

  secrets(): readonly string[] {
    return [];
  }

  async open(): Promise<CacheRepo> {
    // A fresh object cache per attempt: `git gc` may repack the repository between writes.
    return { gitdir: await localGitdir(this.repoPath), cache: {} };
  }

  syncTip(repo: CacheRepo): Promise<string | undefined> {
    return readRef(repo, this.fullRef);
  }

  async publish(repo: CacheRepo, commit: string, expected: string | undefined): Promise<'ok' | 'moved' | { message: string }> {
    if ((await checkedOutBranch(repo.gitdir)) === this.fullRef) {
      // As git refuses to push into a checked-out branch: its work tree would silently go stale.
      return { message: `${this.fullRef} is checked out in ${this.repoPath}; the status branch must not be` };
    }
    return compareAndSwapRef(repo.gitdir, this.fullRef, expected, commit);
  }

  async afterWrite(): Promise<void> {}
}

async function checkedOutBranch(gitdir: string): Promise<string | undefined> {
  try {
    const head = await fs.promises.readFile(path.join(gitdir, 'HEAD'), 'utf8');
    return /^ref:\s*(\S+)/.exec(head)?.[1];
  } catch {
    return undefined;
  }
}

/**
 * Points `ref` at `next` only if it still points at `expected` (undefined:
 * does not exist). Git's protocol: create `<ref>.lock` exclusively, check,
 * write, rename over the ref. A lock held by someone else is a move in
 * progress: 'moved', and the caller retries after a backoff.
 */
export async function compareAndSwapRef(gitdir: string, ref: string, expected: string | undefined, next: string): Promise<'ok' | 'moved'> {
  const file = path.join(gitdir, ...ref.split('/'));
  const lock = `${file}.lock`;
  await mkdir(path.dirname(file), { recursive: true });
  let handle: fs.promises.FileHandle;
  try {
    handle = await open(lock, 'wx');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return 'moved';
    throw e;
  }
  let renamed = false;
  try {
    const current = await readRef({ gitdir, cache: {} }, ref);
    if (current !== expected) return 'moved';
    await handle.writeFile(`${next}\n`);
    await handle.sync();
    await handle.close();
    await rename(lock, file);
    renamed = true;
    return 'ok';
  } finally {
    if (!renamed) {
      await handle.close().catch(() => undefined);
      // Only our own lock: after a successful rename it is gone and may be someone else's.
      await rm(lock, { force: true });
    }
  }
}

function stripHeads(branch: string): string {
  return branch.replace(/^refs\/heads\//, '');
}

function statusMessage(subject: string, body: string | undefined): string {
  const paragraph = body?.trim() ? `${body.trim()}\n\n` : '';
  return `${subject} [skip ci]\n\n${paragraph}${STATUS_TRAILER}: true\n`;
}

function defaultSubject(edits: ReadonlyMap<string, Edit>): string {
  const n = edits.size;
  return `joch: update status (${n} file${n === 1 ? '' : 's'})`;
}

function normalizeEdits(files: StatusFiles): Map<string, Edit> {
  const entries = files instanceof Map ? [...(files as ReadonlyMap<string, string | Uint8Array | null>)] : Object.entries(files);
  const edits = new Map<string, Edit>();
  const encoder = new TextEncoder();
  for (const [raw, content] of entries) {
    const parts = raw.split('/');
    if (!raw || parts.some((p) => p === '' || p === '.' || p === '..' || p.toLowerCase() === '.git')) {
      throw invalidOptions(`invalid status file path "${raw}": use a relative slash-separated path`);
    }
    edits.set(raw, content === null ? null : typeof content === 'string' ? encoder.encode(content) : content);
  }
  for (const p of edits.keys()) {
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (edits.has(dir)) throw invalidOptions(`status path "${dir}" is used both as a file and as a folder`);
    }
  }
  return edits;
}

/** The edits plus a removal of every file under the `replace` folders of `base` that the edits do not name. */
async function withRemovals(
  repo: CacheRepo,
  base: string | undefined,
  edits: ReadonlyMap<string, Edit>,
  replace: readonly string[],
): Promise<Map<string, Edit>> {
  const all = new Map(edits);
  if (base === undefined) return all;
  for (const folder of replace) {
    const parts = folder.split('/').filter(Boolean);
    let tree: string | undefined = base;
    for (const name of parts) {
      const entries: TreeEntry[] = (await git.readTree({ fs, gitdir: repo.gitdir, oid: tree, cache: repo.cache })).tree;
      tree = entries.find((e) => e.path === name && e.type === 'tree')?.oid;
      if (tree === undefined) break;
    }
    if (tree === undefined) continue;
    const prefix = parts.length ? `${parts.join('/')}/` : '';
    for (const file of await listTreeFiles(repo, tree, prefix)) if (!all.has(file)) all.set(file, null);
  }
  return all;
}

async function listTreeFiles(repo: CacheRepo, tree: string, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of (await git.readTree({ fs, gitdir: repo.gitdir, oid: tree, cache: repo.cache })).tree) {
    if (e.type === 'tree') out.push(...(await listTreeFiles(repo, e.oid, `${prefix}${e.path}/`)));
    else out.push(`${prefix}${e.path}`);
  }
  return out;
}

const EMPTY_TREE = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';

async function writeEmptyTree(repo: CacheRepo): Promise<string> {
  return git.writeTree({ fs, gitdir: repo.gitdir, tree: [] }).then((oid) => oid || EMPTY_TREE);
}

/**
 * The tree `treeOid` with the edits applied; returns the same oid when nothing
 * changes and undefined when the result is empty. Untouched subtrees keep their oid.
 */
async function applyEdits(repo: CacheRepo, treeOid: string | undefined, edits: ReadonlyMap<string, Edit>): Promise<string | undefined> {
  const entries: TreeEntry[] = treeOid ? (await git.readTree({ fs, gitdir: repo.gitdir, oid: treeOid, cache: repo.cache })).tree : [];
  const byName = new Map(entries.map((e) => [e.path, e]));
  let changed = false;
  for (const [name, group] of groupByFirstSegment(edits)) {
    const existing = byName.get(name);
    if (group.leaf !== undefined) {
      changed = (await applyLeaf(repo, byName, name, existing, group.leaf)) || changed;
      continue;
    }
    const before = existing?.type === 'tree' ? existing.oid : undefined;
    const after = await applyEdits(repo, before, group.children);
    if (after === before) continue;
    changed = true;
    if (after === undefined) byName.delete(name);
    else byName.set(name, { mode: '040000', path: name, oid: after, type: 'tree' });
  }
  if (!changed) return treeOid;
  if (byName.size === 0) return undefined;
  return git.writeTree({ fs, gitdir: repo.gitdir, tree: [...byName.values()] });
}

async function applyLeaf(
  repo: CacheRepo,
  byName: Map<string, TreeEntry>,
  name: string,
  existing: TreeEntry | undefined,
  content: Edit,
): Promise<boolean> {
  if (content === null) {
    if (!existing || existing.type === 'tree') return false;
    byName.delete(name);
    return true;
  }
  const { oid } = await git.hashBlob({ object: content });
  if (existing?.type === 'blob' && existing.oid === oid && existing.mode === '100644') return false;
  await git.writeBlob({ fs, gitdir: repo.gitdir, blob: content });
  byName.set(name, { mode: '100644', path: name, oid, type: 'blob' });
  return true;
}

interface EditGroup {
  leaf: Edit | undefined;
  readonly children: Map<string, Edit>;
}

function groupByFirstSegment(edits: ReadonlyMap<string, Edit>): Map<string, EditGroup> {
  const groups = new Map<string, EditGroup>();
  for (const [p, content] of edits) {
    const slash = p.indexOf('/');
    const name = slash < 0 ? p : p.slice(0, slash);
    let group = groups.get(name);
    if (!group) groups.set(name, (group = { leaf: undefined, children: new Map() }));
    if (slash < 0) group.leaf = content;
    else group.children.set(p.slice(slash + 1), content);
  }
  return groups;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
