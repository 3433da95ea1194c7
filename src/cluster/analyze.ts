/**
 * The read-only half of a run, shared by planApply and applySet:
 *
 * 1. check the input and resolve every kind (discovery, or the spec of a
 *    CRD in the desired set);
 * 2. read the ApplySet parent and list the live members: one LIST per
 *    member type and namespace, filtered by the part-of label;
 * 3. find the live object of desired objects that are not members yet
 *    (GET, or one LIST when many share a type and namespace);
 * 4. compare each desired object with its live object, restricted to the
 *    fields our field manager owns: equal objects are done, with no dry-run
 *    and no write (the cheap no-op);
 * 5. server-side dry-run every changed object that can be validated now, and
 *    collect every failure at once;
 * 6. work out what to prune and check the prune guard.
 *
 * Step 5 cannot validate everything up front: the API server cannot
 * dry-run a custom resource whose CRD is not served yet, nor an object in a
 * namespace that does not exist yet. Those objects are `deferred` and
 * dry-run at their stage, after the CRDs and Namespaces they need are
 * applied (see apply.ts).
 */
import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { apiVersionOf, groupKind, mappingsFromCrd, splitApiVersion } from './discovery.js';
import { convergesOnItsOwn } from './health.js';
import type { ResourceMapping } from './discovery.js';
import { conflictManagers, describeRef, isImmutableError, toClusterError } from './errors.js';
import { compareOwned, isObject, ownedFields } from './fieldset.js';
import { getIfExists, listObjects, objectKey, applyObject, refOf } from './context.js';
import type { RunContext } from './context.js';
import {
  APPLYSET_PART_OF_LABEL,
  parentProblem,
  parseGroupKind,
  readInventoryState,
} from './inventory.js';
import type { InventoryState } from './inventory.js';
import {
  creationDiff,
  isCrd,
  isNamespace,
  maskSecretChanges,
  SOURCE_COMMIT_ANNOTATION,
  toApplyConfiguration,
  withSourceCommit,
} from './normalize.js';
import { mapLimit } from './pool.js';
import { desiredKeys, planPrune } from './prune.js';
import type { PruneCandidate } from './prune.js';
import { ApiError, sleep } from './transport.js';
import type {
  AppliedState,
  ClusterError,
  DesiredObject,
  FieldChange,
  Health,
  KubeObject,
  ObjectRef,
  Origin,
  PlannedAction,
  Stage,
} from './types.js';

export interface Entry {
  index: number;
  origin?: Origin;
  ref: ObjectRef;
  key: string;
  gk: string;
  mapping: ResourceMapping;
  /** The API server serves this kind now (false: its CRD is created in this run). */
  served: boolean;
  stage: Stage;
  applied: KubeObject;
  /** Of the apply configuration as first built: what an AppliedState remembers the entry by. */
  hash: string;
  live?: KubeObject;
  action: PlannedAction;
  reasons: string[];
  diff: FieldChange[];
  validation: 'dry-run' | 'deferred' | 'none';
  deferredBecause?: string;
  /** Apply with force: the user asked, or the only conflicts are imperative edits (drift). */
  force: boolean;
  error?: ClusterError;
  /** Set by apply: the object the API server returned. */
  result?: KubeObject;
  /** Unchanged since the `since` state: not read from the cluster; its health is the one seen then. */
  trusted?: Health;
  /** Set by a wait that timed out: the health with the reason read from the objects behind it. */
  explained?: Health;
  outcome?: 'created' | 'configured' | 'recreated' | 'failed' | 'skipped';
}

export interface Member {
  key: string;
  live: KubeObject;
  mapping: ResourceMapping;
}

export interface Analysis {
  entries: Entry[];
  members: Map<string, Member>;
  /** Members of the ApplySet: those listed, or those of the `since` state. */
  inventorySize: number;
  parentLive?: KubeObject;
  parentState: InventoryState;
  /**
   * False when the parent or some member could not be read: pruning must not
   * run on a partial view, and the run's state must not be trusted later.
   */
  inventoryComplete: boolean;
  /** Only the objects that changed since the `since` state were read: the run has not seen every member. */
  incremental: boolean;
  /**
   * Members the cluster serves no kind for right now (their CRD is gone, or
   * discovery missed their group): nothing can be deleted, but they are
   * remembered, keys for the next incremental run, group-kinds on the parent.
   */
  unresolved: { keys: string[]; groupKinds: string[] };
  prune: PruneCandidate[];
  /**
   * The inventory's namespace does not exist and no desired object creates
   * it: the apply creates it first (first contact with an empty cluster).
   */
  createInventoryNamespace: boolean;
  errors: ClusterError[];
}

