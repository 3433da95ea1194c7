/**
 * `joch sync` over the clusters of joch.yaml: each revision's placement
 * splits the compiled objects into one share per cluster, and each share is
 * applied through a ClusterTarget of its own (its own client, ApplySet,
 * incremental state and member watch), all at once. A cluster that fails or
 * cannot be reached fails only its own share: the others are applied, and
 * the result says, cluster by cluster, what happened.
 *
 * A revision whose joch.yaml maps no clusters goes to the cluster of the
 * loop's own kubeconfig, exactly as a plain ClusterTarget does.
 */
import { createHash } from 'node:crypto';
import {
  ClusterAccessError,
  clusterInventory,
  kubeConfigForCluster,
  writeStatus,
  type ApiCounters,
  type ClusterError,
  type ObjectRef,
  type StatusUpdate,
} from '../cluster/index.js';
import type { KubeConfig } from '@kubernetes/client-node';
import { shareOf, shareOutput, type ClusterShare } from '../compile/index.js';
import type { ClusterAccess } from '../config/index.js';
import { objectRefKey } from '../pipeline/origins.js';
import { ClusterTarget, type ApplyRequest, type ClusterTargetOptions, type TargetResult } from './targets.js';

/** Per cluster, what the last apply did: for the status branch, the metrics and the logs. */
export interface ClusterOutcome {
  readonly cluster: string;
  /** Synced: its share is applied. Failed: the share was not (all) applied. Unreachable: its API server did not answer, or joch.yaml's way to reach it did not work. */
  readonly phase: 'Synced' | 'Failed' | 'Unreachable';
  readonly message: string;
}

export interface PlacedClusterTargetOptions extends ClusterTargetOptions {
  /** Only these clusters (a shard); every mapped cluster when empty. */
  readonly only?: readonly string[] | undefined;
  /** Where a relative `kubeconfig` of joch.yaml starts. */
  readonly baseDir: string;
}

interface Member {
  /** joch.yaml's entry it was built from (and for a secretRef, a digest of the Secret's kubeconfig): a changed one builds a new target. */
  readonly access: string;
  readonly target: ClusterTarget;
  /** Custom resources of its last share, `apiVersion/kind/namespace/name`. */
  customResources: ReadonlySet<string>;
}

export class PlacedClusterTarget extends ClusterTarget {
  private readonly members = new Map<string, Member>();
  private placed = false;

  constructor(private readonly placedOptions: PlacedClusterTargetOptions) {
    super(placedOptions);
  }

  override async apply(request: ApplyRequest): Promise<TargetResult> {
    const only = this.placedOptions.only ?? [];
    if (!request.placement) {
      this.placed = false;
      // A shard of a repository that maps no clusters has no share: applying everything here would fight the reconciler that owns it.
      if (only.length) return merge(only.map((cluster) => failed(cluster, 'Failed', `cluster ${cluster}: the revision's joch.yaml maps no clusters, so a shard has nothing to apply`)));
      return super.apply(request);
    }
    this.placed = true;
    const { placement, access } = request.placement;
    const mapped = Object.keys(access).sort();
    const chosen = only.length ? only : mapped;
    const outcomes = await Promise.all(chosen.map((cluster) => this.applyTo(cluster, access[cluster], shareOf(placement, cluster), request)));
    await this.forget(new Set(chosen));
    return merge(outcomes);
  }

  /** The member targets of the last placed apply (tests). */
  member(cluster: string): ClusterTarget | undefined {
    return this.members.get(cluster)?.target;
  }

  /**
   * Writes Joch resources' status where their custom resource was applied:
   * in each cluster that received it. False when no placement was in effect:
   * the caller writes to its own cluster.
   */
  async writeResourceStatus(updates: readonly StatusUpdate[], fieldManager: string | undefined): Promise<{ written: boolean; errors: readonly ClusterError[] }> {
    if (!this.placed) return { written: false, errors: [] };
    const errors: ClusterError[] = [];
    for (const member of this.members.values()) {
      const here = updates.filter((u) => member.customResources.has(objectRefKey(u.ref)));
      if (!here.length) continue;
      const result = await writeStatus(here, { kubeconfig: member.target.kubeconfig, ...(fieldManager ? { fieldManager } : {}) });
      errors.push(...result.errors);
    }
    return { written: true, errors };
  }

  /**
   * Events grouped by the clusters holding the custom resource they are
   * about; undefined when no placement was in effect (the caller records
   * them in its own cluster). A resource in two clusters gets its Event in
   * both.
   */
  eventsByCluster<E extends { readonly object: ObjectRef }>(events: readonly E[]): { readonly kubeconfig: KubeConfig; readonly events: readonly E[] }[] | undefined {
    if (!this.placed) return undefined;
    return [...this.members.values()]
      .map((m) => ({ kubeconfig: m.target.kubeconfig, events: events.filter((e) => m.customResources.has(objectRefKey(e.object))) }))
      .filter((g) => g.events.length > 0);
  }

  override async close(): Promise<void> {
    await super.close();
    await this.forget(new Set());
  }

