/**
 * Pruning: live ApplySet members that left the desired set are deleted.
 * Rules (each one a guard against deleting what is not ours):
 * - only objects listed by our part-of label are candidates, so objects
 *   without it, or with another ApplySet's id, are never touched;
 * - `joch.dev/prune: disabled` on the live object keeps it;
 * - a Namespace is deleted only when nothing in it is someone else's: no
 *   object without our part-of label, other than what Kubernetes itself
 *   puts in every namespace and dependents of our members (objects whose
 *   every owner is a member, or itself such a dependent: a Deployment's
 *   ReplicaSets and their Pods);
 * - a CRD is deleted only when no custom resource of it is someone else's
 *   (deleting a CRD deletes all its objects cluster-wide);
 * - the guard refuses to delete more than `maxShare` of the live inventory,
 *   and never all of it, unless `allowMassPrune` is set;
 * - deletes carry a uid precondition, so a re-created object is not hit,
 *   and run in reverse stage order: namespaced objects, cluster-scoped
 *   objects, Namespaces, CRDs.
 */
import type { Entry, Member } from './analyze.js';
import { deleteObject, listObjects, objectKey, refOf } from './context.js';
import type { RunContext } from './context.js';
import { groupKind, mappingsFromCrd, splitApiVersion } from './discovery.js';
import { describeRef, toClusterError } from './errors.js';
import { assessHealth } from './health.js';
import { APPLYSET_PART_OF_LABEL, PRUNE_ANNOTATION, PRUNE_DISABLED } from './inventory.js';
import { isCrd, isNamespace } from './normalize.js';
import { mapLimit } from './pool.js';
import { ApiError } from './transport.js';
import type { ClusterError, DesiredObject, KubeObject, ObjectRef, PrunedObject } from './types.js';
import { errorMessage } from '../diagnostics/index.js';

export interface PruneCandidate {
  member: Member;
  ref: ObjectRef;
  action: 'delete' | 'keep';
  reason?: string;
}

export function desiredKeys(desired: readonly DesiredObject[]): Set<string> {
  const keys = new Set<string>();
  for (const d of desired) {
    const o = d.object as Partial<KubeObject> | undefined;
    if (o && typeof o.apiVersion === 'string' && typeof o.kind === 'string' && typeof o.metadata?.name === 'string') {
      keys.add(objectKey(o.apiVersion, o.kind, o.metadata.namespace, o.metadata.name));
    }
  }
  return keys;
}

export async function planPrune(
  ctx: RunContext,
  entries: readonly Entry[],
  wanted: Set<string>,
  members: Map<string, Member>,
  complete: boolean,
  errors: ClusterError[],
  /** Members of the ApplySet; more than `members` when only some were read (see AppliedState). */
  inventorySize: number = members.size,
): Promise<PruneCandidate[]> {
  if (!ctx.settings.prune) return [];
  const candidates: PruneCandidate[] = [];
  for (const m of members.values()) {
    if (wanted.has(m.key)) continue;
    const ref = refOf(m.live);
    if (m.live.metadata.annotations?.[PRUNE_ANNOTATION] === PRUNE_DISABLED) {
      candidates.push({ member: m, ref, action: 'keep', reason: `${PRUNE_ANNOTATION}: ${PRUNE_DISABLED}` });
    } else {
      candidates.push({ member: m, ref, action: 'delete' });
    }
  }
  // Members are found by lists that run side by side: their order is not the
  // order of the report. Deletion order first, then by key.
  candidates.sort((a, b) => pruneOrder(a) - pruneOrder(b) || (a.member.key < b.member.key ? -1 : a.member.key > b.member.key ? 1 : 0));
  const held = heldNamespaces(candidates);
  const ours = ourUids(entries, members);
  await mapLimit(candidates, ctx.settings.concurrency, async (c) => {
    if (c.action !== 'delete') return;
    const reason = await keepReason(ctx, c.member, { entries, held, ours });
    if (reason) Object.assign(c, { action: 'keep', reason });
  });
  const deletes = candidates.filter((c) => c.action === 'delete').length;
  const stillDesired = inventorySize === members.size ? [...members.keys()].filter((k) => wanted.has(k)).length : inventorySize - members.size;
  const guard = guardProblem(ctx, deletes, inventorySize, stillDesired);
  if (guard && complete) errors.push({ code: 'prune-guard', phase: 'prune', ref: ctx.parent, message: guard });
  return candidates;
}

/**
 * "All of it" also covers a run that would leave no live member desired
 * (every member deleted or only kept by a guard): the typical sign of an
 * empty or wrong desired set.
 */
