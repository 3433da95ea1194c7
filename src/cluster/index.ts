/**
 * The cluster stage: applies a compiled set of Kubernetes objects the way a
 * GitOps engine does (server-side apply, staged, preflighted, pruned through
 * an ApplySet inventory, health-checked). Plain data in, plain data out.
 * See README.md in this folder for the design.
 */
export { planApply } from './plan.js';
export { applySet } from './apply.js';
export { writeStatus } from './status.js';
export { formatPlanText, formatPlanJson, formatApplyResultText, formatApplyResultJson, wroteAnything } from './render.js';
export type { ApplyTextOptions, TextOptions } from './render.js';
export { describeRef, formatClusterError, summarizeErrors } from './errors.js';
export { objectKey } from './context.js';
export { groupKind } from './discovery.js';
export { assessHealth } from './health.js';
export { refuseInsecureSkipTlsVerify } from './transport.js';
export {
  applySetId,
  APPLYSET_ID_LABEL,
  APPLYSET_PART_OF_LABEL,
  APPLYSET_TOOLING_ANNOTATION,
  APPLYSET_GROUP_KINDS_ANNOTATION,
  APPLYSET_NAMESPACES_ANNOTATION,
  PRUNE_ANNOTATION,
  PRUNE_DISABLED,
} from './inventory.js';
export type * from './types.js';
export { MemberWatch, lastWriter } from './watch.js';
export type { DriftEvent, MemberWatchOptions, WatchStats } from './watch.js';
export { kubeConfigForCluster, clusterInventory, sharedInventories, ClusterAccessError } from './connect.js';
export type { AccessEnvironment } from './connect.js';
