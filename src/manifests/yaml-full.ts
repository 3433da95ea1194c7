/**
 * The full path of the YAML loader: `yaml`'s complete composer, used for any
 * file the fast path declines. It reports every error and warning with its
 * position, and enforces the safety limits (aliases, tags).
 */
import { isScalar, LineCounter, parseAllDocuments, type Document, type Node, type YAMLError } from 'yaml';
import { finding, type Finding } from '../diagnostics/index.js';

export interface FullDocument {
  readonly value: unknown;
  readonly empty: boolean;
  /** False when the document had errors; its value is then not usable. */
  readonly ok: boolean;
  /** Character range of the document in the text. */
  readonly range?: readonly [number, number] | undefined;
  /** The directives in effect (`%YAML 1.1`), which change what the text means; empty when there are none. */
  readonly directives?: string | undefined;
}

export interface FullParse {
  readonly docs: FullDocument[];
  readonly findings: Finding[];
}

export interface YamlLimits {
  /** Maximum number of nodes that aliases may expand to, per document. */
  readonly maxAliasCount: number;
}

/** Plain-language help for the YAML errors people make most. */
const HINTS: Record<string, string> = {
  MULTILINE_IMPLICIT_KEY:
    'a key must fit on one line: the value on the line above probably runs into this one, or a ":" is not followed by a space',
  MISSING_CHAR: 'this line is not a "key: value" pair: check for a missing ": " or for wrong indentation',
  BAD_INDENT: 'the indentation does not match the block around it',
  TAB_AS_INDENT: 'indent with spaces; YAML does not allow tabs for indentation',
  BLOCK_AS_IMPLICIT_KEY: 'a nested mapping must start on its own line below its key',
  UNEXPECTED_TOKEN: 'check the quoting and brackets on this line',
  DUPLICATE_KEY: 'each key may appear once in a mapping; merge the two entries',
  TAG_RESOLVE_FAILED: 'custom YAML tags are not allowed in Joch manifests; remove the tag',
  // yaml's name for running out of stack while composing nested collections.
  RESOURCE_EXHAUSTION: 'the nesting is too deep to read: look for unbalanced brackets or generated content',
};

const ERROR_CODES: Record<string, string> = {
  DUPLICATE_KEY: 'JOCH102',
  TAG_RESOLVE_FAILED: 'JOCH104',
  BAD_COLLECTION_TYPE: 'JOCH104',
  MULTIPLE_TAGS: 'JOCH104',
};

export function parseYamlFull(text: string, file: string, limits: YamlLimits): FullParse {
  const lineCounter = new LineCounter();
  const parsed = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true, strict: true });
  const documents: Document.Parsed[] = Array.isArray(parsed) ? parsed : [];
  const findings: Finding[] = [];
  const docs: FullDocument[] = [];

  const report = (e: YAMLError, asError: boolean) => {
    const [start, end] = e.pos;
    const s = lineCounter.linePos(start);
    const t = lineCounter.linePos(Math.max(start, end));
    const code = ERROR_CODES[e.code] ?? 'JOCH101';
    findings.push(
      finding(code, yamlMessage(e), { file, line: s.line, column: s.col, endLine: t.line, endColumn: t.col }, {
        severity: asError || code !== 'JOCH101' ? 'error' : 'warning',
        hint: HINTS[e.code],
      }),
    );
  };

  for (const doc of documents) {
    for (const e of doc.errors) report(e, true);
    // yaml reports unknown tags as warnings; an unknown tag changes what a
    // value means, so for desired state it is an error.
    for (const w of doc.warnings) report(w, false);
    const hasErrors = doc.errors.length > 0 || doc.warnings.some((w) => ERROR_CODES[w.code] !== undefined);
    if (hasErrors) {
      docs.push({ value: null, empty: false, ok: false });
      continue;
    }
    try {
      const value: unknown = doc.toJS({ maxAliasCount: limits.maxAliasCount });
      docs.push({ value: value ?? null, empty: isEmptyContents(doc.contents), ok: true, range: [doc.range[0], doc.range[2]], directives: doc.directives.toString(doc) });
    } catch (err) {
      const pos = doc.contents?.range?.[0] ?? 0;
      const p = lineCounter.linePos(pos);
      const message =
        err instanceof ReferenceError
          ? `YAML aliases in this document expand to more than ${limits.maxAliasCount} nodes (possible alias bomb); the document was not loaded`
          : `the document could not be read: ${(err as Error).message}`;
      findings.push(finding(err instanceof ReferenceError ? 'JOCH103' : 'JOCH101', message, { file, line: p.line, column: p.col }));
      docs.push({ value: null, empty: false, ok: false });
    }
  }
  return { docs, findings };
}

/**
 * Whether a document has no content. `yaml` gives a document that is only
 * `---` (or `---` and `...`) a zero-width null scalar rather than no contents;
 * an explicit `~` or `null` is a value, not an empty document.
 */
export function isEmptyContents(contents: Node | null): boolean {
  if (contents === null) return true;
  return isScalar(contents) && contents.value === null && !!contents.range && contents.range[0] === contents.range[1];
}

function yamlMessage(e: YAMLError): string {
  // yaml's messages end with "at line L, column C" plus a source excerpt;
  // we carry the position separately.
  const first = e.message.split('\n')[0] ?? e.message;
  return first.replace(/ at line \d+, column \d+:?$/, '').replace(/\.$/, '');
}
