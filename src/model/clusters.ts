/**
 * The clusters Environments name (`spec.runtime.cluster`), read from the
 * records alone: validation reports unmapped ones without loading the
 * compile stage, which places objects on them (src/compile/placement.ts).
 */
import type { Config } from '../config/index.js';
import type { Resource } from './resource.js';

/** A cluster an Environment names that joch.yaml does not map. */
export interface UnmappedCluster {
  readonly cluster: string;
  /** Keys of the Environments that name it. */
  readonly environments: readonly string[];
}

/** The cluster an Environment names, if any. */
export function environmentCluster(environment: Resource | undefined): string | undefined {
  const runtime = environment?.spec['runtime'];
  const cluster = runtime && typeof runtime === 'object' ? (runtime as Record<string, unknown>)['cluster'] : undefined;
  return typeof cluster === 'string' && cluster.length > 0 ? cluster : undefined;
}

/** Each Environment naming a cluster joch.yaml `clusters` does not map, in record order (none without `clusters`). */
export function environmentsOnUnmappedClusters(resources: readonly Resource[], config: Pick<Config, 'clusters'>): { environment: Resource; cluster: string }[] {
  const { clusters } = config;
  if (!clusters) return [];
  return resources.flatMap((r) => {
    const cluster = r.kind === 'Environment' ? environmentCluster(r) : undefined;
    return cluster === undefined || cluster in clusters ? [] : [{ environment: r, cluster }];
  });
}

/** The clusters Environments name that joch.yaml `clusters` does not map, each with its Environments. */
export function unmappedClusters(resources: readonly Resource[], config: Pick<Config, 'clusters'>): UnmappedCluster[] {
  const byCluster = new Map<string, string[]>();
  for (const { environment, cluster } of environmentsOnUnmappedClusters(resources, config)) byCluster.set(cluster, [...(byCluster.get(cluster) ?? []), environment.key]);
  return [...byCluster].sort(([a], [b]) => (a < b ? -1 : 1)).map(([cluster, environments]) => ({ cluster, environments: environments.sort() }));
}
