/**
 * applySet: analyse (see analyze.ts), then write in stages.
 *
 *   preflight  every changed object that can be validated now is dry-run
 *              first; any failure anywhere stops the run before any write
 *   inventory  the ApplySet parent is updated to the union of what it listed
 *              and what we are about to write, before any member is written,
 *              so a run cut short leaves no member the next run cannot find
 *   crds       CRDs applied, then waited for until Established
 *   cluster    Namespaces and other cluster-scoped objects
 *   namespaced namespaced objects and custom resources
 *   prune      only after every object applied without error
 *   inventory  the parent shrinks to the members that remain
 *   health     a snapshot, or a wait with a timeout
 *
 * Objects whose CRD or Namespace is created in this run could not be dry-run
 * up front: they are dry-run at the start of their stage, and if any of them
 * fails, nothing of that stage is written.
 */
import { analyze, dedupe, dryRunAll, withNotFoundRetry } from './analyze.js';
import type { Analysis, Entry } from './analyze.js';
import { applyObject, deleteObject, getIfExists, objectKey, withRun } from './context.js';
import type { RunContext } from './context.js';
import { groupKind, mappingsFromCrd, splitApiVersion } from './discovery.js';
import { describeRef, toClusterError } from './errors.js';
import { assessHealth } from './health.js';
import {
  applySetId,
  MANAGED_BY_LABEL,
  parentObject,
  parentRef,
  parentUpToDate,
  unionState,
} from './inventory.js';
import type { InventoryState } from './inventory.js';
import { isNamespace, withSourceCommit } from './normalize.js';
import { mapLimit } from './pool.js';
import { executePrune } from './prune.js';
import { deploymentReason } from './workload-reasons.js';
import { ApiError, TransportError, sleep } from './transport.js';
import type {
  AppliedObject,
  AppliedState,
  ApplyOptions,
  ApplyResult,
  ClusterError,
  DesiredObject,
  Health,
  KubeObject,
  PrunedObject,
  Stage,
} from './types.js';

const STAGES: readonly Stage[] = ['crds', 'cluster', 'namespaced'];
/** Longest pause between two health reads of a wait. */
const MAX_POLL_MS = 5_000;

export async function applySet(desired: readonly DesiredObject[], options: ApplyOptions): Promise<ApplyResult> {
  return withRun(
    options,
    async (ctx) => new ApplyRun(ctx, await analyze(ctx, desired), options).execute(),
    (error, counters, startedAt) => ({
      inventory: { id: applySetId(options.inventory), parent: parentRef(options.inventory), liveMembers: 0 },
      objects: [],
      pruned: [],
      complete: false,
      healthy: false,
      errors: [error],
      counters,
      durationMs: Date.now() - startedAt,
    }),
  );
}

class ApplyRun {
  private readonly errors: ClusterError[] = [];
  private parentLive: KubeObject | undefined;
  /** First network failure: later requests are not attempted. */
  private down: ClusterError | undefined;
  private pruned: PrunedObject[] = [];
  private createdNamespace: string | undefined;
  /** Objects written so far, and how many change, for `onProgress`. */
  private written = 0;
  private changing: number | undefined;

  constructor(
    private readonly ctx: RunContext,
    private readonly analysis: Analysis,
    private readonly options: ApplyOptions,
  ) {
    this.parentLive = analysis.parentLive;
  }

