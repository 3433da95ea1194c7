/**
 * The load stage: a snapshot's files to Joch documents and resources, with a
 * finding for everything that could not be read or is not a Joch resource.
 */
import { finding, type Diagnostic, type Finding } from '../diagnostics/index.js';
import type { Resource } from '../model/resource.js';
import { displayPath, type Snapshot, type SourceFile } from '../source/types.js';
import { classifyDocument, type ManifestDocument } from './classify.js';
import { Locator } from './locate.js';
import { DEFAULT_PARSE_LIMITS, parseFileBytes, type ParsedFile, type ParseLimits } from './parse.js';

export type { ManifestDocument } from './classify.js';
export { DEFAULT_PARSE_LIMITS, deepNesting, hashBytes, MAX_NESTING_DEPTH, parseFileBytes, parseFileText, type ParseLimits, type ParsedDocument, type ParsedFile } from './parse.js';
export { decodeText } from './decode.js';
export { Locator } from './locate.js';
export { parseYamlFast } from './yaml-fast.js';

export interface LoadOptions {
  readonly defaultNamespace: string;
  readonly limits?: Partial<ParseLimits> | undefined;
  /**
   * Results per source file, kept by the caller between loads (the sync
   * loop): a file whose SourceFile object is reused (its blob did not
   * change) is not parsed or classified again. The caller must drop the
   * cache when the default namespace, the limits or the display prefix change.
   */
  readonly cache?: WeakMap<SourceFile, FileLoad> | undefined;
}

export interface LoadedFile {
  readonly path: string;
  readonly hash: string;
  readonly documents: number;
}

/** Everything the load stage makes of one file. */
export interface FileLoad {
  readonly file: LoadedFile;
  readonly text: string | undefined;
  readonly documents: readonly ManifestDocument[];
  readonly resources: readonly Resource[];
  readonly findings: readonly Finding[];
}

export interface ManifestSet {
  readonly root: string;
  readonly revision?: string | undefined;
  readonly commitTime?: number | undefined;
  readonly files: readonly LoadedFile[];
  /** Every document of a catalog kind, in file order. */
  readonly documents: readonly ManifestDocument[];
  /** Resources with an identity, sorted by key. */
  readonly resources: readonly Resource[];
  readonly findings: readonly Finding[];
  /** Decoded text of each file, by displayed path: for positions and code frames. */
  readonly texts: ReadonlyMap<string, string>;
}

export function loadManifests(snapshot: Snapshot, options: LoadOptions): ManifestSet {
  const limits: ParseLimits = { ...DEFAULT_PARSE_LIMITS, ...options.limits };
  const files: LoadedFile[] = [];
  const documents: ManifestDocument[] = [];
  const resources: Resource[] = [];
  const findings: Finding[] = [];
  const texts = new Map<string, string>();

  for (const source of [...snapshot.files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    let load = options.cache?.get(source);
    if (!load) {
      load = loadFile(displayPath(snapshot, source.path), source.bytes, limits, options.defaultNamespace);
      options.cache?.set(source, load);
    }
    files.push(load.file);
    documents.push(...load.documents);
    resources.push(...load.resources);
    findings.push(...load.findings);
    if (load.text !== undefined) texts.set(load.file.path, load.text);
  }
  resources.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return {
    root: snapshot.root,
    revision: snapshot.revision,
    commitTime: snapshot.commitTime,
    files,
    documents,
    resources,
    findings,
    texts,
  };
}

/** One file, from bytes to documents, resources and findings. */
export function loadFile(file: string, bytes: Uint8Array, limits: ParseLimits, defaultNamespace: string): FileLoad {
  return classifyFile(parseFileBytes(file, bytes, limits), defaultNamespace);
}

/** A parsed file's documents classified: catalog documents, resources and findings. */
export function classifyFile(parsed: ParsedFile, defaultNamespace: string): FileLoad {
  const file = parsed.path;
  const documents: ManifestDocument[] = [];
  const resources: Resource[] = [];
  const findings: Finding[] = [...parsed.findings];
  parsed.docs.forEach((d, doc) => {
    if (!d.ok) return;
    if (d.empty) {
      findings.push(finding('JOCH108', 'the YAML document is empty', { file, doc, path: [] }));
      return;
    }
    const c = classifyDocument(file, doc, d.value, defaultNamespace, d.hash);
    findings.push(...c.findings);
    if (c.document) documents.push(c.document);
    if (c.resource) resources.push(c.resource);
  });
  return { file: { path: file, hash: parsed.hash, documents: parsed.docs.length }, text: parsed.text, documents, resources, findings };
}

/** Resolves findings to positioned diagnostics using the loaded texts. */
export function resolveFindings(set: Pick<ManifestSet, 'texts'>, findings: readonly Finding[]): Diagnostic[] {
  return new Locator((file) => set.texts.get(file)).resolve(findings);
}
