/**
 * The ApplySet (KEP-3659) that groups everything one Joch repository applies:
 * its parent object and the id every member carries in its part-of label, so
 * the apply stage can prune exactly what left the repository.
 */
import { createHash } from 'node:crypto';

export const APPLYSET_PART_OF = 'applyset.kubernetes.io/part-of';
export const APPLYSET_ID_LABEL = 'applyset.kubernetes.io/id';
export const APPLYSET_TOOLING = 'applyset.kubernetes.io/tooling';

export interface ApplySetParent {
  readonly name: string;
  readonly namespace?: string | undefined;
  readonly kind: string;
  /** API group of the parent's kind; empty for the core group. */
  readonly group: string;
}

/** The parent used when joch.yaml does not name one: a Secret, as kubectl does. */
export function defaultApplySetParent(name = 'joch-inventory', namespace = 'joch-system'): ApplySetParent {
  return { name, namespace, kind: 'Secret', group: '' };
}

/** `applyset-<base64url(sha256(name.namespace.kind.group))>-v1`, as the KEP defines it. */
export function applySetId(parent: ApplySetParent): string {
  const digest = createHash('sha256')
    .update(`${parent.name}.${parent.namespace ?? ''}.${parent.kind}.${parent.group}`)
    .digest('base64url');
  return `applyset-${digest}-v1`;
}
