/** One file from bytes to documents: decode, the fast path, else the full parser. */
import { createHash } from 'node:crypto';
import { finding, type Finding } from '../diagnostics/index.js';
import { decodeText } from './decode.js';
import { parseYamlFast } from './yaml-fast.js';
import { MAX_NESTING_DEPTH, NestedTooDeep, nestedTooDeepAt, parseYamlFull, type FullParse, type YamlLimits } from './yaml-full.js';

export interface ParseLimits extends YamlLimits {
  readonly maxDocumentsPerFile: number;
}

export const DEFAULT_PARSE_LIMITS: ParseLimits = { maxAliasCount: 100, maxDocumentsPerFile: 10_000 };

export { MAX_NESTING_DEPTH } from './yaml-full.js';

export interface ParsedDocument {
  readonly value: unknown;
  readonly empty: boolean;
  /** False when the document could not be read; its findings say why. */
  readonly ok: boolean;
  /**
   * sha256 of the document's source text, from the line where its content
   * starts to the line before the next document marker, with the directives
   * in effect (`%YAML 1.1`) before it: changes exactly when the document or
   * its meaning does, and is the same whichever parser read it. Empty when
   * the caller asked for no hashes.
   */
  readonly hash: string;
}

export interface ParsedFile {
  readonly path: string;
  /** sha256 of the file's bytes; empty when the caller asked for no hashes. */
  readonly hash: string;
  readonly docs: readonly ParsedDocument[];
  readonly findings: readonly Finding[];
  /** Whether the fast path handled the file (for benchmarks). */
  readonly fast: boolean;
  /** The decoded text; undefined when the file is not UTF-8 text. */
  readonly text?: string | undefined;
}

function hashText(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Offset of the start of every line; one past the end for the line after the last. */
function lineOffsets(text: string): number[] {
  const out = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) out.push(i + 1);
  out.push(text.length);
  return out;
}