const LIST_INSTEAD_OF_GETS = 8;

export async function analyze(ctx: RunContext, desired: readonly DesiredObject[]): Promise<Analysis> {
  const errors: ClusterError[] = [];
  const entries = resolveEntries(ctx, desired, errors);
  const { parentLive, parentState, parentRead } = await readParent(ctx, errors);
  const createInventoryNamespace = !parentLive && parentRead && (await inventoryNamespaceMissing(ctx, entries));
  const created = createInventoryNamespace ? [ctx.options.inventory.namespace] : [];
  const since = ctx.options.since?.applySetId === ctx.applySetId ? ctx.options.since : undefined;
  const wanted = desiredKeys(desired);
  const found = since ? await lookUpRemoved(ctx, since, wanted, errors) : await listMembers(ctx, entries, parentState, errors);
  const { members, unresolved } = found;
  const complete = found.complete && parentRead;
  if (since) trustUnchanged(entries, since);
  const open = entries.filter((e) => !e.trusted);
  await lookUpNonMembers(ctx, open, members, created);
  for (const e of open) if (!e.error) compareEntry(ctx, e);
  markDeferred(entries, created);
  await dryRunAll(ctx, entries.filter((e) => !e.error && e.action !== 'unchanged' && e.validation !== 'deferred'));
  for (const e of entries) if (e.error) errors.push(e.error);
  const inventorySize = since ? Object.keys(since.objects).length : members.size;
  const prune = await planPrune(ctx, entries, wanted, members, complete, errors, inventorySize);
  return {
    entries,
    members,
    inventorySize,
    ...(parentLive ? { parentLive } : {}),
    parentState,
    inventoryComplete: complete,
    incremental: since !== undefined,
    unresolved,
    prune,
    createInventoryNamespace,
    errors: dedupe(errors),
  };
}

function configurationHash(applied: KubeObject): string {
  return createHash('sha256').update(JSON.stringify(applied)).digest('hex');
}

/**
 * Objects applied last time with exactly this content are up to date without
 * a read. A rollout in progress or a failed Job changes with no change of
 * ours, so such an object is read again until it is Current. A custom
 * resource a controller reports as not Ready is not: its controller may be
 * gone, and reading it on every run would undo the point of trusting; the
 * drift check reads it.
 */
function trustUnchanged(entries: Entry[], since: AppliedState): void {
  for (const e of entries) {
    const last = since.objects[e.key];
    if (e.error || !last || last.hash !== e.hash) continue;
    if (last.health.status !== 'Current' && convergesOnItsOwn(e.ref.apiVersion, e.ref.kind)) continue;
    e.action = 'unchanged';
    e.validation = 'none';
    e.trusted = last.health;
  }
}

interface MemberView {
  members: Map<string, Member>;
  complete: boolean;
  unresolved: { keys: string[]; groupKinds: string[] };
}

/**
 * The members that may have to be pruned: objects applied last time that
 * left the desired set, read one by one (the rest of the ApplySet is not
 * listed). Only objects still carrying our part-of label are members. One
 * that cannot be read stops pruning for this run: it is an error, so the
 * run is retried, and the retry reads the whole ApplySet.
 */
async function lookUpRemoved(ctx: RunContext, since: AppliedState, wanted: Set<string>, errors: ClusterError[]): Promise<MemberView> {
  const members = new Map<string, Member>();
  const unresolved: string[] = [];
  let complete = true;
  const removed = Object.keys(since.objects).filter((k) => !wanted.has(k));
  await mapLimit(removed, ctx.settings.concurrency, async (key) => {
    const [group = '', kind = '', namespace = '', ...rest] = key.split('/');
    const name = rest.join('/');
    const mapping = ctx.mapper.findPreferred(group, kind);
    if (!mapping) {
      unresolved.push(key);
      return;
    }
    try {
      const live = await getIfExists(ctx, mapping, namespace || undefined, name);
      if (live?.metadata.labels?.[APPLYSET_PART_OF_LABEL] === ctx.applySetId) members.set(key, { key, live, mapping });
    } catch (err) {
      complete = false;
      const ref: ObjectRef = { apiVersion: apiVersionOf(mapping), kind, ...(namespace ? { namespace } : {}), name };
      errors.push(withPrefix(toClusterError(err, 'inventory', { ref }), `cannot read ${describeRef(ref)}, which left the desired set; nothing is pruned in this run`));
    }
  });
  return { members, complete, unresolved: { keys: unresolved.sort(), groupKinds: [] } };
}

