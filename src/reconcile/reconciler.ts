/**
 * The sync loop. Each cycle fetches; when the revision is new (or a failed
 * apply is due for a retry, or the drift interval passed) it runs validate,
 * policy and compile for that exact revision, applies, builds AgBOMs and
 * writes status back to Git. A revision with any error is not applied at
 * all, and the last good one stays in place. Cycles never overlap.
 *
 * What a cycle costs when nothing changed: one ref listing on the Git
 * server, nothing else (no pipeline, no API call, no commit). A drift check
 * re-applies the last good objects: reads and lists only, unless something
 * was changed by hand.
 */
import { parse as parseYaml } from 'yaml';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { groupBy } from '../model/group.js';
import { buildRunAgBoms } from '../pipeline/agbom.js';
import { parseState, renderCycloneDx, serializeCycloneDx, serializeState, type GenerationState } from '../agbom/index.js';
import { describeRef, writeStatus, type ApiCounters, type DesiredObject, type ObjectRef } from '../cluster/index.js';
import type { CompileOptions, Compiler } from '../compile/index.js';
import { createCompiler } from '../compile/index.js';
import type { CacheStore } from '../cache/index.js';
import { unitEmissionFindings } from '../pipeline/emission.js';
import { deepNesting } from '../manifests/index.js';
import { isPolicyFindingCode } from '../agbom/index.js';
import { runPinnedSnapshot } from '../pipeline/pins.js';
import { SnapshotCache, type SnapshotRun } from '../pipeline/snapshot.js';
import type { GitSnapshotResult, GitSource, GitUpdateFailure, StatusWriter } from '../source/git.js';
import { Backoff, jittered } from './backoff.js';
import type { EventRecorder, JochEvent } from './events.js';
import type { LeaderElector } from './leader.js';
import type { SyncMetrics } from './metrics.js';
import { OriginResolver } from '../pipeline/origins.js';
import {
  AGBOM_DIR,
  AGBOM_STATE_FILE,
  customResourceUpdates,
  statusesAfterApply,
  fromClusterError,
  fromDiagnostic,
  ownerKey,
  refusedStatuses,
  renderStatusFiles,
  RESOURCES_DIR,
  statusSubject,
  SUMMARY_FILE,
  type ResourceStatus,
  type StatusError,
  type SyncPhase,
  type SyncSummary,
} from './status.js';
import type { ApplyRequest, ObjectChange, SyncTarget, TargetResult } from './targets.js';
import { PlacedClusterTarget } from './clusters.js';
import { placeObjects } from '../compile/index.js';
import { Wakeup } from './wakeup.js';
import { errorMessage } from '../diagnostics/index.js';

export type CycleResult =
  /** A new revision (or a retry) was applied. */
  | 'applied'
  /** Nothing to do: same revision, no drift check due. */
  | 'unchanged'
  /** A drift check ran; `drifted` says how many objects were put back. */
  | 'drift-checked'
  /** The revision has errors: nothing was applied. */
  | 'refused'
  /** The apply failed part way; retried with backoff. */
  | 'failed'
  /** The Git source could not be read. */
  | 'source-failed'
  /** Applying is suspended: status only. */
  | 'suspended'
  /** Another replica holds the Lease. */
  | 'standby';

export interface CycleReport {
  readonly result: CycleResult;
  readonly revision?: string | undefined;
  readonly reason: string;
  readonly durationMs: number;
  readonly ranPipeline: boolean;
  readonly changed: number;
  readonly pruned: number;
  readonly drifted: number;
  /** The objects the apply created or changed (on a drift check: the drift it put back). */
  readonly changes?: readonly ObjectChange[] | undefined;
  readonly errors: readonly StatusError[];
  /** API calls of the apply (cluster target). */
  readonly counters?: ApiCounters | undefined;
  readonly statusCommit?: string | undefined;
  readonly statusError?: string | undefined;
  /** What the target said (for the `--once` report and logs; not in the status, which holds state only). */
  readonly detail?: string | undefined;
  readonly timings: Readonly<Record<string, number>>;
}

