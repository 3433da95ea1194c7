/** The one diagnostics model every stage reports in. */

export type Severity = 'error' | 'warning' | 'info';

export type PathSegment = string | number;

/** Kind, namespace and name of the resource a finding is about. */
export interface ResourceRef {
  readonly kind: string;
  readonly namespace?: string | undefined;
  readonly name: string;
}

/** A resolved place in a file; lines and columns are 1-based. */
export interface Location {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly endLine?: number | undefined;
  readonly endColumn?: number | undefined;
}

/**
 * A place in a loaded document named by its path rather than its position.
 * Stages point at values this way; positions are computed once, at the end,
 * only for the documents that have findings.
 */
export interface SourcePointer {
  readonly file: string;
  /** Index of the YAML document within the file, from 0. */
  readonly doc: number;
  readonly path: readonly PathSegment[];
  /** Point at the key of the last path segment rather than its value. */
  readonly part?: 'key' | 'value';
}

export type Place = Location | SourcePointer;

export interface RelatedFinding {
  readonly at: Place;
  readonly message: string;
}

/** A diagnostic as a stage produces it, before positions are resolved. */
export interface Finding {
  readonly severity: Severity;
  readonly code: string;
  readonly message: string;
  readonly at: Place;
  readonly resource?: ResourceRef | undefined;
  readonly hint?: string | undefined;
  readonly related?: readonly RelatedFinding[] | undefined;
}

export interface RelatedLocation extends Location {
  readonly message: string;
}

/** A diagnostic with its position resolved: what every formatter renders. */
export interface Diagnostic extends Location {
  readonly severity: Severity;
  readonly code: string;
  readonly message: string;
  /** The JSON path of the offending value, such as `spec.tools[1].name`. */
  readonly path?: string | undefined;
  readonly resource?: ResourceRef | undefined;
  readonly hint?: string | undefined;
  readonly related?: readonly RelatedLocation[] | undefined;
}

export function isPointer(place: Place): place is SourcePointer {
  return (place as SourcePointer).path !== undefined;
}

/** Renders a path the way users write it: `spec.tools[1].name`. */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

export function describeResource(ref: ResourceRef): string {
  return ref.namespace ? `${ref.kind} ${ref.namespace}/${ref.name}` : `${ref.kind} ${ref.name}`;
}