// ---------------------------------------------------------------------------
// 1. Input and kinds

function resolveEntries(ctx: RunContext, desired: readonly DesiredObject[], errors: ClusterError[]): Entry[] {
  const pending = pendingCrdMappings(desired);
  const seen = new Map<string, Origin | undefined>();
  const entries: Entry[] = [];
  desired.forEach((d, index) => {
    const obj = d.object as Partial<KubeObject> | undefined;
    const origin = d.origin;
    const problem = inputProblem(obj);
    if (problem || !obj) {
      errors.push({ code: 'invalid-object', phase: 'input', message: problem ?? 'not an object', ...(origin ? { origin } : {}) });
      return;
    }
    const o = obj as KubeObject;
    const ref = refOf(o);
    const subject = { ref, ...(origin ? { origin } : {}) };
    const { group } = splitApiVersion(o.apiVersion);
    const discovered = ctx.mapper.find(o.apiVersion, o.kind);
    const mapping = discovered ?? pending.get(`${o.apiVersion}/${o.kind}`);
    if (!mapping) {
      errors.push({ ...subject, code: 'unknown-kind', phase: 'discovery', message: `the cluster serves no kind ${o.kind} in ${o.apiVersion}, and no CRD in the desired set defines it` });
      return;
    }
    if (mapping.namespaced && !o.metadata.namespace) {
      errors.push({ ...subject, code: 'invalid-object', phase: 'input', message: `${o.kind} is namespaced but metadata.namespace is not set` });
      return;
    }
    if (!mapping.namespaced && o.metadata.namespace) {
      errors.push({ ...subject, code: 'invalid-object', phase: 'input', message: `${o.kind} is cluster-scoped but metadata.namespace is set to ${o.metadata.namespace}` });
      return;
    }
    const key = objectKey(o.apiVersion, o.kind, o.metadata.namespace, o.metadata.name);
    if (seen.has(key)) {
      const first = seen.get(key);
      errors.push({
        ...subject,
        code: 'duplicate',
        phase: 'input',
        message: `defined twice${first ? ` (first at ${first.file}:${first.line}:${first.column})` : ''}`,
      });
      return;
    }
    seen.set(key, origin);
    const applied = toApplyConfiguration(o, ctx.applySetId);
    entries.push({
      index,
      ...(origin ? { origin } : {}),
      ref,
      key,
      gk: groupKind(group, o.kind),
      mapping,
      served: discovered !== undefined,
      stage: isCrd(ref) ? 'crds' : mapping.namespaced ? 'namespaced' : 'cluster',
      applied,
      hash: configurationHash(applied),
      action: 'create',
      reasons: [],
      diff: [],
      validation: 'none',
      force: ctx.settings.force,
    });
  });
  return entries;
}

function inputProblem(obj: Partial<KubeObject> | undefined): string | undefined {
  if (!isObject(obj)) return 'not an object';
  if (typeof obj.apiVersion !== 'string' || !obj.apiVersion) return 'apiVersion is missing';
  if (typeof obj.kind !== 'string' || !obj.kind) return 'kind is missing';
  if (!isObject(obj.metadata)) return 'metadata is missing';
  // Pruning and no-op detection key on names: generated names cannot work.
  if (typeof obj.metadata.name !== 'string' || !obj.metadata.name) return 'metadata.name is missing (generateName is not supported)';
  return undefined;
}

function pendingCrdMappings(desired: readonly DesiredObject[]): Map<string, ResourceMapping> {
  const out = new Map<string, ResourceMapping>();
  for (const d of desired) {
    if (!isObject(d.object) || !isCrd(d.object)) continue;
    for (const m of mappingsFromCrd(d.object)) out.set(`${m.group}/${m.version}/${m.kind}`, { ...m });
  }
  return out;
}

// ---------------------------------------------------------------------------
// 2. Parent and members

