/**
 * Condition values and label selectors compiled in isolation: each operator,
 * list and range semantics, absent attributes, and the errors the compiler
 * turns into fail-closed denials.
 */
import { describe, expect, it } from 'vitest';
import { ABSENT, compileCondition, FALSE, isConditionError, RUNTIME, TRUE, type Condition } from '../../src/policy/conditions.js';
import { CONDITION_KEYS } from '../../src/policy/index.js';
import { compileSelector, isSelectorError, type LabelMatcher } from '../../src/policy/selector.js';
import type { FactValue } from '../../src/policy/types.js';

const at = { file: 'p.yaml', doc: 0, path: ['spec', 'rules', 0, 'when'] };

function cond(key: string, value: unknown): Condition {
  const c = compileCondition(key, value, at);
  if (isConditionError(c)) throw new Error(c.message);
  return c;
}

function test(key: string, value: unknown, facts: Readonly<Record<string, FactValue>>): number {
  return cond(key, value).test({ get: (k) => facts[k] });
}

describe('condition values', () => {
  it('compares numbers with every operator', () => {
    const f = { 'tool.rateLimit.callsPerMinute': 10 };
    expect(['10', '>9', '>=10', '<11', '<=10', '!=3', '=10', '==10'].map((v) => test('tool.rateLimit.callsPerMinute', v, f))).toEqual(Array(8).fill(TRUE));
    expect(['>10', '<10', '!=10', '9'].map((v) => test('tool.rateLimit.callsPerMinute', v, f))).toEqual(Array(4).fill(FALSE));
    expect(test('tool.rateLimit.callsPerMinute', 10, f)).toBe(TRUE);
  });

  it('treats a missing rate limit as unlimited, per the key table', () => {
    expect(test('tool.rateLimit.callsPerMinute', '>1000', { 'tool.rateLimit.callsPerMinute': Infinity })).toBe(TRUE);
  });

  it('matches strings literally, with * wildcards and with !=', () => {
    expect(test('tool.name', 'web.search', { 'tool.name': 'web.search' })).toBe(TRUE);
    expect(test('tool.name', 'web.*', { 'tool.name': 'web.search' })).toBe(TRUE);
    expect(test('tool.name', 'web.*', { 'tool.name': 'webxsearch' })).toBe(FALSE);
    expect(test('tool.name', 'web.search', { 'tool.name': 'webXsearch' })).toBe(FALSE);
    expect(test('tool.name', '!=web.search', { 'tool.name': 'notes.write' })).toBe(TRUE);
  });

  it('matches a list fact when any element matches, and != when none does', () => {
    const f = { environment: ['staging', 'prod'] };
    expect(test('environment', 'prod', f)).toBe(TRUE);
    expect(test('environment', '!=prod', f)).toBe(FALSE);
    expect(test('environment', '!=dev', f)).toBe(TRUE);
    expect(test('environment', '!=prod', { environment: [] })).toBe(TRUE);
  });

  it('compares ordered enums by rank', () => {
    expect(test('rag.sensitivity', '>=internal', { 'rag.sensitivity': ['public', 'internal'] })).toBe(TRUE);
    expect(test('rag.sensitivity', '>=pii', { 'rag.sensitivity': ['public', 'internal'] })).toBe(FALSE);
    expect(test('rag.sensitivity', '<internal', { 'rag.sensitivity': ['public'] })).toBe(TRUE);
  });

  it('decides a bounded value only when its range settles the comparison', () => {
    const floor = (lo: number) => ({ 'mcpServer.trustScore': { lo, hi: 1 } });
    expect(test('mcpServer.trustScore', '<0.75', floor(0.8))).toBe(FALSE);
    expect(test('mcpServer.trustScore', '<0.75', floor(0.5))).toBe(RUNTIME);
    expect(test('mcpServer.trustScore', '>0.5', floor(0.6))).toBe(TRUE);
    expect(test('mcpServer.trustScore', '>=0.6', floor(0.6))).toBe(TRUE);
    expect(test('mcpServer.trustScore', '=0.3', floor(0.6))).toBe(FALSE);
    expect(test('mcpServer.trustScore', '!=0.3', floor(0.6))).toBe(TRUE);
    expect(test('mcpServer.trustScore', '!=0.7', floor(0.6))).toBe(RUNTIME);
  });

  it('leaves runtime keys to the runtime whatever the facts say', () => {
    expect(test('cost.runUsd', '>5', { 'cost.runUsd': 100 })).toBe(RUNTIME);
    expect(test('mcpServer.schemaDrift', true, {})).toBe(RUNTIME);
  });

  it('says "absent" for an attribute the capability does not declare', () => {
    expect(test('model.region', 'eu', {})).toBe(ABSENT);
    expect(test('model.price.inputPerMillionTokens', '>1', {})).toBe(ABSENT);
    expect(test('mcpServer.sandbox', true, {})).toBe(ABSENT);
  });

  it('reads labels of capabilities, agents and environments', () => {
    expect(test('tool.labels.owner', 'payments', { 'tool.labels.owner': 'payments' })).toBe(TRUE);
    expect(test('environment.labels.env', 'prod', { 'environment.labels.env': ['prod'] })).toBe(TRUE);
    expect(test('agent.labels.app.kubernetes.io/name', 'x', { 'agent.labels.app.kubernetes.io/name': 'x' })).toBe(TRUE);
  });

  it('takes mcp.* as shorthand for mcpServer.*', () => {
    expect(cond('mcp.transport', 'stdio').key).toBe('mcpServer.transport');
  });

  it('rejects unknown keys (JOCH801, at the key) and invalid values (JOCH802) with suggestions', () => {
    expect(compileCondition('tool.sideEffects', 'financial', at)).toMatchObject({
      code: 'JOCH801',
      hint: 'did you mean "tool.sideEffect"?',
      at: { ...at, part: 'key' },
    });
    expect(compileCondition('model.tier', 'premium', at)).toMatchObject({ code: 'JOCH801' });
    expect(compileCondition('agent.labels.-bad-', 'x', at)).toMatchObject({ code: 'JOCH801' });
    expect(compileCondition('tool.sideEffect', 'finantial', at)).toMatchObject({ code: 'JOCH802', hint: 'did you mean "financial"?' });
    expect(compileCondition('tool.sideEffect', '>financial', at)).toMatchObject({ code: 'JOCH802' });
    expect(compileCondition('tool.requiresApproval', 'true', at)).toMatchObject({ code: 'JOCH802' });
    expect(compileCondition('cost.runUsd', '>', at)).toMatchObject({ code: 'JOCH802' });
    expect(compileCondition('tool.name', { nested: true }, at)).toMatchObject({ code: 'JOCH802', message: 'tool.name: expected a scalar value, got a mapping' });
  });

  it('documents every key with a scope, a type, a phase and a summary', () => {
    for (const k of CONDITION_KEYS) {
      expect(k.summary.length, k.key).toBeGreaterThan(5);
      expect(['static', 'runtime', 'bounded'], k.key).toContain(k.phase);
    }
    expect(CONDITION_KEYS.filter((k) => k.phase !== 'static').map((k) => k.key)).toEqual([
      'mcpServer.trustScore',
      'mcpServer.schemaDrift',
      'mcpResult.injectionScan.hit',
      'cost.runUsd',
      'cost.dailyUsd',
      'cost.callUsd',
      'cost.runTokens',
      'cost.runToolCalls',
      'data.contains',
      'data.classification',
    ]);
  });
});

