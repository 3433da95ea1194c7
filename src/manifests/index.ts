/**
 * The load stage: a snapshot's files to Joch documents and resources, with a
 * finding for everything that could not be read or is not a Joch resource.
 */
import { finding, type Diagnostic, type Finding } from '../diagnostics/index.js';
import type { Resource } from '../model/resource.js';
import { displayPath, type Snapshot } from '../source/types.js';
import { classifyDocument, type ManifestDocument } from './classify.js';
import { Locator } from './locate.js';
import { DEFAULT_PARSE_LIMITS, parseFileBytes, type ParseLimits } from './parse.js';

export type { ManifestDocument } from './classify.js';
export { DEFAULT_PARSE_LIMITS, parseFileBytes, parseFileText, type ParseLimits, type ParsedFile } from './parse.js';
export { Locator } from './locate.js';
export { parseYamlFast } from './yaml-fast.js';

export interface LoadOptions {
  readonly defaultNamespace: string;
  readonly limits?: Partial<ParseLimits> | undefined;
}

export interface LoadedFile {
  readonly path: string;
  readonly hash: string;
  readonly documents: number;
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
    const file = displayPath(snapshot, source.path);
    const parsed = parseFileBytes(file, source.bytes, limits);
    if (parsed.text !== undefined) texts.set(file, parsed.text);
    findings.push(...parsed.findings);
    files.push({ path: file, hash: parsed.hash, documents: parsed.docs.length });
    parsed.docs.forEach((d, doc) => {
      if (!d.ok) return;
      if (d.empty) {
        findings.push(finding('JOCH108', 'the YAML document is empty', { file, doc, path: [] }));
        return;
      }
      const c = classifyDocument(file, doc, d.value, options.defaultNamespace, d.hash);
      findings.push(...c.findings);
      if (c.document) documents.push(c.document);
      if (c.resource) resources.push(c.resource);
    });
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

/** Resolves findings to positioned diagnostics using the loaded texts. */
export function resolveFindings(set: Pick<ManifestSet, 'texts'>, findings: readonly Finding[]): Diagnostic[] {
  return new Locator((file) => set.texts.get(file)).resolve(findings);
}