async function readParent(ctx: RunContext, errors: ClusterError[]): Promise<{ parentLive?: KubeObject; parentState: InventoryState; parentRead: boolean }> {
  const inv = ctx.options.inventory;
  const mapping = ctx.mapper.find('v1', ctx.parent.kind);
  let parentLive: KubeObject | undefined;
  let parentRead = mapping !== undefined;
  try {
    if (mapping) parentLive = await getIfExists(ctx, mapping, inv.namespace, inv.name);
  } catch (err) {
    parentRead = false;
    errors.push(inventoryError(ctx, err, 'cannot read the ApplySet parent'));
  }
  if (parentLive) {
    const problem = parentProblem(parentLive, ctx.applySetId);
    if (problem) {
      errors.push({ code: 'ownership', phase: 'inventory', ref: ctx.parent, message: `cannot use ${describeRef(ctx.parent)} as the ApplySet parent: ${problem}` });
    }
  }
  return { ...(parentLive ? { parentLive } : {}), parentState: readInventoryState(parentLive, inv), parentRead };
}

/**
 * Whether the namespace the ApplySet parent lives in is missing and nothing
 * desired creates it. Asked only when the parent was not found (a parent
 * implies its namespace). A namespace we may not read is assumed to exist:
 * writing the parent then says what is wrong.
 */
async function inventoryNamespaceMissing(ctx: RunContext, entries: readonly Entry[]): Promise<boolean> {
  const name = ctx.options.inventory.namespace;
  if (entries.some((e) => isNamespace(e.ref) && e.ref.name === name)) return false;
  const mapping = ctx.mapper.find('v1', 'Namespace');
  if (!mapping) return false;
  try {
    return (await getIfExists(ctx, mapping, undefined, name)) === undefined;
  } catch {
    return false;
  }
}

function inventoryError(ctx: RunContext, err: unknown, what: string): ClusterError {
  const e = toClusterError(err, 'inventory', { ref: ctx.parent });
  return { ...e, message: `${what}: ${e.message}` };
}

interface Bucket {
  mapping: ResourceMapping;
  namespace: string | undefined;
}

async function listMembers(
  ctx: RunContext,
  entries: Entry[],
  parentState: InventoryState,
  errors: ClusterError[],
): Promise<MemberView> {
  const byGk = new Map<string, ResourceMapping>();
  const unresolved: string[] = [];
  for (const gk of parentState.groupKinds) {
    const { group, kind } = parseGroupKind(gk);
    const m = ctx.mapper.findPreferred(group, kind);
    if (m) byGk.set(gk, m);
    else unresolved.push(gk);
  }
  // List at the desired version, so managedFields compare like for like.
  for (const e of entries) if (e.served) byGk.set(e.gk, e.mapping);
  const namespaces = new Set(parentState.namespaces);
  for (const e of entries) if (e.ref.namespace) namespaces.add(e.ref.namespace);

  const members = new Map<string, Member>();
  let complete = true;
  const selector = `${APPLYSET_PART_OF_LABEL}=${ctx.applySetId}`;
  const record = (items: readonly KubeObject[], mapping: ResourceMapping) => {
    for (const live of items) {
      const key = objectKey(live.apiVersion, live.kind, live.metadata.namespace, live.metadata.name);
      members.set(key, { key, live, mapping });
    }
  };

  // One LIST per namespaced kind across all namespaces when the identity may
  // (a fleet spans dozens of namespaces: 20 lists instead of 380); a
  // namespace-limited identity is refused and lists namespace by namespace.
  const buckets: Bucket[] = [];
  const wide: ResourceMapping[] = [];
  for (const m of byGk.values()) {
    if (!m.namespaced) buckets.push({ mapping: m, namespace: undefined });
    else if (namespaces.size > 1) wide.push(m);
    else for (const ns of namespaces) buckets.push({ mapping: m, namespace: ns });
  }
  await mapLimit(wide, ctx.settings.concurrency, async (m) => {
    try {
      record(await listObjects(ctx, m, undefined, { labelSelector: selector }), m);
    } catch {
      // Per namespace instead: that also says precisely which namespace failed.
      for (const ns of namespaces) buckets.push({ mapping: m, namespace: ns });
    }
  });
  await mapLimit(buckets, ctx.settings.concurrency, async (b) => {
    try {
      record(await listObjects(ctx, b.mapping, b.namespace, { labelSelector: selector }), b.mapping);
    } catch (err) {
      complete = false;
      const affected = entries.filter((e) => e.gk === groupKind(b.mapping.group, b.mapping.kind) && e.ref.namespace === b.namespace && !e.error);
      const what = `cannot list ${b.mapping.resource}${b.namespace ? ` in namespace ${b.namespace}` : ''} to read the ApplySet members`;
      if (affected.length === 0) errors.push(inventoryError(ctx, err, what));
      for (const e of affected) e.error = withPrefix(toClusterError(err, 'inventory', e), what);
    }
  });
  const desiredGks = new Set(entries.map((e) => e.gk));
  return { members, complete, unresolved: { keys: [], groupKinds: unresolved.filter((gk) => !desiredGks.has(gk)) } };
}

