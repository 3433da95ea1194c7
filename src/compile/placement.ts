/**
 * Placement: which cluster receives each compiled object.
 *
 * An Environment names its cluster (`spec.runtime.cluster`); joch.yaml
 * `clusters` says how to reach each one. The rule, per object:
 * - a Deployment's objects (its workloads and its own record) go to the
 *   cluster of its Environment;
 * - an agent's objects (its identity, manifest, network policy, roles, its
 *   record) go to every cluster where something of it runs: the clusters of
 *   its Deployments, and the default cluster when it has an Execution or no
 *   Deployment at all;
 * - an Execution names no Environment: it goes to the default cluster;
 * - everything else goes to every cluster: the CRDs, the namespaces with
 *   their guardrails (default-deny policy, quotas, team access), the
 *   data-plane secret access, and the other Joch records (tools, routes,
 *   models, policies, budgets, evals...), which are references and
 *   settings, never values, and must resolve wherever an agent runs.
 * A Deployment whose Environment names no cluster goes to the default one.
 *
 * Without joch.yaml `clusters` there is one cluster, the kubeconfig's, and
 * it receives everything: output is then what it was before placement.
 */
import type { Config } from '../config/index.js';
import { APPLYSET_PART_OF, applySetId, defaultApplySetParent } from '../model/applyset.js';
import type { AgentGraph, ReferenceEdge } from '../model/graph.js';
import { environmentCluster, unmappedClusters, type UnmappedCluster } from '../model/clusters.js';
import type { Resource } from '../model/resource.js';

export { environmentCluster, unmappedClusters, type UnmappedCluster } from '../model/clusters.js';
import type { CompiledManifestEntry, CompiledObject, CompileOutput } from './types.js';

/** The cluster of a configuration without `clusters`: the kubeconfig's current context. */
export const IMPLICIT_CLUSTER = 'default';

export interface PlacementInput {
  readonly resources: readonly Resource[];
  readonly graphs: readonly AgentGraph[];
  /** The validate stage's resolved references: an Execution's agent is its `spec.agentRef`. */
  readonly references: readonly ReferenceEdge[];
  readonly output: Pick<CompileOutput, 'objects' | 'manifests'>;
  readonly config: Pick<Config, 'clusters' | 'defaultCluster'>;
}

export interface ClusterShare {
  readonly cluster: string;
  /** Whether joch.yaml says how to reach it. */
  readonly mapped: boolean;
  /** In the compiler's order. */
  readonly objects: readonly CompiledObject[];
  /** The manifests of the agents placed here. */
  readonly manifests: readonly CompiledManifestEntry[];
  /** Keys of the agents with objects here. */
  readonly agents: readonly string[];
}

export interface Placement {
  /** False when joch.yaml has no `clusters`: one implicit cluster receives everything. */
  readonly multiCluster: boolean;
  readonly defaultCluster: string;
  /** Every cluster that receives something, mapped or not, sorted by name; mapped ones with nothing placed too. */
  readonly shares: readonly ClusterShare[];
  readonly unmapped: readonly UnmappedCluster[];
}

/** Which objects each cluster receives. A plain function of the compile output and the configuration. */
export function placeObjects(input: PlacementInput): Placement {
  const { clusters } = input.config;
  if (!clusters) {
    const agents = input.graphs.map((g) => g.agent.key);
    return {
      multiCluster: false,
      defaultCluster: IMPLICIT_CLUSTER,
      shares: [{ cluster: IMPLICIT_CLUSTER, mapped: true, objects: input.output.objects, manifests: input.output.manifests, agents }],
      unmapped: [],
    };
  }
  const mapped = Object.keys(clusters).sort();
  const defaultCluster = input.config.defaultCluster ?? (mapped[0] as string);
  const rules = placementRules(input, defaultCluster);
  const names = [...new Set([...mapped, defaultCluster, ...rules.named])].sort();

  const objects = new Map<string, CompiledObject[]>(names.map((n) => [n, []]));
  for (const o of input.output.objects) {
    for (const c of rules.clustersOf(o) ?? names) objects.get(c)?.push(o);
  }
  const shares = names.map((cluster): ClusterShare => {
    const agents = [...rules.agentClusters].filter(([, cs]) => cs.has(cluster)).map(([a]) => a).sort();
    const placed = new Set(agents);
    return {
      cluster,
      mapped: cluster in clusters,
      objects: objects.get(cluster) ?? [],
      manifests: input.output.manifests.filter((m) => placed.has(m.agent)),
      agents,
    };
  });
  return { multiCluster: true, defaultCluster, shares, unmapped: unmappedClusters(input.resources, input.config) };
}

