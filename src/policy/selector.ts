/**
 * Kubernetes label selectors (matchLabels and matchExpressions), compiled
 * once into a predicate. A selector that cannot be parsed is reported with
 * the place of the offending part: the caller fails closed on it.
 */
import type { PathSegment, SourcePointer } from '../diagnostics/index.js';

export type Labels = Readonly<Record<string, string>>;
export type LabelMatcher = (labels: Labels) => boolean;

export interface SelectorError {
  readonly message: string;
  readonly at: SourcePointer;
}

const OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;
type Operator = (typeof OPERATORS)[number];

const matchAll: LabelMatcher = () => true;

/**
 * A label's value. Own keys only: labels arrive as plain objects, and a
 * selector on a key such as `constructor` must not match what every object
 * inherits.
 */
function labelOf(labels: Labels, key: string): string | undefined {
  return Object.hasOwn(labels, key) ? labels[key] : undefined;
}

/** An absent selector selects everything, as does an empty one. */
export function compileSelector(raw: unknown, at: SourcePointer): LabelMatcher | SelectorError {
  if (raw === undefined || raw === null) return matchAll;
  if (!isRecord(raw)) return { message: 'the selector must be a mapping with matchLabels and/or matchExpressions', at };
  for (const k of Object.keys(raw)) {
    if (k !== 'matchLabels' && k !== 'matchExpressions') {
      return { message: `unknown selector field "${k}"; a selector has matchLabels and matchExpressions`, at: child(at, [k], 'key') };
    }
  }
  const parts: LabelMatcher[] = [];
  const labels = compileMatchLabels(raw.matchLabels, child(at, ['matchLabels']));
  if (isError(labels)) return labels;
  if (labels) parts.push(labels);
  const exprs = compileMatchExpressions(raw.matchExpressions, child(at, ['matchExpressions']));
  if (isError(exprs)) return exprs;
  parts.push(...exprs);
  if (parts.length === 0) return matchAll;
  if (parts.length === 1) return parts[0] as LabelMatcher;
  return (l) => parts.every((p) => p(l));
}

export function isSelectorError(m: LabelMatcher | SelectorError): m is SelectorError {
  return typeof m !== 'function';
}

function compileMatchLabels(raw: unknown, at: SourcePointer): LabelMatcher | undefined | SelectorError {
  if (raw === undefined) return undefined;
  if (!isRecord(raw)) return { message: 'matchLabels must be a mapping of label to value', at };
  const pairs: [string, string][] = [];
  for (const [k, v] of Object.entries(raw)) {
    // Kubernetes label values are strings: `tier: 1` is a number and would never match.
    if (typeof v !== 'string') return { message: `matchLabels.${k} must be a string (quote it: "${String(v)}")`, at: child(at, [k]) };
    pairs.push([k, v]);
  }
  if (pairs.length === 1) {
    const [k, v] = pairs[0] as [string, string];
    return (l) => labelOf(l, k) === v;
  }
  return (l) => pairs.every(([k, v]) => labelOf(l, k) === v);
}

function compileMatchExpressions(raw: unknown, at: SourcePointer): LabelMatcher[] | SelectorError {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) return { message: 'matchExpressions must be a list', at };
  const out: LabelMatcher[] = [];
  for (let i = 0; i < raw.length; i++) {
    const m = compileExpression(raw[i], child(at, [i]));
    if (isError(m)) return m;
    out.push(m);
  }
  return out;
}

function compileExpression(raw: unknown, at: SourcePointer): LabelMatcher | SelectorError {
  if (!isRecord(raw)) return { message: 'a match expression must be a mapping with key, operator and values', at };
  const extra = Object.keys(raw).find((k) => k !== 'key' && k !== 'operator' && k !== 'values');
  if (extra) return { message: `unknown field "${extra}" in a match expression`, at: child(at, [extra], 'key') };
  const { key, operator, values } = raw;
  if (typeof key !== 'string' || key === '') return { message: 'a match expression needs a label key', at: child(at, ['key']) };
  if (typeof operator !== 'string' || !(OPERATORS as readonly string[]).includes(operator)) {
    return { message: `operator ${JSON.stringify(operator)} is not one of ${OPERATORS.join(', ')}`, at: child(at, ['operator']) };
  }
  const op = operator as Operator;
  if (values !== undefined && (!Array.isArray(values) || values.some((v) => typeof v !== 'string'))) {
    return { message: 'values must be a list of strings', at: child(at, ['values']) };
  }
  const list = (values ?? []) as string[];
  if ((op === 'In' || op === 'NotIn') && list.length === 0) return { message: `${op} needs at least one value`, at: child(at, ['operator']) };
  if ((op === 'Exists' || op === 'DoesNotExist') && list.length > 0) return { message: `${op} takes no values`, at: child(at, ['values']) };
  const set = new Set(list);
  switch (op) {
    case 'In':
      return (l) => {
        const v = labelOf(l, key);
        return v !== undefined && set.has(v);
      };
    case 'NotIn':
      return (l) => {
        const v = labelOf(l, key);
        return v === undefined || !set.has(v);
      };
    case 'Exists':
      return (l) => labelOf(l, key) !== undefined;
    case 'DoesNotExist':
      return (l) => labelOf(l, key) === undefined;
  }
}

function isError<T>(v: T | SelectorError): v is SelectorError {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && 'message' in v;
}

function child(at: SourcePointer, more: readonly PathSegment[], part?: 'key'): SourcePointer {
  return { file: at.file, doc: at.doc, path: [...at.path, ...more], ...(part ? { part } : {}) };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