function withPrefix(e: ClusterError, what: string): ClusterError {
  return { ...e, message: `${what}: ${e.message}` };
}

// ---------------------------------------------------------------------------
// 3. Live objects of desired objects that are not members yet

async function lookUpNonMembers(ctx: RunContext, entries: Entry[], members: Map<string, Member>, created: readonly string[]): Promise<void> {
  for (const e of entries) {
    const m = members.get(e.key);
    if (m) e.live = m.live;
  }
  const unknown = (e: Entry): boolean => !e.error && !e.live && e.served;
  // Cluster-scoped first: whether a desired Namespace exists tells whether
  // anything inside it can exist.
  await lookUp(ctx, entries.filter((e) => e.stage !== 'namespaced' && unknown(e)));
  const newNamespaces = new Set([...created, ...entries.filter((e) => isNamespace(e.ref) && !e.live && !e.error).map((e) => e.ref.name)]);
  await lookUp(ctx, entries.filter((e) => e.stage === 'namespaced' && unknown(e) && !newNamespaces.has(e.ref.namespace ?? '')));
}

async function lookUp(ctx: RunContext, entries: Entry[]): Promise<void> {
  const buckets = new Map<string, Entry[]>();
  for (const e of entries) {
    const k = `${e.mapping.group}/${e.mapping.version}/${e.mapping.kind}/${e.ref.namespace ?? ''}`;
    const bucket = buckets.get(k);
    if (bucket) bucket.push(e);
    else buckets.set(k, [e]);
  }
  const tasks: (() => Promise<void>)[] = [];
  for (const group of buckets.values()) {
    const first = group[0] as Entry;
    if (group.length > LIST_INSTEAD_OF_GETS) {
      tasks.push(async () => {
        try {
          const byName = new Map((await listObjects(ctx, first.mapping, first.ref.namespace)).map((o) => [o.metadata.name, o]));
          for (const e of group) {
            const live = byName.get(e.ref.name);
            if (live) e.live = live;
          }
        } catch (err) {
          for (const e of group) e.error = toClusterError(err, 'preflight', e);
        }
      });
    } else {
      for (const e of group) {
        tasks.push(async () => {
          try {
            const live = await getIfExists(ctx, e.mapping, e.ref.namespace, e.ref.name);
            if (live) e.live = live;
          } catch (err) {
            e.error = toClusterError(err, 'preflight', e);
          }
        });
      }
    }
  }
  await mapLimit(tasks, ctx.settings.concurrency, (t) => t());
}

// ---------------------------------------------------------------------------
// 4. Compare with the fields we own

