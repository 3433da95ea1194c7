/**
 * What cannot be evaluated is denied, never silently allowed: unknown keys,
 * invalid values, unparsable selectors, rules over two kinds of capability,
 * malformed actions, undeclared attributes, and an engine that cannot finish.
 */
import { describe, expect, it } from 'vitest';
import type { AgentGraph } from '../../src/model/graph.js';
import type { Resource } from '../../src/model/resource.js';
import { evaluatePolicy } from '../../src/policy/index.js';
import { agentOf, contributions, decider, diagnostic, lineOf, policyDiagnostics, policyOf, runFixture, verdictOf } from './helpers.js';

const file = 'policies/fail-closed.yaml';

describe('Policy resources that cannot be evaluated', () => {
  it('reports each defect once, at its place, naming the agents it denies', async () => {
    const run = await runFixture([file]);
    expect(policyDiagnostics(run)).toEqual(
      [
        `JOCH801 ${file}:${lineOf(file, 'tool.sideEfect: financial')}`,
        `JOCH802 ${file}:${lineOf(file, 'tool.sideEffect: finantial')}`,
        `JOCH802 ${file}:${lineOf(file, 'cost.runUsd: lots')}`,
        `JOCH804 ${file}:${lineOf(file, 'when:', 5)}`,
        `JOCH805 ${file}:${lineOf(file, 'action:', 6)}`,
        `JOCH806 ${file}:${lineOf(file, '- name: twice', 2)}`,
        `JOCH803 ${file}:${lineOf(file, 'operator: Equals')}`,
        `JOCH811 ${file}:${lineOf(file, '- google:gemini')} fc/alpha`,
      ].sort(),
    );
  });

  it('points an unknown key at the key, suggests the right one, and denies every governed agent', async () => {
    const run = await runFixture([file]);
    const d = diagnostic(run, 'JOCH801', lineOf(file, 'tool.sideEfect: financial'));
    expect(d.column).toBe(9);
    expect(d.hint).toBe('did you mean "tool.sideEffect"?');
    expect(d.message).toBe(
      'unknown condition key "tool.sideEfect"; rule "typo" cannot be evaluated, so it denies 2 agents: fc/alpha, fc/beta (fail closed)',
    );
    const result = policyOf(run);
    const denial = verdictOf(result, 'fc/beta', 'Policy/typo-key');
    expect(denial.outcome).toBe('deny');
    expect(decider(denial)).toBe('fc/typo-key#typo');
    expect(agentOf(result, 'fc/beta').findings.map((f) => f.finding.code).sort()).toEqual(['JOCH801', 'JOCH802', 'JOCH802', 'JOCH803', 'JOCH804', 'JOCH805']);
  });

  it('checks values against the key: enums with a suggestion, numbers and comparisons', async () => {
    const run = await runFixture([file]);
    const level = diagnostic(run, 'JOCH802', lineOf(file, 'tool.sideEffect: finantial'));
    expect(level.message).toMatch(/^tool\.sideEffect: "finantial" is not one of read_only, .*privileged;/);
    expect(level.hint).toBe('did you mean "financial"?');
    expect(diagnostic(run, 'JOCH802', lineOf(file, 'cost.runUsd: lots')).message).toMatch(
      /^cost\.runUsd: expected a number or a comparison such as ">5" or "<=0\.75", got "lots"/,
    );
  });

  it('refuses a rule over two kinds of capability, a contradictory action, and reports duplicate rule names', async () => {
    const run = await runFixture([file]);
    expect(diagnostic(run, 'JOCH804', lineOf(file, 'when:', 5)).message).toMatch(/^the conditions read tool and model attributes; a rule decides about one kind of capability/);
    expect(diagnostic(run, 'JOCH805', lineOf(file, 'action:', 6)).message).toMatch(/^the action both allows and denies/);
    const dup = diagnostic(run, 'JOCH806', lineOf(file, '- name: twice', 2));
    expect(dup.severity).toBe('error');
    // A duplicate name is ambiguous, not unevaluable: it does not deny.
    expect(verdictOf(policyOf(run), 'fc/beta', 'Policy/bad-values').contributions.map((c) => c.rule)).toEqual([
      'misspelt-level',
      'not-a-number',
      'mixed',
      'contradictory',
    ]);
  });

  it('lets an unparsable selector govern every agent it could have meant, labelled or not', async () => {
    const run = await runFixture([file]);
    const d = diagnostic(run, 'JOCH803', lineOf(file, 'operator: Equals'));
    expect(d.message).toBe(
      'the agent selector cannot be parsed: operator "Equals" is not one of In, NotIn, Exists, DoesNotExist; the policy cannot be evaluated, so it denies 3 agents: fc/alpha, fc/beta, fc/gamma (fail closed)',
    );
    expect(verdictOf(policyOf(run), 'fc/gamma', 'Policy/bad-selector').outcome).toBe('deny');
  });
});

describe('attributes a capability does not declare', () => {
  it('match restrictive rules and never allow rules', async () => {
    const run = await runFixture([file]);
    const gemini = verdictOf(policyOf(run), 'fc/alpha', 'Model/gemini');
    expect(gemini.outcome).toBe('deny');
    expect(contributions(gemini)).toEqual(['fc/absent-prices#expensive-output=deny']);
    expect(gemini.decidedBy?.assumed).toEqual(['model.price.outputPerMillionTokens']);
    expect(diagnostic(run, 'JOCH811', lineOf(file, '- google:gemini')).message).toBe(
      'Policy fc/absent-prices rule "expensive-output" denies Model gemini (fallback) to agent fc/alpha: too-expensive; model.price.outputPerMillionTokens not declared, taken as matching (fail closed)',
    );
    expect(verdictOf(policyOf(run), 'fc/alpha', 'Model/gpt').outcome).toBe('allow');
  });
});

describe('an engine that cannot finish', () => {
  it('denies every agent with JOCH800 instead of allowing anything', () => {
    const agent = { key: 'Agent/x/broken', kind: 'Agent', name: 'broken', namespace: 'x', labels: {}, annotations: {}, spec: {}, file: 'broken.yaml', doc: 0 } as unknown as Resource;
    const graph = {
      agent,
      models: [],
      tools: [],
      mcpServers: [],
      memories: [],
      rags: [],
      attachedPolicies: [],
      handoffs: [],
      children: [],
      get deployments(): never {
        throw new Error('deployments are unreadable');
      },
      evals: [],
      agbomSettings: [],
      secrets: [],
    } as unknown as AgentGraph;
    const result = evaluatePolicy({ resources: [agent], graphs: [graph], references: [] });
    expect(result.findings.map((f) => [f.code, f.severity, f.message])).toEqual([
      ['JOCH800', 'error', 'policy evaluation failed, so every agent is denied (fail closed): deployments are unreadable'],
    ]);
    expect(result.bundles.map((b) => b.decisions.map((d) => `${d.capability.name}=${d.outcome}`))).toEqual([['broken=deny']]);
  });
});

describe('attributes that do not apply', () => {
  it('are definite: a function tool has no server, host or method, and an unset label equals nothing', async () => {
    const run = await runFixture(['policies/not-applicable.yaml']);
    const result = policyOf(run);
    expect(policyDiagnostics(run)).toEqual([]);
    const calc = verdictOf(result, 'na/plain', 'Tool/calc');
    expect(contributions(calc)).toEqual(['na/not-applicable#unowned-tools=modify', 'na/not-applicable#no-method=require-approval']);
    expect(verdictOf(result, 'na/plain', 'self').outcome).toBe('allow');
  });
});
