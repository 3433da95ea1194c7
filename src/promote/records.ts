/**
 * Edits of Joch records as text, with `yaml`'s Document API, so a promotion
 * changes only the document it is about: the other documents of the file
 * keep their bytes, and the edited one keeps its comments, order and quoting.
 */
import { isMap, parseAllDocuments, parseDocument, type Document } from 'yaml';

export interface RecordMatch {
  readonly kind: string;
  readonly name: string;
  /** The record's effective namespace. */
  readonly namespace: string | undefined;
  /** The namespace a document without one gets (joch.yaml defaultNamespace). */
  readonly defaultNamespace: string;
}

/** What a promotion writes on the target Deployment: the version it pins and where it came from. */
export { PIN_ANNOTATION as ANNOTATION } from '../model/pins.js';

function matches(doc: Document, m: RecordMatch): boolean {
  const value: unknown = doc.toJS({ maxAliasCount: 100 });
  if (!value || typeof value !== 'object') return false;
  const v = value as { kind?: unknown; metadata?: { name?: unknown; namespace?: unknown } };
  if (v.kind !== m.kind || v.metadata?.name !== m.name) return false;
  if (m.namespace === undefined) return true;
  return (typeof v.metadata.namespace === 'string' ? v.metadata.namespace : m.defaultNamespace) === m.namespace;
}

/** The index of the document in `text` that holds the record, or -1. */
export function documentIndex(text: string, m: RecordMatch): number {
  return parseAllDocuments(text).findIndex((d) => !('empty' in d) && matches(d, m));
}

/**
 * The text of one document of a file as it is written there (its comments
 * included, its `---` left out): restoring it restores those exact bytes.
 */
export function documentText(text: string, index: number): string | undefined {
  const docs = parseAllDocuments(text);
  const doc = docs[index];
  if (!doc || 'empty' in doc) return undefined;
  const range = doc.range ?? [0, text.length, text.length];
  const raw = text.slice(index === 0 ? 0 : range[0], range[2]);
  return stripDocStart(raw);
}

function stripDocStart(s: string): string {
  return s.startsWith('---\n') ? s.slice(4) : s;
}

/**
 * The file with document `index` edited by `edit`; every other document keeps
 * its exact text.
 */
export function editDocument(text: string, index: number, edit: (doc: Document) => void): string {
  const docs = parseAllDocuments(text);
  const doc = docs[index];
  if (!doc || 'empty' in doc) throw new Error(`no document ${index}`);
  edit(doc);
  return splice(text, doc, index, doc.toString({ lineWidth: 0 }));
}

/** The file with document `index` replaced by `replacement` (one document's text). */
export function replaceDocument(text: string, index: number, replacement: string): string {
  const docs = parseAllDocuments(text);
  const doc = docs[index];
  if (!doc || 'empty' in doc) throw new Error(`no document ${index}`);
  const body = stripDocStart(replacement);
  return splice(text, doc, index, index === 0 ? body : `---\n${body}`);
}

function splice(text: string, doc: Document, index: number, replacement: string): string {
  // The first document owns the comments above it, which its range leaves out.
  const range = doc.range ?? [0, text.length, text.length];
  const start = index === 0 ? 0 : range[0];
  const end = range[2];
  const withNewline = replacement.endsWith('\n') || end >= text.length ? replacement : `${replacement}\n`;
  return text.slice(0, start) + withNewline + text.slice(end);
}

/** The file with one more document at its end. */
export function appendDocument(text: string, document: string): string {
  const sep = text === '' ? '' : text.endsWith('\n') ? '---\n' : '\n---\n';
  return text + sep + stripDocStart(document);
}

export function setAnnotations(doc: Document, annotations: Readonly<Record<string, string>>): void {
  for (const [k, v] of Object.entries(annotations)) doc.setIn(['metadata', 'annotations', k], v);
}

/**
 * A new Deployment record for the target Environment, made from the source
 * one: same agent and runtime settings, the target's name and Environment,
 * and without the source's promotion gates, which guard the source
 * Environment.
 */
export function deploymentForTarget(sourceDocument: string, name: string, environment: string, annotations: Readonly<Record<string, string>>): string {
  const doc = parseDocument(sourceDocument);
  doc.commentBefore = null;
  doc.setIn(['metadata', 'name'], name);
  doc.setIn(['spec', 'environmentRef'], doc.createNode({ name: environment }));
  doc.deleteIn(['spec', 'promotion']);
  const meta = doc.get('metadata');
  if (isMap(meta)) meta.delete('annotations');
  setAnnotations(doc, annotations);
  return doc.toString({ lineWidth: 0 });
}
