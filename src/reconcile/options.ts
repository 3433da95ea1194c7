/**
 * Every option of `joch sync`, from flags and from `JOCH_SYNC_*` environment
 * variables (a flag wins), validated with zod in one place so a typo in a
 * Deployment's env is an error at start, not a silent default.
 */
import { z } from 'zod';

/** `250ms`, `30s`, `5m`, `1h`, or a bare number of seconds. */
export function parseDuration(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(text);
  if (!m) return undefined;
  const value = Number(m[1]);
  const unit = m[2] ?? 's';
  const factor = unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 3_600_000;
  return Math.round(value * factor);
}

const Duration = z
  .union([z.string(), z.number()])
  .transform((v, ctx) => {
    const ms = typeof v === 'number' ? v * 1000 : parseDuration(v);
    if (ms === undefined || !Number.isFinite(ms) || ms < 0) {
      ctx.addIssue({ code: 'custom', message: 'must be a duration such as 500ms, 30s, 5m or 1h' });
      return z.NEVER;
    }
    return ms;
  });

const Port = z.coerce.number().int().min(0).max(65535);
const Bool = z.union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no'])]).transform((v) => v === true || v === 'true' || v === '1' || v === 'yes');
const Name = z.string().min(1);
const BranchName = z.string().regex(/^(?!-)(?!.*\.\.)(?!.*\/\/)[^\s~^:?*[\\]+(?<!\/)(?<!\.lock)$/, 'must be a valid branch name');

import { SYNC_FLAGS, type SyncFlag } from './flags.js';

export { SYNC_FLAGS, type SyncFlag } from './flags.js';

export const SyncOptionsSchema = z
  .strictObject({
    once: Bool.default(false),
    repo: Name.optional(),
    branch: BranchName.optional(),
    tag: Name.optional(),
    semver: Name.optional(),
    commit: z.string().regex(/^[0-9a-f]{40}$/, 'must be a full 40-character commit id').optional(),
    root: z.string().optional(),
    'ignore-file': Name.optional(),
    'cache-dir': Name.optional(),
    'token-file': Name.optional(),
    'token-env': Name.optional(),
    username: Name.optional(),
    'password-file': Name.optional(),
    'password-env': Name.optional(),
    'auth-secret': z.string().regex(/^[a-z0-9-]+\/[a-z0-9.-]+$/, 'must be NAMESPACE/NAME').optional(),
    'verify-key': z.array(Name).default([]),
    interval: Duration.default(60_000).pipe(z.number().min(100, 'must be at least 100ms')),
    jitter: z.coerce.number().min(0).max(1).default(0.1),
    'drift-interval': Duration.default(300_000),
    'backoff-initial': Duration.default(2_000).pipe(z.number().min(1)),
    'backoff-max': Duration.default(300_000),
    suspend: Bool.default(false),
    target: z.enum(['cluster', 'git', 'folder']).optional(),
    kubeconfig: Name.optional(),
    'rendered-branch': BranchName.default('joch/rendered'),
    'rendered-repo': Name.optional(),
    output: Name.optional(),
    'status-branch': BranchName.optional(),
    'status-repo': Name.optional(),
    'no-status': Bool.default(false),
    'bot-name': Name.default('joch-bot'),
    'bot-email': z.email().default('joch-bot@noreply.invalid'),
    'sign-key': Name.optional(),
    'sign-passphrase-env': Name.optional(),
    'webhook-port': Port.optional(),
    'webhook-secret-file': Name.optional(),
    'webhook-secret-env': Name.optional(),
    'metrics-port': Port.optional(),
    'bind-address': Name.optional(),
    'leader-elect': Bool.default(false),
    'lease-name': z.string().regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'must be a DNS-1123 name').optional(),
    cluster: z.array(z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a cluster name of joch.yaml (a DNS-1123 label)')).default([]),
    'lease-namespace': z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/).optional(),
    'lease-duration': Duration.default(15_000).pipe(z.number().min(1000, 'must be at least 1s')),
    identity: Name.optional(),
    'inventory-name': Name.default('joch-inventory'),
    'inventory-namespace': z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/).default('joch-system'),
    'field-manager': Name.default('joch'),
    'shutdown-grace': Duration.default(30_000),
    'log-level': z.enum(['trace', 'debug', 'info', 'warn', 'error', 'silent']).default('info'),
  })
  .refine((o) => [o.branch, o.tag, o.semver].filter((x) => x !== undefined).length <= 1, {
    message: 'give at most one of --branch, --tag and --semver',
    path: ['branch'],
  })
  .refine((o) => o.commit === undefined || (o.tag === undefined && o.semver === undefined), {
    message: '--commit goes with --branch only',
    path: ['commit'],
  })
  .refine((o) => [o['token-file'], o['token-env'], o['auth-secret'], o.username].filter((x) => x !== undefined).length <= 1, {
    message: 'give one way to authenticate: --token-file, --token-env, --username with a password, or --auth-secret',
    path: ['token-file'],
  })
  .refine((o) => o.username === undefined || (o['password-file'] === undefined) !== (o['password-env'] === undefined), {
    message: '--username needs exactly one of --password-file and --password-env',
    path: ['username'],
  })
  .refine((o) => o['webhook-port'] === undefined || o['webhook-secret-file'] !== undefined || o['webhook-secret-env'] !== undefined, {
    message: 'the webhook needs a secret: --webhook-secret-file or --webhook-secret-env',
    path: ['webhook-port'],
  })
  .refine((o) => o.target !== 'folder' || o.output !== undefined, { message: 'target folder needs --output DIR', path: ['output'] })
  .refine((o) => o['backoff-max'] >= o['backoff-initial'], { message: 'must not be below --backoff-initial', path: ['backoff-max'] })
  .refine((o) => (o['status-branch'] ?? shardName('joch/status', o.cluster)) !== o['rendered-branch'], { message: 'the status and rendered branches must differ', path: ['status-branch'] })
  .refine((o) => o.cluster.length === 0 || o.target === undefined || o.target === 'cluster', { message: '--cluster shards a sync to clusters: it goes with --target cluster', path: ['cluster'] })
  .transform((o) => ({ ...o, 'status-branch': o['status-branch'] ?? shardName('joch/status', o.cluster), 'lease-name': o['lease-name'] ?? shardName('joch-sync', o.cluster) }));

