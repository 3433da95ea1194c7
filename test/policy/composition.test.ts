/**
 * Composition order, binding order and selectors. Within a policy, rules run
 * in declared order: a matching allow or deny ends the policy's say, while
 * approvals and modifications accumulate. Across policies: any deny is a
 * deny, then approval, then modify, then allow; approvals and redactions
 * merge in evaluation order (baseline, Environment, Team, attached, selector).
 */
import { describe, expect, it } from 'vitest';
import { contributions, decider, diagnostic, lineOf, policyDiagnostics, policyOf, runFixture, verdictOf, agentOf } from './helpers.js';

describe('composition', () => {
  const file = 'policies/composition.yaml';

  it('lets a deny in one policy win over an allow in another', async () => {
    const result = policyOf(await runFixture([file]));
    const read = verdictOf(result, 'comp/worker', 'Tool/t.read');
    expect(read.outcome).toBe('deny');
    expect(decider(read)).toBe('comp/deny-reads#no-reads');
    expect(contributions(read)).toEqual(['comp/ordering#read-is-fine=allow', 'comp/deny-reads#no-reads=deny']);
  });

  it('ends a policy at its first matching allow: the later deny of the same policy never applies', async () => {
    const result = policyOf(await runFixture([file]));
    const read = verdictOf(result, 'comp/worker', 'Tool/t.read');
    expect(contributions(read)).not.toContain('comp/ordering#no-function-tools=deny');
  });

  it('accumulates modifications and approvals within a policy and merges redactions across policies in order', async () => {
    const result = policyOf(await runFixture([file]));
    const write = verdictOf(result, 'comp/worker', 'Tool/t.write');
    expect(write.outcome).toBe('require-approval');
    expect(decider(write)).toBe('joch-baseline#tool-requires-approval');
    expect(contributions(write)).toEqual([
      'joch-baseline#tool-requires-approval=require-approval',
      'comp/ordering#redact-writes=modify',
      'comp/ordering#rest-needs-c=require-approval',
      'comp/second-opinion#redact-more=modify',
    ]);
    expect(write.redactionRules).toEqual(['emails', 'ssn']);
  });

  it('merges approvals: every approver, the shortest timeout, deny on timeout if any says so, every channel', async () => {
    const result = policyOf(await runFixture([file]));
    const notify = verdictOf(result, 'comp/worker', 'Tool/t.notify');
    expect(notify.outcome).toBe('require-approval');
    expect(notify.approval).toEqual({ approvers: ['team:c', 'team:b'], timeoutMinutes: 10, onTimeout: 'deny', channels: ['slack:#c'] });
  });

  it('ends a policy at its first matching deny, and reports the denial at the tool reference with the rule', async () => {
    const run = await runFixture([file]);
    const pay = verdictOf(policyOf(run), 'comp/worker', 'Tool/t.pay');
    expect(pay.outcome).toBe('deny');
    expect(contributions(pay)).toContain('comp/second-opinion#stop-pay=deny');
    expect(contributions(pay)).not.toContain('comp/second-opinion#after-stop=modify');
    const d = diagnostic(run, 'JOCH811', lineOf(file, '- name: t.pay'));
    expect(d.message).toBe('Policy comp/second-opinion rule "stop-pay" denies Tool comp/t.pay to agent comp/worker: payments-frozen');
    expect(d.resource).toEqual({ kind: 'Agent', namespace: 'comp', name: 'worker' });
    expect(d.related).toEqual([{ file, line: lineOf(file, '- name: stop-pay'), column: 7, endLine: expect.any(Number), endColumn: expect.any(Number), message: 'rule "stop-pay" of Policy comp/second-opinion' }]);
  });

  it('decides models one by one, and points a model denial at the route entry', async () => {
    const run = await runFixture([file]);
    const result = policyOf(run);
    expect(verdictOf(result, 'comp/worker', 'Model/gpt').outcome).toBe('allow');
    expect(verdictOf(result, 'comp/worker', 'Model/gemini').outcome).toBe('deny');
    expect(policyDiagnostics(run)).toEqual(
      [
        `JOCH811 ${file}:${lineOf(file, '- name: t.read')} comp/worker`,
        `JOCH811 ${file}:${lineOf(file, '- name: t.pay')} comp/worker`,
        `JOCH811 ${file}:${lineOf(file, '- google:gemini')} comp/worker`,
      ].sort(),
    );
  });

  it('decides rules over the agent\'s own context on the agent itself', async () => {
    const result = policyOf(await runFixture([file]));
    const self = verdictOf(result, 'comp/worker', 'self');
    expect(self.outcome).toBe('modify');
    expect(decider(self)).toBe('comp/second-opinion#gold-context');
    expect(self.redactionRules).toEqual(['pii']);
  });

  it('puts one decision per capability in the bundle, sorted, with every contribution', async () => {
    const bundle = agentOf(policyOf(await runFixture([file])), 'comp/worker').bundle;
    expect(bundle.decisions.map((d) => `${d.capability.kind}/${d.capability.name}=${d.outcome}`)).toEqual([
      'Agent/worker=modify',
      'Model/gemini=deny',
      'Model/gpt=allow',
      'Tool/t.notify=require-approval',
      'Tool/t.pay=deny',
      'Tool/t.read=deny',
      'Tool/t.write=require-approval',
    ]);
    const pay = bundle.decisions.find((d) => d.capability.name === 't.pay');
    expect(pay?.decidedBy).toEqual({ policy: { name: 'second-opinion', namespace: 'comp', version: expect.stringMatching(/^[0-9a-f]{12}$/), source: 'selector' }, rule: 'stop-pay' });
    expect(pay?.contributions?.map((c) => `${c.policy}#${c.rule}`)).toEqual([
      'joch-baseline#tool-requires-approval',
      'comp/ordering#rest-needs-c',
      'comp/second-opinion#stop-pay',
    ]);
  });
});

