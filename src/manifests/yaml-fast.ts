/**
 * The fast path of the YAML loader.
 *
 * Manifests in a repository use a small part of YAML: block mappings and
 * sequences indented with spaces, plain and quoted scalars on one line, block
 * scalars, one-line flow collections and comments. This scanner reads exactly
 * that subset, straight from the text to plain values, about ten times faster
 * than `yaml`'s own parser (which builds a token stream, a syntax tree and a
 * node tree with ranges). Positions are not needed here: they are resolved
 * later, only for files that have findings, by locate.ts, which reads such a
 * file again with `places` and turns to `yaml` for what that does not record.
 *
 * It is a whitelist. Anything outside the subset (tabs, anchors, aliases,
 * tags, directives, explicit keys, multi-line plain or quoted scalars,
 * multi-line flow collections, non-string keys, duplicate keys, every error)
 * makes it return `undefined`, and the caller composes the file with `yaml`,
 * which also reports errors precisely. So does nesting deeper than
 * MAX_DEPTH: the scanner recurses, and hostile input must not exhaust the
 * stack here. For what it accepts, its values and document lines equal
 * `yaml`'s (YAML 1.2 core schema); test/manifests/yaml-fast.test.ts checks that
 * against `yaml` on a corpus and on generated and mutated documents.
 */

export interface FastDocument {
  /** The document's value; `null` for an empty document. */
  readonly value: unknown;
  readonly empty: boolean;
  /**
   * First and last line (0-based, inclusive) of the document: from the line
   * where its content starts to the line before the next document marker or
   * the end of the text. Trailing comments and blank lines are included, as in
   * `yaml`'s document range, so the span covers every line that can change the
   * value (the kept blank lines of a `|+` scalar, say).
   */
  readonly lines?: readonly [number, number] | undefined;
}

/** A one-line scalar's place: its line (0-based) and its columns [start, end) on it. */
export type FastSpan = readonly [line: number, start: number, end: number];

/**
 * Told where each entry of a block collection was read, for locate.ts: a
 * mapping's key (always one line) and, when the value is a one-line plain or
 * quoted scalar, the value's span. Other values (collections, block scalars,
 * empty values) get no span. Flow collections record nothing inside.
 */
export interface FastPlaces {
  entry(collection: object, key: string | number, keySpan: FastSpan | undefined, valueSpan: FastSpan | undefined): void;
}

/** Thrown internally to abandon the fast path. */
class Bail extends Error {
  constructor() {
    super('not in the fast subset');
  }
}

const bail = (): never => {
  throw new Bail();
};

/**
 * Deepest nesting of collections the fast path reads. Manifests stay far below
 * it; deeper files go to the full parser, which bounds depth on its own terms.
 */
export const MAX_DEPTH = 64;

/**
 * Longest implicit key, quoted or plain, from its first character to its `:`.
 * YAML allows 1024 characters and `yaml` reports longer keys as errors; the
 * fast path stops a little short of that, so it never has to match `yaml`'s
 * exact count.
 */
const MAX_KEY_LENGTH = 1000;

const SPACE = 0x20;
const HASH = 0x23;
const COLON = 0x3a;
const DASH = 0x2d;

