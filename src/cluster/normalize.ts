/**
 * Turns a desired object into the exact apply configuration we send, and
 * masks Secret values in diffs.
 */
import { splitApiVersion } from './discovery.js';
import { isObject } from './fieldset.js';
import { APPLYSET_PART_OF_LABEL } from './inventory.js';
import type { FieldChange, KubeObject, ObjectRef } from './types.js';

/** The commit that last changed an object's content (see PlanOptions.sourceCommit). */
export const SOURCE_COMMIT_ANNOTATION = 'joch.dev/source-commit';

/** `obj` with the source-commit annotation set to `commit`, or removed when undefined. */
export function withSourceCommit(obj: KubeObject, commit: string | undefined): KubeObject {
  const { [SOURCE_COMMIT_ANNOTATION]: _old, ...others } = obj.metadata.annotations ?? {};
  const annotations = commit === undefined ? others : { ...others, [SOURCE_COMMIT_ANNOTATION]: commit };
  const metadata = { ...obj.metadata };
  if (Object.keys(annotations).length) metadata.annotations = annotations;
  else delete metadata.annotations;
  return { ...obj, metadata };
}

/** Server-populated metadata that must never be part of an apply configuration. */
const SERVER_METADATA = ['uid', 'resourceVersion', 'generation', 'creationTimestamp', 'managedFields', 'selfLink', 'deletionTimestamp', 'deletionGracePeriodSeconds'];

export function isSecret(ref: Pick<ObjectRef, 'apiVersion' | 'kind'>): boolean {
  return ref.kind === 'Secret' && splitApiVersion(ref.apiVersion).group === '';
}

export function isCrd(ref: Pick<ObjectRef, 'apiVersion' | 'kind'>): boolean {
  return ref.kind === 'CustomResourceDefinition' && splitApiVersion(ref.apiVersion).group === 'apiextensions.k8s.io';
}

export function isNamespace(ref: Pick<ObjectRef, 'apiVersion' | 'kind'>): boolean {
  return ref.kind === 'Namespace' && splitApiVersion(ref.apiVersion).group === '';
}

/**
 * The apply configuration for a desired object:
 * - our ApplySet part-of label is added (it marks membership for pruning);
 * - `status` is dropped: status is written through `writeStatus`, and the
 *   main resource ignores it anyway when a status subresource exists;
 * - a Secret's `stringData` is folded into `data` (base64), because the API
 *   server never returns stringData: applying it would record ownership of a
 *   field that never reads back, and every run would look like a change.
 */
export function toApplyConfiguration(obj: KubeObject, applySetId: string): KubeObject {
  const out: KubeObject = { ...obj, metadata: { ...obj.metadata } };
  delete out['status'];
  for (const k of SERVER_METADATA) delete out.metadata[k];
  out.metadata.labels = { ...(obj.metadata.labels ?? {}), [APPLYSET_PART_OF_LABEL]: applySetId };
  if (isSecret(obj) && isObject(obj['stringData'])) {
    const data: Record<string, unknown> = isObject(obj['data']) ? { ...obj['data'] } : {};
    for (const [k, v] of Object.entries(obj['stringData'])) {
      if (typeof v === 'string') data[k] = Buffer.from(v, 'utf8').toString('base64');
    }
    out['data'] = data;
    delete out['stringData'];
  }
  return out;
}

const SENSITIVE_PATH = /^(data|stringData)(\.|\[|$)|^metadata\.annotations\["kubectl\.kubernetes\.io\/last-applied-configuration"\]/;

/** Secret values never leave this module: only the fact that a key changed. */
export function maskSecretChanges(ref: Pick<ObjectRef, 'apiVersion' | 'kind'>, changes: FieldChange[]): FieldChange[] {
  if (!isSecret(ref)) return changes;
  return changes.map((c) => (SENSITIVE_PATH.test(c.path) ? { path: c.path, op: c.op, sensitive: true } : c));
}

/** Leaf-by-leaf additions for an object that does not exist yet. */
export function creationDiff(applied: KubeObject): FieldChange[] {
  const out: FieldChange[] = [];
  const visit = (path: string, v: unknown): void => {
    if (isObject(v) && Object.keys(v).length > 0) {
      for (const [k, child] of Object.entries(v)) visit(path ? `${path}${segment(k)}` : plainOrQuoted(k), child);
    } else if (v !== null && v !== undefined) {
      out.push({ path, op: 'add', after: v });
    }
  };
  for (const [k, v] of Object.entries(applied)) {
    if (k === 'apiVersion' || k === 'kind') continue;
    if (k === 'metadata' && isObject(v)) {
      for (const [mk, mv] of Object.entries(v)) if (mk !== 'name' && mk !== 'namespace') visit(`metadata.${mk}`, mv);
    } else {
      visit(k, v);
    }
  }
  return out;
}

function segment(k: string): string {
  return /^[A-Za-z_][\w-]*$/.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`;
}

function plainOrQuoted(k: string): string {
  return /^[A-Za-z_][\w-]*$/.test(k) ? k : `[${JSON.stringify(k)}]`;
}
