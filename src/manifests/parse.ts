/** One file from bytes to documents: decode, the fast path, else the full parser. */
import { createHash } from 'node:crypto';
import { finding, type Finding } from '../diagnostics/index.js';
import { decodeText } from './decode.js';
import { parseYamlFast } from './yaml-fast.js';
import { parseYamlFull, type YamlLimits } from './yaml-full.js';

export interface ParseLimits extends YamlLimits {
  readonly maxDocumentsPerFile: number;
}

export const DEFAULT_PARSE_LIMITS: ParseLimits = { maxAliasCount: 100, maxDocumentsPerFile: 10_000 };

export interface ParsedDocument {
  readonly value: unknown;
  readonly empty: boolean;
  /** False when the document could not be read; its findings say why. */
  readonly ok: boolean;
  /** sha256 of the document's source text: changes exactly when the document does. */
  readonly hash: string;
}

export interface ParsedFile {
  readonly path: string;
  /** sha256 of the file's bytes. */
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

export function parseFileBytes(path: string, bytes: Uint8Array, limits: ParseLimits = DEFAULT_PARSE_LIMITS): ParsedFile {
  const hash = hashBytes(bytes);
  const decoded = decodeText(bytes);
  if (!decoded.ok) {
    return { path, hash, docs: [], findings: [finding('JOCH105', decoded.reason, { file: path, line: 1, column: 1 })], fast: false };
  }
  return parseFileText(path, decoded.text, hash, limits);
}

export function parseFileText(path: string, text: string, hash: string, limits: ParseLimits = DEFAULT_PARSE_LIMITS): ParsedFile {
  const fast = parseYamlFast(text);
  const docs: ParsedDocument[] = [];
  const findings: Finding[] = [];
  if (fast) {
    let lineStarts: number[] | undefined;
    for (const d of fast) {
      let source = '';
      if (d.lines) {
        lineStarts ??= lineOffsets(text);
        source = text.slice(lineStarts[d.lines[0]] ?? 0, lineStarts[d.lines[1] + 1] ?? text.length);
      }
      docs.push({ value: d.value, empty: d.empty, ok: true, hash: hashText(source) });
    }
  } else {
    const full = parseYamlFull(text, path, limits);
    for (const d of full.docs) docs.push({ value: d.value, empty: d.empty, ok: d.ok, hash: hashText(d.range ? text.slice(d.range[0], d.range[1]) : '') });
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