describe('binding', () => {
  const file = 'policies/binding.yaml';

  it('binds Environment, Team, attached and selected policies in that order, each once, with its source', async () => {
    const bundle = agentOf(policyOf(await runFixture([file])), 'bind/bound').bundle;
    expect(bundle.policies.map((p) => `${p.source}:${p.namespace ?? ''}/${p.name}`)).toEqual([
      'baseline:/joch-baseline',
      'environment:bind/env-bound',
      'team:bind/team-bound',
      'attached:bind/attached-and-selected',
      'selector:bind/a-selected',
      'selector:bind/z-selected',
      'selector:other/reaching',
    ]);
  });

  it('selects only in the policy\'s own namespace unless appliesTo.namespaces says otherwise', async () => {
    const result = policyOf(await runFixture([file]));
    const names = agentOf(result, 'bind/bound').policies.map((p) => p.ref.name);
    expect(names).toContain('reaching');
    expect(names).not.toContain('elsewhere');
    expect(names).not.toContain('unbound');
    expect(verdictOf(result, 'bind/bound', 'self').outcome).toBe('allow');
  });
});

describe('selectors', () => {
  const file = 'policies/selectors.yaml';
  const bound = async () => {
    const result = policyOf(await runFixture([file]));
    return (agent: string) => agentOf(result, agent).policies.filter((p) => p.ref.source === 'selector').map((p) => p.ref.name);
  };

  it('matchLabels requires every label', async () => {
    const of = await bound();
    expect(of('sel/s-prod-eu')).toContain('match-labels');
    expect(of('sel/s-prod-us')).not.toContain('match-labels');
  });

  it('In, NotIn, Exists and DoesNotExist behave as in Kubernetes (NotIn holds for a missing label)', async () => {
    const of = await bound();
    expect(of('sel/s-prod-eu')).toEqual(['match-labels', 'op-notin']);
    expect(of('sel/s-prod-us')).toEqual(['both-kinds', 'op-exists', 'op-in']);
    expect(of('sel/s-dev')).toEqual(['op-doesnotexist', 'op-notin']);
  });
});
