/**
 * Builds a running sync from validated options: the Git source, the target
 * (cluster, rendered branch or folder), the status writer, metrics, the HTTP
 * endpoints, leader election and Events. The defaults make `joch sync --once`
 * work on a fresh clone: the repository of the current folder, its current
 * branch, root `examples/fleet` (the CLI passes the folder of the nearest
 * joch.yaml when there is one), rendered manifests on the local branch
 * `joch/rendered` and status on `joch/status`, no cluster needed.
 */
import { openCache } from '../cache/index.js';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir, hostname } from 'node:os';
import path from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import git from 'isomorphic-git';
import type { DestinationStream } from 'pino';
import { refuseInsecureSkipTlsVerify } from '../cluster/index.js';
import { applySetId, defaultApplySetParent } from '../model/applyset.js';
import { GitSource, GitSourceError, StatusWriter, openpgpSigner, type BotIdentity, type GitAuth, type RefSelector } from '../source/git.js';
import { describeSelector } from '../source/git-refs.js';
import { localGitdir, localRepositoryPath } from '../source/git-transport.js';
import { EventRecorder } from './events.js';
import { LeaderElector } from './leader.js';
import { createLogger, type Logger } from './logger.js';
import { SyncMetrics } from './metrics.js';
import type { SyncOptions } from './options.js';
import { Reconciler } from './reconciler.js';
import { startSyncServer, type SyncServer } from './server.js';
import { ClusterTarget, FolderTarget, GitRenderedTarget, type SyncTarget } from './targets.js';
import { PlacedClusterTarget } from './clusters.js';
import { errorMessage } from '../diagnostics/index.js';

/** A configuration that cannot run (not a repository, unreadable key, ...): exit code 2. */
export class SyncSetupError extends Error {}

const DEFAULT_LOCAL_ROOT = 'examples/fleet';
const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface SyncContext {
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Where JSON log lines go; default stdout. */
  readonly logDestination?: DestinationStream | undefined;
  readonly toolVersion: string;
  /** Clock of the loop (drift interval, status times); tests move it. */
  readonly now?: (() => Date) | undefined;
  /** Called when leadership is lost: the process should exit so that no two replicas ever apply at once. */
  readonly onLostLeadership?: (() => void) | undefined;
}

export interface SyncInfo {
  readonly sourceUrl: string;
  readonly ref: string;
  readonly root: string;
  /** Set when the manifests come from a repository on this machine. */
  readonly localRepo?: string | undefined;
  readonly target: SyncTarget['kind'];
  readonly targetDescription: string;
  readonly statusBranch?: string | undefined;
  readonly renderedBranch?: string | undefined;
}

export interface SyncRuntime {
  readonly reconciler: Reconciler;
  /** Where revisions go; a ClusterTarget watches the ApplySet's members once it applied. */
  readonly target: SyncTarget;
  readonly metrics: SyncMetrics;
  readonly logger: Logger;
  readonly info: SyncInfo;
  readonly leader?: LeaderElector | undefined;
  /** Bound ports, once `start` ran: `webhook` and `metrics` (the same when shared). */
  readonly ports: { webhook?: number; metrics?: number };
  /** HTTP endpoints, leader election, then the loop. */
  start(): Promise<void>;
  /**
   * Stops the loop (waiting up to `graceMs` for the current cycle), gives up the Lease, closes the endpoints;
   * true when the cycle finished in time. When it did not, the Lease is kept until it expires.
   */
  shutdown(graceMs: number): Promise<boolean>;
}

interface ResolvedSource {
  readonly url: string;
  readonly local: string | undefined;
  readonly ref: RefSelector;
  readonly root: string;
  /** The branch the manifests come from, when following one. */
  readonly branch: string | undefined;
}