function guardProblem(ctx: RunContext, deletes: number, members: number, stillDesired: number): string | undefined {
  if (ctx.settings.allowMassPrune || deletes === 0 || members === 0) return undefined;
  if (deletes === members || stillDesired === 0) {
    return `refusing to prune all ${members} members of the ApplySet; set pruneGuard.allowMassPrune to allow it`;
  }
  const share = deletes / members;
  if (share > ctx.settings.maxPruneShare) {
    return `refusing to prune ${deletes} of ${members} members (${Math.round(share * 100)}% > ${Math.round(ctx.settings.maxPruneShare * 100)}%); set pruneGuard.allowMassPrune to allow it`;
  }
  return undefined;
}

/** Namespaces holding members we keep (prune disabled): deleting them would delete those. */
function heldNamespaces(candidates: readonly PruneCandidate[]): Set<string> {
  return new Set(candidates.filter((c) => c.action === 'keep' && c.ref.namespace).map((c) => c.ref.namespace as string));
}

/** The uids of the live objects that are ours: desired objects and members. */
function ourUids(entries: readonly Entry[], members: ReadonlyMap<string, Member>): Set<string> {
  const uids = new Set<string>();
  const add = (o: KubeObject | undefined): void => {
    const uid = o?.metadata['uid'];
    if (typeof uid === 'string') uids.add(uid);
  };
  for (const m of members.values()) add(m.live);
  for (const e of entries) {
    add(e.live);
    add(e.result);
  }
  return uids;
}

interface KeepContext {
  entries: readonly Entry[];
  /** Namespaces holding members that stay. */
  held: ReadonlySet<string>;
  /** Uids of our live objects, whose dependents do not block pruning. */
  ours: ReadonlySet<string>;
}

/** Why a Namespace or CRD member must stay even though it left the desired set. */
async function keepReason(ctx: RunContext, m: Member, keep: KeepContext): Promise<string | undefined> {
  if (isNamespace(m.live)) {
    const name = m.live.metadata.name;
    if (keep.entries.some((e) => e.ref.namespace === name)) return `desired objects still live in namespace ${name}`;
    if (keep.held.has(name)) return `namespace ${name} holds members whose pruning is disabled`;
    return namespaceBlocker(ctx, name, keep.ours);
  }
  if (isCrd(m.live)) {
    const kinds = new Set(mappingsFromCrd(m.live).map((x) => groupKind(x.group, x.kind)));
    if (keep.entries.some((e) => kinds.has(e.gk))) return 'desired custom resources still use this CRD';
    return crdBlocker(ctx, m.live, keep.ours);
  }
  return undefined;
}

/** Kinds Kubernetes creates or derives by itself; they never block pruning a namespace. */
const IGNORED_KINDS = new Set(['/Event', 'events.k8s.io/Event', '/Endpoints', 'discovery.k8s.io/EndpointSlice']);

/** What Kubernetes itself puts in every namespace. */
function systemObject(obj: KubeObject): boolean {
  if (splitApiVersion(obj.apiVersion).group !== '') return false;
  if (obj.kind === 'ServiceAccount' && obj.metadata.name === 'default') return true;
  if (obj.kind === 'ConfigMap' && obj.metadata.name === 'kube-root-ca.crt') return true;
  return obj.kind === 'Secret' && obj['type'] === 'kubernetes.io/service-account-token';
}

function ownerUids(obj: KubeObject): string[] {
  const owners = obj.metadata['ownerReferences'];
  if (!Array.isArray(owners)) return [];
  return owners.map((o: { uid?: unknown }) => (typeof o.uid === 'string' ? o.uid : '')).filter(Boolean);
}

/**
 * The first object that is someone else's: neither a system object nor a
 * dependent of ours. `others` holds every unlabelled object seen so far, so
 * a Pod is traced through its ReplicaSet to our Deployment.
 */
function firstForeign(items: readonly KubeObject[], others: ReadonlyMap<string, KubeObject>, ours: ReadonlySet<string>): KubeObject | undefined {
  const dependent = (o: KubeObject, depth: number): boolean => {
    const owners = ownerUids(o);
    if (owners.length === 0 || depth > 8) return false;
    return owners.every((uid) => {
      if (ours.has(uid)) return true;
      const owner = others.get(uid);
      return owner !== undefined && dependent(owner, depth + 1);
    });
  };
  return items.find((o) => !systemObject(o) && !dependent(o, 0));
}

/**
 * Lists every namespaced kind in the namespace for objects without our
 * label. An object with no owner blocks at once; dependents are judged once
 * everything is read, since their owner may be of a kind listed later.
 */