/**
 * The default name of a shard's Lease and status branch: two replicas of
 * different shards never contend for one Lease nor rewrite each other's
 * summary. Without shards, the names of a single reconciler.
 */
export function shardName(base: string, clusters: readonly string[]): string {
  if (clusters.length === 0) return base;
  const name = `${base}-${[...new Set(clusters)].sort().join('-')}`;
  return name.length <= 63 ? name : `${name.slice(0, 54)}-${hash8(name)}`;
}

function hash8(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

export type SyncOptions = z.infer<typeof SyncOptionsSchema>;

export type RawSyncOptions = Partial<Record<SyncFlag, string | boolean | string[]>>;

/** Flags first, then `JOCH_SYNC_*` variables; returns the validated options or the list of problems. */
export function parseSyncOptions(
  flags: RawSyncOptions,
  env: Readonly<Record<string, string | undefined>>,
): { ok: true; options: SyncOptions } | { ok: false; errors: string[] } {
  const merged: Record<string, unknown> = {};
  for (const [name, [variable, type]] of Object.entries(SYNC_FLAGS)) {
    const flag = flags[name as SyncFlag];
    const fromEnv = env[variable];
    if (flag !== undefined) merged[name] = flag;
    else if (fromEnv !== undefined && fromEnv !== '') merged[name] = type === 'strings' ? fromEnv.split(',').map((s) => s.trim()).filter(Boolean) : fromEnv;
  }
  const parsed = SyncOptionsSchema.safeParse(merged);
  if (parsed.success) return { ok: true, options: parsed.data };
  return {
    ok: false,
    errors: parsed.error.issues.map((i) => {
      const key = String(i.path[0] ?? '');
      const variable = key in SYNC_FLAGS ? SYNC_FLAGS[key as SyncFlag][0] : undefined;
      return `--${key}${variable ? ` (${variable})` : ''}: ${i.message}`;
    }),
  };
}
