/**
 * Turns findings that point at a path in a document into file:line:column.
 * Only the files that have findings are read for positions, once each: first
 * with the fast scanner, which records where each key and one-line scalar
 * is (see fastRange), then, only for a finding it cannot place, composed
 * with `yaml`. Composing with `yaml` cost more than the rest of a small
 * `joch validate`; the places are the same (test/manifests/locate.test.ts).
 */
import type { Document, LineCounter, Node, Pair } from 'yaml';
import {
  formatPath,
  isPointer,
  type Diagnostic,
  type Finding,
  type Location,
  type Place,
  type RelatedLocation,
  type SourcePointer,
} from '../diagnostics/index.js';
import { isEmptyContents } from './yaml-full.js';
import { parseYamlFast, type FastDocument, type FastSpan } from './yaml-fast.js';
import { yamlLib } from './yaml-lib.js';

interface PositionedFile {
  readonly docs: Document.Parsed[];
  readonly lines: LineCounter;
}

/** Where the fast scanner read each entry of a block collection, by the collection's value. */
type EntryPlaces = Map<object, Map<string | number, { readonly key: FastSpan | undefined; readonly value: FastSpan | undefined }>>;

interface ScannedFile {
  readonly docs: FastDocument[];
  readonly places: EntryPlaces;
}

export class Locator {
  private readonly cache = new Map<string, PositionedFile | null>();
  private readonly scanned = new Map<string, ScannedFile | null>();

  /** `scanner: false` composes every file with `yaml`: the reference the tests compare the fast places with. */
  constructor(
    private readonly textOf: (file: string) => string | undefined,
    private readonly options: { readonly scanner?: boolean } = {},
  ) {}

  resolve(findings: readonly Finding[]): Diagnostic[] {
    return findings.map((f) => this.resolveOne(f));
  }

  private resolveOne(f: Finding): Diagnostic {
    const loc = this.place(f.at);
    const related: RelatedLocation[] | undefined = f.related?.map((r) => ({ ...this.place(r.at), message: r.message }));
    return {
      severity: f.severity,
      code: f.code,
      message: f.message,
      ...loc,
      ...(isPointer(f.at) && f.at.path.length ? { path: formatPath(f.at.path) } : {}),
      ...(f.resource ? { resource: f.resource } : {}),
      ...(f.hint ? { hint: f.hint } : {}),
      ...(related?.length ? { related } : {}),
    };
  }

  place(at: Place): Location {
    if (!isPointer(at)) return at;
    return this.locate(at);
  }

  locate(p: SourcePointer): Location {
    const fast = this.options.scanner === false ? undefined : this.locateFast(p);
    if (fast) return fast;
    const file = this.positioned(p.file);
    const doc = file?.docs[p.doc];
    if (!file || !doc) return { file: p.file, line: 1, column: 1 };
    const { start, end } = findRange(doc, p.path, p.part ?? 'value');
    const s = file.lines.linePos(start);
    const e = file.lines.linePos(Math.max(start, end));
    return { file: p.file, line: s.line, column: s.col, endLine: e.line, endColumn: e.col };
  }

  /** The place from the fast scanner's record, or undefined when it has none and `yaml` must tell. */
  locateFast(p: SourcePointer): Location | undefined {
    const file = this.scan(p.file);
    const doc = file?.docs[p.doc];
    if (!file || !doc || doc.empty) return undefined;
    const span = fastRange(doc.value, file.places, p.path, p.part ?? 'value');
    if (!span) return undefined;
    const [line, start, end] = span;
    return { file: p.file, line: line + 1, column: start + 1, endLine: line + 1, endColumn: Math.max(start, end) + 1 };
  }

  private scan(file: string): ScannedFile | undefined {
    const hit = this.scanned.get(file);
    if (hit !== undefined) return hit ?? undefined;
    const text = this.textOf(file);
    // The scanner's columns are the text's only without a byte order mark or carriage returns, which it strips.
    const places: EntryPlaces = new Map();
    const docs =
      text === undefined || text.includes('\r') || text.charCodeAt(0) === 0xfeff
        ? undefined
        : parseYamlFast(text, {
            entry(collection, key, keySpan, valueSpan) {
              let entries = places.get(collection);
              if (!entries) places.set(collection, (entries = new Map()));
              entries.set(key, { key: keySpan, value: valueSpan });
            },
          });
    const entry = docs ? { docs, places } : null;
    this.scanned.set(file, entry);
    return entry ?? undefined;
  }