async function namespaceBlocker(ctx: RunContext, namespace: string, ours: ReadonlySet<string>): Promise<string | undefined> {
  const kinds = ctx.mapper.listableNamespaced().filter((m) => !IGNORED_KINDS.has(`${m.group}/${m.kind}`));
  const others = new Map<string, KubeObject>();
  const holds = (o: KubeObject): string => `namespace ${namespace} holds ${describeRef(refOf(o))}, which this ApplySet does not own`;
  const found = await mapLimit(kinds, ctx.settings.concurrency, async (m) => {
    try {
      const items = await listObjects(ctx, m, namespace, {
        labelSelector: `${APPLYSET_PART_OF_LABEL}!=${ctx.applySetId}`,
        limit: 250,
        stopWhen: (o) => !systemObject(o) && ownerUids(o).length === 0,
      });
      for (const o of items) if (typeof o.metadata['uid'] === 'string') others.set(o.metadata['uid'], o);
      const unowned = items.find((o) => !systemObject(o) && ownerUids(o).length === 0);
      return unowned ? holds(unowned) : undefined;
    } catch (err) {
      return `cannot verify namespace ${namespace} is free of objects owned by others (${m.resource}: ${errorMessage(err)})`;
    }
  });
  const blocker = found.find((r) => r !== undefined);
  if (blocker) return blocker;
  const foreign = firstForeign([...others.values()], others, ours);
  return foreign ? holds(foreign) : undefined;
}

async function crdBlocker(ctx: RunContext, crd: KubeObject, ours: ReadonlySet<string>): Promise<string | undefined> {
  const [m] = mappingsFromCrd(crd);
  if (!m) return undefined;
  try {
    // An object with no owner settles it at once; dependents are judged on everything read.
    const items = await listObjects(ctx, m, undefined, {
      labelSelector: `${APPLYSET_PART_OF_LABEL}!=${ctx.applySetId}`,
      limit: 250,
      stopWhen: (o) => ownerUids(o).length === 0,
    });
    const byUid = new Map(items.map((o) => [String(o.metadata['uid']), o]));
    const other = firstForeign(items, byUid, ours);
    return other ? `${describeRef(refOf(other))} still uses this CRD and is not owned by this ApplySet` : undefined;
  } catch (err) {
    // A CRD that never became Established serves nothing, so nothing can use it.
    if (err instanceof ApiError && err.status === 404 && assessHealth(crd).status !== 'Current') return undefined;
    return `cannot verify no one else uses this CRD: ${errorMessage(err)}`;
  }
}

function pruneOrder(c: PruneCandidate): number {
  if (isCrd(c.ref)) return 3;
  if (isNamespace(c.ref)) return 2;
  return c.member.mapping.namespaced ? 0 : 1;
}

/** Deletes the candidates, re-checking Namespaces and CRDs right before. */
export async function executePrune(
  ctx: RunContext,
  candidates: PruneCandidate[],
  entries: readonly Entry[],
  members: ReadonlyMap<string, Member>,
  errors: ClusterError[],
): Promise<PrunedObject[]> {
  const ours = ourUids(entries, members);
  const results = new Map<PruneCandidate, PrunedObject>();
  for (const c of candidates) {
    if (c.action === 'keep') results.set(c, { ref: c.ref, outcome: 'kept', ...(c.reason ? { reason: c.reason } : {}) });
  }
  for (const order of [0, 1, 2, 3]) {
    // Members that stay (kept, failed or skipped) hold their namespace.
    const held = new Set(
      [...results.values()].filter((r) => r.outcome !== 'deleted' && r.ref.namespace).map((r) => r.ref.namespace as string),
    );
    const wave = candidates.filter((c) => c.action === 'delete' && pruneOrder(c) === order);
    await mapLimit(wave, ctx.settings.concurrency, async (c) => {
      if (order >= 2) {
        const reason = await keepReason(ctx, c.member, { entries, held, ours });
        if (reason) {
          results.set(c, { ref: c.ref, outcome: 'kept', reason });
          return;
        }
      }
      try {
        await deleteObject(ctx, c.member.mapping, c.member.live);
        results.set(c, { ref: c.ref, outcome: 'deleted' });
      } catch (err) {
        if (err instanceof ApiError && err.status === 404) {
          results.set(c, { ref: c.ref, outcome: 'deleted', reason: 'already gone' });
        } else if (err instanceof ApiError && err.status === 409) {
          results.set(c, { ref: c.ref, outcome: 'skipped', reason: 'the object was re-created since it was listed' });
        } else {
          results.set(c, { ref: c.ref, outcome: 'failed', reason: errorMessage(err) });
          errors.push(toClusterError(err, 'prune', { ref: c.ref }));
        }
      }
    });
  }
  return candidates.map((c) => results.get(c) ?? { ref: c.ref, outcome: 'skipped' });
}
