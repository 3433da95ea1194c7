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
    return new Scanner(text, places).documents();
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
  // The words are settled above: what is left of null is the empty scalar.
  if (s === '') return null;
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

/** Plain keys read before, by a hash of their text (see Scanner.plainKey); bounded, shared by every file of the process. */
const KEYS_SIZE = 4096;
const KEYS: (string | undefined)[] = new Array<string | undefined>(KEYS_SIZE).fill(undefined);

const ESCAPES: Record<string, string> = {
  '0': '\0', a: '\x07', b: '\b', t: '\t', n: '\n', v: '\v', f: '\f', r: '\r', e: '\x1b', ' ': ' ', '"': '"', '/': '/',
  '\\': '\\', N: '\u0085', _: '\u00a0', L: '\u2028', P: '\u2029',
};

/**
 * Reads the text in place: a line is the offset where it starts and the
 * offset of its newline (or the end of the text), and every index below is an
 * offset into the text, so no line or substring is made but for the keys and
 * values themselves. Past a line's end lies its `\n`, which equals none of the
 * characters the checks look for, as reading past the end of a string did.
 * Indentations and `col`/`parentCol` are columns: offsets from the line start.
 */
class Scanner {
  /** Where the current line starts. */
  private pos = 0;
  /** Collections open around the current position. */
  private depth = 0;
  private readonly n: number;

  /** The span of the last one-line scalar read, for `places`. */
  private scalarSpan: FastSpan | undefined;

  constructor(
    private readonly t: string,
    private readonly places?: FastPlaces,
  ) {
    this.n = t.length;
  }

  /** The span [start, end) on the current line, for `places` only: finding the line's number costs a scan. */
  private span(start: number, end: number): FastSpan | undefined {
    return this.places ? [this.lineNumber(this.pos), start - this.pos, end - this.pos] : undefined;
  }

  /** The last answer of eol: every check on a line asks for its end again. */
  private eolFrom = -1;
  private eolAt = -1;

  /** Where the line starting at `ls` ends: its newline, or the end of the text. */
  private eol(ls: number): number {
    if (ls === this.eolFrom) return this.eolAt;
    const e = this.t.indexOf('\n', ls);
    this.eolFrom = ls;
    this.eolAt = e === -1 ? this.n : e;
    return this.eolAt;
  }

  private indentOf(ls: number): number {
    const t = this.t;
    let i = ls;
    while (t.charCodeAt(i) === SPACE) i++;
    return i - ls;
  }

  /** A line with nothing but spaces and perhaps a comment. */
  private isBlank(ls: number, le: number): boolean {
    const i = ls + this.indentOf(ls);
    return i === le || this.t.charCodeAt(i) === HASH;
  }

  private isDocumentStart(ls: number, le: number): boolean {
    return this.t.startsWith('---', ls) && (le - ls === 3 || this.t.charCodeAt(ls + 3) === SPACE);
  }

  private isDocumentEnd(ls: number, le: number): boolean {
    return this.t.startsWith('...', ls) && (le - ls === 3 || this.t.charCodeAt(ls + 3) === SPACE);
  }

  private isMarker(ls: number, le: number): boolean {
    return this.isDocumentStart(ls, le) || this.isDocumentEnd(ls, le);
  }

  /** What may follow a complete value on its line: spaces, then an optional comment after a space. */
  private checkLineRest(from: number, le: number): void {
    const t = this.t;
    let i = from;
    while (t.charCodeAt(i) === SPACE) i++;
    if (i === le) return;
    if (t.charCodeAt(i) === HASH && i > from) return;
    bail();
  }

  /** Where the line after the one starting at `ls` starts; past the text (> n) when there is none. */
  private nextLine(ls: number): number {
    return this.eol(ls) + 1;
  }

