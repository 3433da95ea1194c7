/**
 * Where a revision is applied: a live cluster (server-side apply through
 * src/cluster), or "rendered manifests" (the compiled YAML committed to a Git
 * branch, or written to a folder) for Argo CD or Flux to consume. All three
 * answer in the same shape, so the loop and the status are the same.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import path from 'node:path';
import {
  applySet,
  groupKind,
  MemberWatch,
  objectKey,
  type AppliedState,
  type DriftEvent,
  type AppliedObject,
  type ApiCounters,
  type ClusterError,
  type DesiredObject,
  type InventoryRef,
  type ObjectRef,
  type Origin,
} from '../cluster/index.js';
import { renderFiles, writeFiles, type CompileOutput, type Placement } from '../compile/index.js';
import type { ClusterAccess } from '../config/index.js';
import type { StatusWriter } from '../source/git.js';

export interface ApplyRequest {
  readonly revision: string;
  readonly output: CompileOutput;
  /** The output's objects with their origins resolved. */
  readonly desired: readonly DesiredObject[];
  /** The revision was applied before: whatever changes now is drift. */
  readonly driftCheck: boolean;
  /**
   * Objects this process applied in its last run, with the same content, may
   * be taken as up to date without reading them (see the cluster stage's
   * AppliedState). False on drift checks, and after a time on standby, when
   * another replica may have applied since.
   */
  readonly trustLastApply: boolean;
  /**
   * A drift check asked for by the member watch: only the members it
   * reported changed or deleted are read and compared, the rest is trusted
   * as last applied. The drift interval's check reads everything.
   */
  readonly reportedOnly?: boolean | undefined;
  /**
   * The revision's placement when its joch.yaml maps clusters: each share
   * goes to its cluster (src/reconcile/clusters.ts). Rendered targets write
   * every object, as before.
   */
  readonly placement?: { readonly placement: Placement; readonly access: Readonly<Record<string, ClusterAccess>> } | undefined;
}

export interface ObjectChange {
  readonly ref: ObjectRef;
  readonly origin?: Origin | undefined;
  readonly outcome: 'created' | 'configured' | 'recreated';
  /** Changed field paths (values are not carried: they may be secret). */
  readonly fields: readonly string[];
}

export interface TargetResult {
  /** Every object was written (or found up to date) and pruning ran. */
  readonly complete: boolean;
  readonly changed: readonly ObjectChange[];
  readonly pruned: readonly ObjectRef[];
  readonly errors: readonly ClusterError[];
  /** The cluster's view of each object, health included (cluster target only). */
  readonly objects?: readonly AppliedObject[] | undefined;
  readonly counters?: ApiCounters | undefined;
  /** One line for logs and the status summary. */
  readonly message: string;
  /** Per cluster, when the revision placed its objects on several. */
  readonly clusters?: readonly { readonly cluster: string; readonly phase: 'Synced' | 'Failed' | 'Unreachable'; readonly message: string }[] | undefined;
}

export interface SyncTarget {
  readonly kind: 'cluster' | 'git' | 'folder';
  /** Where, for logs and the status summary. */
  readonly description: string;
  apply(request: ApplyRequest): Promise<TargetResult>;
}

export interface ClusterTargetOptions {
  readonly kubeconfig: KubeConfig;
  readonly inventory: InventoryRef;
  readonly fieldManager?: string | undefined;
  readonly requestTimeoutMs?: number | undefined;
  /**
   * Called when a member of the ApplySet is changed or deleted by someone
   * else: the members are watched once a revision is applied (see
   * src/cluster/watch.ts), so drift is found in seconds, not on the drift
   * interval.
   */
  readonly onDrift?: ((event: DriftEvent) => void) | undefined;
}

export class ClusterTarget implements SyncTarget {
  readonly kind = 'cluster';
  readonly description: string;
  /** What the last run left in place, for the next run's `since`. */
  private applied: AppliedState | undefined;
  private watch: { readonly kinds: string; readonly members: MemberWatch } | undefined;
  /** Keys of members the watch reported changed by someone else since the last apply. */
  private reported = new Set<string>();

  constructor(private readonly options: ClusterTargetOptions) {
    const server = options.kubeconfig.getCurrentCluster()?.server ?? 'the cluster';
    this.description = `cluster ${server} (ApplySet ${options.inventory.namespace}/${options.inventory.name})`;
  }

  async apply(request: ApplyRequest): Promise<TargetResult> {
    const since = this.sinceFor(request);
    const result = await applySet(request.desired, {
      sourceCommit: request.revision,
      kubeconfig: this.options.kubeconfig,
      inventory: this.options.inventory,
      ...(this.options.fieldManager ? { fieldManager: this.options.fieldManager } : {}),
      ...(this.options.requestTimeoutMs ? { requestTimeoutMs: this.options.requestTimeoutMs } : {}),
      ...(since ? { since } : {}),
      prune: true,
    });
    // Absent when the run did not see the whole ApplySet: the next run reads everything.
    this.applied = result.applied;
    if (result.applied && result.complete) await this.watchMembers();
    const changed: ObjectChange[] = [];
    for (const o of result.objects) {
      if (o.outcome !== 'created' && o.outcome !== 'configured' && o.outcome !== 'recreated') continue;
      changed.push({ ref: o.ref, ...(o.origin ? { origin: o.origin } : {}), outcome: o.outcome, fields: o.diff.map((d) => d.path) });
    }
    const pruned = result.pruned.filter((p) => p.outcome === 'deleted').map((p) => p.ref);
    const c = result.counters;
    return {
      complete: result.complete && result.errors.length === 0,
      changed,
      pruned,
      errors: result.errors,
      objects: result.objects,
      counters: c,
      message: `${changed.length} changed, ${pruned.length} pruned, ${result.objects.length - changed.length} unchanged (API: ${c.writes} writes, ${c.dryRuns} dry-runs, ${c.deletes} deletes, ${c.reads + c.lists + c.discovery} reads)`,
    };
  }

