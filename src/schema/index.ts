/**
 * The validate stage: JSON Schema, identity, references and secrets over a
 * loaded manifest set. Returns findings and the resolved reference graph.
 */
import type { Finding } from '../diagnostics/index.js';
import type { ManifestDocument, ManifestSet } from '../manifests/index.js';
import { identityFindings } from './identity.js';
import { resolveReferences, type ResolvedReference } from './references.js';
import { documentRef, schemaFindings } from './schema-pass.js';
import { secretFindings } from './secrets.js';

export { REFERENCE_RULES, ResourceIndex, type ResolvedReference } from './references.js';
export { checkFile, summarizeFile, type FileCheck, type FileCheckOptions, type FileInput, type FileSummary } from './files.js';
export { checkFiles, checkForWire, fromWire, MIN_FREE_CORES, PARALLEL_MIN_BYTES, prepareSnapshot, SUMMARY_MIN_FREE_CORES, summarizeFiles, threadsFor, type ParallelOptions, type PreparedFiles, type WireCheck } from './parallel.js';
export { loadSchemas, schemaFor, validatorFor, SCHEMA_BASE, SCHEMA_DIR, type JsonSchema } from './registry.js';

export type Check = 'schema' | 'identity' | 'references' | 'secrets';
export const ALL_CHECKS: readonly Check[] = ['schema', 'identity', 'references', 'secrets'];

export interface ValidateOptions {
  readonly checks: ReadonlySet<Check>;
  readonly defaultNamespace: string;
  /**
   * Findings of the per-document checks (schema, secrets), kept by the caller
   * between runs: documents loaded from an unchanged file are the same
   * objects and are not checked again. Only for the same checks and namespace.
   */
  readonly documentCache?: WeakMap<ManifestDocument, readonly Finding[]> | undefined;
}

export interface ValidationResult {
  readonly findings: Finding[];
  readonly references: ResolvedReference[];
}

/**
 * Runs the selected checks. The secrets check always runs: its findings are
 * what keeps secret values out of every rendering, so it cannot be turned off.
 */
export function validateManifests(set: ManifestSet, options: ValidateOptions): ValidationResult {
  const findings: Finding[] = [];
  for (const d of set.documents) {
    let found = options.documentCache?.get(d);
    if (!found) {
      const ref = documentRef(d, options.defaultNamespace);
      found = [...(options.checks.has('schema') ? schemaFindings(d, ref) : []), ...secretFindings(d, ref)];
      options.documentCache?.set(d, found);
    }
    findings.push(...found);
  }
  if (options.checks.has('identity')) findings.push(...identityFindings(set.resources));
  let references: ResolvedReference[] = [];
  if (options.checks.has('references')) {
    const pass = resolveReferences(set.resources, options.defaultNamespace);
    references = pass.references;
    findings.push(...pass.findings);
  }
  return { findings, references };
}
