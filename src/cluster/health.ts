/**
 * kstatus-style health of live objects. Rules are about what the cluster
 * reports, never assumed: a Deployment with no controller (or no kubelet to
 * run its pods) stays InProgress and says why. A kind nothing reports on (a
 * custom resource without a controller, a ConfigMap, a ResourceQuota, a
 * CronJob) is Current once applied, as in kstatus: waiting for a condition
 * nobody writes could never end.
 */
import { splitApiVersion } from './discovery.js';
import { isObject } from './fieldset.js';
import type { Health } from './types.js';

export interface Condition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
  observedGeneration?: number;
}

export const DEFAULT_READY_GROUPS: readonly string[] = ['joch.dev'];

export function isReadyConditionGroup(group: string, groups: readonly string[]): boolean {
  return groups.some((g) => group === g || group.endsWith(`.${g}`));
}

const current = (message = 'ready'): Health => ({ status: 'Current', message });
const progressing = (message: string): Health => ({ status: 'InProgress', message });
const failed = (message: string): Health => ({ status: 'Failed', message });

/**
 * Kinds whose status a controller of every cluster keeps moving (a rollout,
 * a Job, a volume claim): their health changes with no write of ours. Other
 * kinds (custom resources above all) may have no controller at all, and then
 * a health that is not Current never changes.
 */
const CONVERGING_KINDS = new Set([
  'apps/Deployment',
  'apps/StatefulSet',
  'apps/ReplicaSet',
  'apps/DaemonSet',
  'batch/Job',
  '/Pod',
  '/PersistentVolumeClaim',
  '/Service',
  'apiextensions.k8s.io/CustomResourceDefinition',
  '/Namespace',
]);

export function convergesOnItsOwn(apiVersion: string, kind: string): boolean {
  return CONVERGING_KINDS.has(`${splitApiVersion(apiVersion).group}/${kind}`);
}

export function assessHealth(live: Record<string, unknown>, readyGroups: readonly string[] = DEFAULT_READY_GROUPS): Health {
  const apiVersion = String(live['apiVersion'] ?? '');
  const kind = String(live['kind'] ?? '');
  const { group } = splitApiVersion(apiVersion);
  const metadata = (live['metadata'] ?? {}) as { generation?: number; deletionTimestamp?: string };
  if (metadata.deletionTimestamp) return progressing('being deleted');
  const status = isObject(live['status']) ? live['status'] : {};
  const spec = isObject(live['spec']) ? live['spec'] : {};
  const conditions = conditionsOf(live);
  const cond = (type: string): Condition | undefined => conditions.find((c) => c.type === type);

  switch (`${group}/${kind}`) {
    case 'apiextensions.k8s.io/CustomResourceDefinition':
      return crdHealth(cond);
    case '/Namespace':
      return status['phase'] === 'Terminating' ? progressing('namespace is terminating') : current();
    case 'apps/Deployment':
      return deploymentHealth(metadata.generation, spec, status, cond);
    case 'apps/StatefulSet':
    case 'apps/ReplicaSet':
      return replicatedHealth(kind, metadata.generation, spec, status);
    case 'apps/DaemonSet':
      return daemonSetHealth(metadata.generation, status);
    case 'batch/Job':
      return jobHealth(spec, status, cond);
    case '/PersistentVolumeClaim':
      return status['phase'] === 'Bound' ? current('bound') : progressing(`claim is ${String(status['phase'] ?? 'not bound')}`);
    case '/Pod':
      return podHealth(status, cond);
    case '/Service': {
      if (spec['type'] !== 'LoadBalancer') return current();
      const ingress = (status['loadBalancer'] as { ingress?: unknown[] } | undefined)?.ingress ?? [];
      return ingress.length ? current() : progressing('waiting for a load balancer address');
    }
  }
  if (isReadyConditionGroup(group, readyGroups)) return readyConditionHealth(metadata.generation, status, cond);
  return genericHealth(metadata.generation, status, cond);
}

function crdHealth(cond: (t: string) => Condition | undefined): Health {
  const names = cond('NamesAccepted');
  if (names?.status === 'False') return failed(`names not accepted: ${names.message ?? names.reason ?? ''}`);
  const established = cond('Established');
  if (established?.status === 'True') return current('established');
  return progressing(`not established yet${established?.message ? `: ${established.message}` : ''}`);
}

function observedLag(generation: number | undefined, status: Record<string, unknown>, controller: string): Health | undefined {
  const observed = status['observedGeneration'];
  if (typeof observed !== 'number') return progressing(`waiting for the ${controller} to observe it (no status yet)`);
  if (generation !== undefined && observed < generation) {
    return progressing(`waiting for the ${controller} to observe generation ${generation} (observed ${observed})`);
  }
  return undefined;
}

function num(v: unknown): number {
  return typeof v === 'number' ? v : 0;
}