export function parseYamlFast(source: string, places?: FastPlaces): FastDocument[] | undefined {
  if (source.includes('\t')) return undefined;
  let text = source;
  if (text.includes('\r')) {
    text = text.replace(/\r\n/g, '\n');
    if (text.includes('\r')) return undefined;
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  try {
    return new Scanner(text.split('\n'), places).documents();
  } catch (e) {
    // A RangeError is a stack overflow that MAX_DEPTH did not prevent (a caller
    // already deep in the stack): the full parser reads the file instead.
    if (e instanceof Bail || e instanceof RangeError) return undefined;
    throw e;
  }
}

/**
 * YAML 1.2 core schema resolution of a plain scalar, in the same order and
 * with the same patterns as `yaml`'s core schema tags.
 */
export function resolvePlain(s: string): unknown {
  // Only these first characters can begin a null, a boolean or a number.
  if (s !== '' && !'0123456789+-.~nNtTfF'.includes(s[0] as string)) return s;
  // Of those, a letter or `~` begins only these words: no number starts so.
  const c = s.charCodeAt(0);
  if (c > 0x39) return WORDS.has(s) ? WORDS.get(s) : s;
  if (/^(?:~|[Nn]ull|NULL)?$/.test(s)) return null;
  if (/^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/.test(s)) return s[0] === 't' || s[0] === 'T';
  if (/^0o[0-7]+$/.test(s)) return parseInt(s.substring(2), 8);
  if (/^[-+]?[0-9]+$/.test(s)) return parseInt(s, 10);
  if (/^0x[0-9a-fA-F]+$/.test(s)) return parseInt(s.substring(2), 16);
  if (/^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/.test(s)) {
    return s.slice(-3).toLowerCase() === 'nan' ? NaN : s[0] === '-' ? -Infinity : Infinity;
  }
  if (/^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/.test(s)) return parseFloat(s);
  if (/^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/.test(s)) return parseFloat(s);
  return s;
}

/** The plain scalars that begin with a letter or `~` and are not strings. */
const WORDS: ReadonlyMap<string, null | boolean> = new Map<string, null | boolean>([
  ['~', null], ['null', null], ['Null', null], ['NULL', null],
  ['true', true], ['True', true], ['TRUE', true], ['false', false], ['False', false], ['FALSE', false],
]);

/** First character of a plain scalar that YAML reserves (we also refuse `-`, `?`, `:` followed by a space). */
function reservedStart(c: number): boolean {
  // , [ ] { } # & * ! | > ' " % @ `
  return (
    c === 0x2c || c === 0x5b || c === 0x5d || c === 0x7b || c === 0x7d || c === HASH || c === 0x26 || c === 0x2a ||
    c === 0x21 || c === 0x7c || c === 0x3e || c === 0x27 || c === 0x22 || c === 0x25 || c === 0x40 || c === 0x60
  );
}

function indentOf(line: string): number {
  let i = 0;
  while (line.charCodeAt(i) === SPACE) i++;
  return i;
}

/** A line with nothing but spaces and perhaps a comment. */
function isBlank(line: string): boolean {
  const i = indentOf(line);
  return i === line.length || line.charCodeAt(i) === HASH;
}

function isDocumentStart(line: string): boolean {
  return line.startsWith('---') && (line.length === 3 || line.charCodeAt(3) === SPACE);
}

function isDocumentEnd(line: string): boolean {
  return line.startsWith('...') && (line.length === 3 || line.charCodeAt(3) === SPACE);
}

/** What may follow a complete value on its line: spaces, then an optional comment after a space. */
function checkLineRest(line: string, from: number): void {
  let i = from;
  while (line.charCodeAt(i) === SPACE) i++;
  if (i === line.length) return;
  if (line.charCodeAt(i) === HASH && i > from) return;
  bail();
}

const ESCAPES: Record<string, string> = {
  '0': '\0', a: '\x07', b: '\b', t: '\t', n: '\n', v: '\v', f: '\f', r: '\r', e: '\x1b', ' ': ' ', '"': '"', '/': '/',
  '\\': '\\', N: '\u0085', _: '\u00a0', L: '\u2028', P: '\u2029',
};

class Scanner {
  private i = 0;
  /** Collections open around the current position. */
  private depth = 0;

  /** The span of the last one-line scalar read, for `places`. */
  private scalarSpan: FastSpan | undefined;

  constructor(
    private readonly lines: string[],
    private readonly places?: FastPlaces,
  ) {}

  documents(): FastDocument[] {
    const docs: FastDocument[] = [];
    const lines = this.lines;
    const empty = () => docs.push({ value: null, empty: true });
    let k = 0;
    // none: between documents; marker: after `---` with no content yet; content: a document was read.
    let state: 'none' | 'marker' | 'content' = 'none';
    for (;;) {
      const first = this.nextContentFrom(k);
      if (first === -1) {
        if (state === 'marker') empty();
        return docs;
      }
      const line = lines[first] ?? '';
      if (line.charCodeAt(0) === 0x25) bail(); // a directive
      if (isDocumentStart(line)) {
        if (state === 'marker') empty();
        checkLineRest(line, 3);
        state = 'marker';
        k = first + 1;
        continue;
      }
      if (isDocumentEnd(line)) {
        // `...` closes the open document, or stands for an empty one.
        if (state !== 'content') empty();
        state = 'none';
        checkLineRest(line, 3);
        k = first + 1;
        // Content after `...` without a new `---` is left to the full parser.
        const after = this.nextContentFrom(k);
        if (after !== -1 && !isDocumentStart(lines[after] ?? '') && !isDocumentEnd(lines[after] ?? '')) bail();
        continue;
      }
      if (state === 'content') bail();
      this.i = first;
      const value = this.blockNode(indentOf(line), -1);
      docs.push({ value, empty: false, lines: [first, this.documentEnd(this.i)] });
      state = 'content';
      k = this.i + 1;
    }
  }

  /**
   * The last line of a document whose content ends on line `last`: the line
   * before the next line with content (a document marker, or the file is left
   * to the full parser), or the last line of the text.
   */
  private documentEnd(last: number): number {
    const next = this.nextContentFrom(last + 1);
    if (next !== -1) return next - 1;
    const n = this.lines.length;
    // What follows a final newline is not a line.
    return n > 1 && this.lines[n - 1] === '' ? n - 2 : n - 1;
  }

  /** One more collection opens; past MAX_DEPTH the file is left to the full parser. */
  private enter(): void {
    if (++this.depth > MAX_DEPTH) bail();
  }

  /** The last answer of nextContentFrom: a value and the checks after it ask for the same line again. */
  private lastFrom = -1;
  private lastNext = -1;

  /** Index of the first line from `from` on that has content, or -1. */
  private nextContentFrom(from: number): number {
    if (from === this.lastFrom) return this.lastNext;
    const lines = this.lines;
    let next = -1;
    for (let k = from; k < lines.length; k++) {
      if (!isBlank(lines[k] ?? '')) {
        next = k;
        break;
      }
    }
    this.lastFrom = from;
    this.lastNext = next;
    return next;
  }

  /** The next line with content after the current one, or -1. */
  private nextContent(): number {
    return this.nextContentFrom(this.i + 1);
  }

  /** A block node whose first line is `this.i`, starting at column `col`; its parent is at `parentCol`. */
  private blockNode(col: number, parentCol: number): unknown {
    if (col <= parentCol) bail();
    const line = this.lines[this.i] ?? '';
    const c = line.charCodeAt(col);
    if (c === DASH && (col + 1 === line.length || line.charCodeAt(col + 1) === SPACE)) return this.blockSeq(col);
    if (this.keyEnd(line, col) !== -1) return this.blockMap(col);
    return this.scalarValue(line, col, parentCol);
  }

  /**
   * Where the key starting at `col` ends (the index of its `:`), or -1 when the
   * line holds no mapping key there.
   */
  private keyEnd(line: string, col: number): number {
    const c = line.charCodeAt(col);
    if (c === 0x5b || c === 0x7b) return -1; // a flow collection, not a key
    if (c === 0x22 || c === 0x27) {
      const close = c === 0x22 ? this.doubleQuotedEnd(line, col) : this.singleQuotedEnd(line, col);
      if (close === -1) return -1;
      return line.charCodeAt(close + 1) === COLON && (close + 2 === line.length || line.charCodeAt(close + 2) === SPACE)
        ? close + 1
        : -1;
    }
    for (let k = col; k < line.length; k++) {
      const ch = line.charCodeAt(k);
      if (ch === COLON && (k + 1 === line.length || line.charCodeAt(k + 1) === SPACE)) return k;
      if (ch === HASH && k > col && line.charCodeAt(k - 1) === SPACE) return -1;
    }
    return -1;
  }

  private blockMap(col: number): Record<string, unknown> {
    this.enter();
    const out: Record<string, unknown> = {};
    const lines = this.lines;
    let first = true;
    for (;;) {
      const line = lines[this.i] ?? '';
      const keyStart = first ? col : indentOf(line);
      if (keyStart !== col) bail();
      const colon = this.keyEnd(line, col);
      if (colon === -1) bail();
      const key = this.mapKey(line, col, colon);
      if (key === '__proto__' || Object.prototype.hasOwnProperty.call(out, key)) bail();
      const keyLine = this.i;
      this.scalarSpan = undefined;
      out[key] = this.mapValue(line, colon + 1, col);
      this.places?.entry(out, key, [keyLine, col, colon], this.scalarSpan);
      first = false;
      const next = this.nextContent();
      if (next === -1) break;
      const nl = lines[next] ?? '';
      const ind = indentOf(nl);
      if (ind < col || (ind === 0 && (isDocumentStart(nl) || isDocumentEnd(nl)))) break;
      if (ind > col) bail();
      this.i = next;
    }
    this.depth--;
    return out;
  }

  private mapKey(line: string, col: number, colon: number): string {
    // YAML limits the length of an implicit key, quoted or not; `yaml` reports a longer one.
    if (colon - col > MAX_KEY_LENGTH) bail();
    const c = line.charCodeAt(col);
    if (c === 0x22) return this.doubleQuoted(line, col, colon - 1);
    if (c === 0x27) return this.singleQuoted(line, col, colon - 1);
    if (reservedStart(c) || c === 0x3f || c === COLON || (c === DASH && line.charCodeAt(col + 1) === SPACE)) bail();
    // `key :` (a space before the colon) is left to the full parser.
    if (line.charCodeAt(colon - 1) === SPACE) bail();
    const key = line.slice(col, colon);
    if (typeof resolvePlain(key) !== 'string') bail();
    return key;
  }

  /** The value after `key:`, on the same line from `from` or on the lines below. */
  private mapValue(line: string, from: number, mapCol: number): unknown {
    let k = from;
    while (line.charCodeAt(k) === SPACE) k++;
    if (k === line.length || (line.charCodeAt(k) === HASH && k > from)) {
      return this.valueBelow(mapCol, true);
    }
    if (k === from) bail();
    return this.inlineValue(line, k, mapCol);
  }

  /** A value on the lines below its key or dash, or null when there is none. */
  private valueBelow(parentCol: number, sequenceAtSameIndent: boolean): unknown {
    const next = this.nextContent();
    if (next === -1) return null;
    const nl = this.lines[next] ?? '';
    const ind = indentOf(nl);
    if (ind > parentCol) {
      this.i = next;
      return this.blockNode(ind, parentCol);
    }
    // A sequence may sit at the same indentation as the key that holds it.
    if (sequenceAtSameIndent && ind === parentCol && nl.charCodeAt(ind) === DASH && (ind + 1 === nl.length || nl.charCodeAt(ind + 1) === SPACE)) {
      if (ind === 0 && (isDocumentStart(nl) || isDocumentEnd(nl))) return null;
      this.i = next;
      return this.blockSeq(ind);
    }
    return null;
  }

  /** A value that starts on the current line at `k` (after `key: ` or `- `). */
  private inlineValue(line: string, k: number, parentCol: number): unknown {
    const c = line.charCodeAt(k);
    if (c === 0x7c || c === 0x3e) return this.blockScalar(line, k, parentCol);
    if (c === 0x5b || c === 0x7b) {
      const [value, end] = this.flow(line, k);
      checkLineRest(line, end);
      return value;
    }
    if (c === 0x22 || c === 0x27) {
      const close = c === 0x22 ? this.doubleQuotedEnd(line, k) : this.singleQuotedEnd(line, k);
      if (close === -1) bail();
      checkLineRest(line, close + 1);
      this.noContinuation(parentCol);
      this.scalarSpan = [this.i, k, close + 1];
      return c === 0x22 ? this.doubleQuoted(line, k, close) : this.singleQuoted(line, k, close);
    }
    return this.scalarValue(line, k, parentCol);
  }

  /** A plain scalar running to the end of the line (or a comment). */
  private scalarValue(line: string, k: number, parentCol: number): unknown {
    const c = line.charCodeAt(k);
    if (c === 0x22 || c === 0x27 || c === 0x5b || c === 0x7b || c === 0x7c || c === 0x3e) {
      return this.inlineValue(line, k, parentCol);
    }
    if (reservedStart(c) || c === 0x3f || c === COLON || c === DASH) {
      // `-5`, `-x` are plain scalars; `- x`, `? x`, `: x` are structure.
      const n = line.charCodeAt(k + 1);
      if (!(c === DASH && k + 1 < line.length && n !== SPACE)) bail();
    }
    let end = line.length;
    for (let j = k; j < line.length; j++) {
      const ch = line.charCodeAt(j);
      if (ch === HASH && line.charCodeAt(j - 1) === SPACE) {
        end = j;
        break;
      }
      if (ch === COLON && (j + 1 === line.length || line.charCodeAt(j + 1) === SPACE)) bail();
    }
    while (end > k && line.charCodeAt(end - 1) === SPACE) end--;
    this.noContinuation(parentCol);
    this.scalarSpan = [this.i, k, end];
    return resolvePlain(line.slice(k, end));
  }

  /** A line below a one-line scalar indented past its parent would continue it: not in the subset. */
  private noContinuation(parentCol: number): void {
    const next = this.nextContent();
    if (next !== -1 && indentOf(this.lines[next] ?? '') > parentCol) bail();
  }

  private blockSeq(col: number): unknown[] {
    this.enter();
    const out: unknown[] = [];
    const lines = this.lines;
    for (;;) {
      const line = lines[this.i] ?? '';
      if (indentOf(line) !== col || line.charCodeAt(col) !== DASH) bail();
      if (col + 1 < line.length && line.charCodeAt(col + 1) !== SPACE) bail();
      let k = col + 1;
      while (line.charCodeAt(k) === SPACE) k++;
      this.scalarSpan = undefined;
      if (k === line.length || line.charCodeAt(k) === HASH) {
        out.push(this.valueBelow(col, false));
      } else {
        const c = line.charCodeAt(k);
        if (c === DASH && (k + 1 === line.length || line.charCodeAt(k + 1) === SPACE)) bail(); // `- - x`
        if (this.keyEnd(line, k) !== -1) out.push(this.blockMap(k));
        else out.push(this.inlineValue(line, k, col));
      }
      this.places?.entry(out, out.length - 1, undefined, this.scalarSpan);
      const next = this.nextContent();
      if (next === -1) break;
      const nl = lines[next] ?? '';
      const ind = indentOf(nl);
      if (ind < col || (ind === 0 && (isDocumentStart(nl) || isDocumentEnd(nl)))) break;
      if (ind > col || nl.charCodeAt(col) !== DASH) {
        if (ind === col) break; // a key of the enclosing mapping, at the same indentation
        bail();
      }
      this.i = next;
    }
    this.depth--;
    return out;
  }

  // ------------------------------------------------------------ block scalars

  private blockScalar(line: string, k: number, parentCol: number): string {
    const folded = line.charCodeAt(k) === 0x3e;
    let j = k + 1;
    let chomp: 'clip' | 'strip' | 'keep' = 'clip';
    const ind = line.charCodeAt(j);
    if (ind === DASH) {
      chomp = 'strip';
      j++;
    } else if (ind === 0x2b) {
      chomp = 'keep';
      j++;
    }
    checkLineRest(line, j);
    // Lines of the scalar: from the next line while blank or indented past the parent.
    const lines = this.lines;
    let n = -1;
    const body: string[] = [];
    let k2 = this.i + 1;
    for (; k2 < lines.length; k2++) {
      const l = lines[k2] ?? '';
      const li = indentOf(l);
      if (li === 0 && (isDocumentStart(l) || isDocumentEnd(l))) break;
      if (li === l.length) {
        if (n !== -1 && li > n) bail();
        if (n === -1 && li > parentCol + 1) bail();
        body.push('');
        continue;
      }
      if (n === -1) {
        if (li <= parentCol) break;
        n = li;
      }
      if (li < n) break;
      body.push(l.slice(n));
    }
    if (n === -1) bail();
    // Trailing blank lines belong to the scalar only for chomping.
    let last = body.length;
    while (last > 0 && body[last - 1] === '') last--;
    const content = body.slice(0, last);
    const trailing = body.length - last;
    if (content.some((l) => l.charCodeAt(0) === SPACE) && folded) bail();
    if (content[0] === '' ) bail();
    this.i = k2 - 1 - trailing;
    if (k2 === lines.length && trailing > 0 && chomp === 'keep') bail();
    let value = folded ? fold(content) : content.join('\n');
    if (chomp === 'clip') value += '\n';
    else if (chomp === 'keep') value += '\n'.repeat(1 + trailing);
    return value;
  }

  // ------------------------------------------------------------ quoted scalars

  private doubleQuotedEnd(line: string, open: number): number {
    for (let k = open + 1; k < line.length; k++) {
      const ch = line.charCodeAt(k);
      if (ch === 0x5c) k++;
      else if (ch === 0x22) return k;
    }
    return -1;
  }

  private singleQuotedEnd(line: string, open: number): number {
    for (let k = open + 1; k < line.length; k++) {
      if (line.charCodeAt(k) === 0x27) {
        if (line.charCodeAt(k + 1) === 0x27) k++;
        else return k;
      }
    }
    return -1;
  }

  private doubleQuoted(line: string, open: number, close: number): string {
    const raw = line.slice(open + 1, close);
    if (!raw.includes('\\')) return raw;
    let out = '';
    for (let k = 0; k < raw.length; k++) {
      const ch = raw[k] ?? '';
      if (ch !== '\\') {
        out += ch;
        continue;
      }
      const e = raw[++k] ?? '';
      const simple = ESCAPES[e];
      if (simple !== undefined) {
        out += simple;
        continue;
      }
      const len = e === 'x' ? 2 : e === 'u' ? 4 : e === 'U' ? 8 : 0;
      const hex = raw.slice(k + 1, k + 1 + len);
      if (!len || !/^[0-9a-fA-F]+$/.test(hex) || hex.length !== len) bail();
      const cp = parseInt(hex, 16);
      if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) bail();
      out += String.fromCodePoint(cp);
      k += len;
    }
    return out;
  }

  private singleQuoted(line: string, open: number, close: number): string {
    return line.slice(open + 1, close).replace(/''/g, "'");
  }

  // ------------------------------------------------------------ flow collections

  /** A flow collection that opens at `k` and closes on the same line; returns the value and the index after it. */
  private flow(line: string, k: number): [unknown, number] {
    this.enter();
    const read = this.flowItems(line, k);
    this.depth--;
    return read;
  }

  private flowItems(line: string, k: number): [unknown, number] {
    const isMap = line.charCodeAt(k) === 0x7b;
    const close = isMap ? 0x7d : 0x5d;
    const map: Record<string, unknown> = {};
    const seq: unknown[] = [];
    let j = skipSpaces(line, k + 1);
    if (line.charCodeAt(j) === close) return [isMap ? map : seq, j + 1];
    for (;;) {
      if (isMap) {
        const [key, afterKey] = this.flowScalar(line, j, true);
        if (typeof key !== 'string' || Object.prototype.hasOwnProperty.call(map, key) || key === '__proto__') bail();
        if (line.charCodeAt(afterKey) !== COLON || line.charCodeAt(afterKey + 1) !== SPACE) bail();
        const [value, afterValue] = this.flowItem(line, skipSpaces(line, afterKey + 1));
        map[key as string] = value;
        j = afterValue;
      } else {
        const [value, afterValue] = this.flowItem(line, j);
        seq.push(value);
        j = afterValue;
      }
      j = skipSpaces(line, j);
      const ch = line.charCodeAt(j);
      if (ch === close) return [isMap ? map : seq, j + 1];
      if (ch !== 0x2c) bail();
      j = skipSpaces(line, j + 1);
      if (line.charCodeAt(j) === close || j === line.length) bail(); // trailing comma: leave to the full parser
    }
  }

  private flowItem(line: string, j: number): [unknown, number] {
    const c = line.charCodeAt(j);
    if (c === 0x5b || c === 0x7b) return this.flow(line, j);
    return this.flowScalar(line, j, false);
  }

  /** A scalar inside a flow collection. Keys must resolve to strings. */
  private flowScalar(line: string, j: number, asKey: boolean): [unknown, number] {
    const c = line.charCodeAt(j);
    if (c === 0x22 || c === 0x27) {
      const close = c === 0x22 ? this.doubleQuotedEnd(line, j) : this.singleQuotedEnd(line, j);
      if (close === -1) bail();
      const s = c === 0x22 ? this.doubleQuoted(line, j, close) : this.singleQuoted(line, j, close);
      return [s, close + 1];
    }
    if (reservedStart(c) || c === 0x3f || c === COLON || j >= line.length) bail();
    if (c === DASH) {
      // `-x` is a plain scalar; `-` before a blank or a flow indicator is not.
      const n = line.charCodeAt(j + 1);
      if (j + 1 >= line.length || n === SPACE || n === 0x2c || n === 0x5b || n === 0x5d || n === 0x7b || n === 0x7d) bail();
    }
    let k = j;
    for (; k < line.length; k++) {
      const ch = line.charCodeAt(k);
      if (ch === 0x2c || ch === 0x5d || ch === 0x7d || ch === 0x5b || ch === 0x7b) break;
      if (ch === COLON) {
        const n = line.charCodeAt(k + 1);
        if (n === SPACE || n === 0x2c || n === 0x5d || n === 0x7d || k + 1 === line.length) break;
      }
      if (ch === HASH && line.charCodeAt(k - 1) === SPACE) bail();
    }
    let end = k;
    while (end > j && line.charCodeAt(end - 1) === SPACE) end--;
    const raw = line.slice(j, end);
    if (raw === '') bail();
    const value = resolvePlain(raw);
    if (asKey && typeof value !== 'string') bail();
    if (!asKey && line.charCodeAt(k) === COLON) bail(); // a single-pair map inside a sequence
    return [value, end];
  }
}

function skipSpaces(line: string, j: number): number {
  while (line.charCodeAt(j) === SPACE) j++;
  return j;
}

/** Folding of a `>` block scalar without more-indented lines. */
function fold(lines: readonly string[]): string {
  let out = '';
  let pendingBreaks = 0;
  let started = false;
  for (const l of lines) {
    if (l === '') {
      pendingBreaks++;
      continue;
    }
    if (started) out += pendingBreaks ? '\n'.repeat(pendingBreaks) : ' ';
    out += l;
    started = true;
    pendingBreaks = 0;
  }
  return out;
}
