/**
 * Moves objects from a remote into the bare cache repository: over smart HTTP
 * with isomorphic-git, or from a repository on a local path by packing the
 * missing objects ourselves (isomorphic-git has no file:// transport).
 */
import fs from 'node:fs';
import { readdir, readFile, rm, stat, access } from 'node:fs/promises';
import path from 'node:path';
import git, { type HttpClient } from 'isomorphic-git';
import nodeHttp from 'isomorphic-git/http/node';
import type { ResolvedAuth } from './git-auth.js';
import { GitSourceError, type GitFailure } from './git-errors.js';
import type { RemoteRef, RemoteRefs, ResolvedRef } from './git-refs.js';

/** The cache keeps its own ref to the last fetched commit: the "have" of the next fetch. */
export const FETCHED_REF = 'refs/joch/fetched';
const REMOTE = 'origin';
/** What `git fetch --unshallow` asks for. */
const INFINITE_DEPTH = 0x7fffffff;

export interface Transport {
  /** The remote, with no credentials in it. */
  readonly url: string;
  listRefs(): Promise<RemoteRefs>;
  /** Makes the commit `ref.commit` (or the ref's newer tip) readable in the cache; returns the commit fetched. */
  fetch(ref: ResolvedRef): Promise<string>;
  /** Whether `ancestor` is `descendant` or one of its ancestors; false when history is not at hand. */
  isAncestor(ancestor: string, descendant: string): Promise<boolean>;
}

export interface CacheRepo {
  readonly gitdir: string;
  /** isomorphic-git's object cache (pack indexes); shared by every read of this repository. */
  cache: object;
}

/** Opens (creating if needed) the bare cache for `url`; a cache made for another URL is wiped. */
export async function openCache(gitdir: string, url: string): Promise<CacheRepo> {
  const recorded = await readConfig(gitdir, `remote.${REMOTE}.url`);
  if (recorded !== undefined && recorded !== url) await rm(gitdir, { recursive: true, force: true });
  if (recorded !== url) {
    await git.init({ fs, dir: gitdir, bare: true, defaultBranch: 'main' });
    await git.addRemote({ fs, gitdir, remote: REMOTE, url, force: true });
  }
  return { gitdir, cache: {} };
}

async function readConfig(gitdir: string, key: string): Promise<string | undefined> {
  try {
    await access(path.join(gitdir, 'config'));
  } catch {
    return undefined;
  }
  const value: unknown = await git.getConfig({ fs, gitdir, path: key });
  return typeof value === 'string' ? value : undefined;
}

export async function hasCommit(repo: CacheRepo, oid: string): Promise<boolean> {
  try {
    await git.readCommit({ fs, gitdir: repo.gitdir, oid, cache: repo.cache });
    return true;
  } catch {
    return false;
  }
}

/** Reads a ref of the cache, or undefined. */
export async function readRef(repo: CacheRepo, ref: string): Promise<string | undefined> {
  try {
    return await git.resolveRef({ fs, gitdir: repo.gitdir, ref });
  } catch {
    return undefined;
  }
}

export async function writeRef(repo: CacheRepo, ref: string, oid: string): Promise<void> {
  await git.writeRef({ fs, gitdir: repo.gitdir, ref, value: oid, force: true });
}

/** Peels annotated tags down to the commit. */
export async function peelToCommit(repo: CacheRepo, oid: string): Promise<string> {
  let current = oid;
  for (let hops = 0; hops < 10; hops++) {
    const { type, object } = await git.readObject({ fs, gitdir: repo.gitdir, oid: current, cache: repo.cache });
    if (type === 'commit') return current;
    if (type !== 'tag') break;
    current = (object as { object: string }).object;
  }
  throw new Error(`${oid} does not point at a commit`);
}

/** Default idle timeout of one HTTP request: a hung server must not stall the reconcile loop forever. */
export const DEFAULT_TIMEOUT_MS = 60_000;

export interface RequestOptions {
  /** Fail a request after this long without socket activity. */
  readonly timeoutMs: number;
  /** PEM certificates to trust for HTTPS (a private CA), instead of Node's bundled roots. */
  readonly ca?: string | undefined;
}

/** Wraps an HTTP client so that every request carries a timeout and, if given, a CA bundle. */
export function withRequestOptions(http: HttpClient, options: RequestOptions): HttpClient {
  const extra = { timeout: options.timeoutMs, ...(options.ca !== undefined ? { ca: options.ca } : {}) };
  return {
    request: (req) => http.request({ ...req, fetchOptions: { ...(req.fetchOptions as object | undefined), ...extra } }),
  };
}

export interface HttpTransportOptions {
  readonly url: string;
  readonly repo: CacheRepo;
  readonly auth: () => Promise<ResolvedAuth>;
  /** First fetch with depth 1 (later fetches are incremental and never pass a depth). */
  readonly shallow: boolean;
  readonly http?: HttpClient | undefined;
  readonly timeoutMs?: number | undefined;
  readonly ca?: string | undefined;
}

