/**
 * Plain data types of the cluster stage: what goes in (desired objects and
 * options) and what comes out (plans, results, errors, counters). Everything
 * here is JSON-serialisable except the KubeConfig in the options.
 */
import type { KubeConfig } from '@kubernetes/client-node';

import type { KubeObject, KubeObjectMeta } from '../model/kube.js';

export type { KubeObject, KubeObjectMeta };

/** Where in the user's Joch manifests an object came from (1-based line and column). */
export interface Origin {
  file: string;
  line: number;
  column: number;
  resource?: { kind: string; namespace?: string; name: string };
}

export interface DesiredObject {
  object: KubeObject;
  origin?: Origin;
}

/** Identifies one object in the cluster. */
export interface ObjectRef {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
}

/** The ApplySet parent (KEP-3659). Its id is derived from it: see `applySetId`. */
export interface InventoryRef {
  /** Name of the parent object, for example the Joch project name. */
  name: string;
  /** Namespace of the parent object. It must exist or be in the desired set. */
  namespace: string;
  /** Kind of the parent object; default `Secret`, as kubectl does. */
  kind?: 'Secret' | 'ConfigMap';
}

/** Connection settings shared by every entry point. */
export interface ClusterOptions {
  kubeconfig: KubeConfig;
  /** Server-side apply field manager; default `joch`. */
  fieldManager?: string;
  /** Requests in flight at once; default 16. */
  concurrency?: number;
  /** Per-request timeout; default 30 000 ms. */
  requestTimeoutMs?: number;
  /** Attempts for a request that failed on the network or with 429/503/504; default 3. */
  attempts?: number;
}

export interface PruneGuard {
  /** Largest share (0..1] of the live inventory one run may delete; default 0.5. */
  maxShare?: number;
  /** Allow deleting more than `maxShare`, or the whole inventory. */
  allowMassPrune?: boolean;
}

/**
 * What an apply left in place: for every object it applied or found up to
 * date, the hash of what was applied and the health it had. Passed back as
 * `since`, it lets the next run trust the objects whose desired content did
 * not change (workloads only once Current) instead of reading the whole
 * ApplySet from the cluster: a one-
 * object change then costs a few requests, not a listing of the fleet. Hand
 * edits of trusted objects are not seen on such a run; a run without `since`
 * (the drift check) reads everything.
 */
export interface AppliedState {
  applySetId: string;
  objects: Record<string, { hash: string; health: Health }>;
}

export interface PlanOptions extends ClusterOptions {
  inventory: InventoryRef;
  /** The `applied` state of the last run, to analyse only what changed since (see AppliedState). */
  since?: AppliedState;
  /** Delete members that left the desired set; default true. */
  prune?: boolean;
  pruneGuard?: PruneGuard;
  /** Take over fields another applier owns (server-side apply force). */
  force?: boolean;
  /** Delete and re-create objects whose change touches an immutable field. */
  recreateImmutable?: boolean;
  /**
   * API groups whose custom resources, once a controller reports a Ready
   * condition, are healthy only while it is True for the current generation
   * (Unknown waits); without one they are Current once applied (kstatus).
   * Default: `joch.dev` and its subgroups.
   */
  readyConditionGroups?: readonly string[];
  /**
   * The source commit being applied: stamped as the `joch.dev/source-commit`
   * annotation on each object this run writes, so every object leads back to
   * the commit that last changed it. Never a reason to write: an object whose
   * content did not change keeps the commit it has.
   */
  sourceCommit?: string;
}

export interface ApplyOptions extends PlanOptions {
  /**
   * Wait for every applied object to become healthy, up to `timeoutMs`.
   * Without it, health is a snapshot taken from the apply responses.
   */
  wait?: { timeoutMs: number; pollIntervalMs?: number };
  /** How long to wait for new CRDs to become Established; default 60 000 ms. */
  crdTimeoutMs?: number;
  /** Told as objects are written and, with `wait`, as they become healthy: for a progress line. */
  onProgress?: (progress: ApplyProgress) => void;
}

/** How far a run is: `done` of `total` objects written (`applying`) or healthy (`waiting`). */
export interface ApplyProgress {
  readonly phase: 'applying' | 'waiting';
  readonly done: number;
  readonly total: number;
}

/** API calls made, by kind, for benchmarks and no-op checks. */
export interface ApiCounters {
  discovery: number;
  reads: number;
  lists: number;
  dryRuns: number;
  writes: number;
  deletes: number;
  /** Requests repeated after a network error or 429/503/504 (not counted above twice). */
  retries: number;
}

export type Stage = 'crds' | 'cluster' | 'namespaced';

export type ClusterErrorCode =
  | 'invalid-object'
  | 'duplicate'
  | 'unknown-kind'
  | 'invalid'
  | 'schema'
  | 'conflict'
  | 'immutable'
  | 'forbidden'
  | 'unauthorized'
  | 'not-found'
  | 'ownership'
  | 'terminating'
  | 'prune-guard'
  | 'unreachable'
  | 'timeout'
  | 'unhealthy'
  | 'server';

