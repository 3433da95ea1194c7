/**
 * Deployments held on a promoted version (see src/promote): read from their
 * records alone, so a caller can tell whether pins need resolving before it
 * loads the Git and compile stages that resolve them.
 */
import type { AgentGraph } from './graph.js';
import type { Resource } from './resource.js';

export const PIN_ANNOTATION = { version: 'joch.dev/version', sourceRevision: 'joch.dev/source-revision', promotedFrom: 'joch.dev/promoted-from' } as const;

export interface Pin {
  readonly deployment: Resource;
  readonly agent: Resource;
  readonly version: string;
  readonly sourceRevision: string;
  readonly promotedFrom: string | undefined;
}

/** Deployments whose record names both a version and the commit it came from. */
export function pinsOf(graphs: readonly AgentGraph[]): Pin[] {
  const out: Pin[] = [];
  for (const graph of graphs) {
    for (const { deployment } of graph.deployments) {
      const version = deployment.annotations[PIN_ANNOTATION.version];
      const sourceRevision = deployment.annotations[PIN_ANNOTATION.sourceRevision];
      if (version === undefined || sourceRevision === undefined) continue;
      out.push({ deployment, agent: graph.agent, version, sourceRevision, promotedFrom: deployment.annotations[PIN_ANNOTATION.promotedFrom] });
    }
  }
  return out;
}