  async execute(): Promise<ApplyResult> {
    const { entries } = this.analysis;
    if (this.analysis.errors.length > 0) {
      this.errors.push(...this.analysis.errors);
      return this.result();
    }
    // A no-op writes nothing here: the parent already lists the desired state.
    const superset = unionState(this.analysis.parentState, this.desiredState());
    if (!(await this.bootstrapParentNamespace()) || !(await this.writeParent(superset))) return this.result();
    for (const stage of STAGES) {
      if (!(await this.runStage(stage))) return this.result();
    }
    if (this.ctx.settings.prune && this.analysis.inventoryComplete) {
      this.pruned = await executePrune(this.ctx, this.analysis.prune, entries, this.analysis.members, this.errors);
      // An incremental run has not seen every member, so it cannot tell which
      // group-kinds and namespaces are empty now: the next full run shrinks the parent.
      if (this.errors.length === 0 && !this.analysis.incremental) await this.writeParent(this.remainingState());
    }
    if (this.errors.length === 0 && this.options.wait) await this.waitForHealth(this.options.wait);
    return this.result();
  }

  // -------------------------------------------------------------------------
  // Inventory parent

  private desiredState(): InventoryState {
    const state: InventoryState = { groupKinds: new Set(), namespaces: new Set([this.ctx.options.inventory.namespace]) };
    for (const e of this.analysis.entries) {
      state.groupKinds.add(e.gk);
      if (e.ref.namespace) state.namespaces.add(e.ref.namespace);
    }
    return state;
  }

  /** Desired objects plus members that stay (kept, failed to delete, or of a kind not served now). */
  private remainingState(): InventoryState {
    const state = this.desiredState();
    for (const gk of this.analysis.unresolved.groupKinds) state.groupKinds.add(gk);
    for (const p of this.pruned) {
      if (p.outcome === 'deleted') continue;
      state.groupKinds.add(groupKind(splitApiVersion(p.ref.apiVersion).group, p.ref.kind));
      if (p.ref.namespace) state.namespaces.add(p.ref.namespace);
    }
    return state;
  }

  /**
   * The parent's own namespace may be one of the desired Namespaces, or
   * missing altogether (an empty cluster): create it first.
   */
  private async bootstrapParentNamespace(): Promise<boolean> {
    if (this.parentLive) return true;
    if (this.analysis.createInventoryNamespace) return this.createInventoryNamespace();
    const ns = this.analysis.entries.find((e) => isNamespace(e.ref) && e.ref.name === this.ctx.options.inventory.namespace);
    if (!ns || ns.action === 'unchanged') return true;
    await this.applyEntry(ns);
    if (ns.error) this.errors.push(ns.error);
    return !ns.error && !this.down;
  }

