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
    for (const d of fast) docs.push({ value: d.value, empty: d.empty, ok: true });
  } else {
    const full = parseYamlFull(text, path, limits);
    docs.push(...full.docs);
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
