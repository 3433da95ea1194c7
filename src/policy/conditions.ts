/**
 * One `when` entry compiled into a test over facts. A test answers in three
 * values and a half: false, true, "only the runtime can tell", and "the
 * capability does not declare this" (which the rule's outcome resolves:
 * restrictive rules match it, allow rules do not).
 *
 * Results are bit sets so a conjunction is a loop of ORs with an early exit:
 *   0 false; 1 true; 1|2 runtime; 1|4 absent.
 */
import { didYouMean, type SourcePointer } from '../diagnostics/index.js';
import { lookupKey, canonicalKey, knownKeys, type ConditionKey, type ValueType } from './keys.js';
import type { FactValue, Facts, KeyScope, Range } from './types.js';

export const FALSE = 0;
export const TRUE = 1;
export const RUNTIME_BIT = 2;
export const ABSENT_BIT = 4;
export const RUNTIME = TRUE | RUNTIME_BIT;
export const ABSENT = TRUE | ABSENT_BIT;

export type Op = '=' | '!=' | '<' | '<=' | '>' | '>=';

export interface Condition {
  /** Canonical key (`mcp.` spelled out). */
  readonly key: string;
  readonly written: string | number | boolean;
  readonly scope: KeyScope;
  readonly phase: ConditionKey['phase'];
  readonly at: SourcePointer;
  readonly test: (facts: Facts) => number;
}

export interface ConditionError {
  readonly code: 'JOCH801' | 'JOCH802';
  readonly message: string;
  readonly hint?: string | undefined;
  readonly at: SourcePointer;
}

export function compileCondition(written: string, value: unknown, at: SourcePointer): Condition | ConditionError {
  const spec = lookupKey(written);
  const keyAt = { ...at, part: 'key' as const };
  if (!spec) {
    return {
      code: 'JOCH801',
      message: `unknown condition key "${written}"`,
      hint: didYouMean(canonicalKey(written), knownKeys()) ?? 'see src/policy/README.md for the condition keys',
      at: keyAt,
    };
  }
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
    return { code: 'JOCH802', message: `${written}: expected a scalar value, got ${describe(value)}`, at };
  }
  const matcher = compileMatcher(spec.value, value);
  if (typeof matcher === 'string') {
    const hint = spec.value.type === 'enum' && typeof value === 'string' ? didYouMean(stripOp(value), spec.value.values) : undefined;
    return { code: 'JOCH802', message: `${written}: ${matcher}`, hint, at };
  }
  const test = spec.phase === 'runtime' ? () => RUNTIME : (facts: Facts) => matcher(facts.get(spec.key));
  return { key: spec.key, written: value, scope: spec.scope, phase: spec.phase, at, test };
}

export function isConditionError(c: Condition | ConditionError): c is ConditionError {
  return (c as ConditionError).code !== undefined;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'object' ? 'a mapping' : typeof v;
}

const COMPARISON = /^(>=|<=|!=|==|=|>|<)\s*(.*)$/s;

function stripOp(s: string): string {
  const m = COMPARISON.exec(s);
  return m ? (m[2] as string).trim() : s;
}

function splitOp(s: string): { op: Op; operand: string } {
  const m = COMPARISON.exec(s);
  if (!m) return { op: '=', operand: s };
  const op = m[1] === '==' ? '=' : (m[1] as Op);
  return { op, operand: (m[2] as string).trim() };
}

type Matcher = (fact: FactValue | undefined) => number;

/** A matcher for the written value, or why the value is not valid for the key. */
function compileMatcher(type: ValueType, value: string | number | boolean): Matcher | string {
  switch (type.type) {
    case 'boolean':
      if (typeof value !== 'boolean') return `expected true or false, got ${JSON.stringify(value)}`;
      return (f) => (f === undefined ? ABSENT : f === value ? TRUE : FALSE);
    case 'number':
      return numberMatcher(value);
    case 'enum':
      return enumMatcher(type.values, type.ordered ?? false, value);
    case 'string':
      return stringMatcher(value);
  }
}

