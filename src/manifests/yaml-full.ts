/**
 * The full path of the YAML loader: `yaml`'s complete composer, used for any
 * file the fast path declines. It reports every error and warning with its
 * position, and enforces the safety limits (aliases, tags).
 */
import type { CST, Document, Node, Parser, YAMLError } from 'yaml';
import { yamlLib } from './yaml-lib.js';
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

/**
 * Deepest nesting of collections the composer is given. `yaml` composes
 * nodes recursively: it reports a stack overflow as an error, but a later
 * overflow in the same process can abort Node outright (V8 failing to compile
 * a regular expression at the edge of the stack). Manifests need a small
 * fraction of this; `yaml` itself overflows at several times it.
 */
export const MAX_NESTING_DEPTH = 256;

/** Thrown by the full path for a text nested deeper than MAX_NESTING_DEPTH; `offset` is where the limit is passed. */
export class NestedTooDeep extends Error {
  constructor(readonly offset: number) {
    super(`collections nested more than ${MAX_NESTING_DEPTH} deep`);
  }
}

/**
 * `yaml`'s CST tokens of a text, watched as they are made. The parser keeps
 * the tokens open at the current point on a stack of its own (no recursion),
 * so feeding it one lexeme at a time shows the depth as it grows: a hostile
 * text is stopped before any of it is composed or its token tree fills the
 * memory, in the one pass that also feeds the composer.
 */
function* boundedTokens(text: string, parser: Parser): Generator<CST.Token> {
  for (const lexeme of new (yamlLib().Lexer)().lex(text)) {
    yield* parser.next(lexeme);
    if (parser.stack.length > MAX_NESTING_DEPTH) {
      const open = parser.stack.filter(isCollection);
      if (open.length > MAX_NESTING_DEPTH) throw new NestedTooDeep(open[MAX_NESTING_DEPTH]?.offset ?? 0);
    }
  }
  yield* parser.end();
}

function isCollection(token: CST.Token): token is CST.BlockMap | CST.BlockSequence | CST.FlowCollection {
  return token.type === 'block-map' || token.type === 'block-seq' || token.type === 'flow-collection';
}

/** Offset of the first collection nested more than MAX_NESTING_DEPTH deep, or -1: for callers that parse with `yaml` themselves. */
export function nestedTooDeepAt(text: string): number {
  try {
    for (const token of boundedTokens(text, new (yamlLib().Parser)())) void token;
    return -1;
  } catch (e) {
    if (e instanceof NestedTooDeep) return e.offset;
    throw e;
  }
}

/** Composes every document of a file; throws NestedTooDeep for a file nested past MAX_NESTING_DEPTH. */
export function parseYamlFull(text: string, file: string, limits: YamlLimits): FullParse {
  const yaml = yamlLib();
  const lineCounter = new yaml.LineCounter();
  // The first line starts at 0, as Parser.parse tells its counter before the first lexeme.
  lineCounter.addNewLine(0);
  const composer = new yaml.Composer({ prettyErrors: false, uniqueKeys: true, strict: true });
  const documents: Document.Parsed[] = Array.from(composer.compose(boundedTokens(text, new yaml.Parser(lineCounter.addNewLine))));
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
    const cycle = aliasToAncestor(doc);
    if (cycle !== undefined) {
      const p = lineCounter.linePos(cycle.offset);
      findings.push(
        finding('JOCH103', `the alias *${cycle.name} refers to a collection that contains it, so its value would never end; the document was not loaded`, { file, line: p.line, column: p.col }, {
          hint: `an alias may only repeat a value defined before it and outside it: move &${cycle.name} or copy the value`,
        }),
      );
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
 * The first alias that refers to one of its own ancestors (`spec: &c` with
 * `self: *c` below it, or `<<: *s` inside `&s`): such a value is infinite,
 * and every stage after the loader walks values recursively. An anchor is
 * always defined before its alias, so a cycle can only run through an
 * ancestor: checking the ancestors of every alias finds them all.
 */
function aliasToAncestor(doc: Document.Parsed): { name: string; offset: number } | undefined {
  let found: { name: string; offset: number } | undefined;
  const { visit } = yamlLib();
  visit(doc, {
    Alias(_key, alias, path) {
      const target = alias.resolve(doc);
      if (target !== undefined && path.includes(target)) {
        found = { name: alias.source, offset: alias.range?.[0] ?? 0 };
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return found;
}

/**
 * Whether a document has no content. `yaml` gives a document that is only
 * `---` (or `---` and `...`) a zero-width null scalar rather than no contents;
 * an explicit `~` or `null` is a value, not an empty document.
 */
export function isEmptyContents(contents: Node | null): boolean {
  if (contents === null) return true;
  return yamlLib().isScalar(contents) && contents.value === null && !!contents.range && contents.range[0] === contents.range[1];
}

function yamlMessage(e: YAMLError): string {
  // yaml's messages end with "at line L, column C" plus a source excerpt;
  // we carry the position separately.
  const first = e.message.split('\n')[0] ?? e.message;
  return first.replace(/ at line \d+, column \d+:?$/, '').replace(/\.$/, '');
}
