/**
 * A Git repository of manifests as a source: each `update()` asks the remote
 * where the selected ref points, fetches only when that commit is new to the
 * cache, optionally verifies its signature, and reads the snapshot from the
 * object store, diffed against the previous one.
 */
import { rename, rm } from 'node:fs/promises';
import path from 'node:path';
import git, { type HttpClient } from 'isomorphic-git';
import fs from 'node:fs';
import { resolveAuth, splitUserinfo, NO_AUTH, type GitAuth, type ResolvedAuth } from './git-auth.js';
import {
  GitSourceError,
  invalidOptions,
  isFailure,
  redactUrls,
  transferFailure,
  type GitFailure,
  type UnverifiedCommit,
} from './git-errors.js';
import { checkSelector, describeSelector, resolveSelector, type RefSelector, type ResolvedRef } from './git-refs.js';
import {
  DEFAULT_MAX_FILE_BYTES,
  SnapshotReader,
  type ChangeSet,
  type ReadStats,
  type SkippedEntry,
  type SnapshotReaderOptions,
} from './git-snapshot.js';
import {
  hasCommit,
  HttpTransport,
  localRepositoryPath,
  packCount,
  LocalTransport,
  openCache,
  FETCHED_REF,
  readRef,
  writeRef,
  type CacheRepo,
  type Transport,
} from './git-transport.js';
import { TrustedKeys, verifyCommitSignature, type CommitVerification, type VerifiedCommit } from './git-verify.js';
import { IGNORE_FILE, type Snapshot } from './types.js';

/** The last revision handed out, kept in the cache so a restart still detects a rewrite. */
const DELIVERED_REF = 'refs/joch/delivered';
const DEFAULT_MAX_PACKS = 64;

export interface GitSourceOptions {
  /** `https://…`, `http://…`, `file:///abs/path` or an absolute path to a repository. */
  readonly url: string;
  /** Default: branch `main`. */
  readonly ref?: RefSelector | undefined;
  /** Folder for the bare cache repository (created if missing; reused across restarts). */
  readonly cacheDir: string;
  /** Subdirectory of the repository to use as the root, e.g. `deploy/prod`. */
  readonly root?: string | undefined;
  readonly auth?: GitAuth | undefined;
  /** Files larger than this are reported in `skipped`, not loaded. Default 5 MiB, joch.yaml's default `limits.maxFileBytes`. */
  readonly maxFileBytes?: number | undefined;
  /** Ignore file at the root, gitignore syntax. Default `.jochignore`. */
  readonly ignoreFile?: string | undefined;
  /** Extra gitignore-style patterns. */
  readonly exclude?: readonly string[] | undefined;
  /** Fetch only the tip on the first fetch (later fetches are incremental anyway). Default true. */
  readonly shallow?: boolean | undefined;
  /** When set, a revision is used only if its commit is signed by one of these armored OpenPGP public keys. */
  readonly verify?: { readonly trustedKeys: readonly string[] } | undefined;
  /** Packs in the cache before it is rebuilt from a fresh shallow fetch (each fetch adds one). Default 64. */
  readonly maxPacks?: number | undefined;
  /** HTTP client override (proxies, custom CAs); default isomorphic-git's Node client. */
  readonly http?: HttpClient | undefined;
  /** A request with no socket activity for this long fails as `unreachable`. Default 60 s. */
  readonly timeoutMs?: number | undefined;
  /** PEM CA certificates to trust for an HTTPS server with a private CA. */
  readonly caCertificates?: string | undefined;
  /** Structured events; they never carry credentials. */
  readonly onEvent?: ((event: GitSourceEvent) => void) | undefined;
}

export type GitSourceEvent =
  | { readonly type: 'fetched'; readonly url: string; readonly ref: string; readonly commit: string; readonly ms: number }
  | {
      readonly type: 'updated';
      readonly url: string;
      readonly revision: string;
      readonly changed: boolean;
      readonly rewritten: boolean;
      readonly ms: number;
    }
  | { readonly type: 'compacted'; readonly url: string; readonly packs: number; readonly ms: number }
  | { readonly type: 'failed'; readonly failure: GitFailure };

