/**
 * The order objects are emitted in: what must exist first comes first
 * (definitions, namespaces, cluster-wide objects), then each namespace with
 * identities and configuration before the workloads that use them. The order
 * is total, so the output never depends on the order units were built in.
 */
import type { CompiledObject, KubeObject } from './types.js';

const CLUSTER_RANK: Readonly<Record<string, number>> = {
  'apiextensions.k8s.io/CustomResourceDefinition': 0,
  '/Namespace': 1,
  'rbac.authorization.k8s.io/ClusterRole': 2,
  'rbac.authorization.k8s.io/ClusterRoleBinding': 3,
};

const NAMESPACED_RANK: Readonly<Record<string, number>> = {
  // Defaults and the quota before any pod is admitted against them.
  '/LimitRange': -2,
  '/ResourceQuota': -1,
  '/ServiceAccount': 0,
  'rbac.authorization.k8s.io/Role': 1,
  'rbac.authorization.k8s.io/RoleBinding': 2,
  '/ConfigMap': 3,
  'networking.k8s.io/NetworkPolicy': 4,
  // Joch custom resources: 5
  'apps/Deployment': 6,
  'autoscaling/HorizontalPodAutoscaler': 7,
  'policy/PodDisruptionBudget': 8,
  'batch/Job': 9,
  'batch/CronJob': 10,
};

const CUSTOM = 5;

function groupKind(o: KubeObject): string {
  const slash = o.apiVersion.indexOf('/');
  return `${slash < 0 ? '' : o.apiVersion.slice(0, slash)}/${o.kind}`;
}

/** [cluster rank, namespace, namespaced rank, group/kind, name]: cluster objects have namespace "" and rank -1 within it. */
type SortKey = readonly [number, string, number, string, string];

function sortKey(o: KubeObject): SortKey {
  const gk = groupKind(o);
  const ns = o.metadata.namespace;
  // Cluster-scoped Joch resources come after the built-in cluster objects; namespaces after all of them.
  if (ns === undefined) return [CLUSTER_RANK[gk] ?? 4, '', -1, gk, o.metadata.name];
  return [5, ns, NAMESPACED_RANK[gk] ?? CUSTOM, gk, o.metadata.name];
}

function compare(a: SortKey, b: SortKey): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as string | number;
    const y = b[i] as string | number;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

export function sortObjects(objects: readonly CompiledObject[]): CompiledObject[] {
  return objects
    .map((o) => ({ o, k: sortKey(o.object) }))
    .sort((a, b) => compare(a.k, b.k) || (a.o.object.apiVersion < b.o.object.apiVersion ? -1 : a.o.object.apiVersion > b.o.object.apiVersion ? 1 : 0))
    .map((x) => x.o);
}
