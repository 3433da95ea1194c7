/** The plain data types that flow between the pipeline stages. */
import type { ResourceRef } from '../diagnostics/index.js';

/**
 * A Joch resource as loaded from a repository. Everything a later stage needs
 * is here; positions are not (findings point at `{file, doc, path}` and are
 * resolved to lines at the end).
 */
export interface Resource {
  /** `Kind/namespace/name`, or `Kind//name` for cluster-scoped kinds; unique in a ManifestSet. */
  readonly key: string;
  readonly kind: string;
  /** The apiVersion as written (either spelling). */
  readonly apiVersion: string;
  /** The canonical API group of the kind, for example `tools.joch.dev`. */
  readonly group: string;
  readonly name: string;
  /** Effective namespace; undefined for cluster-scoped kinds. */
  readonly namespace: string | undefined;
  /** Whether the namespace came from the default rather than the manifest. */
  readonly namespaceDefaulted: boolean;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly spec: Readonly<Record<string, unknown>>;
  /** The whole document as parsed. */
  readonly body: Readonly<Record<string, unknown>>;
  /** Where the document is: repository-relative file and document index. */
  readonly file: string;
  readonly doc: number;
  /** sha256 of the document's source text: changes exactly when the document does. */
  readonly contentHash: string;
}

export function resourceKey(kind: string, namespace: string | undefined, name: string): string {
  return `${kind}/${namespace ?? ''}/${name}`;
}

export function refOf(r: Pick<Resource, 'kind' | 'namespace' | 'name'>): ResourceRef {
  return r.namespace === undefined ? { kind: r.kind, name: r.name } : { kind: r.kind, namespace: r.namespace, name: r.name };
}