  private async applyTo(cluster: string, access: ClusterAccess | undefined, share: ClusterShare | undefined, request: ApplyRequest): Promise<ClusterResult> {
    if (!access) return failed(cluster, 'Failed', `cluster ${cluster} is not in joch.yaml clusters`);
    let target: ClusterTarget;
    try {
      target = await this.targetFor(cluster, access);
    } catch (e) {
      if (!(e instanceof ClusterAccessError)) throw e;
      return failed(cluster, 'Unreachable', e.message);
    }
    const objects = new Set((share?.objects ?? []).map((o) => o.object));
    const desired = request.desired.filter((d) => objects.has(d.object));
    const output = share ? shareOutput(request.output, share) : { ...request.output, objects: [], manifests: [] };
    const member = this.members.get(cluster);
    if (member) member.customResources = new Set(desired.filter((d) => d.object.apiVersion.includes('joch.dev/')).map((d) => objectRefKey({ apiVersion: d.object.apiVersion, kind: d.object.kind, namespace: d.object.metadata.namespace, name: d.object.metadata.name })));
    const result = await target.apply({ ...request, desired, output, placement: undefined });
    const unreachable = !result.complete && result.errors.some((e) => e.code === 'unreachable');
    return { cluster, phase: result.complete ? 'Synced' : unreachable ? 'Unreachable' : 'Failed', result, objects: desired.length };
  }

  /**
   * The cluster's target, built once per joch.yaml entry so its incremental
   * state and watch carry over. A secretRef entry's Secret is read every
   * cycle, and a new kubeconfig in it (a rotated token, a moved server)
   * builds a new target without a change in Git.
   */
  private async targetFor(cluster: string, access: ClusterAccess): Promise<ClusterTarget> {
    const entry = JSON.stringify(access);
    const known = this.members.get(cluster);
    if (!access.secretRef && known?.access === entry) return known.target;
    const kubeconfig = await kubeConfigForCluster(cluster, access, { baseDir: this.placedOptions.baseDir, base: () => this.kubeconfig, home: this.kubeconfig });
    // A digest, so the member does not keep a second copy of the Secret's credentials.
    const key = access.secretRef ? `${entry} ${createHash('sha256').update(kubeconfig.exportConfig()).digest('hex')}` : entry;
    if (known?.access === key) return known.target;
    await known?.target.close();
    this.members.delete(cluster);
    const target = new ClusterTarget({ ...this.placedOptions, kubeconfig, inventory: clusterInventory(access, this.placedOptions.inventory) });
    this.members.set(cluster, { access: key, target, customResources: new Set() });
    return target;
  }

  /** Stops the watches of clusters no longer applied to. */
  private async forget(keep: ReadonlySet<string>): Promise<void> {
    for (const [cluster, member] of [...this.members]) {
      if (keep.has(cluster)) continue;
      await member.target.close();
      this.members.delete(cluster);
    }
  }
}

interface ClusterResult {
  readonly cluster: string;
  readonly phase: ClusterOutcome['phase'];
  readonly result: TargetResult;
  /** Objects in its share. */
  readonly objects: number;
}

function failed(cluster: string, phase: ClusterOutcome['phase'], message: string): ClusterResult {
  const error: ClusterError = { code: 'unreachable', phase: 'discovery', message };
  return { cluster, phase, result: { complete: false, changed: [], pruned: [], errors: [error], message }, objects: 0 };
}

/** One result for the loop: complete only when every cluster is; errors and messages say which cluster. */
function merge(results: readonly ClusterResult[]): TargetResult {
  const counters: ApiCounters = { discovery: 0, reads: 0, lists: 0, dryRuns: 0, writes: 0, deletes: 0, retries: 0 };
  for (const { result } of results) for (const k of Object.keys(counters) as (keyof ApiCounters)[]) counters[k] += result.counters?.[k] ?? 0;
  const label = (cluster: string, message: string) => (message.startsWith(`cluster ${cluster}`) ? message : `cluster ${cluster}: ${message}`);
  return {
    complete: results.every((r) => r.result.complete),
    changed: results.flatMap((r) => r.result.changed),
    pruned: results.flatMap((r) => r.result.pruned),
    errors: results.flatMap((r) => r.result.errors.map((e) => ({ ...e, message: label(r.cluster, e.message) }))),
    objects: results.flatMap((r) => r.result.objects ?? []),
    counters,
    message: results.map((r) => label(r.cluster, r.result.message)).join('; '),
    // Stable words for the status branch, which commits only when they change: no API call counts.
    clusters: results.map((r) => ({ cluster: r.cluster, phase: r.phase, message: r.phase === 'Synced' ? `its share is applied (${r.objects} objects)` : unlabelled(r.cluster, firstError(r.result)) })),
  };
}

/** A message kept under its cluster's name (status, logs) says the name once. */
function unlabelled(cluster: string, message: string): string {
  const prefix = `cluster ${cluster}: `;
  return message.startsWith(prefix) ? message.slice(prefix.length) : message;
}

function firstError(result: TargetResult): string {
  const e = result.errors[0];
  return e ? e.message : result.message;
}
