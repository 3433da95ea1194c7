/**
 * Turns findings that point at a path in a document into file:line:column.
 * Only the files that have findings are composed with positions, once each.
 */
import { isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Node, type Pair } from 'yaml';
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

interface PositionedFile {
  readonly docs: Document.Parsed[];
  readonly lines: LineCounter;
}

export class Locator {
  private readonly cache = new Map<string, PositionedFile | null>();

  constructor(private readonly textOf: (file: string) => string | undefined) {}

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
    const file = this.positioned(p.file);
    const doc = file?.docs[p.doc];
    if (!file || !doc) return { file: p.file, line: 1, column: 1 };
    const { start, end } = findRange(doc, p.path, p.part ?? 'value');
    const s = file.lines.linePos(start);
    const e = file.lines.linePos(Math.max(start, end));
    return { file: p.file, line: s.line, column: s.col, endLine: e.line, endColumn: e.col };
  }

  private positioned(file: string): PositionedFile | undefined {
    const hit = this.cache.get(file);
    if (hit !== undefined) return hit ?? undefined;
    const text = this.textOf(file);
    if (text === undefined) {
      this.cache.set(file, null);
      return undefined;
    }
    const lines = new LineCounter();
    const parsed = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false });
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

function keyText(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value);
  return undefined;
}

function rangeOf(node: Node | null | undefined, fallback: number): { start: number; end: number } {
  const r = node?.range;
  if (!r) return { start: fallback, end: fallback };
  return { start: r[0], end: r[1] };
}