/** The share of one cluster; undefined when nothing names it. */
export function shareOf(placement: Placement, cluster: string): ClusterShare | undefined {
  return placement.shares.find((s) => s.cluster === cluster);
}

/** The share as a compile output of its own, for writing it to a folder. */
export function shareOutput<T extends Pick<CompileOutput, 'objects' | 'manifests'>>(output: T, share: ClusterShare): T {
  return { ...output, objects: share.objects, manifests: share.manifests };
}

/**
 * The share labelled for the cluster's own inventory when joch.yaml gives it
 * one (`clusters.NAME.inventory`), so written files say the ApplySet the
 * apply puts them in; unchanged otherwise.
 */
export function labelledForCluster(share: ClusterShare, config: Pick<Config, 'clusters'>): ClusterShare {
  const inventory = config.clusters?.[share.cluster]?.inventory;
  if (!inventory) return share;
  const [namespace = '', name = ''] = inventory.split('/');
  const id = applySetId(defaultApplySetParent(name, namespace));
  const objects = share.objects.map((o) => ({ ...o, object: { ...o.object, metadata: { ...o.object.metadata, labels: { ...o.object.metadata.labels, [APPLYSET_PART_OF]: id } } } }));
  return { ...share, objects };
}

interface Rules {
  /** The clusters of one object; undefined for every cluster. */
  clustersOf(o: CompiledObject): ReadonlySet<string> | undefined;
  readonly agentClusters: ReadonlyMap<string, ReadonlySet<string>>;
  /** Clusters named by Environments that place something. */
  readonly named: ReadonlySet<string>;
}

function placementRules(input: PlacementInput, defaultCluster: string): Rules {
  const byPlace = new Map(input.resources.map((r) => [`${r.file}\u0000${r.doc}`, r]));
  const deploymentCluster = new Map<string, string>();
  const agentClusters = new Map<string, Set<string>>();
  const named = new Set<string>();
  for (const g of input.graphs) {
    const set = new Set<string>();
    for (const d of g.deployments) {
      const c = environmentCluster(d.environment) ?? defaultCluster;
      deploymentCluster.set(d.deployment.key, c);
      set.add(c);
      named.add(c);
    }
    agentClusters.set(g.agent.key, set);
  }
  // Executions run where the default cluster is; their agent must be there too.
  for (const ref of input.references) {
    if (ref.to !== undefined && ref.from.startsWith('Execution/') && ref.path[0] === 'spec' && ref.path[1] === 'agentRef') agentClusters.get(ref.to)?.add(defaultCluster);
  }
  for (const set of agentClusters.values()) if (set.size === 0) set.add(defaultCluster);

  const only = (c: string) => new Set([c]);
  return {
    agentClusters,
    named,
    clustersOf(o) {
      const from = o.origin ? byPlace.get(`${o.origin.file}\u0000${o.origin.doc}`) : undefined;
      if (!from) return undefined;
      if (from.kind === 'Deployment') return only(deploymentCluster.get(from.key) ?? defaultCluster);
      if (from.kind === 'Execution') return only(defaultCluster);
      if (from.kind === 'Agent') return agentClusters.get(from.key) ?? only(defaultCluster);
      return undefined;
    },
  };
}
