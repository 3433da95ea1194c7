/**
 * ApplySet inventory (KEP-3659), the same labels kubectl's --applyset uses:
 * - the parent object carries `applyset.kubernetes.io/id=<id>` and the
 *   annotations `applyset.kubernetes.io/tooling`,
 *   `applyset.kubernetes.io/contains-group-kinds` and
 *   `applyset.kubernetes.io/additional-namespaces`;
 * - every member carries `applyset.kubernetes.io/part-of=<id>`;
 * - the id is `applyset-<base64url(sha256(name.namespace.Kind.group))>-v1`
 *   of the parent, so it cannot be chosen to collide with another parent.
 */
import { APPLYSET_ID_LABEL, APPLYSET_PART_OF, APPLYSET_TOOLING, applySetId as idOfParent } from '../model/applyset.js';
import { groupKind } from './discovery.js';
import type { InventoryRef, KubeObject, ObjectRef } from './types.js';

export { APPLYSET_ID_LABEL };
export const APPLYSET_PART_OF_LABEL = APPLYSET_PART_OF;
export const APPLYSET_TOOLING_ANNOTATION = APPLYSET_TOOLING;
export const APPLYSET_GROUP_KINDS_ANNOTATION = 'applyset.kubernetes.io/contains-group-kinds';
export const APPLYSET_NAMESPACES_ANNOTATION = 'applyset.kubernetes.io/additional-namespaces';
/** Set to `disabled` on a live object to keep it when it leaves the desired set. */
export const PRUNE_ANNOTATION = 'joch.dev/prune';
export const PRUNE_DISABLED = 'disabled';
export const TOOLING = 'joch/v1';
/** On a namespace the cluster stage created for its inventory: the field manager that created it. */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';

export function parentKind(inv: InventoryRef): 'Secret' | 'ConfigMap' {
  return inv.kind ?? 'Secret';
}

export function parentRef(inv: InventoryRef): ObjectRef {
  return { apiVersion: 'v1', kind: parentKind(inv), namespace: inv.namespace, name: inv.name };
}

/** KEP-3659 ApplySet id of the parent object: the compiler labels members with the same id. */
export function applySetId(inv: InventoryRef): string {
  return idOfParent({ name: inv.name, namespace: inv.namespace, kind: parentKind(inv), group: '' });
}

export interface InventoryState {
  /** `Kind.group` entries (core group: `Kind`). */
  groupKinds: Set<string>;
  namespaces: Set<string>;
}

/** Reads the member group-kinds and namespaces recorded on a live parent. */
export function readInventoryState(parent: KubeObject | undefined, inv: InventoryRef): InventoryState {
  const annotations = parent?.metadata.annotations ?? {};
  return {
    groupKinds: new Set(splitList(annotations[APPLYSET_GROUP_KINDS_ANNOTATION])),
    namespaces: new Set([inv.namespace, ...splitList(annotations[APPLYSET_NAMESPACES_ANNOTATION])]),
  };
}

/** Why a live object cannot serve as our parent, or undefined when it can. */
export function parentProblem(parent: KubeObject, id: string): string | undefined {
  const labels = parent.metadata.labels ?? {};
  if (labels[APPLYSET_ID_LABEL] !== id) {
    return `it exists but is not the parent of ApplySet ${id} (label ${APPLYSET_ID_LABEL}=${labels[APPLYSET_ID_LABEL] ?? '<none>'}); refusing to take it over`;
  }
  const tooling = parent.metadata.annotations?.[APPLYSET_TOOLING_ANNOTATION];
  if (tooling !== undefined && !tooling.startsWith('joch/')) {
    return `it is managed by another tool (${APPLYSET_TOOLING_ANNOTATION}=${tooling})`;
  }
  return undefined;
}

export function parentObject(inv: InventoryRef, id: string, state: InventoryState): KubeObject {
  const others = [...state.namespaces].filter((n) => n !== inv.namespace).sort();
  return {
    apiVersion: 'v1',
    kind: parentKind(inv),
    metadata: {
      name: inv.name,
      namespace: inv.namespace,
      labels: { [APPLYSET_ID_LABEL]: id },
      annotations: {
        [APPLYSET_TOOLING_ANNOTATION]: TOOLING,
        [APPLYSET_GROUP_KINDS_ANNOTATION]: [...state.groupKinds].sort().join(','),
        [APPLYSET_NAMESPACES_ANNOTATION]: others.join(','),
      },
    },
  };
}

/** Whether the live parent already says exactly what `wanted` says. */
export function parentUpToDate(live: KubeObject | undefined, wanted: KubeObject): boolean {
  if (!live) return false;
  const la = live.metadata.annotations ?? {};
  for (const [k, v] of Object.entries(wanted.metadata.annotations ?? {})) if ((la[k] ?? '') !== v) return false;
  return (live.metadata.labels ?? {})[APPLYSET_ID_LABEL] === wanted.metadata.labels?.[APPLYSET_ID_LABEL];
}

export function unionState(a: InventoryState, b: InventoryState): InventoryState {
  return { groupKinds: new Set([...a.groupKinds, ...b.groupKinds]), namespaces: new Set([...a.namespaces, ...b.namespaces]) };
}

/** `Kind.group` → group and kind. */
export function parseGroupKind(gk: string): { group: string; kind: string } {
  const i = gk.indexOf('.');
  return i < 0 ? { group: '', kind: gk } : { group: gk.slice(i + 1), kind: gk.slice(0, i) };
}

export { groupKind };

function splitList(v: string | undefined): string[] {
  return (v ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}