describe('label selectors', () => {
  const sel = (raw: unknown): LabelMatcher => {
    const m = compileSelector(raw, at);
    if (isSelectorError(m)) throw new Error(m.message);
    return m;
  };

  it('selects everything when absent or empty', () => {
    expect(sel(undefined)({})).toBe(true);
    expect(sel({})({ a: 'b' })).toBe(true);
  });

  it('needs every matchLabels pair and every expression', () => {
    const m = sel({ matchLabels: { env: 'prod' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['1', '2'] }] });
    expect(m({ env: 'prod', tier: '1' })).toBe(true);
    expect(m({ env: 'prod', tier: '3' })).toBe(false);
    expect(m({ tier: '1' })).toBe(false);
  });

  it('sees only the labels an agent has, never what every object inherits', () => {
    for (const key of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      expect(sel({ matchExpressions: [{ key, operator: 'Exists' }] })({ env: 'prod' }), key).toBe(false);
      expect(sel({ matchExpressions: [{ key, operator: 'DoesNotExist' }] })({ env: 'prod' }), key).toBe(true);
      expect(sel({ matchExpressions: [{ key, operator: 'NotIn', values: ['x'] }] })({ env: 'prod' }), key).toBe(true);
      expect(sel({ matchExpressions: [{ key, operator: 'Exists' }] })({ [key]: 'yes' }), key).toBe(true);
    }
    expect(sel({ matchLabels: { constructor: 'x' } })(JSON.parse('{"env":"prod"}') as Record<string, string>)).toBe(false);
  });

  it('reports what cannot be parsed, at the offending part', () => {
    const err = (raw: unknown) => {
      const m = compileSelector(raw, at);
      return isSelectorError(m) ? [m.message, m.at.path.slice(at.path.length).join('.')] : undefined;
    };
    expect(err({ matchLabels: { tier: 1 } })).toEqual(['matchLabels.tier must be a string (quote it: "1")', 'matchLabels.tier']);
    expect(err({ matchExpressions: [{ key: 'a', operator: 'In' }] })).toEqual(['In needs at least one value', 'matchExpressions.0.operator']);
    expect(err({ matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] })).toEqual(['Exists takes no values', 'matchExpressions.0.values']);
    expect(err({ matchExpressions: { key: 'a' } })).toEqual(['matchExpressions must be a list', 'matchExpressions']);
    expect(err({ matchLabel: {} })).toEqual(['unknown selector field "matchLabel"; a selector has matchLabels and matchExpressions', 'matchLabel']);
    expect(err('env=prod')).toEqual(['the selector must be a mapping with matchLabels and/or matchExpressions', '']);
  });
});