export interface ReconcilerOptions {
  readonly source: GitSource;
  /**
   * The persistent cache (src/cache): after a restart, the first cycle reuses
   * the files and compiled units an earlier process worked out. Steady state
   * is served by the in-memory caches.
   */
  readonly store?: CacheStore | undefined;
  readonly target: SyncTarget;
  /** Status commits; none without it. */
  readonly status?: StatusWriter | undefined;
  readonly metrics?: SyncMetrics | undefined;
  readonly logger?: Logger | undefined;
  /** Kubernetes Events on the Joch resources (cluster target). */
  readonly events?: EventRecorder | undefined;
  /** Writes the status subresource of the Joch custom resources (cluster target). */
  readonly clusterStatus?: { readonly kubeconfig: KubeConfig; readonly fieldManager?: string | undefined } | undefined;
  readonly leader?: LeaderElector | undefined;
  /** For the status summary: where the manifests come from. */
  readonly sourceInfo: { readonly url: string; readonly ref: string; readonly root: string };
  readonly intervalMs: number;
  readonly jitter?: number | undefined;
  readonly driftIntervalMs: number;
  readonly backoff: { readonly initialMs: number; readonly maxMs: number };
  readonly suspended?: boolean | undefined;
  readonly compileOptions?: Partial<CompileOptions> | undefined;
  readonly toolVersion: string;
  readonly env?: Readonly<Record<string, string | undefined>> | undefined;
  readonly now?: (() => Date) | undefined;
}

/** One revision through the pipeline, kept while it is current. */
interface Compiled {
  readonly revision: string;
  readonly run: SnapshotRun;
  readonly desired: readonly DesiredObject[];
  /** Resource key -> its compiled objects' hash. */
  readonly hashes: ReadonlyMap<string, string>;
  /** Resource key -> its custom resource in the cluster. */
  readonly customResources: ReadonlyMap<string, ObjectRef>;
  /** Object `apiVersion/kind/ns/name` -> resource key. */
  readonly owners: ReadonlyMap<string, string>;
  /** When the revision's joch.yaml maps clusters: which objects go where. */
  readonly placement: ApplyRequest['placement'];
}

interface Good {
  readonly compiled: Compiled;
  readonly at: Date;
}

export class Reconciler {
  private readonly backoff: Backoff;
  private readonly wake = new Wakeup();
  private readonly origins = new OriginResolver();
  private readonly cache: SnapshotCache;
  private readonly compiler: Compiler;
  private queue: Promise<unknown> = Promise.resolve();
  private loopDone: Promise<void> | undefined;
  private stopping = false;
  private cycles = 0;
  private appliedAt: number | undefined;
  /** A cycle found this replica on standby: another may have applied since, so trust nothing remembered. */
  private wasStandby = false;
  private suspendedFlag: boolean;

  private compiled: Compiled | undefined;
  private good: Good | undefined;
  /** Last revision the pipeline decided on (applied or refused): not run again until it changes. */
  private decided: string | undefined;
  /** The observed revision when it was refused: cycles report `refused` until the revision changes. */
  private refusal: { readonly revision: string; readonly message: string; readonly errors: readonly StatusError[] } | undefined;
  /** A revision whose apply failed: retried on the next cycle. */
  private retry: string | undefined;
  private lastApplyAt = 0;
  private statuses = new Map<string, ResourceStatus>();
  private summary: SyncSummary | undefined;
  /** The summary of the last pipeline or apply outcome: what the status says again once the source is back. */
  private outcome: SyncSummary | undefined;
  private agbomState: GenerationState | undefined;
  private pendingAgbomFiles = new Map<string, string>();
  private lastWritten = new Map<string, string>();
  private statusDirty = false;
  private restored = false;
  private lastDrift: SyncSummary['lastDriftCorrection'];
  /** Event recorders of the clusters of joch.yaml, by the KubeConfig their target uses. */
  private readonly clusterRecorders = new WeakMap<KubeConfig, EventRecorder>();
  /** Per cluster, the last apply's outcome, when the revision placed objects on several. */
  private clusters: SyncSummary['clusters'];
  /** The revision an unattended replica last saw refused or failed, for `ready`. */
  private lastReport: CycleReport | undefined;
  /** The member watch saw a change: the next cycle is a drift check. */
  private driftRequested = false;

  constructor(private readonly options: ReconcilerOptions) {
    this.backoff = new Backoff(options.backoff);
    this.cache = new SnapshotCache(options.store);
    this.compiler = createCompiler({ requirePolicyBundles: true, ...options.compileOptions }, {
      store: options.store,
      scope: options.sourceInfo.url,
      guard: unitEmissionFindings,
    });
    this.suspendedFlag = options.suspended ?? false;
    options.metrics?.suspended.set(this.suspendedFlag ? 1 : 0);
    options.metrics?.leader.set(options.leader ? 0 : 1);
  }

  /** Ready once the first cycle finished (or while another replica leads). */
  get ready(): boolean {
    return this.cycles > 0 || (this.options.leader !== undefined && !this.options.leader.isLeader);
  }

  get suspended(): boolean {
    return this.suspendedFlag;
  }

  get lastCycle(): CycleReport | undefined {
    return this.lastReport;
  }

  /** What the status branch says (or would say) after the last cycle. */
  get lastSummary(): SyncSummary | undefined {
    return this.summary;
  }