export async function createSyncRuntime(o: SyncOptions, ctx: SyncContext): Promise<SyncRuntime> {
  const secrets: string[] = [];
  const logger = createLogger({ level: o['log-level'], secrets: () => secrets, destination: ctx.logDestination });
  const source = await resolveSource(o, ctx);
  const cacheRoot = await cacheDirFor(o, source, ctx);
  const kubeconfig = loadKubeconfig(o, ctx.env);
  const targetKind = o.target ?? (kubeconfig || o.cluster.length ? 'cluster' : 'git');
  if (targetKind === 'cluster' && !kubeconfig) throw new SyncSetupError('the cluster target needs --kubeconfig, KUBECONFIG or an in-cluster service account');
  if (o['leader-elect'] && !kubeconfig) throw new SyncSetupError('--leader-elect needs a cluster: --kubeconfig or in-cluster config');
  // The target, the Lease and the Events would each refuse it later; say so now, as a setup error.
  if (kubeconfig && (targetKind === 'cluster' || o['leader-elect'])) requireTlsVerification(kubeconfig, 'cannot use the kubeconfig');
  const auth = await resolveAuth(o, kubeconfig, secrets);
  const identity: BotIdentity = { name: o['bot-name'], email: o['bot-email'] };
  const signer = o['sign-key'] ? await loadSigner(o, ctx) : undefined;
  const inventory = { name: o['inventory-name'], namespace: o['inventory-namespace'], kind: 'Secret' as const };
  const compileOptions = { applySetId: applySetId(defaultApplySetParent(inventory.name, inventory.namespace)) };

  const writerFor = (url: string | undefined, branch: string, cache: string): StatusWriter =>
    guard(
      () =>
        new StatusWriter({
          url: url ?? source.url,
          cacheDir: path.join(cacheRoot, cache),
          branch,
          manifestBranch: (url ?? source.url) === source.url ? source.branch : undefined,
          identity,
          signer,
          auth: (url ?? source.url) === source.url || url?.startsWith('http') ? auth : undefined,
        }),
    );
  const status = o['no-status'] ? undefined : writerFor(o['status-repo'] && absolute(o['status-repo'], ctx.cwd), o['status-branch'], 'status');
  const target: SyncTarget =
    targetKind === 'cluster'
      ? new PlacedClusterTarget({
          kubeconfig: kubeconfig as KubeConfig,
          inventory,
          fieldManager: o['field-manager'],
          // A shard (--cluster) applies only its clusters; without one, every cluster joch.yaml maps.
          only: o.cluster,
          baseDir: ctx.cwd,
          // Not for --once: one cycle, then exit. `reconciler` exists by the time an apply completes.
          onDrift: o.once ? undefined : (event) => reconciler.requestDriftCheck(`${event.type === 'DELETED' ? 'deleted' : 'changed'}: ${event.ref.kind} ${event.ref.namespace ?? ''}/${event.ref.name}`),
        })
      : targetKind === 'folder'
        ? new FolderTarget(path.resolve(ctx.cwd, o.output as string))
        : new GitRenderedTarget(writerFor(o['rendered-repo'] && absolute(o['rendered-repo'], ctx.cwd), o['rendered-branch'], 'rendered'), source.url);

  const metrics = new SyncMetrics({ processMetrics: !o.once });
  const replica = o.identity ?? ctx.env.POD_NAME ?? `${hostname()}-${process.pid}`;
  const leader =
    o['leader-elect'] && kubeconfig
      ? new LeaderElector({
          kubeconfig,
          namespace: o['lease-namespace'] ?? ctx.env.POD_NAMESPACE ?? podNamespace() ?? 'joch-system',
          name: o['lease-name'],
          identity: replica,
          leaseDurationMs: o['lease-duration'],
          logger,
          // Called only after start(), when `reconciler` below is long initialised.
          onStartedLeading: () => reconciler.trigger('became leader'),
          onStoppedLeading: () => ctx.onLostLeadership?.(),
        })
      : undefined;
  const sourceGit = guard(
    () =>
      new GitSource({
        url: source.url,
        ref: source.ref,
        root: source.root,
        cacheDir: path.join(cacheRoot, 'source'),
        auth,
        ignoreFile: o['ignore-file'],
        verify: o['verify-key'].length ? { trustedKeys: readVerifyKeys(o['verify-key'], ctx) } : undefined,
      }),
  );
  const reconciler = new Reconciler({
    source: sourceGit,
    store: openCache({ env: ctx.env }),
    target,
    status,
    metrics,
    logger,
    leader,
    events: targetKind === 'cluster' && kubeconfig ? new EventRecorder(kubeconfig, replica, logger) : undefined,
    clusterStatus: targetKind === 'cluster' && kubeconfig ? { kubeconfig, fieldManager: o['field-manager'] } : undefined,
    sourceInfo: { url: sourceGit.url, ref: describeSelector(source.ref), root: source.root },
    intervalMs: o.interval,
    jitter: o.jitter,
    driftIntervalMs: o['drift-interval'],
    backoff: { initialMs: o['backoff-initial'], maxMs: o['backoff-max'] },
    suspended: o.suspend,
    compileOptions,
    toolVersion: ctx.toolVersion,
    env: ctx.env,
    now: ctx.now,
  });
  const webhookSecret = await readWebhookSecret(o, ctx);
  if (webhookSecret) secrets.push(webhookSecret);
  const info: SyncInfo = {
    sourceUrl: sourceGit.url,
    ref: describeSelector(source.ref),
    root: source.root,
    localRepo: source.local,
    target: targetKind,
    targetDescription: target.description,
    statusBranch: status?.branch,
    renderedBranch: targetKind === 'git' ? o['rendered-branch'] : undefined,
  };
  const servers: SyncServer[] = [];
  const ports: { webhook?: number; metrics?: number } = {};
  const bind = o['bind-address'] ?? (ctx.env.KUBERNETES_SERVICE_HOST ? '0.0.0.0' : '127.0.0.1');
  const live = () => true;
  const rec = reconciler;
  return {
    reconciler: rec,
    target,
    metrics,
    logger,
    info,
    leader,
    ports,
    async start() {
      const health = { live, ready: () => rec.ready };
      const webhook =
        o['webhook-port'] !== undefined && webhookSecret
          ? { secret: () => webhookSecret, refs: watchedRefs(source.ref), bot: identity, onPush: () => rec.trigger('webhook') }
          : undefined;
      const shared = o['webhook-port'] !== undefined && o['webhook-port'] === o['metrics-port'];
      if (o['webhook-port'] !== undefined) {
        const s = await startSyncServer({ port: o['webhook-port'], host: bind, webhook, health, metrics: shared ? metrics : undefined, logger });
        servers.push(s);
        ports.webhook = s.port;
        if (shared) ports.metrics = s.port;
      }
      if (o['metrics-port'] !== undefined && !shared) {
        const s = await startSyncServer({ port: o['metrics-port'], host: bind, metrics, health, logger });
        servers.push(s);
        ports.metrics = s.port;
      }
      leader?.start();
      rec.start();
      logger.info({ source: info.sourceUrl, ref: info.ref, root: info.root, target: info.targetDescription, status: info.statusBranch, ports }, 'joch sync started');
    },
    async shutdown(graceMs: number) {
      const finished = await rec.stop(graceMs);
      // A cycle still running may be mid-apply: releasing the Lease would let another replica apply beside it.
      // Kept, the Lease runs out on its own: a lease duration after the others last saw it renewed.
      if (target instanceof ClusterTarget) await target.close();
      await leader?.stop({ release: finished });
      await Promise.all(servers.map((s) => s.close()));
      return finished;
    },
  };
}

