/** Per-run state shared by plan, apply and prune: settings, client, mapper. */
import { apiVersionOf, RestMapper, resourcePath, splitApiVersion } from './discovery.js';
import type { ResourceMapping } from './discovery.js';
import { DEFAULT_READY_GROUPS } from './health.js';
import { applySetId, parentRef } from './inventory.js';
import { toClusterError } from './errors.js';
import { ApiError, KubeClient, TransportError } from './transport.js';
import type { ApiCounters, ClusterError, KubeObject, ObjectRef, PlanOptions } from './types.js';

export interface RunSettings {
  fieldManager: string;
  concurrency: number;
  prune: boolean;
  maxPruneShare: number;
  allowMassPrune: boolean;
  force: boolean;
  recreateImmutable: boolean;
  readyGroups: readonly string[];
}

export interface RunContext {
  client: KubeClient;
  mapper: RestMapper;
  settings: RunSettings;
  options: PlanOptions;
  applySetId: string;
  parent: ObjectRef;
  startedAt: number;
}

export function runSettings(o: PlanOptions): RunSettings {
  const maxShare = o.pruneGuard?.maxShare ?? 0.5;
  if (!(maxShare > 0 && maxShare <= 1)) throw new Error(`pruneGuard.maxShare must be in (0, 1], got ${maxShare}`);
  const concurrency = o.concurrency ?? 16;
  if (!(concurrency >= 1)) throw new Error(`concurrency must be at least 1, got ${concurrency}`);
  const fieldManager = o.fieldManager ?? 'joch';
  if (!fieldManager || fieldManager.length > 128) throw new Error('fieldManager must be 1 to 128 characters');
  if (!o.inventory?.name || !o.inventory.namespace) throw new Error('inventory.name and inventory.namespace are required');
  return {
    fieldManager,
    concurrency,
    prune: o.prune ?? true,
    maxPruneShare: maxShare,
    allowMassPrune: o.pruneGuard?.allowMassPrune ?? false,
    force: o.force ?? false,
    recreateImmutable: o.recreateImmutable ?? false,
    readyGroups: o.readyConditionGroups ?? DEFAULT_READY_GROUPS,
  };
}

export async function openClient(o: PlanOptions | { kubeconfig: PlanOptions['kubeconfig']; concurrency?: number; requestTimeoutMs?: number; attempts?: number }): Promise<KubeClient> {
  return KubeClient.create(o.kubeconfig, {
    concurrency: o.concurrency ?? 16,
    requestTimeoutMs: o.requestTimeoutMs ?? 30_000,
    attempts: Math.max(1, o.attempts ?? 3),
  });
}

export async function openRun(options: PlanOptions, client: KubeClient): Promise<RunContext> {
  const settings = runSettings(options);
  const mapper = await RestMapper.discover(client);
  return {
    client,
    mapper,
    settings,
    options,
    applySetId: applySetId(options.inventory),
    parent: parentRef(options.inventory),
    startedAt: Date.now(),
  };
}

// ---------------------------------------------------------------------------
// Requests every stage makes

export function getObject(ctx: RunContext, m: ResourceMapping, namespace: string | undefined, name: string): Promise<KubeObject> {
  return ctx.client.request<KubeObject>({ method: 'GET', path: resourcePath(m, namespace, name), counter: 'reads' });
}

/** GET that answers undefined for 404. */
export async function getIfExists(ctx: RunContext, m: ResourceMapping, namespace: string | undefined, name: string): Promise<KubeObject | undefined> {
  try {
    return withTypeMeta(await getObject(ctx, m, namespace, name), m);
  } catch (err) {
    if ((err as { status?: number }).status === 404) return undefined;
    throw err;
  }
}

export interface ListOptions {
  labelSelector?: string;
  limit?: number;
  /** Stop after the page holding an item for which this is true (enough to know that one exists). */
  stopWhen?: (item: KubeObject) => boolean;
}

