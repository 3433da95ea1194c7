/**
 * The schema pass: each kind of JSON Schema failure becomes one finding at the
 * place a user would fix, with a message and a hint that say how.
 */
import { describe, expect, it } from 'vitest';
import type { Check } from '../../src/schema/index.js';
import { at, only, tmpRepo, validate, yml } from '../support/repo.js';

const SCHEMA_ONLY: ReadonlySet<Check> = new Set<Check>(['schema']);

async function schemaRun(text: string) {
  const repo = tmpRepo({ 'm.yaml': text });
  return validate(repo, { checks: SCHEMA_ONLY });
}

/** A Deployment whose spec holds `lines` (each indented two spaces): they start at line 7. */
const deployment = (...lines: string[]) =>
  ['apiVersion: ops.joch.dev/v1alpha1', 'kind: Deployment', 'metadata:', '  name: d', '  namespace: team', 'spec:', ...lines, ''].join('\n');

describe('unknown fields (JOCH303)', () => {
  it('points at the key, with a did-you-mean hint', async () => {
    const run = await schemaRun(
      deployment('  agentRef: {name: a}', '  environmentRef: {name: prod}', '  replcas: 2'),
    );
    const d = only(run.diagnostics, 'JOCH303');
    expect(at(d)).toBe('JOCH303 m.yaml:9:3');
    expect(d).toMatchObject({
      severity: 'error',
      message: 'unknown field "replcas" in spec',
      hint: 'did you mean "replicas"?',
      path: 'spec.replcas',
      endLine: 9,
      endColumn: 10,
      resource: { kind: 'Deployment', namespace: 'team', name: 'd' },
    });
    expect(run.diagnostics).toHaveLength(1);
  });

  it('says where a field belongs when it is misplaced (spec.summary.x)', async () => {
    const run = await schemaRun(yml`
      apiVersion: runtime.joch.dev/v1alpha1
      kind: StateCheckpoint
      metadata:
        name: chk
      spec:
        conversationRef: {name: conv}
        summary:
          userGoal: ship it
        activeArtifacts:
          - artifact://design/draft
    `);
    const d = only(run.diagnostics, 'JOCH303');
    expect(at(d)).toBe('JOCH303 m.yaml:9:3');
    expect(d.message).toBe('unknown field "activeArtifacts" in spec');
    expect(d.hint).toBe('"activeArtifacts" belongs at spec.summary.activeArtifacts');
  });

  it('lists the allowed fields when nothing is close', async () => {
    const run = await schemaRun(
      deployment('  agentRef: {name: a}', '  environmentRef: {name: prod}', '  colour: blue'),
    );
    const d = only(run.diagnostics, 'JOCH303');
    expect(at(d)).toBe('JOCH303 m.yaml:9:3');
    expect(d.hint).toMatch(/^Deployment allows here: agentRef, environmentRef, replicas, /);
  });

  it('reports an unknown field deep in a list item at its own line', async () => {
    const run = await schemaRun(yml`
      apiVersion: joch.dev/v1alpha1
      kind: Policy
      metadata:
        name: p
      spec:
        rules:
          - when: {tool.sideEffect: external_write}
            action: deny
          - when: {tool.sideEffect: external_write}
            requires:
              approval: human
    `);
    const d = only(run.diagnostics, 'JOCH303');
    expect(at(d)).toBe('JOCH303 m.yaml:10:7');
    expect(d).toMatchObject({ message: 'unknown field "requires" in spec.rules[1]', hint: 'did you mean "require"?', path: 'spec.rules[1].requires' });
  });
});

describe('values', () => {
  it('an enum (JOCH304) lists the allowed values and the nearest one', async () => {
    const run = await schemaRun(yml`
      apiVersion: tools.joch.dev/v1alpha1
      kind: Tool
      metadata:
        name: t
      spec:
        type: restt
    `);
    const d = only(run.diagnostics, 'JOCH304');
    expect(at(d)).toBe('JOCH304 m.yaml:6:9');
    expect(d).toMatchObject({
      message: '"restt" is not an allowed value of spec.type; allowed: function, rest, mcp, os',
      hint: 'did you mean "rest"?',
      endColumn: 14,
    });
  });

  it('a missing required field (JOCH302) points at the key of its parent', async () => {
    const run = await schemaRun(
      deployment('  environmentRef:', '    name: prod'),
    );
    const d = only(run.diagnostics, 'JOCH302');
    expect(at(d)).toBe('JOCH302 m.yaml:6:1');
    expect(d).toMatchObject({ message: 'missing required field "agentRef" in spec', hint: 'The Agent to run.', path: 'spec.agentRef' });
  });

  it('a missing required field of a nested object points at that object\'s key', async () => {
    const run = await schemaRun(
      deployment('  agentRef: {name: a}', '  environmentRef:', '    namespace: prod'),
    );
    const d = only(run.diagnostics, 'JOCH302');
    expect(at(d)).toBe('JOCH302 m.yaml:8:3');
    expect(d.message).toBe('missing required field "name" in spec.environmentRef');
  });

  it('a wrong type (JOCH301) says what was expected and what was found', async () => {
    const run = await schemaRun(
      deployment('  agentRef: {name: a}', '  environmentRef: {name: prod}', '  replicas: three'),
    );
    const d = only(run.diagnostics, 'JOCH301');
    expect(at(d)).toBe('JOCH301 m.yaml:9:13');
    expect(d).toMatchObject({ message: 'spec.replicas must be an integer, not a string', hint: 'Number of instances when autoscaling is off.' });
  });

  it('a pattern (JOCH305) quotes the value and gives the field description as the hint', async () => {
    const run = await schemaRun(yml`
      apiVersion: memory.joch.dev/v1alpha1
      kind: Memory
      metadata:
        name: m
      spec:
        type: working
        backend:
          type: redis
        retention:
          ttl: 24hours
    `);
    const d = only(run.diagnostics, 'JOCH305');
    expect(at(d)).toBe('JOCH305 m.yaml:10:10');
    expect(d).toMatchObject({
      message: '"24hours" at spec.retention.ttl is not in the required form',
      hint: 'A duration such as `30s`, `10m`, `1h` or `7d`.',
    });
    expect(run.diagnostics).toHaveLength(1);
  });

  it('a range (JOCH306) says the bound', async () => {
    const run = await schemaRun(
      deployment('  agentRef: {name: a}', '  environmentRef: {name: prod}', '  replicas: -1'),
    );
    const d = only(run.diagnostics, 'JOCH306');
    expect(at(d)).toBe('JOCH306 m.yaml:9:13');
    expect(d.message).toBe('spec.replicas must be >= 0');
  });
});