function guard<T>(make: () => T): T {
  try {
    return make();
  } catch (e) {
    if (e instanceof GitSourceError) throw new SyncSetupError(e.message);
    throw e;
  }
}

/** The armored public keys commits must be signed with (read once, at start). */
function readVerifyKeys(files: readonly string[], ctx: SyncContext): string[] {
  return files.map((f) => {
    try {
      return fs.readFileSync(path.resolve(ctx.cwd, f), 'utf8');
    } catch (e) {
      throw new SyncSetupError(`cannot read the verify key ${f}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
  });
}

function absolute(repo: string, cwd: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(repo) ? repo : path.resolve(cwd, repo);
}

async function resolveSource(o: SyncOptions, ctx: SyncContext): Promise<ResolvedSource> {
  let url: string;
  let local: string | undefined;
  if (o.repo) {
    url = absolute(o.repo, ctx.cwd);
    local = localRepositoryPath(url);
  } else {
    try {
      local = await git.findRoot({ fs, filepath: ctx.cwd });
    } catch {
      throw new SyncSetupError(`${ctx.cwd} is not inside a Git repository: give --repo URL or run in a clone`);
    }
    url = local;
  }
  const root = o.root ?? (o.repo ? '' : DEFAULT_LOCAL_ROOT);
  let branch = o.branch;
  if (!branch && !o.tag && !o.semver && !o.commit) {
    branch = local && !o.repo ? ((await currentBranch(local)) ?? 'main') : 'main';
  }
  const ref: RefSelector = o.commit
    ? { commit: o.commit, ...(branch ? { branch } : {}) }
    : o.tag
      ? { tag: o.tag }
      : o.semver
        ? { semver: o.semver }
        : { branch: branch as string };
  return { url, local, ref, root, branch: 'branch' in ref ? ref.branch : undefined };
}

async function currentBranch(dir: string): Promise<string | undefined> {
  try {
    return (await git.currentBranch({ fs, dir, fullname: false })) ?? undefined;
  } catch {
    return undefined;
  }
}

async function cacheDirFor(o: SyncOptions, source: ResolvedSource, ctx: SyncContext): Promise<string> {
  if (o['cache-dir']) return path.resolve(ctx.cwd, o['cache-dir']);
  const digest = createHash('sha256').update(source.url).digest('hex').slice(0, 16);
  if (source.local) {
    // Inside the repository's own Git folder: nothing appears in the work tree, and a fresh clone starts clean.
    try {
      return path.join(await localGitdir(source.local), 'joch', digest);
    } catch {
      // not a repository: GitSource reports it on the first cycle
    }
  }
  const base = ctx.env.XDG_CACHE_HOME ?? path.join(ctx.env.HOME ?? homedir(), '.cache');
  return path.join(base, 'joch', digest);
}

function loadKubeconfig(o: SyncOptions, env: Readonly<Record<string, string | undefined>>): KubeConfig | undefined {
  const kc = new KubeConfig();
  try {
    if (o.kubeconfig) {
      kc.loadFromFile(o.kubeconfig);
      return kc;
    }
    if (env.KUBERNETES_SERVICE_HOST && fs.existsSync(path.join(SERVICE_ACCOUNT_DIR, 'token'))) {
      kc.loadFromCluster();
      return kc;
    }
    if (o.target === 'cluster' || o['leader-elect']) {
      kc.loadFromDefault();
      return kc.getCurrentCluster() ? kc : undefined;
    }
  } catch (e) {
    throw new SyncSetupError(`cannot load the kubeconfig: ${errorMessage(e)}`);
  }
  return undefined;
}

/** The cluster stage's refusal of insecure-skip-tls-verify, as a setup error (exit code 2). */
function requireTlsVerification(kubeconfig: KubeConfig, context: string): void {
  try {
    refuseInsecureSkipTlsVerify(kubeconfig);
  } catch (e) {
    throw new SyncSetupError(`${context}: ${errorMessage(e)}`);
  }
}

function podNamespace(): string | undefined {
  try {
    return fs.readFileSync(path.join(SERVICE_ACCOUNT_DIR, 'namespace'), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

async function resolveAuth(o: SyncOptions, kubeconfig: KubeConfig | undefined, secrets: string[]): Promise<GitAuth | undefined> {
  if (o['token-file']) return { kind: 'token', token: { file: o['token-file'] } };
  if (o['token-env']) return { kind: 'token', token: { env: o['token-env'] } };
  if (o.username) {
    return { kind: 'basic', username: o.username, password: o['password-file'] ? { file: o['password-file'] } : { env: o['password-env'] as string } };
  }
  if (!o['auth-secret']) return undefined;
  if (!kubeconfig) throw new SyncSetupError('--auth-secret reads a Kubernetes Secret: it needs a kubeconfig or in-cluster config');
  requireTlsVerification(kubeconfig, `cannot read the Secret ${o['auth-secret']}`);
  const [namespace = '', name = ''] = o['auth-secret'].split('/');
  let data: Record<string, string>;
  try {
    data = (await kubeconfig.makeApiClient(CoreV1Api).readNamespacedSecret({ name, namespace })).data ?? {};
  } catch (e) {
    throw new SyncSetupError(`cannot read the Secret ${o['auth-secret']}: ${(e as { code?: number }).code ?? errorMessage(e)}`);
  }
  const get = (k: string) => (data[k] !== undefined ? Buffer.from(data[k], 'base64').toString('utf8') : undefined);
  const token = get('token');
  const [username, password] = [get('username'), get('password')];
  if (token) {
    secrets.push(token);
    return { kind: 'token', token: { value: token } };
  }
  if (username && password) {
    secrets.push(password);
    return { kind: 'basic', username, password: { value: password } };
  }
  throw new SyncSetupError(`the Secret ${o['auth-secret']} has neither a "token" key nor "username" and "password"`);
}

async function loadSigner(o: SyncOptions, ctx: SyncContext) {
  const file = path.resolve(ctx.cwd, o['sign-key'] as string);
  const passphrase = o['sign-passphrase-env'] ? ctx.env[o['sign-passphrase-env']] : undefined;
  try {
    return await openpgpSigner(await readFile(file, 'utf8'), passphrase);
  } catch (e) {
    throw new SyncSetupError(`cannot use the signing key ${o['sign-key']}: ${errorMessage(e)}`);
  }
}

async function readWebhookSecret(o: SyncOptions, ctx: SyncContext): Promise<string | undefined> {
  if (o['webhook-secret-env']) {
    const v = ctx.env[o['webhook-secret-env']];
    if (!v) throw new SyncSetupError(`the environment variable ${o['webhook-secret-env']} holding the webhook secret is not set`);
    return v;
  }
  if (!o['webhook-secret-file']) return undefined;
  try {
    const v = (await readFile(path.resolve(ctx.cwd, o['webhook-secret-file']), 'utf8')).replace(/\r?\n$/, '');
    if (!v) throw new Error('empty');
    return v;
  } catch (e) {
    throw new SyncSetupError(`cannot read the webhook secret ${o['webhook-secret-file']}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

function watchedRefs(ref: RefSelector): string[] {
  if ('branch' in ref && ref.branch !== undefined) return [`refs/heads/${ref.branch}`];
  if ('tag' in ref) return [`refs/tags/${ref.tag}`];
  return ['refs/tags/'];
}

