/**
 * Which files of the repository the Action reads as Joch records. The `path`
 * input when given; else joch.yaml's `paths` and exclude rules when the
 * repository has one; else every YAML file that declares a Joch apiVersion.
 * A repository holds workflows, Helm charts and other YAML: without a
 * joch.yaml, those are not records and must not be reported as broken ones.
 */
import path from 'node:path';
import { DEFAULT_CONFIG, findConfigFile } from '../config/index.js';
import { plural } from '../diagnostics/index.js';
import { readLocalSourceSync } from '../source/local.js';

export interface RecordSelection {
  /** Paths for the head run, relative to the workspace; empty means joch.yaml's `paths`. */
  readonly paths: readonly string[];
  /** The folder the base revision is read under, relative to the repository root. */
  readonly baseRoot: string;
  /** Keeps a file of the base revision (the same rule the head's files were chosen by). */
  readonly keep: (file: string, bytes: Uint8Array) => boolean;
  /** How the records were chosen, for the summary. */
  readonly described: string;
  /** Nothing in the repository declares itself a Joch record. */
  readonly empty?: boolean | undefined;
}

/** A Joch record declares an apiVersion in the joch.dev group family, in any document of the file. */
const JOCH_API_VERSION = /^apiVersion:[ \t]*["']?(?:[a-z0-9-]+\.)*joch\.dev\//m;

export function looksLikeJochRecord(bytes: Uint8Array): boolean {
  return JOCH_API_VERSION.test(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
}

const everything = () => true;

export function selectRecords(workspace: string, input: string | undefined): RecordSelection {
  if (input !== undefined) return { paths: [input], baseRoot: input, keep: everything, described: `\`${input}\` (the \`path\` input)` };
  const config = findConfigFile(workspace);
  if (config && path.dirname(config) === path.resolve(workspace)) {
    return { paths: [], baseRoot: '.', keep: everything, described: `the \`paths\` of ${path.basename(config)}` };
  }
  // No configuration: read what declares itself a Joch record, honouring .jochignore.
  const { snapshot } = readLocalSourceSync({ root: workspace, maxFileBytes: DEFAULT_CONFIG.limits.maxFileBytes, cwd: workspace });
  const files = snapshot.files.filter((f) => looksLikeJochRecord(f.bytes)).map((f) => f.path);
  return {
    paths: files,
    empty: files.length === 0,
    baseRoot: '.',
    keep: (_file, bytes) => looksLikeJochRecord(bytes),
    described: `the ${plural(files.length, 'YAML file')} that declare a Joch apiVersion (no joch.yaml)`,
  };
}
