/**
 * The per-file unit of the load and validate stages: one file's bytes to its
 * documents, resources and every finding that depends on that file alone
 * (parse, classification, JSON Schema, secrets). Plain data in and out, so it
 * runs the same on the main thread, on a worker thread or behind a cache.
 * Checks across files (identity, references, policy) are not per-file.
 */
import type { Finding } from '../diagnostics/index.js';
import { classifyFile, parseFileBytes, type FileLoad, type LoadedFile, type ManifestDocument, type ParsedFile, type ParseLimits } from '../manifests/index.js';
import { documentRef, schemaFindings } from './schema-pass.js';
import { secretFindings } from './secrets.js';

export interface FileCheckOptions {
  readonly defaultNamespace: string;
  readonly limits: ParseLimits;
  /** Whether the JSON Schema check runs; the secrets check always does. */
  readonly schema: boolean;
}

export interface FileCheck {
  readonly load: FileLoad;
  /** The schema and secrets findings of each of `load.documents`, in the same order. */
  readonly documentFindings: readonly (readonly Finding[])[];
}

/** A file to check: its displayed path and its bytes. */
export interface FileInput {
  readonly path: string;
  readonly bytes: Uint8Array;
}

export function checkFile(file: FileInput, options: FileCheckOptions): FileCheck {
  return checkParsed(parseFileBytes(file.path, file.bytes, options.limits), options);
}

/** The rest of checkFile once the file is parsed. */
export function checkParsed(parsed: ParsedFile, options: FileCheckOptions): FileCheck {
  const load = classifyFile(parsed, options.defaultNamespace);
  return { load, documentFindings: load.documents.map((d) => documentFindings(d, options)) };
}

function documentFindings(d: ManifestDocument, options: FileCheckOptions): Finding[] {
  const ref = documentRef(d, options.defaultNamespace);
  return [...(options.schema ? schemaFindings(d, ref) : []), ...secretFindings(d, ref)];
}

/**
 * A file's check reduced to what a run that needs no document values keeps
 * (only per-file checks asked for: nothing reads the documents afterwards):
 * its findings and counts. A worker sends this instead of the parse, which
 * the main thread would otherwise rebuild and classify again.
 */
export interface FileSummary {
  readonly file: LoadedFile;
  /** The findings of loading the file (parse, classification), in order. */
  readonly loadFindings: readonly Finding[];
  /** The schema and secrets findings of its documents, in document order. */
  readonly documentFindings: readonly Finding[];
  /** How many resources (documents with an identity) the file holds. */
  readonly resources: number;
}

/** `file.hash` is empty: nothing after a findings-only run reads hashes, so none are computed. */
export function summarizeFile(file: FileInput, options: FileCheckOptions): FileSummary {
  const { load, documentFindings } = checkParsed(parseFileBytes(file.path, file.bytes, options.limits, false), options);
  return { file: load.file, loadFindings: load.findings, documentFindings: documentFindings.flat(), resources: load.resources.length };
}
