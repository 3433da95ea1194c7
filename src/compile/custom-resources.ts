/**
 * Each Joch manifest as a custom resource of its canonical group. The spec is
 * kept as written: references inside it keep the Joch names, and the Joch
 * name of the resource itself is in the `joch.dev/name` annotation when the
 * Kubernetes name differs. Status is the controller's and is never emitted.
 */
import { JOCH_VERSION, kindInfo } from '../model/kinds.js';
import { kubernetesName } from '../model/names.js';
import { objectMeta, type Provenance } from './meta.js';
import type { KubeObject } from './types.js';

/** Runtime records (ToolCall, Trace...) live in the cluster, not in Git: they are not compiled. */
export function isCompiledKind(kind: string): boolean {
  return kindInfo(kind)?.role === 'desired';
}

export function customResource(from: Provenance, applySetId: string, agent: string | undefined): KubeObject {
  const r = from.resource;
  const info = kindInfo(r.kind);
  if (!info) throw new Error(`no kind ${r.kind} in the catalog`);
  return {
    apiVersion: `${info.group}/${JOCH_VERSION}`,
    kind: r.kind,
    metadata: objectMeta(
      {
        name: kubernetesName(r.name),
        namespace: r.namespace,
        from,
        component: 'custom-resource',
        appName: agent ?? r.name,
        instance: r.name,
        agent,
        userMetadata: true,
      },
      applySetId,
    ),
    spec: r.spec,
  };
}