  /** A drift check was requested (by the member watch) and has not run yet. */
  get driftPending(): boolean {
    return this.driftRequested;
  }

  /** The last applied revision, if any since start. */
  get appliedRevision(): string | undefined {
    return this.good?.compiled.revision;
  }

  /** performance.now() when the last apply completed: what is in the cluster from then on (for benchmarks). */
  get appliedAtMs(): number | undefined {
    return this.appliedAt;
  }

  setSuspended(value: boolean): void {
    this.suspendedFlag = value;
    this.options.metrics?.suspended.set(value ? 1 : 0);
    this.wake.notify();
  }

  /** Starts the loop: a cycle now, then on the poll interval, on triggers, and on backoff after failures. */
  start(): void {
    if (this.loopDone) return;
    this.loopDone = this.loop();
  }

  /**
   * A drift check as soon as the current cycle (if any) ends: a member was
   * changed by someone else (the member watch's way in). Requests while a
   * check is pending make one check.
   */
  requestDriftCheck(reason = 'member changed'): void {
    if (!this.good) return;
    this.driftRequested = true;
    this.trigger(reason);
  }

  /** A cycle as soon as the current one (if any) ends: the webhook's way in. */
  trigger(reason = 'trigger'): void {
    this.options.logger?.debug({ reason }, 'cycle triggered');
    this.wake.notify();
  }

