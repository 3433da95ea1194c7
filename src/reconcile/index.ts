/**
 * The continuous sync loop (`joch sync`): pulls a Git repository of Joch
 * manifests, runs validate, policy and compile for each new revision,
 * applies it (to a cluster, or as rendered manifests to a branch or folder),
 * builds AgBOMs and writes status back to Git. See README.md in this folder.
 */
export { Reconciler, type CycleReport, type CycleResult, type ReconcilerOptions } from './reconciler.js';
export { createSyncRuntime, SyncSetupError, type SyncContext, type SyncInfo, type SyncRuntime } from './setup.js';
export { parseSyncOptions, parseDuration, SyncOptionsSchema, SYNC_FLAGS, type RawSyncOptions, type SyncFlag, type SyncOptions } from './options.js';
export { ClusterTarget, FolderTarget, GitRenderedTarget, RENDERED_FOLDERS, type ApplyRequest, type ObjectChange, type SyncTarget, type TargetResult } from './targets.js';
export { Backoff, jittered, type BackoffOptions } from './backoff.js';
export { LeaderElector, type LeaderElectorOptions } from './leader.js';
export { EventRecorder, type EventReason, type JochEvent } from './events.js';
export { SyncMetrics } from './metrics.js';
export { createLogger, humanDestination, type Logger, type LoggerOptions } from './logger.js';
export { startSyncServer, type SyncServer, type SyncServerOptions, type WebhookRoute } from './server.js';
export { decidePush, parsePushEvent, signGithubPayload, verifyGithubSignature, type PushDecision, type PushEvent, type SignatureCheck } from './webhook.js';
export { OriginResolver } from '../pipeline/origins.js';
export {
  AGBOM_STATE_FILE,
  RESOURCES_DIR,
  SUMMARY_FILE,
  appliedStatuses,
  customResourceUpdates,
  statusesAfterApply,
  refusedStatuses,
  renderStatusFiles,
  statusSubject,
  type ResourcePhase,
  type ResourceStatus,
  type StatusError,
  type SyncPhase,
  type SyncSummary,
} from './status.js';