  documents(): FastDocument[] {
    const docs: FastDocument[] = [];
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
      const fe = this.eol(first);
      if (this.t.charCodeAt(first) === 0x25) bail(); // a directive
      if (this.isDocumentStart(first, fe)) {
        if (state === 'marker') empty();
        this.checkLineRest(first + 3, fe);
        state = 'marker';
        k = fe + 1;
        continue;
      }
      if (this.isDocumentEnd(first, fe)) {
        // `...` closes the open document, or stands for an empty one.
        if (state !== 'content') empty();
        state = 'none';
        this.checkLineRest(first + 3, fe);
        k = fe + 1;
        // Content after `...` without a new `---` is left to the full parser.
        const after = this.nextContentFrom(k);
        if (after !== -1 && !this.isMarker(after, this.eol(after))) bail();
        continue;
      }
      if (state === 'content') bail();
      this.pos = first;
      // Numbered before the content is read: recording places moves lineNumber's forward cursor past `first`.
      const firstLine = this.lineNumber(first);
      const value = this.blockNode(this.indentOf(first), -1);
      docs.push({ value, empty: false, lines: [firstLine, this.documentEnd(this.pos)] });
      state = 'content';
      k = this.nextLine(this.pos);
    }
  }

  /** A forward cursor for lineNumber: documents are numbered in order. */
  private lineAt = 0;
  private lineNo = 0;

  /** The 0-based line of offset `at`. */
  private lineNumber(at: number): number {
    const t = this.t;
    if (at < this.lineAt) {
      this.lineAt = 0;
      this.lineNo = 0;
    }
    let line = this.lineNo;
    for (let i = t.indexOf('\n', this.lineAt); i !== -1 && i < at; i = t.indexOf('\n', i + 1)) line++;
    this.lineAt = at;
    this.lineNo = line;
    return line;
  }

  /**
   * The last line of a document whose content ends on the line starting at
   * `last`: the line before the next line with content (a document marker, or
   * the file is left to the full parser), or the last line of the text.
   */
  private documentEnd(last: number): number {
    const next = this.nextContentFrom(this.nextLine(last));
    if (next !== -1) return this.lineNumber(next) - 1;
    const lastLine = this.lineNumber(this.n);
    // What follows a final newline is not a line.
    return lastLine > 0 && this.t.charCodeAt(this.n - 1) === 0x0a ? lastLine - 1 : lastLine;
  }

  /** One more collection opens; past MAX_DEPTH the file is left to the full parser. */
  private enter(): void {
    if (++this.depth > MAX_DEPTH) bail();
  }

  /** The last answer of nextContentFrom: a value and the checks after it ask for the same line again. */
  private lastFrom = -1;
  private lastNext = -1;

  /** Where the first line from the one starting at `from` on that has content starts, or -1. */
  private nextContentFrom(from: number): number {
    if (from === this.lastFrom) return this.lastNext;
    let next = -1;
    for (let ls = from; ls <= this.n; ls = this.nextLine(ls)) {
      if (!this.isBlank(ls, this.eol(ls))) {
        next = ls;
        break;
      }
    }
    this.lastFrom = from;
    this.lastNext = next;
    return next;
  }

  /** The next line with content after the current one, or -1. */
  private nextContent(): number {
    return this.nextContentFrom(this.nextLine(this.pos));
  }

  /** A block node whose first line is the current one, starting at column `col`; its parent is at `parentCol`. */
  private blockNode(col: number, parentCol: number): unknown {
    if (col <= parentCol) bail();
    const ls = this.pos;
    const le = this.eol(ls);
    const at = ls + col;
    const c = this.t.charCodeAt(at);
    if (c === DASH && (at + 1 === le || this.t.charCodeAt(at + 1) === SPACE)) return this.blockSeq(col);
    if (this.keyEnd(at, le) !== -1) return this.blockMap(col);
    return this.scalarValue(at, le, parentCol);
  }

  /**
   * Where the key starting at `at` ends (the offset of its `:`), or -1 when
   * the line (ending at `le`) holds no mapping key there.
   */
  private keyEnd(at: number, le: number): number {
    const t = this.t;
    const c = t.charCodeAt(at);
    if (c === 0x5b || c === 0x7b) return -1; // a flow collection, not a key
    if (c === 0x22 || c === 0x27) {
      const close = c === 0x22 ? this.doubleQuotedEnd(at, le) : this.singleQuotedEnd(at, le);
      if (close === -1) return -1;
      return t.charCodeAt(close + 1) === COLON && (close + 2 === le || t.charCodeAt(close + 2) === SPACE) ? close + 1 : -1;
    }
    for (let k = at; k < le; k++) {
      const ch = t.charCodeAt(k);
      if (ch === COLON && (k + 1 === le || t.charCodeAt(k + 1) === SPACE)) return k;
      if (ch === HASH && k > at && t.charCodeAt(k - 1) === SPACE) return -1;
    }
    return -1;
  }

  private blockMap(col: number): Record<string, unknown> {
    this.enter();
    const out: Record<string, unknown> = {};
    let first = true;
    for (;;) {
      const ls = this.pos;
      const le = this.eol(ls);
      const keyStart = first ? col : this.indentOf(ls);
      if (keyStart !== col) bail();
      const at = ls + col;
      const colon = this.keyEnd(at, le);
      if (colon === -1) bail();
      const key = this.mapKey(at, colon);
      if (key === '__proto__' || Object.prototype.hasOwnProperty.call(out, key)) bail();
      const keySpan = this.span(at, colon);
      this.scalarSpan = undefined;
      out[key] = this.mapValue(colon + 1, le, col);
      this.places?.entry(out, key, keySpan, this.scalarSpan);
      first = false;
      const next = this.nextContent();
      if (next === -1) break;
      const ind = this.indentOf(next);
      if (ind < col || (ind === 0 && this.isMarker(next, this.eol(next)))) break;
      if (ind > col) bail();
      this.pos = next;
    }
    this.depth--;
    return out;
  }

  private mapKey(at: number, colon: number): string {
    // YAML limits the length of an implicit key, quoted or not; `yaml` reports a longer one.
    if (colon - at > MAX_KEY_LENGTH) bail();
    const t = this.t;
    const c = t.charCodeAt(at);
    if (c === 0x22) return this.doubleQuoted(at, colon - 1);
    if (c === 0x27) return this.singleQuoted(at, colon - 1);
    if (reservedStart(c) || c === 0x3f || c === COLON || (c === DASH && t.charCodeAt(at + 1) === SPACE)) bail();
    // `key :` (a space before the colon) is left to the full parser.
    if (t.charCodeAt(colon - 1) === SPACE) bail();
    return this.plainKey(at, colon);
  }

  /**
   * A plain key, taken from KEYS when the same text was read before. Storing
   * and looking up a property with a fresh substring makes V8 find or add its
   * internalized copy first (hashing it and probing its string table), and
   * that was the hottest line of the scanner: manifests repeat the same few
   * hundred keys, and a string from the table is already internalized.
   */
  private plainKey(at: number, colon: number): string {
    const t = this.t;
    let h = colon - at;
    for (let k = at; k < colon; k++) h = (Math.imul(h, 31) + t.charCodeAt(k)) | 0;
    const slot = h & (KEYS_SIZE - 1);
    const known = KEYS[slot];
    if (known !== undefined && known.length === colon - at && sameText(t, at, known)) return known;
    const key = t.slice(at, colon);
    if (typeof resolvePlain(key) !== 'string') bail();
    // Only keys that passed the check above are kept; a collision replaces the older key.
    KEYS[slot] = key;
    return key;
  }

  /** The value after `key:`, on the same line (ending at `le`) from `from` or on the lines below. */
  private mapValue(from: number, le: number, mapCol: number): unknown {
    const t = this.t;
    let k = from;
    while (t.charCodeAt(k) === SPACE) k++;
    if (k === le || (t.charCodeAt(k) === HASH && k > from)) {
      return this.valueBelow(mapCol, true);
    }
    if (k === from) bail();
    return this.inlineValue(k, le, mapCol);
  }

  /** A value on the lines below its key or dash, or null when there is none. */
  private valueBelow(parentCol: number, sequenceAtSameIndent: boolean): unknown {
    const next = this.nextContent();
    if (next === -1) return null;
    const ne = this.eol(next);
    const ind = this.indentOf(next);
    if (ind > parentCol) {
      this.pos = next;
      return this.blockNode(ind, parentCol);
    }
    // A sequence may sit at the same indentation as the key that holds it.
    const at = next + ind;
    if (sequenceAtSameIndent && ind === parentCol && this.t.charCodeAt(at) === DASH && (at + 1 === ne || this.t.charCodeAt(at + 1) === SPACE)) {
      if (ind === 0 && this.isMarker(next, ne)) return null;
      this.pos = next;
      return this.blockSeq(ind);
    }
    return null;
  }

  /** A value that starts on the current line (ending at `le`) at `k` (after `key: ` or `- `). */
  private inlineValue(k: number, le: number, parentCol: number): unknown {
    const c = this.t.charCodeAt(k);
    if (c === 0x7c || c === 0x3e) return this.blockScalar(k, le, parentCol);
    if (c === 0x5b || c === 0x7b) {
      const [value, end] = this.flow(k, le);
      this.checkLineRest(end, le);
      return value;
    }
    if (c === 0x22 || c === 0x27) {
      const close = c === 0x22 ? this.doubleQuotedEnd(k, le) : this.singleQuotedEnd(k, le);
      if (close === -1) bail();
      this.checkLineRest(close + 1, le);
      this.noContinuation(parentCol);
      this.scalarSpan = this.span(k, close + 1);
      return c === 0x22 ? this.doubleQuoted(k, close) : this.singleQuoted(k, close);
    }
    return this.scalarValue(k, le, parentCol);
  }

  /** A plain scalar running to the end of the line (or a comment). */
  private scalarValue(k: number, le: number, parentCol: number): unknown {
    const t = this.t;
    const c = t.charCodeAt(k);
    if (c === 0x22 || c === 0x27 || c === 0x5b || c === 0x7b || c === 0x7c || c === 0x3e) {
      return this.inlineValue(k, le, parentCol);
    }
    if (reservedStart(c) || c === 0x3f || c === COLON || c === DASH) {
      // `-5`, `-x` are plain scalars; `- x`, `? x`, `: x` are structure.
      const n = t.charCodeAt(k + 1);
      if (!(c === DASH && k + 1 < le && n !== SPACE)) bail();
    }
    let end = le;
    for (let j = k; j < le; j++) {
      const ch = t.charCodeAt(j);
      if (ch === HASH && t.charCodeAt(j - 1) === SPACE) {
        end = j;
        break;
      }
      if (ch === COLON && (j + 1 === le || t.charCodeAt(j + 1) === SPACE)) bail();
    }
    while (end > k && t.charCodeAt(end - 1) === SPACE) end--;
    this.noContinuation(parentCol);
    this.scalarSpan = this.span(k, end);
    return resolvePlain(t.slice(k, end));
  }

  /** A line below a one-line scalar indented past its parent would continue it: not in the subset. */
  private noContinuation(parentCol: number): void {
    const next = this.nextContent();
    if (next !== -1 && this.indentOf(next) > parentCol) bail();
  }

  private blockSeq(col: number): unknown[] {
    this.enter();
    const t = this.t;
    const out: unknown[] = [];
    for (;;) {
      const ls = this.pos;
      const le = this.eol(ls);
      const at = ls + col;
      if (this.indentOf(ls) !== col || t.charCodeAt(at) !== DASH) bail();
      if (at + 1 < le && t.charCodeAt(at + 1) !== SPACE) bail();
      let k = at + 1;
      while (t.charCodeAt(k) === SPACE) k++;
      this.scalarSpan = undefined;
      if (k === le || t.charCodeAt(k) === HASH) {
        out.push(this.valueBelow(col, false));
      } else {
        const c = t.charCodeAt(k);
        if (c === DASH && (k + 1 === le || t.charCodeAt(k + 1) === SPACE)) bail(); // `- - x`
        if (this.keyEnd(k, le) !== -1) out.push(this.blockMap(k - ls));
        else out.push(this.inlineValue(k, le, col));
      }
      this.places?.entry(out, out.length - 1, undefined, this.scalarSpan);
      const next = this.nextContent();
      if (next === -1) break;
      const ind = this.indentOf(next);
      if (ind < col || (ind === 0 && this.isMarker(next, this.eol(next)))) break;
      if (ind > col || t.charCodeAt(next + col) !== DASH) {
        if (ind === col) break; // a key of the enclosing mapping, at the same indentation
        bail();
      }
      this.pos = next;
    }
    this.depth--;
    return out;
  }

  // ------------------------------------------------------------ block scalars

  private blockScalar(k: number, le: number, parentCol: number): string {
    const t = this.t;
    const folded = t.charCodeAt(k) === 0x3e;
    let j = k + 1;
    let chomp: 'clip' | 'strip' | 'keep' = 'clip';
    const ind = t.charCodeAt(j);
    if (ind === DASH) {
      chomp = 'strip';
      j++;
    } else if (ind === 0x2b) {
      chomp = 'keep';
      j++;
    }
    this.checkLineRest(j, le);
    // Lines of the scalar: from the next line while blank or indented past the parent.
    let n = -1;
    const body: string[] = [];
    let lastContent = -1;
    let ls = this.nextLine(this.pos);
    for (; ls <= this.n; ls = this.nextLine(ls)) {
      const e = this.eol(ls);
      const li = this.indentOf(ls);
      if (li === 0 && this.isMarker(ls, e)) break;
      if (li === e - ls) {
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
      body.push(t.slice(ls + n, e));
      lastContent = ls;
    }
    if (n === -1) bail();
    // Trailing blank lines belong to the scalar only for chomping.
    let last = body.length;
    while (last > 0 && body[last - 1] === '') last--;
    const content = body.slice(0, last);
    const trailing = body.length - last;
    if (content.some((l) => l.charCodeAt(0) === SPACE) && folded) bail();
    if (content[0] === '') bail();
    // The scalar's last line with content is where the value ends.
    this.pos = lastContent;
    if (ls > this.n && trailing > 0 && chomp === 'keep') bail();
    let value = folded ? fold(content) : content.join('\n');
    if (chomp === 'clip') value += '\n';
    else if (chomp === 'keep') value += '\n'.repeat(1 + trailing);
    return value;
  }

  // ------------------------------------------------------------ quoted scalars

  private doubleQuotedEnd(open: number, le: number): number {
    const t = this.t;
    for (let k = open + 1; k < le; k++) {
      const ch = t.charCodeAt(k);
      if (ch === 0x5c) k++;
      else if (ch === 0x22) return k;
    }
    return -1;
  }

  private singleQuotedEnd(open: number, le: number): number {
    const t = this.t;
    for (let k = open + 1; k < le; k++) {
      if (t.charCodeAt(k) === 0x27) {
        if (t.charCodeAt(k + 1) === 0x27) k++;
        else return k;
      }
    }
    return -1;
  }

  private doubleQuoted(open: number, close: number): string {
    const raw = this.t.slice(open + 1, close);
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

  private singleQuoted(open: number, close: number): string {
    return this.t.slice(open + 1, close).replace(/''/g, "'");
  }

  // ------------------------------------------------------------ flow collections

  /** A flow collection that opens at `k` and closes on the same line (ending at `le`); returns the value and the offset after it. */
  private flow(k: number, le: number): [unknown, number] {
    this.enter();
    const read = this.flowItems(k, le);
    this.depth--;
    return read;
  }

  private flowItems(k: number, le: number): [unknown, number] {
    const t = this.t;
    const isMap = t.charCodeAt(k) === 0x7b;
    const close = isMap ? 0x7d : 0x5d;
    const map: Record<string, unknown> = {};
    const seq: unknown[] = [];
    let j = this.skipSpaces(k + 1);
    if (t.charCodeAt(j) === close) return [isMap ? map : seq, j + 1];
    for (;;) {
      if (isMap) {
        const [key, afterKey] = this.flowScalar(j, le, true);
        if (typeof key !== 'string' || Object.prototype.hasOwnProperty.call(map, key) || key === '__proto__') bail();
        if (t.charCodeAt(afterKey) !== COLON || t.charCodeAt(afterKey + 1) !== SPACE) bail();
        const [value, afterValue] = this.flowItem(this.skipSpaces(afterKey + 1), le);
        map[key as string] = value;
        j = afterValue;
      } else {
        const [value, afterValue] = this.flowItem(j, le);
        seq.push(value);
        j = afterValue;
      }
      j = this.skipSpaces(j);
      const ch = t.charCodeAt(j);
      if (ch === close) return [isMap ? map : seq, j + 1];
      if (ch !== 0x2c) bail();
      j = this.skipSpaces(j + 1);
      if (t.charCodeAt(j) === close || j === le) bail(); // trailing comma: leave to the full parser
    }
  }

  private flowItem(j: number, le: number): [unknown, number] {
    const c = this.t.charCodeAt(j);
    if (c === 0x5b || c === 0x7b) return this.flow(j, le);
    return this.flowScalar(j, le, false);
  }

  /** A scalar inside a flow collection. Keys must resolve to strings. */
  private flowScalar(j: number, le: number, asKey: boolean): [unknown, number] {
    const t = this.t;
    const c = t.charCodeAt(j);
    if (c === 0x22 || c === 0x27) {
      const close = c === 0x22 ? this.doubleQuotedEnd(j, le) : this.singleQuotedEnd(j, le);
      if (close === -1) bail();
      const s = c === 0x22 ? this.doubleQuoted(j, close) : this.singleQuoted(j, close);
      return [s, close + 1];
    }
    if (reservedStart(c) || c === 0x3f || c === COLON || j >= le) bail();
    if (c === DASH) {
      // `-x` is a plain scalar; `-` before a blank or a flow indicator is not.
      const n = t.charCodeAt(j + 1);
      if (j + 1 >= le || n === SPACE || n === 0x2c || n === 0x5b || n === 0x5d || n === 0x7b || n === 0x7d) bail();
    }
    let k = j;
    for (; k < le; k++) {
      const ch = t.charCodeAt(k);
      if (ch === 0x2c || ch === 0x5d || ch === 0x7d || ch === 0x5b || ch === 0x7b) break;
      if (ch === COLON) {
        const n = t.charCodeAt(k + 1);
        if (n === SPACE || n === 0x2c || n === 0x5d || n === 0x7d || k + 1 === le) break;
      }
      if (ch === HASH && t.charCodeAt(k - 1) === SPACE) bail();
    }
    let end = k;
    while (end > j && t.charCodeAt(end - 1) === SPACE) end--;
    const raw = t.slice(j, end);
    if (raw === '') bail();
    const value = resolvePlain(raw);
    if (asKey && typeof value !== 'string') bail();
    if (!asKey && t.charCodeAt(k) === COLON) bail(); // a single-pair map inside a sequence
    return [value, end];
  }

  private skipSpaces(j: number): number {
    const t = this.t;
    while (t.charCodeAt(j) === SPACE) j++;
    return j;
  }
}

/** Whether `text` holds `s` at offset `at` (a loop: faster than startsWith for the short keys it compares). */
function sameText(text: string, at: number, s: string): boolean {
  for (let k = 0; k < s.length; k++) if (text.charCodeAt(at + k) !== s.charCodeAt(k)) return false;
  return true;
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