export type ClusterPhase = 'input' | 'discovery' | 'inventory' | 'preflight' | 'apply' | 'prune' | 'health' | 'status';

export interface ErrorCause {
  /** Field path as the API server names it, for example `spec.size` or `.data.a`. */
  field?: string;
  reason?: string;
  message: string;
}

/** Every error names the object and, when known, the manifest it came from. */
export interface ClusterError {
  code: ClusterErrorCode;
  phase: ClusterPhase;
  message: string;
  ref?: ObjectRef;
  origin?: Origin;
  /** HTTP status of the failed request, when there was one. */
  httpStatus?: number;
  causes?: ErrorCause[];
  /** Other field managers involved (conflicts). */
  managers?: string[];
}

export type ChangeOp = 'add' | 'remove' | 'change';

/** One field-level difference between the cluster and the desired object. */
export interface FieldChange {
  /** Readable path: `spec.template.spec.containers[name=app].image`. */
  path: string;
  op: ChangeOp;
  before?: unknown;
  after?: unknown;
  /** Secret data: values are never shown, only that this key changed. */
  sensitive?: true;
}

export type PlannedAction = 'create' | 'update' | 'recreate' | 'unchanged';

export interface PlannedObject {
  ref: ObjectRef;
  origin?: Origin;
  stage: Stage;
  action: PlannedAction;
  /** Why the object is not unchanged: new, drift, ownership, immutable... */
  reasons: string[];
  diff: FieldChange[];
  /**
   * `dry-run`: validated by the API server now; `deferred`: validated during
   * apply, after the CRD or Namespace it needs exists; `none`: unchanged.
   */
  validation: 'dry-run' | 'deferred' | 'none';
  deferredBecause?: string;
}

export interface PlannedPrune {
  ref: ObjectRef;
  action: 'delete' | 'keep';
  reason?: string;
}

export interface InventoryInfo {
  id: string;
  parent: ObjectRef;
  /** Live objects carrying this ApplySet's part-of label. */
  liveMembers: number;
  /** The parent's namespace is missing and is created before the parent (not a member: never pruned). */
  createsNamespace?: string;
}

export interface PlanSummary {
  create: number;
  update: number;
  recreate: number;
  unchanged: number;
  delete: number;
  keep: number;
}

export interface Plan {
  inventory: InventoryInfo;
  objects: PlannedObject[];
  prune: PlannedPrune[];
  summary: PlanSummary;
  errors: ClusterError[];
  counters: ApiCounters;
  durationMs: number;
}

export type HealthStatus = 'Current' | 'InProgress' | 'Failed' | 'NotFound' | 'Unknown';

export interface Health {
  status: HealthStatus;
  message: string;
}

export type ObjectOutcome = 'created' | 'configured' | 'recreated' | 'unchanged' | 'failed' | 'skipped';

export interface AppliedObject {
  ref: ObjectRef;
  origin?: Origin;
  stage: Stage;
  outcome: ObjectOutcome;
  diff: FieldChange[];
  health?: Health;
}

export interface PrunedObject {
  ref: ObjectRef;
  outcome: 'deleted' | 'kept' | 'failed' | 'skipped';
  reason?: string;
}

export interface ApplyResult {
  inventory: InventoryInfo;
  /**
   * What this run left in place; pass it as `since` to the next run. Absent
   * when the run could not read the whole ApplySet (the parent, or a member
   * list): the next run must then read everything again.
   */
  applied?: AppliedState;
  objects: AppliedObject[];
  pruned: PrunedObject[];
  /** Every desired object applied (or unchanged) without error. */
  complete: boolean;
  /** Every desired object is Current. */
  healthy: boolean;
  errors: ClusterError[];
  counters: ApiCounters;
  durationMs: number;
}

/** A Kubernetes-style condition as Joch custom resources carry it. */
export interface StatusCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message?: string;
  /** Kept from the live condition when the status did not change; otherwise now. */
  lastTransitionTime?: string;
  observedGeneration?: number;
}

/** Status of a Joch custom resource; content is the caller's. */
export interface JochStatus {
  phase?: string;
  conditions?: StatusCondition[];
  observedGeneration?: number;
  sourceRevision?: string;
  compiledHash?: string;
  agbomRef?: string;
  [field: string]: unknown;
}

export interface StatusUpdate {
  ref: ObjectRef;
  status: JochStatus;
  origin?: Origin;
}

export interface StatusOptions extends ClusterOptions {
  /** Clock for condition transition times (tests). */
  now?: () => Date;
}

export interface StatusWriteResult {
  results: { ref: ObjectRef; outcome: 'written' | 'unchanged' | 'failed' }[];
  errors: ClusterError[];
  counters: ApiCounters;
}