export class HttpTransport implements Transport {
  readonly url: string;
  private readonly http: HttpClient;

  constructor(private readonly options: HttpTransportOptions) {
    this.url = options.url;
    this.http = withRequestOptions(options.http ?? nodeHttp, { timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS, ca: options.ca });
  }

  async listRefs(): Promise<RemoteRefs> {
    const { headers } = await this.options.auth();
    const refs = await git.listServerRefs({
      http: this.http,
      url: this.url,
      headers: { ...headers },
      // One GET: v1's advertisement already carries peeled tags; v2 would add a POST.
      protocolVersion: 1,
      peelTags: true,
      symrefs: true,
      onAuthFailure: () => ({ cancel: true }),
    });
    const map = new Map<string, RemoteRef>();
    for (const r of refs) map.set(r.ref, { oid: r.oid, peeled: r.peeled });
    return map;
  }

  async fetch(ref: ResolvedRef): Promise<string> {
    const { repo } = this.options;
    const haveHistory = (await readRef(repo, FETCHED_REF)) !== undefined;
    // A commit may sit anywhere in history, so it is never fetched shallow.
    const shallowFirst = this.options.shallow && !haveHistory && ref.kind !== 'commit';
    let fetched = await this.fetchOnce(ref.fetchRef, shallowFirst ? 1 : undefined);
    if (ref.kind === 'commit' && !(await hasCommit(repo, ref.commit)) && (await this.isShallow())) {
      fetched = await this.fetchOnce(ref.fetchRef, INFINITE_DEPTH);
    }
    const target = (await hasCommit(repo, ref.commit)) ? ref.commit : await peelToCommit(repo, fetched);
    await writeRef(repo, FETCHED_REF, target);
    return target;
  }

  private async fetchOnce(remoteRef: string, depth: number | undefined): Promise<string> {
    const { repo } = this.options;
    const { headers } = await this.options.auth();
    const result = await git.fetch({
      fs,
      http: this.http,
      gitdir: repo.gitdir,
      cache: repo.cache,
      url: this.url,
      remote: REMOTE,
      // `ref` names the local ref sent as "have"; `remoteRef` is what we want.
      ref: FETCHED_REF,
      remoteRef,
      singleBranch: true,
      tags: false,
      ...(depth !== undefined ? { depth } : {}),
      headers: { ...headers },
      onAuthFailure: () => ({ cancel: true }),
    });
    if (!result.fetchHead) throw new Error('the remote repository is empty');
    return result.fetchHead;
  }

  private async isShallow(): Promise<boolean> {
    try {
      return (await stat(path.join(this.options.repo.gitdir, 'shallow'))).size > 0;
    } catch {
      return false;
    }
  }

  isAncestor(ancestor: string, descendant: string): Promise<boolean> {
    return isAncestorIn(this.options.repo.gitdir, this.options.repo.cache, ancestor, descendant);
  }
}

async function isAncestorIn(gitdir: string, cache: object, ancestor: string, descendant: string): Promise<boolean> {
  if (ancestor === descendant) return true;
  try {
    return await git.isDescendent({ fs, gitdir, cache, oid: descendant, ancestor, depth: -1 });
  } catch {
    // History cut by a shallow fetch or gone from the store: no proof of descent.
    return false;
  }
}

/** Absolute path of a local repository named by `file://` URL or absolute path; undefined for anything else. */
export function localRepositoryPath(url: string): string | undefined {
  if (url.startsWith('file://')) return decodeURIComponent(new URL(url).pathname);
  if (path.isAbsolute(url)) return path.resolve(url);
  return undefined;
}

/** Resolves the Git directory of a repository on disk: a worktree's `.git`, or a bare repository. */
export async function localGitdir(repoPath: string): Promise<string> {
  const dotGit = path.join(repoPath, '.git');
  try {
    const info = await stat(dotGit);
    if (info.isDirectory()) return dotGit;
    const pointer = /^gitdir:\s*(.+)$/m.exec(await readFile(dotGit, 'utf8'));
    if (pointer?.[1]) return path.resolve(repoPath, pointer[1].trim());
  } catch {
    // no .git: a bare repository, checked below
  }
  try {
    await access(path.join(repoPath, 'HEAD'));
    await access(path.join(repoPath, 'objects'));
    return repoPath;
  } catch {
    throw new GitSourceError(notARepository(repoPath));
  }
}

function notARepository(where: string): GitFailure {
  return { reason: 'unreachable', url: where, message: 'no Git repository at this path' };
}

/**
 * A repository on this machine. Objects are copied into the cache as one
 * pack per fetch: only those the cache lacks, found by walking the new tree
 * and skipping subtrees the cache already holds (a present tree implies its
 * whole content is present, since we only ever copy complete closures).
 */
export class LocalTransport implements Transport {
  private present: Set<string> | undefined;