describe('anyOf: a Policy rule action', () => {
  it('an object with a typo gets the object branch\'s unknown-field error, not a generic anyOf message', async () => {
    const run = await schemaRun(yml`
      apiVersion: joch.dev/v1alpha1
      kind: Policy
      metadata:
        name: p
      spec:
        rules:
          - when: {tool.sideEffect: external_write}
            action:
              deny: true
              reasn: budget-exceeded
    `);
    expect(run.diagnostics.map(at)).toEqual(['JOCH303 m.yaml:10:9']);
    expect(run.diagnostics[0]).toMatchObject({ message: 'unknown field "reasn" in spec.rules[0].action', hint: 'did you mean "reason"?' });
  });

  it('each rule of the list gets its own branch\'s error', async () => {
    const run = await schemaRun(yml`
      apiVersion: joch.dev/v1alpha1
      kind: Policy
      metadata:
        name: p
      spec:
        rules:
          - when: {tool.sideEffect: external_write}
            action:
              deny: true
              reasn: x
          - when: {tool.sideEffect: external_write}
            action: denyy
          - when: {tool.sideEffect: external_write}
            action: 5
          - when: {tool.sideEffect: external_write}
            action: {}
    `);
    expect(run.diagnostics.map((d) => `${at(d)} ${d.message}`)).toEqual([
      'JOCH303 m.yaml:10:9 unknown field "reasn" in spec.rules[0].action',
      'JOCH304 m.yaml:12:15 "denyy" is not an allowed value of spec.rules[1].action; allowed: allow, deny',
      'JOCH307 m.yaml:14:15 spec.rules[2].action must be a string (allow, deny) or a mapping',
      'JOCH306 m.yaml:16:7 spec.rules[3].action must NOT have fewer than 1 properties',
    ]);
    expect(run.diagnostics[1]?.hint).toBe('did you mean "deny"?');
  });
});

describe('status and credentials', () => {
  it('a status in the repository is a JOCH208 warning at the status key', async () => {
    const run = await schemaRun(yml`
      apiVersion: joch.dev/v1alpha1
      kind: Policy
      metadata:
        name: p
      spec:
        rules:
          - when: {tool.sideEffect: external_write}
            action: deny
      status:
        phase: Ready
    `);
    expect(run.diagnostics.map(at)).toEqual(['JOCH208 m.yaml:9:1']);
    expect(run.diagnostics[0]).toMatchObject({ severity: 'warning', message: 'status is written by the controller; the status in this file is ignored' });
  });

  it('never quotes a value that looks like a credential', async () => {
    const anthropic = `sk-ant-${'a1B2'.repeat(8)}`;
    const github = `ghp_${'Z9y8'.repeat(9)}`;
    const run = await schemaRun(yml`
      apiVersion: tools.joch.dev/v1alpha1
      kind: Tool
      metadata:
        name: t
      spec:
        type: ${anthropic}
      ---
      apiVersion: memory.joch.dev/v1alpha1
      kind: Memory
      metadata:
        name: m
      spec:
        type: working
        backend:
          type: redis
        retention:
          ttl: ${github}
    `);
    expect(run.diagnostics.map(at)).toEqual(['JOCH304 m.yaml:6:9', 'JOCH601 m.yaml:6:9', 'JOCH305 m.yaml:17:10', 'JOCH601 m.yaml:17:10']);
    expect(only(run.diagnostics, 'JOCH304').message).toBe(
      '(a value that looks like a credential) is not an allowed value of spec.type; allowed: function, rest, mcp, os',
    );
    expect(only(run.diagnostics, 'JOCH305').message).toBe('(a value that looks like a credential) at spec.retention.ttl is not in the required form');
    const text = JSON.stringify(run.diagnostics);
    expect(text).not.toContain(anthropic);
    expect(text).not.toContain(github);
  });
});