export interface GitUpdateStats extends ReadStats {
  /** Whether objects were transferred in this update. */
  readonly fetched: boolean;
  readonly fetchMs: number;
  readonly readMs: number;
  readonly totalMs: number;
}

export interface GitSnapshotResult {
  readonly ok: true;
  readonly snapshot: Snapshot;
  readonly revision: string;
  readonly ref: ResolvedRef;
  /** False when the revision is the one the previous successful update returned. */
  readonly changed: boolean;
  /** True when the new revision does not descend from the previous one (force-push, moved tag). */
  readonly rewritten: boolean;
  /** Files added, modified and deleted since the previous successful update (all added on the first). */
  readonly changes: ChangeSet;
  /** Symlinks and submodules (never followed) and oversize files (never loaded). */
  readonly skipped: readonly SkippedEntry[];
  /** Present when verification is configured. */
  readonly verification?: VerifiedCommit | undefined;
  readonly stats: GitUpdateStats;
}

export interface GitUpdateFailure {
  readonly ok: false;
  readonly failure: GitFailure;
}

export type GitUpdateResult = GitSnapshotResult | GitUpdateFailure;

export class GitSource {
  /** The remote URL with any credentials removed: safe to log. */
  readonly url: string;
  private readonly ref: RefSelector;
  private readonly root: string;
  private readonly auth: GitAuth | undefined;
  private readonly local: string | undefined;
  private secrets: readonly string[] = [];
  private repo: CacheRepo | undefined;
  private transport: Transport | undefined;
  private reader: SnapshotReader | undefined;
  private trusted: Promise<TrustedKeys> | undefined;
  private previous: string | undefined;
  private last: GitSnapshotResult | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: GitSourceOptions) {
    const { url, auth } = splitUserinfo(options.url);
    this.local = localRepositoryPath(url);
    if (this.local === undefined && !/^https?:\/\//i.test(url)) {
      throw invalidOptions(`only http(s) URLs and local paths are supported, got ${redactUrls(url)}`);
    }
    this.url = this.local ?? url;
    this.auth = options.auth ?? auth;
    this.ref = options.ref ?? { branch: 'main' };
    checkSelector(this.ref);
    this.root = normalizeRoot(options.root ?? '');
  }

  /** Brings the cache up to date and returns the selected revision's snapshot, or why it could not. */
  update(): Promise<GitUpdateResult> {
    const run = this.queue.then(() => this.updateNow());
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * The files of an older commit of the selected ref (a pinned Deployment's
   * source revision), read as update() reads a revision. A commit the cache
   * lacks (its first fetch is shallow) is fetched with the ref's history.
   * Changes neither the delivered revision nor what the next update() reports.
   */
  snapshotAt(commit: string): Promise<{ readonly ok: true; readonly snapshot: Snapshot } | { readonly ok: false; readonly reason: string }> {
    const run = this.queue.then(() => this.readAt(commit));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async readAt(commit: string): Promise<{ readonly ok: true; readonly snapshot: Snapshot } | { readonly ok: false; readonly reason: string }> {
    try {
      const { transport, repo } = await this.open();
      if (!(await hasCommit(repo, commit))) {
        const fetchRef = this.last?.ref.fetchRef;
        if (!fetchRef) return { ok: false, reason: `commit ${commit.slice(0, 12)} is not in the cache and no ref was fetched yet` };
        // The regular fetch negotiates from this ref: put it back once the older commit is in.
        const fetched = await readRef(repo, FETCHED_REF);
        try {
          await transport.fetch({ kind: 'commit', name: commit, fetchRef, commit });
        } finally {
          if (fetched) await writeRef(repo, FETCHED_REF, fetched);
        }
        if (!(await hasCommit(repo, commit))) return { ok: false, reason: `commit ${commit.slice(0, 12)} is not reachable from ${fetchRef} on the remote` };
      }
      const reader = new SnapshotReader(repo, this.readerOptions());
      const read = await reader.read(commit);
      if (isFailure(read)) return { ok: false, reason: read.message };
      return { ok: true, snapshot: { root: this.url, displayPrefix: this.root, revision: commit, commitTime: read.commitTime, files: read.files, unread: read.skipped } };
    } catch (e) {
      const failure = e instanceof GitSourceError ? e.failure : transferFailure(e, this.url, this.secrets);
      return { ok: false, reason: failure.message };
    }
  }

  private async updateNow(): Promise<GitUpdateResult> {
    try {
      return await this.sync();
    } catch (e) {
      const failure = e instanceof GitSourceError ? e.failure : transferFailure(e, this.url, this.secrets);
      this.options.onEvent?.({ type: 'failed', failure });
      return { ok: false, failure };
    }
  }

  private async sync(): Promise<GitUpdateResult> {
    const started = performance.now();
    const { transport, repo, reader } = await this.open();
    const resolved = resolveSelector(this.ref, await transport.listRefs(), this.url);
    if (isFailure(resolved)) return this.fail(resolved);
    if (this.last && resolved.commit === this.last.revision) return this.unchanged(this.last, resolved, started);

    const fetch = await this.ensureFetched(transport, repo, resolved);
    if (isFailure(fetch)) return this.fail(fetch);
    const { target } = fetch;
    const verification = await this.verify(repo, target);
    if (verification && !verification.verified) return this.fail(unverifiedFailure(target, verification));

    const rewritten = this.previous !== undefined && this.previous !== target && !(await transport.isAncestor(this.previous, target));
    const readStarted = performance.now();
    const read = await reader.read(target);
    if (isFailure(read)) return this.fail(read);
    const readMs = performance.now() - readStarted;
    await writeRef(repo, DELIVERED_REF, target);
    this.previous = target;

    const result: GitSnapshotResult = {
      ok: true,
      snapshot: { root: this.url, displayPrefix: this.root, revision: target, commitTime: read.commitTime, files: read.files, unread: read.skipped },
      revision: target,
      ref: { ...resolved, commit: target },
      changed: true,
      rewritten,
      changes: read.changes,
      skipped: read.skipped,
      verification,
      stats: { ...read.stats, fetched: fetch.fetched, fetchMs: fetch.ms, readMs, totalMs: performance.now() - started },
    };
    this.last = result;
    this.options.onEvent?.({ type: 'updated', url: this.url, revision: target, changed: true, rewritten, ms: result.stats.totalMs });
    if (fetch.fetched) await this.compactIfNeeded(resolved);
    return result;
  }

  /** Fetches unless the commit is already in the cache (a revert to a known revision costs no transfer). */
  private async ensureFetched(
    transport: Transport,
    repo: CacheRepo,
    resolved: ResolvedRef,
  ): Promise<{ target: string; fetched: boolean; ms: number } | GitFailure> {
    if (await hasCommit(repo, resolved.commit)) return { target: resolved.commit, fetched: false, ms: 0 };
    const started = performance.now();
    const target = await transport.fetch(resolved);
    const ms = performance.now() - started;
    this.options.onEvent?.({ type: 'fetched', url: this.url, ref: describeSelector(this.ref), commit: target, ms });
    if (resolved.kind === 'commit' && !(await hasCommit(repo, resolved.commit))) {
      return {
        reason: 'commit-not-found',
        url: this.url,
        commit: resolved.commit,
        message: `commit ${resolved.commit} is not reachable from ${resolved.fetchRef} on the remote`,
      };
    }
    return { target, fetched: true, ms };
  }

  private unchanged(last: GitSnapshotResult, ref: ResolvedRef, started: number): GitSnapshotResult {
    const totalMs = performance.now() - started;
    const result: GitSnapshotResult = {
      ...last,
      ref,
      changed: false,
      rewritten: false,
      changes: { added: [], modified: [], deleted: [] },
      stats: { treesRead: 0, blobsRead: 0, fullScan: false, fetched: false, fetchMs: 0, readMs: 0, totalMs },
    };
    this.options.onEvent?.({ type: 'updated', url: this.url, revision: last.revision, changed: false, rewritten: false, ms: totalMs });
    return result;
  }

  private fail(failure: GitFailure): GitUpdateFailure {
    this.options.onEvent?.({ type: 'failed', failure });
    return { ok: false, failure };
  }

  private async open(): Promise<{ transport: Transport; repo: CacheRepo; reader: SnapshotReader }> {
    if (this.transport && this.repo && this.reader) return { transport: this.transport, repo: this.repo, reader: this.reader };
    const repo = await openCache(path.resolve(this.options.cacheDir), this.url);
    this.previous = await readRef(repo, DELIVERED_REF);
    this.transport = this.makeTransport(repo, this.options.shallow ?? true);
    this.reader = new SnapshotReader(repo, this.readerOptions());
    this.repo = repo;
    return { transport: this.transport, repo, reader: this.reader };
  }

  /** How every revision of this source is read: the followed one and pinned older ones alike. */
  private readerOptions(): SnapshotReaderOptions {
    return {
      root: this.root,
      maxFileBytes: this.options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES,
      ignoreFile: this.options.ignoreFile ?? IGNORE_FILE,
      exclude: this.options.exclude ?? [],
    };
  }

  private async resolveAuth(): Promise<ResolvedAuth> {
    const auth = this.auth ? await resolveAuth(this.auth) : NO_AUTH;
    this.secrets = auth.secrets;
    return auth;
  }

  private async verify(repo: CacheRepo, oid: string): Promise<CommitVerification | undefined> {
    if (!this.options.verify) return undefined;
    this.trusted ??= TrustedKeys.fromArmored(this.options.verify.trustedKeys);
    const { commit, payload } = await git.readCommit({ fs, gitdir: repo.gitdir, oid, cache: repo.cache });
    return verifyCommitSignature({ gpgsig: commit.gpgsig, payload }, await this.trusted);
  }

  /**
   * Every fetch leaves a pack, and isomorphic-git scans the pack folder on
   * each object read, so a long-running source rebuilds its cache from one
   * shallow fetch once the packs pile up. A failed rebuild puts the old cache back.
   */
  private async compactIfNeeded(resolved: ResolvedRef): Promise<void> {
    const repo = this.repo;
    const old = this.transport;
    if (!repo || !old) return;
    const packs = await packCount(repo.gitdir);
    if (packs <= (this.options.maxPacks ?? DEFAULT_MAX_PACKS)) return;
    const started = performance.now();
    const aside = `${repo.gitdir}.old`;
    await rm(aside, { recursive: true, force: true });
    await rename(repo.gitdir, aside);
    try {
      repo.cache = (await openCache(repo.gitdir, this.url)).cache;
      const fresh = this.makeTransport(repo, this.options.shallow ?? true);
      await fresh.fetch(resolved);
      if (this.previous) await writeRef(repo, DELIVERED_REF, this.previous);
      this.transport = fresh;
      await rm(aside, { recursive: true, force: true });
      this.options.onEvent?.({ type: 'compacted', url: this.url, packs, ms: performance.now() - started });
    } catch {
      await rm(repo.gitdir, { recursive: true, force: true });
      await rename(aside, repo.gitdir);
      repo.cache = {};
    }
  }

  private makeTransport(repo: CacheRepo, shallow: boolean): Transport {
    if (this.local) return new LocalTransport(this.url, this.local, repo);
    return new HttpTransport({
      url: this.url,
      repo,
      auth: () => this.resolveAuth(),
      shallow,
      http: this.options.http,
      timeoutMs: this.options.timeoutMs,
      ca: this.options.caCertificates,
    });
  }
}

function unverifiedFailure(revision: string, verification: UnverifiedCommit): GitFailure {
  return {
    reason: 'unverified',
    revision,
    verification,
    message: `commit ${revision} failed signature verification: ${verification.detail}`,
  };
}

function normalizeRoot(root: string): string {
  const parts = root.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw invalidOptions(`root must stay inside the repository, got "${root}"`);
  return parts.join('/');
}