/** Lists a collection, page by page; a namespace that does not exist lists empty. */
export async function listObjects(ctx: RunContext, m: ResourceMapping, namespace: string | undefined, opts: ListOptions = {}): Promise<KubeObject[]> {
  const out: KubeObject[] = [];
  let cont: string | undefined;
  do {
    const page = await ctx.client.request<{ items?: KubeObject[]; metadata?: { continue?: string } }>({
      method: 'GET',
      path: resourcePath(m, namespace),
      query: { labelSelector: opts.labelSelector, limit: String(opts.limit ?? 1000), continue: cont },
      counter: 'lists',
    });
    let stop = false;
    for (const item of page.items ?? []) {
      out.push(withTypeMeta(item, m));
      stop ||= opts.stopWhen?.(item) ?? false;
    }
    cont = stop ? undefined : page.metadata?.continue || undefined;
  } while (cont);
  return out;
}

/** List items of built-in kinds come without apiVersion/kind. */
export function withTypeMeta(obj: KubeObject, m: ResourceMapping): KubeObject {
  if (!obj.apiVersion || !obj.kind) {
    obj.apiVersion = apiVersionOf(m);
    obj.kind = m.kind;
  }
  return obj;
}

/** Server-side apply (optionally dry-run) of one object. */
export function applyObject(
  ctx: RunContext,
  m: ResourceMapping,
  obj: KubeObject,
  opts: { dryRun: boolean; force: boolean; subresource?: string },
): Promise<KubeObject> {
  return ctx.client.request<KubeObject>({
    method: 'PATCH',
    path: resourcePath(m, obj.metadata.namespace, obj.metadata.name, opts.subresource),
    query: {
      fieldManager: ctx.settings.fieldManager,
      force: opts.force ? 'true' : undefined,
      dryRun: opts.dryRun ? 'All' : undefined,
    },
    // JSON is YAML: the apply-patch+yaml content type accepts it.
    contentType: 'application/apply-patch+yaml',
    body: obj,
    counter: opts.dryRun ? 'dryRuns' : 'writes',
  });
}

/** Deletes one object only if it is still the one we saw (uid precondition). */
export function deleteObject(ctx: RunContext, m: ResourceMapping, live: KubeObject): Promise<unknown> {
  const uid = live.metadata['uid'];
  return ctx.client.request({
    method: 'DELETE',
    path: resourcePath(m, live.metadata.namespace, live.metadata.name),
    body: {
      apiVersion: 'v1',
      kind: 'DeleteOptions',
      propagationPolicy: 'Background',
      ...(typeof uid === 'string' ? { preconditions: { uid } } : {}),
    },
    counter: 'deletes',
  });
}

export function refOf(obj: KubeObject): ObjectRef {
  return {
    apiVersion: obj.apiVersion,
    kind: obj.kind,
    ...(obj.metadata.namespace ? { namespace: obj.metadata.namespace } : {}),
    name: obj.metadata.name,
  };
}

/** Identity of an object across API versions: group, kind, namespace, name. */
export function objectKey(apiVersion: string, kind: string, namespace: string | undefined, name: string): string {
  return `${splitApiVersion(apiVersion).group}/${kind}/${namespace ?? ''}/${name}`;
}

/**
 * Opens a client and a run, runs `body`, and always closes the client. When
 * the API server cannot be reached to start the run (discovery, the
 * inventory), `unreachable` turns that into a result instead of a throw.
 */
export async function withRun<T>(
  options: PlanOptions,
  body: (ctx: RunContext) => Promise<T>,
  unreachable: (error: ClusterError, counters: ApiCounters, startedAt: number) => T,
): Promise<T> {
  const startedAt = Date.now();
  const client = await openClient(options);
  try {
    let ctx: RunContext;
    try {
      ctx = await openRun(options, client);
    } catch (err) {
      if (!(err instanceof TransportError || err instanceof ApiError)) throw err;
      return unreachable(toClusterError(err, 'discovery', {}), { ...client.counters }, startedAt);
    }
    return await body(ctx);
  } finally {
    client.close();
  }
}