function numberMatcher(value: string | number | boolean): Matcher | string {
  let op: Op = '=';
  let n: number;
  if (typeof value === 'number') {
    n = value;
  } else if (typeof value === 'string') {
    const parts = splitOp(value);
    op = parts.op;
    n = parts.operand === '' ? NaN : Number(parts.operand);
  } else {
    n = NaN;
  }
  if (!Number.isFinite(n)) return `expected a number or a comparison such as ">5" or "<=0.75", got ${JSON.stringify(value)}`;
  return (f) => {
    if (f === undefined) return ABSENT;
    if (typeof f === 'number') return compare(f, op, n) ? TRUE : FALSE;
    if (isRange(f)) return compareRange(f, op, n);
    return FALSE;
  };
}

function compare(a: number, op: Op, b: number): boolean {
  switch (op) {
    case '=':
      return a === b;
    case '!=':
      return a !== b;
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
  }
}

/** True when every value in the range satisfies the comparison, false when none does, else runtime. */
function compareRange(r: Range, op: Op, n: number): number {
  if (compare(r.lo, op, n) && compare(r.hi, op, n) && (op !== '!=' || n < r.lo || n > r.hi)) return TRUE;
  const none =
    (op === '<' && r.lo >= n) ||
    (op === '<=' && r.lo > n) ||
    (op === '>' && r.hi <= n) ||
    (op === '>=' && r.hi < n) ||
    (op === '=' && (n < r.lo || n > r.hi)) ||
    (op === '!=' && r.lo === n && r.hi === n);
  return none ? FALSE : RUNTIME;
}

function isRange(f: FactValue): f is Range {
  return typeof f === 'object' && !Array.isArray(f);
}

function enumMatcher(values: readonly string[], ordered: boolean, value: string | number | boolean): Matcher | string {
  if (typeof value !== 'string') return `expected one of ${values.join(', ')}, got ${JSON.stringify(value)}`;
  const { op, operand } = splitOp(value);
  const rank = values.indexOf(operand);
  if (rank < 0) return `"${operand}" is not one of ${values.join(', ')}`;
  if (op !== '=' && op !== '!=' && !ordered) return `"${op}" compares ordered values; ${values.join(', ')} are not ordered`;
  const one = (s: string) => {
    const r = values.indexOf(s);
    // A value outside the enum (a tool with no method at all) differs from every member and compares to none.
    return r < 0 ? op === '!=' : compare(r, op, rank);
  };
  return anyMatcher(one, op === '!=');
}

function stringMatcher(value: string | number | boolean): Matcher | string {
  if (typeof value === 'boolean') return `expected a string, got ${String(value)}`;
  const { op, operand } = typeof value === 'string' && value.startsWith('!=') ? { op: '!=' as const, operand: value.slice(2).trim() } : { op: '=' as const, operand: String(value) };
  const equal = operand.includes('*') ? (s: string) => globMatches(operand, s) : (s: string) => s === operand;
  return anyMatcher(op === '!=' ? (s) => !equal(s) : equal, op === '!=');
}

/**
 * A list fact matches when any element does; for `!=`, when every element
 * differs, so `environment: "!=prod"` means "not deployed to prod".
 */
function anyMatcher(one: (s: string) => boolean, every: boolean): Matcher {
  return (f) => {
    if (f === undefined) return ABSENT;
    if (typeof f === 'string') return one(f) ? TRUE : FALSE;
    if (Array.isArray(f)) return (every ? f.every(one) : f.some(one)) ? TRUE : FALSE;
    return one(String(f)) ? TRUE : FALSE;
  };
}

const LINE_BREAK = /[\n\r\u2028\u2029]/;

/**
 * Whether `text` matches a glob whose only wildcard is `*` (any run of
 * characters within a line). Both come from the repository, so this is not
 * a regular expression: `^a.*a.*a.*b$` backtracks polynomially. Scanning
 * with the last star as the only point to return to takes at most
 * glob × text steps.
 */
export function globMatches(glob: string, text: string): boolean {
  let g = 0;
  let t = 0;
  let star = -1;
  let resume = 0;
  while (t < text.length) {
    if (g < glob.length && glob[g] !== '*' && glob[g] === text[t]) {
      g++;
      t++;
    } else if (g < glob.length && glob[g] === '*') {
      star = g++;
      resume = t;
    } else if (star !== -1 && !LINE_BREAK.test(text[resume] ?? '')) {
      g = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (glob[g] === '*') g++;
  return g === glob.length;
}