function deploymentHealth(
  generation: number | undefined,
  spec: Record<string, unknown>,
  status: Record<string, unknown>,
  cond: (t: string) => Condition | undefined,
): Health {
  const lag = observedLag(generation, status, 'deployment controller');
  if (lag) return lag;
  const progressingCond = cond('Progressing');
  if (progressingCond?.reason === 'ProgressDeadlineExceeded') {
    return failed(`progress deadline exceeded: ${progressingCond.message ?? ''}`);
  }
  const want = typeof spec['replicas'] === 'number' ? spec['replicas'] : 1;
  const updated = num(status['updatedReplicas']);
  const total = num(status['replicas']);
  const available = num(status['availableReplicas']);
  if (updated < want) return progressing(`${updated} of ${want} replicas updated`);
  if (total > updated) return progressing(`${total - updated} old replicas pending termination`);
  if (available < want) return progressing(`${available} of ${want} replicas available`);
  return current(`${available} of ${want} replicas available`);
}

function replicatedHealth(kind: string, generation: number | undefined, spec: Record<string, unknown>, status: Record<string, unknown>): Health {
  const lag = observedLag(generation, status, `${kind} controller`);
  if (lag) return lag;
  const want = typeof spec['replicas'] === 'number' ? spec['replicas'] : 1;
  const ready = num(status['readyReplicas']);
  if (ready < want) return progressing(`${ready} of ${want} replicas ready`);
  if (kind === 'StatefulSet' && status['updateRevision'] && status['currentRevision'] !== status['updateRevision']) {
    return progressing('rolling update in progress');
  }
  return current(`${ready} of ${want} replicas ready`);
}

function daemonSetHealth(generation: number | undefined, status: Record<string, unknown>): Health {
  const lag = observedLag(generation, status, 'daemonset controller');
  if (lag) return lag;
  const want = num(status['desiredNumberScheduled']);
  const available = num(status['numberAvailable']);
  const updated = num(status['updatedNumberScheduled']);
  if (updated < want) return progressing(`${updated} of ${want} pods updated`);
  if (available < want) return progressing(`${available} of ${want} pods available`);
  return current(`${available} of ${want} pods available`);
}

function jobHealth(spec: Record<string, unknown>, status: Record<string, unknown>, cond: (t: string) => Condition | undefined): Health {
  const failedCond = cond('Failed');
  if (failedCond?.status === 'True') return failed(`job failed: ${failedCond.reason ?? ''} ${failedCond.message ?? ''}`.trim());
  if (cond('Complete')?.status === 'True') return current(`job complete (${num(status['succeeded'])} succeeded)`);
  // A suspended Job is where its author wants it (kstatus: Current); it runs when resumed.
  if (spec['suspend'] === true) return current('job suspended');
  if (status['startTime'] === undefined) return progressing('job not started (waiting for the job controller)');
  return progressing(`job running: ${num(status['active'])} active, ${num(status['succeeded'])} succeeded, ${num(status['failed'])} failed`);
}

function podHealth(status: Record<string, unknown>, cond: (t: string) => Condition | undefined): Health {
  const phase = String(status['phase'] ?? 'Pending');
  if (phase === 'Succeeded') return current('pod succeeded');
  if (phase === 'Failed') return failed(`pod failed: ${String(status['message'] ?? status['reason'] ?? '')}`);
  if (phase === 'Running' && cond('Ready')?.status === 'True') return current('pod ready');
  return progressing(`pod ${phase.toLowerCase()}${cond('PodScheduled')?.status === 'False' ? ' (not scheduled)' : ''}`);
}

function readyConditionHealth(generation: number | undefined, status: Record<string, unknown>, cond: (t: string) => Condition | undefined): Health {
  const stalled = cond('Stalled');
  if (stalled?.status === 'True') return failed(`stalled: ${stalled.reason ?? ''} ${stalled.message ?? ''}`.trim());
  const ready = cond('Ready');
  if (!ready) return current('applied; no controller reports a Ready condition');
  const observed = typeof ready.observedGeneration === 'number' ? ready.observedGeneration : status['observedGeneration'];
  if (generation !== undefined && typeof observed === 'number' && observed < generation) {
    return progressing(`Ready condition is for generation ${observed}, current is ${generation}`);
  }
  if (ready.status === 'True') return current(ready.message || 'Ready');
  return progressing(`not ready: ${ready.reason ?? ''}${ready.message ? `: ${ready.message}` : ''}`);
}

/** Unknown kinds: healthy unless they report otherwise through standard conditions. */
function genericHealth(generation: number | undefined, status: Record<string, unknown>, cond: (t: string) => Condition | undefined): Health {
  const observed = status['observedGeneration'];
  if (generation !== undefined && typeof observed === 'number' && observed < generation) {
    return progressing(`waiting for its controller to observe generation ${generation}`);
  }
  const stalled = cond('Stalled');
  if (stalled?.status === 'True') return failed(`stalled: ${stalled.message ?? stalled.reason ?? ''}`);
  if (cond('Reconciling')?.status === 'True') return progressing('reconciling');
  const ready = cond('Ready');
  if (ready?.status === 'False') return progressing(`not ready: ${ready.reason ?? ''}${ready.message ? `: ${ready.message}` : ''}`);
  return current();
}

/** The status conditions an object reports, none when it has no status yet. */
export function conditionsOf(obj: Readonly<Record<string, unknown>>): Condition[] {
  const status = isObject(obj['status']) ? obj['status'] : {};
  return Array.isArray(status['conditions']) ? (status['conditions'] as Condition[]) : [];
}