  private positioned(file: string): PositionedFile | undefined {
    const hit = this.cache.get(file);
    if (hit !== undefined) return hit ?? undefined;
    const text = this.textOf(file);
    if (text === undefined) {
      this.cache.set(file, null);
      return undefined;
    }
    const yaml = yamlLib();
    const lines = new yaml.LineCounter();
    const parsed = yaml.parseAllDocuments(text, { lineCounter: lines, prettyErrors: false });
    const entry = { docs: Array.isArray(parsed) ? parsed : [], lines };
    this.cache.set(file, entry);
    return entry;
  }
}

/**
 * The source range of the value (or key) at `path`. When the path leaves the
 * document (a required field that is missing), the range of the deepest node
 * that exists is returned, pointing at its key where it has one.
 */
function findRange(doc: Document.Parsed, path: readonly (string | number)[], part: 'key' | 'value'): { start: number; end: number } {
  const { isMap, isPair, isScalar, isSeq } = yamlLib();
  let node: Node | null = doc.contents;
  let pair: Pair | undefined;
  const docStart = doc.range[0];
  // An empty document is shown at its start (its `---`), not after it.
  if (isEmptyContents(node)) return { start: docStart, end: docStart };
  for (const seg of path) {
    if (isMap(node)) {
      const found: Pair | undefined = node.items.find((it) => isPair(it) && keyText(it.key) === String(seg));
      if (!found) break;
      pair = found;
      node = found.value as Node | null;
      if (!node) return rangeOf(found.key as Node | null, docStart);
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg];
      if (!item) break;
      pair = undefined;
      node = item as Node;
    } else {
      break;
    }
  }
  if (part === 'key' && pair && isScalar(pair.key) && pair.value === node) return rangeOf(pair.key, docStart);
  if (pair && node && (isMap(node) || isSeq(node)) && pair.value === node && isScalar(pair.key)) {
    // A whole mapping or sequence is easier to find by its key.
    return rangeOf(pair.key, docStart);
  }
  return rangeOf(node, docStart);
}

/**
 * findRange over the fast scanner's record: the same walk and the same
 * choices, answered only where every node it looks at was recorded. A
 * collection's own range (what a pointer at a sequence item that is a
 * collection, or at a document's root, shows) and the range of a block
 * scalar or an empty value are not recorded: those go to `yaml`.
 */
function fastRange(root: unknown, places: EntryPlaces, path: readonly (string | number)[], part: 'key' | 'value'): FastSpan | undefined {
  let node: unknown = root;
  let pairKey: FastSpan | undefined;
  let valueSpan: FastSpan | undefined;
  for (const seg of path) {
    const isSeq = Array.isArray(node);
    if (isCollection(node) && (!isSeq || typeof seg === 'number')) {
      const entries = places.get(node);
      // A flow collection: its entries were not recorded.
      if (!entries) return undefined;
      const key = isSeq ? seg : String(seg);
      const found = entries.get(key);
      if (!found) break;
      pairKey = found.key;
      valueSpan = found.value;
      node = (node as Record<string | number, unknown>)[key];
    } else {
      break;
    }
  }
  if (pairKey && (part === 'key' || isCollection(node))) return pairKey;
  // A scalar's own span; for a collection or an unrecorded scalar, undefined.
  return isCollection(node) ? undefined : valueSpan;
}

function isCollection(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}

function keyText(key: unknown): string | undefined {
  if (yamlLib().isScalar(key)) return String(key.value);
  return undefined;
}

function rangeOf(node: Node | null | undefined, fallback: number): { start: number; end: number } {
  const r = node?.range;
  if (!r) return { start: fallback, end: fallback };
  return { start: r[0], end: r[1] };
}
