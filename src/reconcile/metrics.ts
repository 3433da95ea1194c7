/**
 * Prometheus metrics of the loop, on a registry of its own (two loops in one
 * process, as in tests, do not collide).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class SyncMetrics {
  readonly registry = new Registry();
  readonly reconcileDuration = new Histogram({
    name: 'joch_reconcile_duration_seconds',
    help: 'Duration of reconcile cycles that ran the pipeline, by result.',
    labelNames: ['result'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120],
    registers: [this.registry],
  });
  readonly cycles = new Counter({ name: 'joch_reconcile_cycles_total', help: 'Reconcile cycles by result.', labelNames: ['result'] as const, registers: [this.registry] });
  readonly lastSuccessTime = new Gauge({
    name: 'joch_last_successful_reconcile_timestamp_seconds',
    help: 'When a revision was last applied (or confirmed) without error.',
    registers: [this.registry],
  });
  readonly lastSuccessRevision = new Gauge({
    name: 'joch_last_successful_revision_info',
    help: 'The revision last applied without error (value 1, revision as a label).',
    labelNames: ['revision'] as const,
    registers: [this.registry],
  });
  readonly objectsApplied = new Counter({ name: 'joch_objects_applied_total', help: 'Objects created or changed by apply.', registers: [this.registry] });
  readonly objectsPruned = new Counter({ name: 'joch_objects_pruned_total', help: 'Objects deleted because they left the repository.', registers: [this.registry] });
  readonly objectsDrifted = new Counter({
    name: 'joch_objects_drift_corrected_total',
    help: 'Objects changed in the cluster by hand and put back.',
    registers: [this.registry],
  });
  readonly policyDenials = new Counter({
    name: 'joch_policy_denials_total',
    help: 'Policy errors in revisions that were refused for them.',
    registers: [this.registry],
  });
  readonly webhookRejections = new Counter({
    name: 'joch_webhook_rejections_total',
    help: 'Webhook requests rejected, by reason.',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly gitFetchErrors = new Counter({ name: 'joch_git_fetch_errors_total', help: 'Failed Git updates, by reason.', labelNames: ['reason'] as const, registers: [this.registry] });
  readonly statusWriteErrors = new Counter({ name: 'joch_status_write_errors_total', help: 'Failed status commits, by reason.', labelNames: ['reason'] as const, registers: [this.registry] });
  readonly leader = new Gauge({ name: 'joch_leader', help: '1 while this replica holds the Lease (always 1 without leader election).', registers: [this.registry] });
  readonly clusterSynced = new Gauge({
    name: 'joch_cluster_synced',
    help: "1 when the cluster's share of the last applied revision is applied, 0 when it failed or the cluster could not be reached (joch.yaml clusters only).",
    labelNames: ['cluster'] as const,
    registers: [this.registry],
  });
  readonly clusterLastSuccessTime = new Gauge({
    name: 'joch_cluster_last_successful_apply_timestamp_seconds',
    help: "When the cluster's share was last applied without error (joch.yaml clusters only).",
    labelNames: ['cluster'] as const,
    registers: [this.registry],
  });
  readonly suspended = new Gauge({ name: 'joch_suspended', help: '1 while applying is suspended.', registers: [this.registry] });

  constructor(options: { readonly processMetrics?: boolean } = {}) {
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry });
  }

  recordSuccess(revision: string, at: Date): void {
    this.lastSuccessRevision.reset();
    this.lastSuccessRevision.set({ revision }, 1);
    this.lastSuccessTime.set(at.getTime() / 1000);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