  /** Stops after the current cycle, waiting at most `graceMs` for it; true when it finished in time. */
  async stop(graceMs: number): Promise<boolean> {
    this.stopping = true;
    this.wake.notify();
    if (!this.loopDone) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), graceMs);
    });
    const finished = await Promise.race([this.loopDone.then(() => true as const), timeout]);
    clearTimeout(timer);
    return finished;
  }

  /** Runs one cycle (serialized with the loop's). `force` applies even when nothing changed: a drift check. */
  runCycle(options: { readonly force?: boolean; readonly reason?: string } = {}): Promise<CycleReport> {
    const run = this.queue.then(() => this.cycle(options.force ?? false, options.reason ?? 'manual'));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async loop(): Promise<void> {
    let reason = 'start';
    while (!this.stopping) {
      let delay: number;
      try {
        const report = await this.runCycle({ reason });
        delay = this.nextDelay(report);
      } catch (e) {
        this.options.logger?.error({ err: errorMessage(e) }, 'cycle crashed');
        delay = this.backoff.fail();
      }
      if (this.stopping) break;
      reason = (await this.wake.wait(delay)) ? 'trigger' : 'poll';
    }
  }

  private nextDelay(report: CycleReport): number {
    if (report.result === 'failed' || report.result === 'source-failed' || report.statusError !== undefined) return this.backoff.fail();
    this.backoff.reset();
    const poll = jittered(this.options.intervalMs, this.options.jitter ?? 0.1);
    if (!this.good) return poll;
    const untilDrift = Math.max(0, this.lastApplyAt + this.options.driftIntervalMs - this.now().getTime());
    return Math.min(poll, untilDrift);
  }

  private now(): Date {
    return this.options.now?.() ?? new Date();
  }

  private async cycle(force: boolean, reason: string): Promise<CycleReport> {
    const started = performance.now();
    const timings: Record<string, number> = {};
    const finish = (r: Omit<CycleReport, 'durationMs' | 'timings' | 'reason'>): CycleReport => {
      const report = { ...r, reason, durationMs: performance.now() - started, timings };
      this.cycles++;
      this.lastReport = report;
      if (report.ranPipeline) this.options.metrics?.reconcileDuration.observe({ result: report.result }, report.durationMs / 1000);
      this.options.metrics?.cycles.inc({ result: report.result });
      return report;
    };
    const empty = { ranPipeline: false, changed: 0, pruned: 0, drifted: 0, errors: [] as StatusError[] };
    if (this.options.leader && !this.options.leader.isLeader) {
      this.options.metrics?.leader.set(0);
      this.wasStandby = true;
      return finish({ ...empty, result: 'standby' });
    }
    if (this.options.leader) this.options.metrics?.leader.set(1);
    await this.restoreFromStatusBranch();

    let t = performance.now();
    const update = await this.options.source.update();
    timings.fetch = performance.now() - t;
    if (!update.ok) return finish(await this.sourceFailed(update, empty));
    const revision = update.revision;
    if (update.rewritten) this.options.logger?.warn({ revision }, 'the followed ref was rewritten (force-push or moved tag); following it');

    const intervalDue = this.good !== undefined && this.now().getTime() - this.lastApplyAt >= this.options.driftIntervalMs;
    const driftDue = intervalDue || (this.good !== undefined && this.driftRequested);
    // Asked for by the member watch alone: only the objects it reported need comparing.
    const watchedOnly = this.driftRequested && !intervalDue && !force;
    this.driftRequested = false;
    const fresh = revision !== this.decided || this.retry === revision;
    if (!fresh && !driftDue && !force) {
      // The source is back after an outage: the status says again what is applied.
      const recovered = this.summary?.phase === 'SourceUnavailable' && this.outcome ? { ...this.outcome, observedRevision: revision } : undefined;
      if (recovered) this.summary = recovered;
      const result = this.refusal?.revision === revision ? 'refused' : 'unchanged';
      const errors = result === 'refused' ? (this.refusal?.errors ?? []) : [];
      if (recovered || this.statusDirty) return finish({ ...empty, result, revision, errors, ...(await this.writeStatus(this.summary as SyncSummary)) });
      return finish({ ...empty, result, revision, errors });
    }

    let compiled = this.compiled?.revision === revision ? this.compiled : undefined;
    let ranPipeline = false;
    if (fresh && !compiled) {
      t = performance.now();
      compiled = await this.compile(update, timings);
      timings.pipeline = performance.now() - t;
      ranPipeline = true;
    }
    if (fresh && compiled?.run.refused) return finish({ ...(await this.refused(compiled)), ranPipeline });

    // What to apply: the new revision, or for a drift check the last good one.
    const subject = fresh || force ? (compiled && !compiled.run.refused ? compiled : this.good?.compiled) : this.good?.compiled;
    if (!subject) return finish({ ...(await this.statusOnly(revision)), ranPipeline, result: this.refusal?.revision === revision ? 'refused' : 'unchanged' });
    if (this.suspendedFlag) return finish({ ...(await this.suspendedCycle(revision)), ranPipeline });
    // Going back to the last good revision after a failed apply is an apply, not a drift check.
    const driftCheck = this.good?.compiled.revision === subject.revision && this.retry === undefined;
    return finish({ ...(await this.apply(subject, driftCheck, revision, timings, driftCheck && watchedOnly && !fresh)), ranPipeline });
  }

  // ---------------------------------------------------------------------------
  // Pipeline

  private async compile(update: GitSnapshotResult, timings: Record<string, number>): Promise<Compiled> {
    // Deployments pinned by a promotion run their version, compiled from its commit in the source's cache.
    const pins = { snapshotAt: (commit: string) => this.options.source.snapshotAt(commit), compileOptions: this.options.compileOptions };
    const run = await runPinnedSnapshot({ snapshot: update.snapshot, compiler: this.compiler, cache: this.cache, compileOptions: this.options.compileOptions }, pins);
    this.options.store?.collect();
    for (const [k, v] of Object.entries(run.timings)) timings[k] = v;
    const t = performance.now();
    const view = run.output ? this.origins.view(run.set, run.output.objects) : undefined;
    timings.origins = performance.now() - t;
    this.compiled = {
      revision: update.revision,
      run,
      desired: view?.desired ?? [],
      hashes: view?.hashes ?? new Map(),
      customResources: view?.customResources ?? new Map(),
      owners: view?.owners ?? new Map(),
      placement: placementOf(run),
    };
    return this.compiled;
  }

  // ---------------------------------------------------------------------------
  // Outcomes

  private async sourceFailed(update: GitUpdateFailure, empty: Omit<CycleReport, 'durationMs' | 'timings' | 'reason' | 'result'>): Promise<Omit<CycleReport, 'durationMs' | 'timings' | 'reason'>> {
    const f = update.failure;
    this.options.metrics?.gitFetchErrors.inc({ reason: f.reason });
    this.options.logger?.error({ reason: f.reason, url: this.options.sourceInfo.url }, `cannot read the source: ${f.message}`);
    const error: StatusError = { code: `git/${f.reason}`, message: f.message, file: '', line: 0, column: 0 };
    const revision = 'revision' in f ? f.revision : undefined;
    // An unsigned or untrusted commit is a refusal, not an outage: it is not applied, and the status says why.
    const summary =
      f.reason === 'unverified'
        ? this.summarize('Refused', `commit ${revision?.slice(0, 12) ?? ''} is not applied: ${f.message}; the last good revision stays applied`, revision, [error])
        : this.summarize('SourceUnavailable', `the source could not be read (${f.reason}); the last good revision stays applied`, revision, [error]);
    const written = await this.writeStatus(summary);
    return { ...empty, result: 'source-failed', revision, errors: [error], ...written };
  }

  private async refused(compiled: Compiled): Promise<Omit<CycleReport, 'durationMs' | 'timings' | 'reason'>> {
    const { run, revision } = compiled;
    this.decided = revision;
    this.retry = undefined;
    const errors = run.diagnostics.filter((d) => d.severity === 'error');
    const denials = errors.filter((d) => isPolicyFindingCode(d.code)).length;
    this.options.metrics?.policyDenials.inc(denials);
    const reason = denials > 0 && denials === errors.length ? 'PolicyDenied' : 'ValidationFailed';
    this.statuses = refusedStatuses(this.statuses, run.set.resources, run.diagnostics, reason);
    const list = errors.map(fromDiagnostic);
    for (const e of list.slice(0, 20)) this.options.logger?.error({ revision, code: e.code, file: e.file, line: e.line, column: e.column }, e.message);
    this.options.logger?.error({ revision, errors: list.length, policyDenials: denials, applied: this.good?.compiled.revision }, 'revision refused: nothing applied; the last good revision stays in place');
    await this.recordEvents(
      [...this.statuses.values()]
        .filter((s) => s.errors?.length)
        .flatMap((s) => this.eventFor(s.key, 'ReconcileFailed', `revision ${revision.slice(0, 12)} refused: ${s.errors?.[0]?.message ?? ''}`)),
    );
    const message = `revision ${revision.slice(0, 12)} has ${list.length} error(s) and was not applied; the last good revision stays in place`;
    this.refusal = { revision, message, errors: list };
    const written = await this.writeStatus(this.summarize('Refused', message, revision, list));
    return { result: 'refused', revision, ranPipeline: true, changed: 0, pruned: 0, drifted: 0, errors: list, ...written };
  }

  private async statusOnly(revision: string): Promise<Pick<CycleReport, 'changed' | 'pruned' | 'drifted' | 'errors' | 'revision' | 'statusCommit' | 'statusError'>> {
    const written = this.summary ? await this.writeStatus(this.summary) : {};
    return { revision, changed: 0, pruned: 0, drifted: 0, errors: this.summary?.errors ?? [], ...written };
  }

  private async suspendedCycle(revision: string): Promise<Omit<CycleReport, 'durationMs' | 'timings' | 'reason' | 'ranPipeline'>> {
    this.options.logger?.info({ revision }, 'applying is suspended: status only');
    const written = await this.writeStatus(this.summarize('Suspended', `applying is suspended; revision ${revision.slice(0, 12)} is waiting`, revision, []));
    return { result: 'suspended', revision, changed: 0, pruned: 0, drifted: 0, errors: [], ...written };
  }

  /** Applies `compiled`; `observed` is the revision the source shows now (a refused one while drift-checking the last good). */
  private async apply(
    compiled: Compiled,
    driftCheck: boolean,
    observed: string,
    timings: Record<string, number>,
    reportedOnly = false,
  ): Promise<Omit<CycleReport, 'durationMs' | 'timings' | 'reason' | 'ranPipeline'>> {
    const { revision, run } = compiled;
    const output = run.output;
    if (!output) throw new Error('apply without compile output');
    if (this.options.leader && !this.options.leader.isLeader) {
      this.wasStandby = true;
      return { result: 'standby', revision, changed: 0, pruned: 0, drifted: 0, errors: [] };
    }
    let t = performance.now();
    // After a failed apply the retry reads the whole ApplySet: what the failed run saw may be partial.
    const trustLastApply = !driftCheck && !this.wasStandby && this.retry === undefined;
    this.wasStandby = false;
    const result = await this.options.target.apply({ revision, output, desired: compiled.desired, driftCheck, trustLastApply, reportedOnly, placement: compiled.placement });
    timings.apply = performance.now() - t;
    this.recordClusters(result);
    const errors = result.errors.map(fromClusterError);
    const now = this.now();
    if (!result.complete) {
      this.retry = revision;
      this.decided = revision;
      this.options.logger?.error({ revision, errors: errors.length, target: this.options.target.description }, `apply failed: ${result.message}`);
      for (const e of errors.slice(0, 20)) this.options.logger?.error({ revision, code: e.code, file: e.file, line: e.line }, e.message);
      this.updateStatuses(compiled, result, false, new Map());
      await this.recordEvents(this.failureEvents(compiled, result));
      const written = await this.writeStatus(this.summarize('Failed', `applying revision ${revision.slice(0, 12)} failed; it is retried with backoff`, revision, errors));
      return { result: 'failed', revision, changed: result.changed.length, pruned: result.pruned.length, drifted: 0, errors, counters: result.counters, detail: result.message, ...written };
    }

    const drifted = driftCheck ? result.changed : [];
    const firstApply = this.good?.compiled.revision !== revision;
    // The time a revision was first applied survives restarts: it comes back from the status branch.
    const restoredAt = this.summary?.lastApplied?.revision === revision ? new Date(this.summary.lastApplied.at) : undefined;
    this.good = { compiled, at: firstApply ? (restoredAt ?? now) : (this.good?.at ?? now) };
    this.appliedAt = performance.now();
    this.decided = revision;
    this.retry = undefined;
    this.lastApplyAt = now.getTime();
    this.options.metrics?.objectsApplied.inc(result.changed.length);
    this.options.metrics?.objectsPruned.inc(result.pruned.length);
    this.options.metrics?.objectsDrifted.inc(drifted.length);
    this.options.metrics?.recordSuccess(revision, now);
    if (drifted.length) this.reportDrift(compiled, drifted, now);
    if (firstApply || result.changed.length || result.pruned.length) {
      this.options.logger?.info(
        {
          revision,
          target: this.options.target.kind,
          changed: result.changed.length,
          pruned: result.pruned.length,
          objects: result.changed.slice(0, 20).map((c) => `${c.ref.apiVersion} ${describeRef(c.ref)}${c.fields.length ? ` (${c.fields.slice(0, 3).join(", ")})` : ""}`),
        },
        `applied: ${result.message}`,
      );
    }
    t = performance.now();
    const agbom = firstApply ? this.buildAgboms(compiled) : new Map();
    timings.agbom = performance.now() - t;
    const changedStatuses = this.updateStatuses(compiled, result, true, agbom);
    t = performance.now();
    await this.publishClusterStatus(compiled, changedStatuses);
    await this.recordEvents(this.applyEvents(compiled, firstApply ? result.changed : [], drifted));
    timings.events = performance.now() - t;
    const healthyPhase: SyncPhase = [...this.statuses.values()].some((s) => s.phase === 'Progressing') ? 'Progressing' : 'Synced';
    // Drift-checking the last good revision while a newer one stays refused: the status still says refused.
    const refusal = this.refusal?.revision === observed ? this.refusal : undefined;
    if (!refusal) this.refusal = undefined;
    t = performance.now();
    const written = await this.writeStatus(
      refusal
        ? this.summarize('Refused', refusal.message, observed, refusal.errors)
        : this.summarize(healthyPhase, `revision ${revision.slice(0, 12)} is applied (${compiled.desired.length} objects)`, revision, []),
    );
    timings.status = performance.now() - t;
    return {
      result: refusal ? 'refused' : driftCheck ? 'drift-checked' : 'applied',
      revision: observed,
      changed: result.changed.length,
      pruned: result.pruned.length,
      drifted: drifted.length,
      changes: result.changed,
      errors: refusal?.errors ?? [],
      counters: result.counters,
      detail: result.message,
      ...written,
    };
  }

  /** The per-cluster outcome into the summary and the metrics; cleared by a revision with one cluster. */
  private recordClusters(result: TargetResult): void {
    this.clusters = result.clusters?.map((c) => ({ name: c.cluster, phase: c.phase, message: c.message }));
    const at = this.now();
    for (const c of result.clusters ?? []) {
      this.options.metrics?.clusterSynced.set({ cluster: c.cluster }, c.phase === 'Synced' ? 1 : 0);
      if (c.phase === 'Synced') this.options.metrics?.clusterLastSuccessTime.set({ cluster: c.cluster }, at.getTime() / 1000);
      else this.options.logger?.error({ cluster: c.cluster, phase: c.phase }, `cluster ${c.cluster}: ${c.message}`);
    }
  }

  private reportDrift(compiled: Compiled, drifted: readonly ObjectChange[], now: Date): void {
    const names = drifted.map((c) => describeRef(c.ref));
    this.lastDrift = { at: now.toISOString(), revision: compiled.revision, objects: names.slice(0, 50) };
    for (const c of drifted) {
      this.options.logger?.warn(
        { revision: compiled.revision, object: describeRef(c.ref), fields: c.fields.slice(0, 20), file: c.origin?.file, line: c.origin?.line },
        `drift corrected: ${describeRef(c.ref)} was ${c.outcome === 'created' ? 'deleted' : 'changed'} in the cluster and was put back${c.fields.length ? ` (${c.fields.slice(0, 5).join(', ')})` : ''}`,
      );
    }
  }

  // ---------------------------------------------------------------------------
  // Status

  private updateStatuses(
    compiled: Compiled,
    result: TargetResult,
    complete: boolean,
    agbom: ReadonlyMap<string, { generation: number; files: string[] }>,
  ): ResourceStatus[] {
    const previousAgbom = new Map([...this.statuses].flatMap(([k, s]) => (s.agbom ? [[k, s.agbom] as const] : [])));
    const next = statusesAfterApply({
      resources: compiled.run.set.resources,
      revision: compiled.revision,
      previous: this.statuses,
      view: compiled,
      agbom: new Map([...previousAgbom, ...agbom]),
      objects: result.objects,
      errors: result.errors,
      complete,
    });
    const changed = [...next.values()].filter((s) => JSON.stringify(s) !== JSON.stringify(this.statuses.get(s.key)));
    this.statuses = next;
    return changed;
  }

  private summarize(phase: SyncPhase, message: string, revision: string | undefined, errors: readonly StatusError[]): SyncSummary {
    const good = this.good;
    this.summary = {
      source: this.options.sourceInfo,
      target: this.options.target.description,
      phase: this.suspendedFlag && phase !== 'SourceUnavailable' ? 'Suspended' : phase,
      message,
      observedRevision: revision,
      lastApplied: good ? { revision: good.compiled.revision, at: good.at.toISOString() } : this.summary?.lastApplied,
      suspended: this.suspendedFlag,
      objects: good ? { desired: good.compiled.desired.length } : this.summary?.objects,
      lastDriftCorrection: this.lastDrift,
      ...(this.clusters ? { clusters: this.clusters } : {}),
      errors,
    };
    if (phase !== 'SourceUnavailable') this.outcome = this.summary;
    return this.summary;
  }

  /** Commits the status when it differs from what was last committed; never throws. */
  private async writeStatus(summary: SyncSummary): Promise<Pick<CycleReport, 'statusCommit' | 'statusError'>> {
    const writer = this.options.status;
    if (!writer) return {};
    const files = renderStatusFiles(summary, this.statuses);
    if (this.agbomState) files.set(AGBOM_STATE_FILE, serializeState(this.agbomState));
    const changed = [...files].some(([p, c]) => this.lastWritten.get(p) !== c) || this.pendingAgbomFiles.size > 0 || this.statusDirty;
    if (!changed) return {};
    const edits = new Map<string, string>([...files, ...this.pendingAgbomFiles]);
    const result = await writer.write(edits, { replace: [RESOURCES_DIR], subject: statusSubject(summary, this.statuses), body: summary.message });
    if (!result.ok) {
      this.statusDirty = true;
      this.options.metrics?.statusWriteErrors.inc({ reason: result.failure.reason });
      this.options.logger?.error({ reason: result.failure.reason, branch: writer.branch }, `status commit failed: ${result.failure.message}`);
      return { statusError: result.failure.message };
    }
    this.statusDirty = false;
    this.pendingAgbomFiles.clear();
    this.lastWritten = files;
    if (result.committed) this.options.logger?.info({ commit: result.commit, branch: writer.branch, attempts: result.attempts }, 'status committed');
    return result.committed && result.commit ? { statusCommit: result.commit } : {};
  }

  /** After a restart: the AgBOM generations and the last applied revision from the status branch. */
  private async restoreFromStatusBranch(): Promise<void> {
    const writer = this.options.status;
    if (this.restored || !writer) return;
    const read = await writer.read([AGBOM_STATE_FILE, SUMMARY_FILE]);
    if (!read.ok) return; // the branch is unreachable: try again next cycle
    this.restored = true;
    const summary = read.files.get(SUMMARY_FILE);
    if (summary) {
      this.summary = restoredSummary(Buffer.from(summary).toString('utf8'));
      this.lastDrift = this.summary?.lastDriftCorrection;
    }
    const state = read.files.get(AGBOM_STATE_FILE);
    if (state) {
      try {
        this.agbomState = parseState(Buffer.from(state).toString('utf8'));
      } catch (e) {
        this.options.logger?.warn({ err: errorMessage(e) }, 'the AgBOM state on the status branch is unreadable; generations start again');
      }
    }
  }

  // ---------------------------------------------------------------------------
  // AgBOM

  /** AgBOMs of every agent; a generation that is new is written to the status branch with the next status commit. */
  private buildAgboms(compiled: Compiled): Map<string, { generation: number; files: string[] }> {
    const before = this.agbomState;
    const out = new Map<string, { generation: number; files: string[] }>();
    const built = buildRunAgBoms(compiled.run, { toolVersion: this.options.toolVersion, env: this.options.env ?? {}, state: before });
    // The emission guard: an AgBOM that would carry a credential is not written, and the generations do not move.
    if (!built.ok) {
      const places = built.blocking.map((d) => `${d.file}:${d.line}`);
      this.options.logger?.error({ code: 'JOCH603', files: [...new Set(places)] }, 'AgBOMs not written: one would carry what looks like a credential');
      return out;
    }
    const { boms, state } = built;
    this.agbomState = state;
    for (const bom of boms) {
      const [, ns, name] = bom.inventory.agent.split('/');
      const file = `${AGBOM_DIR}/${ns}/${name}/${bom.generation.generation}.cdx.json`;
      out.set(bom.inventory.agent, { generation: bom.generation.generation, files: [file] });
      if (before?.agents[bom.inventory.agent]?.generation !== bom.generation.generation) {
        this.pendingAgbomFiles.set(file, serializeCycloneDx(renderCycloneDx(bom)));
      }
    }
    return out;
  }

  // ---------------------------------------------------------------------------
  // Cluster side effects: Joch CR status and Events

  private async publishClusterStatus(compiled: Compiled, changed: readonly ResourceStatus[]): Promise<void> {
    const cluster = this.options.clusterStatus;
    if (!cluster || !changed.length) return;
    const updates = customResourceUpdates(changed, compiled.customResources);
    if (!updates.length) return;
    // Placed on several clusters: each custom resource's status goes to the clusters that hold it.
    const target = this.options.target;
    if (target instanceof PlacedClusterTarget) {
      const placed = await target.writeResourceStatus(updates, cluster.fieldManager);
      if (placed.written) {
        if (placed.errors.length) this.options.logger?.warn({ errors: placed.errors.length, first: placed.errors[0]?.message }, 'some Joch resource statuses were not written');
        return;
      }
    }
    const result = await writeStatus(updates, { kubeconfig: cluster.kubeconfig, ...(cluster.fieldManager ? { fieldManager: cluster.fieldManager } : {}) });
    if (result.errors.length) {
      this.options.logger?.warn({ errors: result.errors.length, first: result.errors[0]?.message }, 'some Joch resource statuses were not written');
    }
  }

  private eventFor(key: string, reason: JochEvent['reason'], message: string): JochEvent[] {
    const object = this.compiled?.customResources.get(key) ?? this.good?.compiled.customResources.get(key);
    return object ? [{ object, reason, message }] : [];
  }

  private applyEvents(compiled: Compiled, changed: readonly ObjectChange[], drifted: readonly ObjectChange[]): JochEvent[] {
    const rev = compiled.revision.slice(0, 12);
    const byResource = (list: readonly ObjectChange[]) => groupBy(list, (c) => ownerKey(compiled, c));
    const events: JochEvent[] = [];
    const drift = byResource(drifted);
    for (const [key, objects] of drift) {
      events.push(...this.eventFor(key, 'DriftCorrected', `put back ${objects.length} object(s) changed in the cluster: ${objects.map((c) => describeRef(c.ref)).join(', ')}`));
    }
    for (const [key, objects] of byResource(changed)) {
      if (!drift.has(key)) events.push(...this.eventFor(key, 'Applied', `applied revision ${rev}: ${objects.length} object(s) created or changed`));
    }
    return events;
  }

  private failureEvents(compiled: Compiled, result: TargetResult): JochEvent[] {
    const events: JochEvent[] = [];
    for (const e of result.errors) {
      const key = ownerKey(compiled, e);
      if (key) events.push(...this.eventFor(key, 'ReconcileFailed', `applying revision ${compiled.revision.slice(0, 12)} failed: ${e.message}`));
    }
    return events;
  }

  private async recordEvents(events: readonly JochEvent[]): Promise<void> {
    const recorder = this.options.events;
    if (!recorder || !events.length) return;
    // Placed on several clusters: each Event goes where the resource it is about lives.
    const target = this.options.target;
    const groups = target instanceof PlacedClusterTarget ? target.eventsByCluster(events) : undefined;
    if (!groups) return recorder.record(events);
    for (const g of groups) await (this.clusterRecorders.get(g.kubeconfig) ?? this.rememberRecorder(g.kubeconfig, recorder)).record(g.events);
  }

  private rememberRecorder(kubeconfig: KubeConfig, home: EventRecorder): EventRecorder {
    const r = home.forCluster(kubeconfig);
    this.clusterRecorders.set(kubeconfig, r);
    return r;
  }
}

/** The revision's placement, when its joch.yaml maps clusters. */
function placementOf(run: SnapshotRun): ApplyRequest['placement'] {
  const access = run.config.config.clusters;
  if (!access || !run.output) return undefined;
  return { placement: placeObjects({ resources: run.set.resources, graphs: run.graphs, references: run.validation.references, output: run.output, config: run.config.config }), access };
}

/** The parts of a summary read back from the branch that carry over a restart. */
function restoredSummary(text: string): SyncSummary | undefined {
  // Read from a branch others can push to: never let its nesting reach the parser's recursion.
  if (deepNesting(text)) return undefined;
  try {
    const doc = parseYaml(text) as Partial<SyncSummary> | null;
    const last = doc?.lastApplied;
    if (!doc || typeof last?.revision !== 'string' || typeof last.at !== 'string') return undefined;
    return {
      source: { url: '', ref: '', root: '' },
      target: '',
      phase: 'Synced',
      message: '',
      suspended: false,
      errors: [],
      lastApplied: { revision: last.revision, at: last.at },
      ...(doc.lastDriftCorrection ? { lastDriftCorrection: doc.lastDriftCorrection } : {}),
    };
  } catch {
    return undefined;
  }
}