export function hashBytes(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * `hashes: false` leaves the file's and the documents' hashes empty: for a
 * run that keeps nothing and compiles nothing (findings only), where hashing
 * every byte would be a tenth of the per-file work, for no reader.
 */
export function parseFileBytes(path: string, bytes: Uint8Array, limits: ParseLimits = DEFAULT_PARSE_LIMITS, hashes = true): ParsedFile {
  const hash = hashes ? hashBytes(bytes) : '';
  const decoded = decodeText(bytes);
  if (!decoded.ok) {
    return { path, hash, docs: [], findings: [finding('JOCH105', decoded.reason, { file: path, line: 1, column: 1 })], fast: false };
  }
  if (!hashes) return parseText(path, decoded.text, hash, limits, NO_HASH);
  // Valid UTF-8 decodes one to one, but for a byte order mark, which the text no longer has: then the text hashes as the bytes do.
  const bom = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
  return parseText(path, decoded.text, hash, limits, bom ? undefined : hash);
}

/** Passed as parseText's `textHash` when no hash is wanted. */
const NO_HASH = null;

export function parseFileText(path: string, text: string, hash: string, limits: ParseLimits = DEFAULT_PARSE_LIMITS): ParsedFile {
  return parseText(path, text, hash, limits, undefined);
}

/**
 * `textHash`, when known, is the sha256 of the whole text: a document whose
 * source is the whole file (the usual one-document file) takes it instead of
 * hashing the same text again.
 */
function parseText(path: string, text: string, hash: string, limits: ParseLimits, textHash: string | undefined | typeof NO_HASH): ParsedFile {
  const hashSource = (source: string) =>
    textHash === NO_HASH ? '' : textHash !== undefined && source.length === text.length ? textHash : hashText(source);
  const fast = parseYamlFast(text);
  const docs: ParsedDocument[] = [];
  const findings: Finding[] = [];
  if (fast) {
    let lineStarts: number[] | undefined;
    for (const d of fast) {
      let source = '';
      if (d.lines && textHash !== NO_HASH) {
        lineStarts ??= lineOffsets(text);
        source = text.slice(lineStarts[d.lines[0]] ?? 0, lineStarts[d.lines[1] + 1] ?? text.length);
      }
      docs.push({ value: d.value, empty: d.empty, ok: true, hash: hashSource(source) });
    }
  } else {
    const full = parseFull(path, text, limits);
    for (const d of full.docs) {
      const source = d.range && textHash !== NO_HASH ? documentSource(text, d.range) : '';
      // A directive such as %YAML 1.1 changes the value of the same text (`yes` is true there).
      docs.push({ value: d.value, empty: d.empty, ok: d.ok, hash: d.directives && textHash !== NO_HASH ? hashText(`${d.directives}\n${source}`) : hashSource(source) });
    }
    findings.push(...full.findings);
  }
  if (docs.length > limits.maxDocumentsPerFile) {
    return {
      path,
      hash,
      docs: [],
      findings: [
        finding('JOCH111', `the file holds ${docs.length} YAML documents; the limit is ${limits.maxDocumentsPerFile}`, {
          file: path,
          line: 1,
          column: 1,
        }),
      ],
      fast: fast !== undefined,
      text,
    };
  }
  return { path, hash, docs, findings, fast: fast !== undefined, text };
}

/** The full parser; a file nested too deep or a stack overflow is one finding, and the other files still load. */
function parseFull(path: string, text: string, limits: ParseLimits): FullParse {
  try {
    return parseYamlFull(text, path, limits);
  } catch (e) {
    if (e instanceof NestedTooDeep) {
      return unreadable(path, text, e.offset, `the YAML nests collections more than ${MAX_NESTING_DEPTH} levels deep here; the file was not read`, {
        hint: 'manifests need a few levels of nesting: look for unbalanced brackets or generated content',
      });
    }
    // A stack overflow the depth bound did not prevent (the caller was already deep in the stack).
    if (!(e instanceof RangeError)) throw e;
    return unreadable(path, text, 0, `the YAML could not be read (${e.message}); the file was not loaded`);
  }
}

function unreadable(path: string, text: string, offset: number, message: string, extras: { hint?: string } = {}): FullParse {
  const { line, column } = positionOf(text, offset);
  return { docs: [], findings: [finding('JOCH101', message, { file: path, line, column }, extras)] };
}

/** 1-based line and column of an offset. */
function positionOf(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

/**
 * Where a YAML text first nests collections deeper than the full parser may
 * safely compose, or undefined: for every caller that hands text to `yaml`.
 */
export function deepNesting(text: string): { line: number; column: number } | undefined {
  const offset = nestedTooDeepAt(text);
  return offset === -1 ? undefined : positionOf(text, offset);
}

/** Lines before a document's content: its `---` marker (bare or with a comment), blank lines, comments. */
const BEFORE_CONTENT = /^\ufeff?(?:---(?=[ \t\r]|$))?[ \t]*(?:#.*)?\r?$/;
const MARKER = /^(?:---|\.\.\.)(?=[ \t\r]|$)/;

/**
 * The source a document's hash covers, given `yaml`'s range for it: the same
 * span as the fast path's lines, from the line where the content starts to the
 * line before the next `---` or `...`.
 */
function documentSource(text: string, range: readonly [number, number]): string {
  const start = contentStart(text, range);
  if (start >= range[1]) return '';
  return text.slice(start, documentEnd(text, range[1] - 1));
}

/** The start of the first line of content in a document's range: its `---` line and the comments below it are left out. */
function contentStart(text: string, range: readonly [number, number]): number {
  let start = lineStart(text, range[0]);
  while (start < range[1]) {
    const newline = text.indexOf('\n', start);
    const lineEnd = newline === -1 || newline > range[1] ? range[1] : newline;
    if (!BEFORE_CONTENT.test(text.slice(start, lineEnd))) break;
    start = lineEnd + 1;
  }
  return start;
}

/**
 * Where a document whose range ends at `last` stops: at the next `---` or `...`
 * line, or the end of the text. A range may end after a closing `...`, or (for
 * a document that is a scalar) before the comments that follow it.
 */
function documentEnd(text: string, last: number): number {
  for (let at = lineStart(text, last); at < text.length; ) {
    const newline = text.indexOf('\n', at);
    const lineEnd = newline === -1 ? text.length : newline;
    if (MARKER.test(text.slice(at, lineEnd))) return at;
    at = lineEnd + 1;
  }
  return text.length;
}

function lineStart(text: string, offset: number): number {
  return offset <= 0 ? 0 : text.lastIndexOf('\n', offset - 1) + 1;
}