  /**
   * What the run may take as up to date: everything of the last apply
   * (incremental), that less the reported members (a drift check asked for
   * by the watch), or nothing (a full drift check reads every member).
   */
  private sinceFor(request: ApplyRequest): AppliedState | undefined {
    const reported = this.reported;
    this.reported = new Set();
    if (!this.applied) return undefined;
    if (request.reportedOnly && reported.size > 0) {
      return { applySetId: this.applied.applySetId, objects: Object.fromEntries(Object.entries(this.applied.objects).filter(([key]) => !reported.has(key))) };
    }
    return request.trustLastApply ? this.applied : undefined;
  }

  /** Watches the kinds of what is applied; a new set of kinds restarts the watch. Never fails an apply. */
  private async watchMembers(): Promise<void> {
    const onDrift = this.options.onDrift;
    if (!onDrift) return;
    const kinds = this.appliedKinds();
    if (this.watch?.kinds === kinds.join(',')) return;
    await this.watch?.members.stop();
    this.watch = undefined;
    try {
      const members = await MemberWatch.start({
        kubeconfig: this.options.kubeconfig,
        inventory: this.options.inventory,
        ...(this.options.fieldManager ? { fieldManager: this.options.fieldManager } : {}),
        groupKinds: kinds,
        // A member that left the desired set and was pruned is no drift.
        onDrift: (event) => {
          const current = this.applied?.objects ?? {};
          const key = objectKey(event.ref.apiVersion, event.ref.kind, event.ref.namespace, event.ref.name);
          if (!current[key]?.hash) return;
          this.reported.add(key);
          onDrift(event);
        },
      });
      this.watch = { kinds: kinds.join(','), members };
    } catch {
      // Without a watch, the drift interval still finds every change.
    }
  }

  /** `Kind.group` of the kinds applied last time: what the watch follows. */
  appliedKinds(): string[] {
    return [...new Set(Object.entries(this.applied?.objects ?? {}).filter(([, o]) => o.hash).map(([key]) => groupKindOfKey(key)))].sort();
  }

  /** Members the watch reported since the last apply (tests). */
  get reportedCount(): number {
    return this.reported.size;
  }

  /** The member watch, when one runs (tests, benchmarks). */
  get memberWatch(): MemberWatch | undefined {
    return this.watch?.members;
  }

  /** The cluster this target applies to. */
  get kubeconfig(): KubeConfig {
    return this.options.kubeconfig;
  }

  async close(): Promise<void> {
    await this.watch?.members.stop();
    this.watch = undefined;
  }
}

/** `Kind.group` of an AppliedState key (`group/Kind/namespace/name`). */
function groupKindOfKey(key: string): string {
  const [group = '', kind = ''] = key.split('/');
  return groupKind(group, kind);
}

/** The folders of a rendered branch the loop owns: anything else on the branch (a README) is left alone. */
export const RENDERED_FOLDERS = ['crds', 'objects', 'manifests'] as const;

export class GitRenderedTarget implements SyncTarget {
  readonly kind = 'git';
  readonly description: string;

  constructor(
    private readonly writer: StatusWriter,
    private readonly sourceUrl: string,
  ) {
    this.description = `rendered manifests on branch ${writer.branch} of ${writer.url}`;
  }

  async apply(request: ApplyRequest): Promise<TargetResult> {
    const files = renderFiles(request.output);
    const result = await this.writer.write(new Map(files.map((f) => [f.path, f.content])), {
      replace: RENDERED_FOLDERS,
      subject: `joch: render ${request.revision.slice(0, 12)}`,
      body: `Rendered from ${this.sourceUrl} at ${request.revision}: ${request.output.objects.length} objects, ${request.output.manifests.length} agent manifests.`,
    });
    if (!result.ok) {
      return {
        complete: false,
        changed: [],
        pruned: [],
        errors: [{ code: 'unreachable', phase: 'apply', message: `the rendered branch ${this.writer.branch} was not written: ${result.failure.message}` }],
        message: result.failure.message,
      };
    }
    // A branch with nothing to commit is up to date; on a drift check, a commit means someone edited it.
    const changed: ObjectChange[] = result.committed
      ? [{ ref: { apiVersion: 'git', kind: 'Branch', name: this.writer.branch }, outcome: 'configured', fields: [] }]
      : [];
    return {
      complete: true,
      changed,
      pruned: [],
      errors: [],
      message: result.committed ? `committed ${result.commit?.slice(0, 12)} on ${this.writer.branch} (${files.length} files)` : `${this.writer.branch} already up to date`,
    };
  }
}

export class FolderTarget implements SyncTarget {
  readonly kind = 'folder';
  readonly description: string;

  constructor(private readonly dir: string) {
    this.description = `rendered manifests in ${dir}`;
  }

  async apply(request: ApplyRequest): Promise<TargetResult> {
    const stats = writeFiles(path.resolve(this.dir), renderFiles(request.output));
    const changed: ObjectChange[] =
      stats.written + stats.removed > 0 ? [{ ref: { apiVersion: 'file', kind: 'Folder', name: this.dir }, outcome: 'configured', fields: [] }] : [];
    return Promise.resolve({
      complete: true,
      changed,
      pruned: [],
      errors: [],
      message: `${stats.written} written, ${stats.unchanged} unchanged, ${stats.removed} removed in ${this.dir}`,
    });
  }
}