function compareEntry(ctx: RunContext, e: Entry): void {
  const live = e.live;
  if (!live) {
    e.action = 'create';
    e.reasons = ['new'];
    e.diff = maskSecretChanges(e.ref, creationDiff(e.applied));
    return;
  }
  const meta = live.metadata;
  if (meta['deletionTimestamp']) {
    e.error = { code: 'terminating', phase: 'preflight', ref: e.ref, ...(e.origin ? { origin: e.origin } : {}), message: 'the live object is being deleted; run again once it is gone' };
    return;
  }
  const partOf = meta.labels?.[APPLYSET_PART_OF_LABEL];
  if (partOf && partOf !== ctx.applySetId && !ctx.settings.force) {
    e.error = {
      code: 'ownership',
      phase: 'preflight',
      ref: e.ref,
      ...(e.origin ? { origin: e.origin } : {}),
      message: `belongs to another ApplySet (${APPLYSET_PART_OF_LABEL}=${partOf}); apply with force to take it over`,
    };
    return;
  }
  if (!partOf && !claimUnlabelled(ctx, e, live)) return;
  // The commit an object was last changed by is not part of its content: compare (and dry-run) with the live one.
  e.applied = withSourceCommit(e.applied, live.metadata.annotations?.[SOURCE_COMMIT_ANNOTATION]);
  const owned = ownedFields(live, ctx.settings.fieldManager, e.applied.apiVersion);
  const builtIn = !e.mapping.group.includes('.') || e.mapping.group.endsWith('.k8s.io');
  const { changes, unownedEqual } = compareOwned(e.applied, live, owned, { quantities: builtIn });
  if (changes.length === 0 && unownedEqual === 0) {
    e.action = 'unchanged';
    e.validation = 'none';
    return;
  }
  e.action = 'update';
  e.diff = maskSecretChanges(e.ref, changes);
  const reasons: string[] = [];
  if (!owned) reasons.push(partOf ? 'not applied by this field manager yet' : isNamespace(e.ref) ? 'manage an existing namespace (not a member: never pruned)' : 'adopt an existing object');
  if (changes.length) reasons.push(`${changes.length} field${changes.length === 1 ? ' differs' : 's differ'}`);
  if (unownedEqual) reasons.push(`take ownership of ${unownedEqual} field${unownedEqual === 1 ? '' : 's'}`);
  e.reasons = reasons;
}

/**
 * A live object without our part-of label. Taking it into the ApplySet would
 * let a later run prune what someone else created, so:
 * - a Namespace is applied without the label, even with `force`: its labels
 *   and annotations are managed, but it is never a member, so never pruned
 *   (platform teams often create namespaces up front, and deleting one
 *   deletes everything in it);
 * - an object this field manager applied before (the label was removed by
 *   hand) gets its label back;
 * - anything else is adopted only with `force`, and is an ownership error
 *   without.
 */
function claimUnlabelled(ctx: RunContext, e: Entry, live: KubeObject): boolean {
  if (isNamespace(e.ref)) {
    e.applied = withoutPartOfLabel(e.applied);
    return true;
  }
  if (ctx.settings.force || appliesAs(live, ctx.settings.fieldManager)) return true;
  e.error = {
    code: 'ownership',
    phase: 'preflight',
    ref: e.ref,
    ...(e.origin ? { origin: e.origin } : {}),
    message: `already exists and was not created by this ApplySet (no ${APPLYSET_PART_OF_LABEL} label); apply with force to adopt it, after which it is pruned when it leaves the desired set`,
  };
  return false;
}

function withoutPartOfLabel(applied: KubeObject): KubeObject {
  const { [APPLYSET_PART_OF_LABEL]: _ours, ...labels } = applied.metadata.labels ?? {};
  return { ...applied, metadata: { ...applied.metadata, labels } };
}

function markDeferred(entries: Entry[], created: readonly string[]): void {
  const changingCrdKinds = new Set<string>();
  for (const e of entries) {
    if (e.stage !== 'crds' || e.action === 'unchanged' || e.error) continue;
    for (const m of mappingsFromCrd(e.applied)) changingCrdKinds.add(groupKind(m.group, m.kind));
  }
  const newNamespaces = new Set([...created, ...entries.filter((e) => isNamespace(e.ref) && !e.live).map((e) => e.ref.name)]);
  for (const e of entries) {
    if (e.error || e.action === 'unchanged') continue;
    if (!e.served) defer(e, `its CRD is created in this apply`);
    else if (changingCrdKinds.has(e.gk)) defer(e, `its CRD changes in this apply`);
    else if (e.ref.namespace && newNamespaces.has(e.ref.namespace)) defer(e, `namespace ${e.ref.namespace} is created in this apply`);
  }
}

function defer(e: Entry, because: string): void {
  e.validation = 'deferred';
  e.deferredBecause = because;
}

// ---------------------------------------------------------------------------
// 5. Dry-run

export async function dryRunAll(ctx: RunContext, entries: Entry[], retryNotFound = false): Promise<void> {
  await mapLimit(entries, ctx.settings.concurrency, (e) => dryRunEntry(ctx, e, retryNotFound));
}

/**
 * Validates one changed object with a server-side dry-run and settles how it
 * will be applied: conflicts only with imperative edits (managers whose
 * operation is Update: kubectl edit, a plain PUT) are drift and are taken
 * back with force; conflicts with another applier need the force option;
 * immutable-field changes need the recreate option.
 */
