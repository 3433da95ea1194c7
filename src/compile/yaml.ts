/**
 * A small YAML writer for JSON data: block style, keys in the order given,
 * conservative quoting. cdk8s (through the `yaml` package) spends about 80% of
 * its synthesis time writing YAML; this writer is a few times slower than
 * JSON.stringify and its output means the same under YAML 1.1 (kubectl's
 * go-yaml) and YAML 1.2, which the tests check by parsing it back with both.
 */

export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/**
 * Plain scalars are allowed only for strings that start with a letter and use
 * a small alphabet, so nothing can be read as a number, a date, a sexagesimal
 * (YAML 1.1), an anchor, a tag or a comment. Everything else is double-quoted.
 */
const PLAIN = /^[A-Za-z][A-Za-z0-9_./@+-]*(?:[: ][A-Za-z0-9_./@+-]+)*$/;

/** Words YAML 1.1 or 1.2 read as booleans or null (compared lowercased). */
const RESERVED = new Set(['y', 'n', 'yes', 'no', 'on', 'off', 'true', 'false', 'null', 'nan', 'inf']);

function isPlain(s: string): boolean {
  return PLAIN.test(s) && !RESERVED.has(s.toLowerCase()) && !s.includes(': ') && !s.includes(' #');
}

/** A double-quoted YAML scalar: JSON's escapes are a subset of YAML's. */
function quoted(s: string): string {
  return JSON.stringify(s);
}

/**
 * What a literal block cannot carry: tabs, carriage returns, other control
 * and separator characters (they need escapes), trailing spaces, a leading
 * space or blank first line (indentation indicators), and more than one
 * trailing newline (keep chomping). One regular expression, for speed.
 */
// eslint-disable-next-line no-control-regex -- control characters are exactly what this looks for
const NOT_LITERAL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\ufeff]|[ ]\n|[ ]$|^[ \n]|\n\n$/;

/**
 * Multi-line strings become literal blocks when that round-trips exactly:
 * one trailing newline at most, no trailing spaces, no tabs, no carriage
 * returns and no leading space on the first line.
 */
function literalBlock(s: string, indent: string): string | undefined {
  if (!s.includes('\n') || NOT_LITERAL.test(s)) return undefined;
  const chomp = s.endsWith('\n') ? '|' : '|-';
  const body = s.endsWith('\n') ? s.slice(0, -1) : s;
  // Empty lines stay empty: indenting them would add trailing spaces.
  return `${chomp}\n${indent}${body.replace(/\n(?!\n)/g, `\n${indent}`)}`;
}

function scalar(value: null | boolean | number | string, indent: string): string {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`cannot write ${value} as YAML`);
    // YAML 1.1 reads an exponent without a fraction (1e-7) as a string.
    const text = JSON.stringify(value);
    return /e/.test(text) && !/\./.test(text) ? text.replace('e', '.0e') : text;
  }
  if (isPlain(value)) return value;
  return literalBlock(value, indent) ?? quoted(value);
}

/** Keys repeat across objects (labels, field names): their rendering is memoized. */
const KEYS = new Map<string, string>();

function key(k: string): string {
  let out = KEYS.get(k);
  if (out === undefined) {
    out = isPlain(k) ? k : quoted(k);
    if (KEYS.size < 100_000) KEYS.set(k, out);
  }
  return out;
}

function isCollection(v: JsonValue): v is readonly JsonValue[] | { readonly [key: string]: JsonValue } {
  return typeof v === 'object' && v !== null;
}

function isEmpty(v: JsonValue): boolean {
  return Array.isArray(v) ? v.length === 0 : Object.keys(v as object).length === 0;
}

function empty(v: JsonValue): string {
  return Array.isArray(v) ? '[]' : '{}';
}

/** Lines of a mapping at `indent`. */
function writeMap(obj: { readonly [key: string]: JsonValue }, indent: string, out: string[]): void {
  for (const k of Object.keys(obj)) {
    const v = obj[k];
    if (v === undefined) continue;
    if (isCollection(v) && !isEmpty(v)) {
      // Sequences under a key are not indented further, as kubectl writes them.
      out.push(`${indent}${key(k)}:`);
      if (Array.isArray(v)) writeSeq(v, indent, out);
      else writeMap(v as { readonly [key: string]: JsonValue }, `${indent}  `, out);
    } else {
      out.push(`${indent}${key(k)}: ${isCollection(v) ? empty(v) : scalar(v, `${indent}  `)}`);
    }
  }
}

/** Lines of a sequence at `indent`; nested collections start on the dash line. */
function writeSeq(items: readonly JsonValue[], indent: string, out: string[]): void {
  for (const item of items) {
    if (isCollection(item) && !isEmpty(item)) {
      const inner: string[] = [];
      if (Array.isArray(item)) writeSeq(item, `${indent}  `, inner);
      else writeMap(item as { readonly [key: string]: JsonValue }, `${indent}  `, inner);
      const first = inner[0] ?? '';
      out.push(`${indent}- ${first.slice(indent.length + 2)}`, ...inner.slice(1));
    } else {
      out.push(`${indent}- ${isCollection(item) ? empty(item) : scalar(item, `${indent}  `)}`);
    }
  }
}

/** One YAML document (without the `---` marker), ending in a newline. */
export function toYaml(value: JsonValue): string {
  if (!isCollection(value) || isEmpty(value)) return `${isCollection(value) ? empty(value) : scalar(value, '')}\n`;
  const out: string[] = [];
  if (Array.isArray(value)) writeSeq(value, '', out);
  else writeMap(value as { readonly [key: string]: JsonValue }, '', out);
  return `${out.join('\n')}\n`;
}

/** A multi-document stream, as `kubectl apply -f -` reads it. */
export function toYamlStream(values: readonly JsonValue[]): string {
  return values.map((v) => `---\n${toYaml(v)}`).join('');
}