  /**
   * Not a member of the ApplySet, so never pruned: deleting it would delete
   * the inventory with it. Labelled as created by this field manager, which
   * is what lets the sync ServiceAccount's admission policy tell it from a
   * namespace someone else made.
   */
  private async createInventoryNamespace(): Promise<boolean> {
    const name = this.ctx.options.inventory.namespace;
    const mapping = this.ctx.mapper.find('v1', 'Namespace');
    if (!mapping) return false;
    const ns: KubeObject = {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name, labels: { [MANAGED_BY_LABEL]: this.ctx.settings.fieldManager } },
    };
    try {
      await applyObject(this.ctx, mapping, ns, { dryRun: false, force: false });
      this.createdNamespace = name;
      return true;
    } catch (err) {
      const e = toClusterError(err, 'inventory', { ref: { apiVersion: 'v1', kind: 'Namespace', name } });
      this.errors.push({
        ...e,
        message: `cannot create namespace ${name} for the ApplySet parent: ${e.message} (create it with: kubectl create namespace ${name})`,
      });
      return false;
    }
  }

  private async writeParent(state: InventoryState): Promise<boolean> {
    const wanted = parentObject(this.ctx.options.inventory, this.ctx.applySetId, state);
    if (parentUpToDate(this.parentLive, wanted)) return true;
    const mapping = this.ctx.mapper.find('v1', wanted.kind);
    if (!mapping) return false;
    try {
      this.parentLive = await applyObject(this.ctx, mapping, wanted, { dryRun: false, force: true });
      return true;
    } catch (err) {
      const e = toClusterError(err, 'inventory', { ref: this.ctx.parent });
      this.errors.push({ ...e, message: `cannot write the ApplySet parent ${describeRef(this.ctx.parent)}: ${e.message}` });
      return false;
    }
  }

  // -------------------------------------------------------------------------
  // Stages

  private async runStage(stage: Stage): Promise<boolean> {
    const todo = this.analysis.entries.filter((e) => e.stage === stage && e.action !== 'unchanged' && !e.outcome);
    if (todo.length === 0) return true;
    const deferred = todo.filter((e) => e.validation === 'deferred');
    await dryRunAll(this.ctx, deferred, true);
    const invalid = deferred.filter((e) => e.error);
    if (invalid.length > 0) {
      for (const e of invalid) this.errors.push(e.error as ClusterError);
      for (const e of todo) if (!e.error) e.outcome = 'skipped';
      this.skipLaterStages(stage);
      return false;
    }
    await mapLimit(todo, this.ctx.settings.concurrency, (e) => this.applyEntry(e));
    for (const e of todo) if (e.error) this.errors.push(e.error);
    if (stage === 'crds' && !this.down) await this.waitForCrds(todo.filter((e) => e.result));
    if (this.down) this.reportOutage(stage);
    const ok = this.errors.length === 0 && !this.down;
    if (!ok) this.skipLaterStages(stage);
    return ok;
  }

  private skipLaterStages(stage: Stage): void {
    const later = STAGES.slice(STAGES.indexOf(stage) + 1);
    for (const e of this.analysis.entries) if (later.includes(e.stage) && e.action !== 'unchanged' && !e.outcome) e.outcome = 'skipped';
  }

  /** Objects to write, of those this run applies: for `onProgress`. */
  private get toWrite(): number {
    this.changing ??= this.analysis.entries.filter((e) => e.action !== 'unchanged').length;
    return this.changing;
  }

  private async applyEntry(e: Entry): Promise<void> {
    if (this.written === 0) this.options.onProgress?.({ phase: 'applying', done: 0, total: this.toWrite });
    await this.writeEntry(e);
    this.options.onProgress?.({ phase: 'applying', done: ++this.written, total: this.toWrite });
  }

  private async writeEntry(e: Entry): Promise<void> {
    if (this.down) {
      e.outcome = 'skipped';
      return;
    }
    try {
      if (e.action === 'recreate' && e.live) await this.deleteForRecreate(e, e.live);
      const retryNotFound = e.validation === 'deferred' || !e.served;
      const body = this.options.sourceCommit ? withSourceCommit(e.applied, this.options.sourceCommit) : e.applied;
      e.result = await withNotFoundRetry(retryNotFound, () => applyObject(this.ctx, e.mapping, body, { dryRun: false, force: e.force }));
      e.outcome = e.action === 'create' ? 'created' : e.action === 'recreate' ? 'recreated' : 'configured';
    } catch (err) {
      e.outcome = 'failed';
      if (err instanceof TransportError) this.down ??= toClusterError(err, 'apply', e);
      else e.error = toClusterError(err, 'apply', e);
    }
  }

  private async deleteForRecreate(e: Entry, live: KubeObject): Promise<void> {
    try {
      await deleteObject(this.ctx, e.mapping, live);
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 404)) throw err;
    }
    const deadline = Date.now() + 60_000;
    for (;;) {
      const now = await getIfExists(this.ctx, e.mapping, e.ref.namespace, e.ref.name);
      if (!now || now.metadata['uid'] !== live.metadata['uid']) return;
      if (Date.now() > deadline) throw new Error(`timed out waiting for the old ${describeRef(e.ref)} to be deleted before re-creating it`);
      await sleep(200);
    }
  }

  private reportOutage(stage: Stage): void {
    const down = this.down as ClusterError;
    const all = this.analysis.entries.filter((e) => e.action !== 'unchanged');
    const written = all.filter((e) => e.result).length;
    for (const e of all) if (!e.outcome) e.outcome = 'skipped';
    this.errors.push({
      ...down,
      message: `${down.message}; during the ${stage} stage, ${written} of ${all.length} changed objects were written; nothing was pruned; run again to converge`,
    });
  }

  /** New CRDs must be Established before their custom resources can be served. */
  private async waitForCrds(crds: Entry[]): Promise<void> {
    const timeoutMs = this.options.crdTimeoutMs ?? 60_000;
    const deadline = Date.now() + timeoutMs;
    await mapLimit(crds, this.ctx.settings.concurrency, async (e) => {
      let obj = e.result as KubeObject;
      for (;;) {
        const health = assessHealth(obj);
        if (health.status === 'Current') break;
        if (health.status === 'Failed' || Date.now() > deadline) {
          e.error = {
            code: health.status === 'Failed' ? 'unhealthy' : 'timeout',
            phase: 'apply',
            ref: e.ref,
            ...(e.origin ? { origin: e.origin } : {}),
            message: `CRD is not Established after ${timeoutMs} ms: ${health.message}`,
          };
          this.errors.push(e.error);
          return;
        }
        await sleep(100);
        try {
          obj = (await getIfExists(this.ctx, e.mapping, undefined, e.ref.name)) ?? obj;
        } catch (err) {
          if (err instanceof TransportError) {
            this.down ??= toClusterError(err, 'apply', e);
            return;
          }
          throw err;
        }
      }
      e.result = obj;
      const mappings = mappingsFromCrd(obj);
      for (const m of mappings) this.ctx.mapper.add(m, true);
      const served = new Set(mappings.map((m) => groupKind(m.group, m.kind)));
      for (const cr of this.analysis.entries) if (served.has(cr.gk)) cr.served = true;
    });
  }

  // -------------------------------------------------------------------------
  // Health

  private health(e: Entry): Health {
    if (e.explained) return e.explained;
    if (e.trusted && !e.result) return e.trusted;
    const obj = e.result ?? e.live;
    if (!obj) return { status: 'NotFound', message: 'not in the cluster (not applied)' };
    return assessHealth(obj, this.ctx.settings.readyGroups);
  }

  /**
   * Waits for what something will report on: objects InProgress (a kind
   * nothing reports on is Current once applied, see health.ts). Reads back
   * off from `pollIntervalMs` to MAX_POLL_MS, so a long wait costs a few
   * reads per object, not one every half second. What is still not Current
   * at the deadline is reported once, with the reason (for a Deployment,
   * read from its ReplicaSet and pods).
   */
  private async waitForHealth(wait: NonNullable<ApplyOptions['wait']>): Promise<void> {
    const deadline = Date.now() + wait.timeoutMs;
    let interval = wait.pollIntervalMs ?? 500;
    let pending = this.analysis.entries.filter((e) => this.health(e).status === 'InProgress');
    const total = this.analysis.entries.length;
    this.options.onProgress?.({ phase: 'waiting', done: total - pending.length, total });
    while (pending.length > 0 && Date.now() < deadline) {
      await sleep(Math.min(interval, Math.max(0, deadline - Date.now())));
      interval = Math.min(interval * 2, Math.max(MAX_POLL_MS, wait.pollIntervalMs ?? 0));
      await mapLimit(pending, this.ctx.settings.concurrency, async (e) => {
        try {
          const live = await getIfExists(this.ctx, e.mapping, e.ref.namespace, e.ref.name);
          if (live) e.result = live;
        } catch {
          // a failed poll is retried on the next round; the timeout reports it
        }
      });
      pending = pending.filter((e) => this.health(e).status === 'InProgress');
      this.options.onProgress?.({ phase: 'waiting', done: total - pending.length, total });
    }
    // The reasons are read side by side, then reported in the entries' order.
    const reasons = new Map<Entry, string | undefined>();
    const stuck = this.analysis.entries.filter((e) => this.health(e).status === 'InProgress');
    await mapLimit(stuck, this.ctx.settings.concurrency, async (e) => void reasons.set(e, await this.whyNotAvailable(e)));
    for (const e of this.analysis.entries) {
      const h = this.health(e);
      if (h.status === 'Current') continue;
      const reason = h.status === 'InProgress' ? reasons.get(e) : undefined;
      if (reason) e.explained = { status: h.status, message: `${h.message}: ${reason}` };
      const message = e.explained?.message ?? h.message;
      this.errors.push({
        code: h.status === 'Failed' ? 'unhealthy' : 'timeout',
        phase: 'health',
        ref: e.ref,
        ...(e.origin ? { origin: e.origin } : {}),
        message: h.status === 'Failed' ? `unhealthy: ${message}` : `not healthy after ${wait.timeoutMs} ms: ${message}`,
      });
    }
  }

  private async whyNotAvailable(e: Entry): Promise<string | undefined> {
    const live = e.result ?? e.live;
    if (!live || e.ref.kind !== 'Deployment' || e.mapping.group !== 'apps') return undefined;
    return deploymentReason(this.ctx, live);
  }

  // -------------------------------------------------------------------------

  /**
   * Objects now in place as desired, which the next run may trust, and
   * members that left the desired set but are still there (the prune did not
   * run or did not finish, or their kind is not served now): those keep an
   * empty hash, never trusted, so the next run still finds and prunes them
   * (see AppliedState). None at all when this run did not see every member.
   */
  private appliedState(objects: readonly AppliedObject[]): AppliedState | undefined {
    if (!this.analysis.inventoryComplete) return undefined;
    const state: AppliedState = { applySetId: this.ctx.applySetId, objects: {} };
    const desired = new Set<string>();
    this.analysis.entries.forEach((e, i) => {
      desired.add(e.key);
      const o = objects[i];
      if (o && (o.outcome === 'unchanged' || o.outcome === 'created' || o.outcome === 'configured' || o.outcome === 'recreated')) {
        state.objects[e.key] = { hash: e.hash, health: o.health ?? { status: 'Unknown', message: '' } };
      }
    });
    const deleted = new Set(
      this.pruned.filter((p) => p.outcome === 'deleted').map((p) => objectKey(p.ref.apiVersion, p.ref.kind, p.ref.namespace, p.ref.name)),
    );
    for (const key of [...this.analysis.members.keys(), ...this.analysis.unresolved.keys]) {
      if (desired.has(key) || deleted.has(key)) continue;
      state.objects[key] = { hash: '', health: { status: 'Unknown', message: 'left the desired set; not pruned yet' } };
    }
    return state;
  }

  private result(): ApplyResult {
    const objects: AppliedObject[] = this.analysis.entries.map((e) => ({
      ref: e.ref,
      ...(e.origin ? { origin: e.origin } : {}),
      stage: e.stage,
      outcome: e.error ? 'failed' : e.action === 'unchanged' ? 'unchanged' : (e.outcome ?? 'skipped'),
      diff: e.diff,
      health: this.health(e),
    }));
    const errors = dedupe(this.errors);
    const applyErrors = errors.filter((e) => e.phase !== 'health');
    const applied = this.appliedState(objects);
    return {
      inventory: {
        id: this.ctx.applySetId,
        parent: this.ctx.parent,
        liveMembers: this.analysis.inventorySize,
        ...(this.createdNamespace ? { createsNamespace: this.createdNamespace } : {}),
      },
      ...(applied ? { applied } : {}),
      objects,
      pruned: this.pruned,
      complete: applyErrors.length === 0 && objects.every((o) => o.outcome !== 'failed' && o.outcome !== 'skipped'),
      healthy: objects.every((o) => o.health?.status === 'Current'),
      errors,
      counters: { ...this.ctx.client.counters },
      durationMs: Date.now() - this.ctx.startedAt,
    };
  }
}