export async function dryRunEntry(ctx: RunContext, e: Entry, retryNotFound = false): Promise<void> {
  try {
    const result = await withNotFoundRetry(retryNotFound, () => applyObject(ctx, e.mapping, e.applied, { dryRun: true, force: e.force }));
    e.validation = 'dry-run';
    if (e.action === 'update' && e.live && storesAsLive(result, e.live, ctx.settings.fieldManager)) {
      e.action = 'unchanged';
      e.diff = [];
    }
  } catch (err) {
    if (err instanceof ApiError && err.status === 409 && !e.force) {
      const managers = conflictManagers(err);
      if (managers.length > 0 && managers.every((m) => !appliesAs(e.live, m))) {
        e.force = true;
        e.reasons.push(`drift: revert edits by ${managers.map((m) => `"${m}"`).join(', ')}`);
        await dryRunEntry(ctx, e, retryNotFound);
        return;
      }
    }
    if (isImmutableError(err) && e.live && ctx.settings.recreateImmutable && !notRecreated(e.live)) {
      e.action = 'recreate';
      e.validation = 'dry-run';
      e.reasons.push(`immutable field changed: ${(err as ApiError).causes.map((c) => c.field).filter(Boolean).join(', ') || (err as ApiError).message}`);
      return;
    }
    e.error = toClusterError(err, 'preflight', e);
    const refusal = isImmutableError(err) && e.live && ctx.settings.recreateImmutable ? notRecreated(e.live) : undefined;
    if (refusal) e.error.message = `${e.error.message}; not recreated even so: ${refusal}`;
    if (err instanceof ApiError && err.status === 404 && /namespaces? "/.test(err.message)) {
      e.error.message = `${e.error.message} (does namespace ${e.ref.namespace} exist? it is not in the desired set)`;
    }
  }
}

/** Why an object is never deleted to be re-created: deleting it takes far more than itself with it. */
function notRecreated(live: KubeObject): string | undefined {
  if (isCrd(live)) return 'deleting a CustomResourceDefinition deletes every custom resource it serves, cluster-wide';
  if (isNamespace(live)) return 'deleting a Namespace deletes everything in it';
  return undefined;
}

/**
 * Whether applying would leave the object exactly as it is: the server
 * defaults and normalises what we send (an atomic `fieldRef` gains
 * `apiVersion: v1`), so a value that differs from the live one as sent can
 * still be stored as the live one is. Our manager's owned fields must match
 * too, or the write would still take ownership (adoption, drift).
 */
function storesAsLive(result: KubeObject, live: KubeObject, manager: string): boolean {
  return isDeepStrictEqual(comparable(result, manager), comparable(live, manager));
}

/**
 * What an apply could change: everything but status (controllers write it,
 * even between our read and our dry-run) and the server's bookkeeping.
 */
function comparable(o: KubeObject, manager: string): unknown {
  const { resourceVersion: _rv, managedFields, generation: _gen, ...metadata } = o.metadata as Record<string, unknown>;
  const { status: _status, ...rest } = o;
  const ours = ((managedFields ?? []) as { manager?: string; operation?: string; fieldsV1?: unknown }[])
    .filter((m) => m.manager === manager && m.operation === 'Apply')
    .map((m) => m.fieldsV1);
  return { ...rest, metadata, ours };
}

/** Whether `manager` holds fields of the live object through server-side apply. */
function appliesAs(live: KubeObject | undefined, manager: string): boolean {
  // A manager we cannot see (no live object) is treated as an applier.
  if (!live) return true;
  const entries = (live.metadata['managedFields'] ?? []) as { manager?: string; operation?: string }[];
  return entries.some((m) => m.manager === manager && m.operation === 'Apply');
}

/** Right after a CRD is Established its endpoint can still answer 404 for a moment. */
export async function withNotFoundRetry<T>(retry: boolean, fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!retry || attempt >= 20 || !(err instanceof ApiError && err.status === 404 && !/namespaces? "/.test(err.message))) throw err;
      await sleep(250);
    }
  }
}

/** One network outage is one error, not one per queued request. */
export function dedupe(errors: ClusterError[]): ClusterError[] {
  const unreachable = errors.filter((e) => e.code === 'unreachable');
  if (unreachable.length <= 1) return errors;
  const first = unreachable[0] as ClusterError;
  return [
    ...errors.filter((e) => e.code !== 'unreachable'),
    { ...first, message: `${first.message} (${unreachable.length} requests failed)` },
  ];
}
