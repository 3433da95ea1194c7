/**
 * Why a Deployment has fewer available replicas than it wants, in the words
 * of the objects that know: its newest ReplicaSet (a pod it could not create:
 * quota, admission) and that ReplicaSet's pods (not scheduled, an image that
 * cannot be pulled, a container that keeps crashing). Read once, when a wait
 * ends without the Deployment being available, never while polling.
 */
import type { RunContext } from './context.js';
import { listObjects } from './context.js';
import { isObject } from './fieldset.js';
import { conditionsOf } from './health.js';
import type { KubeObject } from './types.js';

export async function deploymentReason(ctx: RunContext, deployment: KubeObject): Promise<string | undefined> {
  const selector = matchLabelsSelector(deployment);
  const namespace = deployment.metadata.namespace;
  const rsMapping = ctx.mapper.find('apps/v1', 'ReplicaSet');
  const podMapping = ctx.mapper.find('v1', 'Pod');
  if (selector === undefined || !namespace || !rsMapping || !podMapping) return undefined;
  try {
    const replicaSets = (await listObjects(ctx, rsMapping, namespace, { labelSelector: selector })).filter((rs) => ownedBy(rs, deployment));
    const newest = newestReplicaSet(replicaSets);
    if (!newest) return 'the deployment controller has created no ReplicaSet for it';
    const failure = conditionsOf(newest).find((c) => c.type === 'ReplicaFailure' && c.status === 'True');
    if (failure) return `ReplicaSet ${newest.metadata.name}: ${failure.reason ?? 'ReplicaFailure'}: ${failure.message ?? ''}`.trim();
    const pods = (await listObjects(ctx, podMapping, namespace, { labelSelector: selector })).filter((p) => ownedBy(p, newest));
    if (pods.length === 0) return `ReplicaSet ${newest.metadata.name} has no pods yet`;
    for (const pod of pods) {
      const why = podReason(pod);
      if (why) return `pod ${pod.metadata.name}: ${why}`;
    }
    return undefined;
  } catch {
    // Reading the reason is a courtesy: a refused list leaves the plain health message.
    return undefined;
  }
}

/** The first thing keeping a pod from being ready, as the scheduler or the kubelet reported it. */
export function podReason(pod: KubeObject): string | undefined {
  const status = isObject(pod['status']) ? pod['status'] : {};
  const conditions = conditionsOf(pod);
  if (status['phase'] === 'Succeeded' || status['phase'] === 'Running') {
    if (conditions.find((c) => c.type === 'Ready')?.status === 'True') return undefined;
  }
  const scheduled = conditions.find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False') return `not scheduled: ${scheduled.message ?? scheduled.reason ?? ''}`.trim();
  const spec = isObject(pod['spec']) ? pod['spec'] : {};
  if (!scheduled && !spec['nodeName']) return 'not scheduled: no scheduler has assigned it a node';
  const containers = [
    ...(Array.isArray(status['initContainerStatuses']) ? status['initContainerStatuses'] : []),
    ...(Array.isArray(status['containerStatuses']) ? status['containerStatuses'] : []),
  ] as { name?: string; state?: { waiting?: { reason?: string; message?: string }; terminated?: { reason?: string; exitCode?: number } } }[];
  for (const c of containers) {
    const waiting = c.state?.waiting;
    if (waiting?.reason && waiting.reason !== 'PodInitializing') return `container ${c.name ?? '?'}: ${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''}`;
    const terminated = c.state?.terminated;
    if (terminated && terminated.exitCode !== 0) return `container ${c.name ?? '?'}: terminated: ${terminated.reason ?? ''} (exit code ${terminated.exitCode ?? '?'})`;
  }
  if (status['phase'] === 'Pending') return 'pending on its node (the kubelet has not started it)';
  return 'running, not ready (readiness probe)';
}

function matchLabelsSelector(deployment: KubeObject): string | undefined {
  const spec = isObject(deployment['spec']) ? deployment['spec'] : {};
  const selector = isObject(spec['selector']) ? spec['selector'] : {};
  const labels = isObject(selector['matchLabels']) ? selector['matchLabels'] : undefined;
  if (!labels) return undefined;
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(',');
}

function ownedBy(child: KubeObject, owner: KubeObject): boolean {
  const refs = (child.metadata['ownerReferences'] ?? []) as { uid?: string }[];
  return refs.some((r) => r.uid === owner.metadata['uid']);
}

function newestReplicaSet(replicaSets: readonly KubeObject[]): KubeObject | undefined {
  const revision = (rs: KubeObject): number => Number(rs.metadata.annotations?.['deployment.kubernetes.io/revision'] ?? 0);
  return [...replicaSets].sort((a, b) => revision(b) - revision(a))[0];
}