  constructor(
    readonly url: string,
    private readonly sourcePath: string,
    private readonly repo: CacheRepo,
  ) {}

  async listRefs(): Promise<RemoteRefs> {
    const gitdir = await localGitdir(this.sourcePath);
    const map = new Map<string, RemoteRef>();
    const cache = {};
    for (const prefix of ['refs/heads', 'refs/tags']) {
      for (const name of await git.listRefs({ fs, gitdir, filepath: prefix })) {
        const full = `${prefix}/${name}`;
        const oid = await git.resolveRef({ fs, gitdir, ref: full });
        const peeled = prefix === 'refs/tags' ? await peelIn(gitdir, cache, oid) : undefined;
        map.set(full, { oid, peeled: peeled === oid ? undefined : peeled });
      }
    }
    try {
      map.set('HEAD', { oid: await git.resolveRef({ fs, gitdir, ref: 'HEAD' }) });
    } catch {
      // HEAD names an unborn branch: there is no default to follow
    }
    return map;
  }

  async fetch(ref: ResolvedRef): Promise<string> {
    const gitdir = await localGitdir(this.sourcePath);
    const sourceCache = {};
    try {
      await git.readCommit({ fs, gitdir, oid: ref.commit, cache: sourceCache });
    } catch {
      throw new GitSourceError({
        reason: 'commit-not-found',
        url: this.url,
        commit: ref.commit,
        message: `commit ${ref.commit} is not in the repository`,
      });
    }
    const missing = await this.missingObjects(gitdir, sourceCache, ref.commit);
    if (missing.length) await this.copyObjects(gitdir, sourceCache, missing);
    await writeRef(this.repo, FETCHED_REF, ref.commit);
    return ref.commit;
  }

  isAncestor(ancestor: string, descendant: string): Promise<boolean> {
    // History lives in the source; the cache holds only the snapshots it was asked for.
    return localGitdir(this.sourcePath).then((gitdir) => isAncestorIn(gitdir, {}, ancestor, descendant));
  }

  private async missingObjects(gitdir: string, cache: object, commit: string): Promise<string[]> {
    const present = await this.presentObjects();
    if (present.has(commit)) return [];
    const out = new Set([commit]);
    const { commit: parsed } = await git.readCommit({ fs, gitdir, oid: commit, cache });
    const walkTree = async (oid: string): Promise<void> => {
      if (present.has(oid) || out.has(oid)) return;
      out.add(oid);
      const { tree } = await git.readTree({ fs, gitdir, oid, cache });
      for (const entry of tree) {
        if (entry.type === 'tree') await walkTree(entry.oid);
        else if (entry.type === 'blob' && !present.has(entry.oid)) out.add(entry.oid);
      }
    };
    await walkTree(parsed.tree);
    return [...out];
  }

  private async copyObjects(gitdir: string, cache: object, oids: string[]): Promise<void> {
    const { filename, packfile } = await git.packObjects({ fs, gitdir, oids, cache });
    if (!packfile) throw new Error('packObjects returned no data');
    const relative = `objects/pack/${filename}`;
    await fs.promises.writeFile(path.join(this.repo.gitdir, relative), packfile);
    await git.indexPack({ fs, dir: this.repo.gitdir, gitdir: this.repo.gitdir, filepath: relative, cache: this.repo.cache });
    for (const oid of oids) this.present?.add(oid);
  }

  private async presentObjects(): Promise<Set<string>> {
    this.present ??= await packedObjectIds(this.repo.gitdir);
    return this.present;
  }
}

async function peelIn(gitdir: string, cache: object, oid: string): Promise<string> {
  let current = oid;
  for (let hops = 0; hops < 10; hops++) {
    const { type, object } = await git.readObject({ fs, gitdir, oid: current, cache });
    if (type !== 'tag') return current;
    current = (object as { object: string }).object;
  }
  return current;
}

/** How many pack files a repository holds: the caches compact themselves past a limit. */
export async function packCount(gitdir: string): Promise<number> {
  return (await readdir(path.join(gitdir, 'objects', 'pack'))).filter((n) => n.endsWith('.pack')).length;
}

/** Every object id listed in the pack indexes (version 2) of a repository. */
async function packedObjectIds(gitdir: string): Promise<Set<string>> {
  const dir = path.join(gitdir, 'objects', 'pack');
  const ids = new Set<string>();
  let names: string[] = [];
  try {
    names = await readdir(dir);
  } catch {
    return ids;
  }
  for (const name of names.filter((n) => n.endsWith('.idx'))) {
    const idx = await readFile(path.join(dir, name));
    if (idx.readUInt32BE(0) !== 0xff744f63 || idx.readUInt32BE(4) !== 2) continue;
    const count = idx.readUInt32BE(8 + 255 * 4);
    const start = 8 + 256 * 4;
    for (let i = 0; i < count; i++) ids.add(idx.toString('hex', start + i * 20, start + i * 20 + 20));
  }
  return ids;
}
