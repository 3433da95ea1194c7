import type { Config } from '../config/index.js';
import { finding, type Finding } from '../diagnostics/index.js';
import { environmentsOnUnmappedClusters } from '../model/clusters.js';
import type { Resource } from '../model/resource.js';

/**
 * JOCH005 at each Environment's `spec.runtime.cluster` that joch.yaml does
 * not map: a note, or an error for the clusters being applied to (`target`).
 */
export function unmappedClusterFindings(resources: readonly Resource[], config: Pick<Config, 'clusters'>, target?: ReadonlySet<string>): Finding[] {
  const known = Object.keys(config.clusters ?? {}).sort().join(', ');
  return environmentsOnUnmappedClusters(resources, config).map(({ environment: r, cluster: c }) => {
    const applying = target?.has(c) ?? false;
    return finding(
      'JOCH005',
      `Environment ${r.name} runs on cluster ${c}, which joch.yaml clusters does not map (it maps ${known})${applying ? ': nothing can be applied to it' : '; its share is compiled but not applied'}`,
      { file: r.file, doc: r.doc, path: ['spec', 'runtime', 'cluster'] },
      { resource: { kind: r.kind, name: r.name }, hint: `add ${c} to joch.yaml clusters with a context, kubeconfig, inCluster or secretRef`, ...(applying ? { severity: 'error' as const } : {}) },
    );
  });
}
