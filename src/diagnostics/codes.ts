import type { Severity } from './types.js';

export interface CodeInfo {
  readonly code: string;
  readonly name: string;
  readonly severity: Severity;
  readonly summary: string;
  /** joch.yaml may raise the severity of a locked code but never lower or silence it. */
  readonly locked?: boolean;
  /** The finding points at a secret value: renderers must never show the source there. */
  readonly sensitive?: boolean;
}

/**
 * Every diagnostic code, with its default severity. Codes are stable: CI
 * tooling, joch.yaml severity overrides and SARIF consumers key on them, so a
 * code is never reused for another meaning.
 */
const TABLE: readonly CodeInfo[] = [
  // 0xx: configuration and usage
  { code: 'JOCH001', name: 'invalid-config', severity: 'error', summary: 'joch.yaml is not valid.', locked: true },
  { code: 'JOCH002', name: 'path-not-found', severity: 'error', summary: 'A path given on the command line or in joch.yaml does not exist.', locked: true },
  { code: 'JOCH003', name: 'no-manifests', severity: 'warning', summary: 'No YAML files were found under the given paths.' },

  // 1xx: reading and parsing files
  { code: 'JOCH101', name: 'yaml-syntax', severity: 'error', summary: 'The file is not valid YAML.', locked: true },
  { code: 'JOCH102', name: 'duplicate-key', severity: 'error', summary: 'A mapping has the same key twice.', locked: true },
  { code: 'JOCH103', name: 'alias-limit', severity: 'error', summary: 'YAML aliases expand beyond the allowed limit (a possible alias bomb).', locked: true },
  { code: 'JOCH104', name: 'custom-tag', severity: 'error', summary: 'A YAML tag outside the core schema is used.', locked: true },
  { code: 'JOCH105', name: 'not-text', severity: 'error', summary: 'The file is binary or not valid UTF-8.', locked: true },
  { code: 'JOCH106', name: 'file-too-large', severity: 'error', summary: 'The file is larger than the configured limit.', locked: true },
  { code: 'JOCH107', name: 'symlink-escape', severity: 'error', summary: 'A symbolic link points outside the repository root and was not followed.', locked: true },
  { code: 'JOCH108', name: 'empty-document', severity: 'info', summary: 'A YAML document is empty.' },
  { code: 'JOCH109', name: 'not-a-mapping', severity: 'error', summary: 'A YAML document is not a mapping.', locked: true },
  { code: 'JOCH110', name: 'unreadable-file', severity: 'error', summary: 'A file could not be read.', locked: true },
  { code: 'JOCH111', name: 'too-many-documents', severity: 'error', summary: 'A file holds more YAML documents than the configured limit.', locked: true },

  // 2xx: what a document is
  { code: 'JOCH201', name: 'missing-type', severity: 'error', summary: 'A document has no apiVersion or kind.' },
  { code: 'JOCH202', name: 'unknown-kind', severity: 'error', summary: 'The kind is not in the Joch resource catalog.' },
  { code: 'JOCH203', name: 'unsupported-api-version', severity: 'error', summary: 'The apiVersion is not one this kind is served under.' },
  { code: 'JOCH204', name: 'not-joch', severity: 'warning', summary: 'The document is not a Joch resource; it is ignored.' },
  { code: 'JOCH205', name: 'placeholder-kind', severity: 'error', summary: 'The kind is a documentation placeholder such as `<Kind>`.' },
  { code: 'JOCH206', name: 'not-desired-state', severity: 'warning', summary: 'The kind is a Joch kind outside the resource catalog (server settings or compiler output); it is ignored.' },
  { code: 'JOCH207', name: 'runtime-record', severity: 'info', summary: 'A runtime record: its shape is validated, but it is not reference-checked or compiled.' },
  { code: 'JOCH208', name: 'status-ignored', severity: 'warning', summary: 'status is owned by the controller; the value in the repository is ignored.' },

  // 3xx: schema
  { code: 'JOCH301', name: 'schema-type', severity: 'error', summary: 'A value has the wrong type.' },
  { code: 'JOCH302', name: 'schema-required', severity: 'error', summary: 'A required field is missing.' },
  { code: 'JOCH303', name: 'schema-unknown-field', severity: 'error', summary: 'A field is not part of the kind.' },
  { code: 'JOCH304', name: 'schema-enum', severity: 'error', summary: 'A value is not one of the allowed values.' },
  { code: 'JOCH305', name: 'schema-format', severity: 'error', summary: 'A value does not have the required format or pattern.' },
  { code: 'JOCH306', name: 'schema-range', severity: 'error', summary: 'A value is out of range or has the wrong length.' },
  { code: 'JOCH307', name: 'schema-other', severity: 'error', summary: 'A value does not satisfy the kind schema.' },

  // 4xx: identity
  { code: 'JOCH401', name: 'name-mapped', severity: 'info', summary: 'A Joch name is not a valid Kubernetes name; it is mapped to one when compiled.' },
  { code: 'JOCH402', name: 'namespace-ignored', severity: 'warning', summary: 'A cluster-scoped resource has a namespace; it is ignored.' },
  { code: 'JOCH403', name: 'invalid-label', severity: 'error', summary: 'A label key or value is not valid in Kubernetes.' },
  { code: 'JOCH404', name: 'duplicate-resource', severity: 'error', summary: 'The same kind, namespace and name is defined twice.' },
  { code: 'JOCH405', name: 'name-collision', severity: 'error', summary: 'Two Joch names map to the same Kubernetes name.' },
  { code: 'JOCH406', name: 'invalid-annotation', severity: 'error', summary: 'An annotation key is not valid in Kubernetes.' },

  // 5xx: references
  { code: 'JOCH501', name: 'unresolved-reference', severity: 'error', summary: 'A reference names a resource that does not exist.' },
  { code: 'JOCH502', name: 'provider-mismatch', severity: 'error', summary: 'A `provider:model` reference names a Model of another provider.' },
  { code: 'JOCH503', name: 'adapter-capability', severity: 'error', summary: 'The agent needs a capability its framework adapter does not declare.' },
  { code: 'JOCH504', name: 'invalid-reference', severity: 'error', summary: 'A reference is malformed or points at the wrong kind.' },

  // 6xx: secrets
  { code: 'JOCH601', name: 'literal-credential', severity: 'error', summary: 'A manifest holds what looks like a credential value; Joch only holds references.', locked: true, sensitive: true },
  { code: 'JOCH602', name: 'credential-in-url', severity: 'error', summary: 'A URL carries a password or token.', locked: true, sensitive: true },
];

const BY_CODE = new Map(TABLE.map((c) => [c.code, c]));

export function registerCodes(codes: readonly CodeInfo[]): void {
  for (const c of codes) {
    const existing = BY_CODE.get(c.code);
    if (existing && existing.name !== c.name) {
      throw new Error(`diagnostic code ${c.code} registered twice (${existing.name}, ${c.name})`);
    }
    BY_CODE.set(c.code, c);
  }
}

export function codeInfo(code: string): CodeInfo | undefined {
  return BY_CODE.get(code);
}

export function allCodes(): CodeInfo[] {
  return [...BY_CODE.values()].sort((a, b) => a.code.localeCompare(b.code));
}
