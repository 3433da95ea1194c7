/**
 * What only the runtime can decide is not faked: it is compiled into the
 * bundle as a runtime rule (limited to the capabilities its static part
 * matched), and `joch validate` says which rules were deferred.
 */
import { describe, expect, it } from 'vitest';
import { agentOf, diagnostic, lineOf, policyDiagnostics, policyOf, runFixture, verdictOf } from './helpers.js';

const file = 'policies/deferred.yaml';

describe('deferred rules', () => {
  it('compiles runtime rules into the bundle with their conditions, outcome and scope', async () => {
    const bundle = agentOf(policyOf(await runFixture([file])), 'rt/runner').bundle;
    const rules = bundle.runtimeRules.map((r) => ({
      rule: r.rule,
      when: r.when,
      outcome: r.outcome,
      capabilities: r.capabilities?.map((c) => `${c.kind}/${c.name}`),
    }));
    // In evaluation order: the policy's rules as declared.
    expect(rules).toEqual([
      { rule: 'cost-cap', when: { 'cost.runUsd': '>5' }, outcome: 'deny', capabilities: undefined },
      { rule: 'low-trust', when: { 'mcpServer.trustScore': '<0.8' }, outcome: 'deny', capabilities: ['MCPServer/unpinned-http'] },
      { rule: 'trusted', when: { 'mcpServer.trustScore': '>=0.9' }, outcome: 'modify', capabilities: ['MCPServer/unpinned-http'] },
      { rule: 'pii-writes', when: { 'tool.sideEffect': 'external_write', 'data.contains': 'pii' }, outcome: 'modify', capabilities: ['Tool/t1'] },
    ]);
    expect(bundle.runtimeRules.find((r) => r.rule === 'cost-cap')).toMatchObject({ reason: 'run-cost-cap', policy: { name: 'rt-rules', namespace: 'rt', source: 'selector' } });
    expect(bundle.runtimeRules.find((r) => r.rule === 'pii-writes')).toMatchObject({ modify: 'redact', redactionRules: ['emails'] });
  });

  it('settles a bounded key at compile time when the declared bound decides it', async () => {
    const result = policyOf(await runFixture([file]));
    // pinned-http declares minTrustScore 0.9: "<0.8" can never hold, ">=0.9" always does.
    const pinned = verdictOf(result, 'rt/runner', 'MCPServer/pinned-http');
    expect(pinned.outcome).toBe('modify');
    expect(pinned.decidedBy?.rule).toBe('trusted');
    expect(pinned.deferred).toEqual([]);
    // unpinned-http declares 0.5: both are open.
    const unpinned = verdictOf(result, 'rt/runner', 'MCPServer/unpinned-http');
    expect(unpinned.outcome).toBe('allow');
    expect(unpinned.deferred.map((d) => [d.rule, d.open])).toEqual([
      ['low-trust', ['mcpServer.trustScore']],
      ['trusted', ['mcpServer.trustScore']],
    ]);
  });

  it('never decides a runtime condition at compile time', async () => {
    const result = policyOf(await runFixture([file]));
    expect(verdictOf(result, 'rt/runner', 'Tool/t1').outcome).toBe('require-approval');
    expect(verdictOf(result, 'rt/runner', 'self').outcome).toBe('allow');
  });

  it('reports each deferred rule once, as a note at its when, naming the agents and the open keys', async () => {
    const run = await runFixture([file]);
    expect(policyDiagnostics(run)).toEqual(
      [1, 2, 3, 4].map((n) => `JOCH810 ${file}:${lineOf(file, 'when:', n)}`).sort(),
    );
    const note = diagnostic(run, 'JOCH810', lineOf(file, 'when:', 4));
    expect(note.severity).toBe('info');
    expect(note.message).toBe('rule "pii-writes" of Policy rt/rt-rules is decided at run time (data.contains): it is compiled into the policy bundles of agent rt/runner');
    expect(policyOf(run).deferred.map((d) => `${d.policy}#${d.rule} ${d.keys.join(',')}`)).toEqual([
      'rt/rt-rules#cost-cap cost.runUsd',
      'rt/rt-rules#low-trust mcpServer.trustScore',
      'rt/rt-rules#pii-writes data.contains',
      'rt/rt-rules#trusted mcpServer.trustScore',
    ]);
  });
});
