/**
 * The built-in baseline, one rule at a time: each finding's exact code, agent
 * and line (the capability reference that triggered it), the denial in the
 * agent's bundle, and the cases the rule must leave alone.
 */
import { describe, expect, it } from 'vitest';
import { codeInfo } from '../../src/diagnostics/index.js';
import { BASELINE_RULES } from '../../src/policy/index.js';
import { agentOf, decider, diagnostic, lineOf, policyDiagnostics, policyOf, runFixture, verdictOf } from './helpers.js';

describe('the baseline table', () => {
  it('registers every rule as a locked error with a name, a summary and a rationale', () => {
    expect(BASELINE_RULES.map((r) => r.code)).toEqual(['JOCH701', 'JOCH702', 'JOCH703', 'JOCH704', 'JOCH705', 'JOCH706', 'JOCH707', 'JOCH708', 'JOCH709', 'JOCH710', 'JOCH711', 'JOCH712', 'JOCH713', 'JOCH714', 'JOCH715']);
    for (const r of BASELINE_RULES) {
      const info = codeInfo(r.code);
      // A fallback the router skips leaves the agent a model that serves: a warning, which joch.yaml may tune.
      if (r.code === 'JOCH712') expect(info, r.code).toMatchObject({ name: r.name, severity: 'warning' });
      else expect(info, r.code).toMatchObject({ name: r.name, severity: 'error', locked: true });
      expect(r.rationale.length, r.code).toBeGreaterThan(40);
    }
  });
});

describe('JOCH701: consequential tools of production agents need an approval', () => {
  const file = 'baseline/side-effects.yaml';

  it('flags each unapproved tool at its reference in the agent, and nothing else', async () => {
    const run = await runFixture([file]);
    expect(policyDiagnostics(run)).toEqual(
      [
        `JOCH701 ${file}:${lineOf(file, '- name: wire.transfer')} finance/payments`,
        `JOCH701 ${file}:${lineOf(file, '- name: mystery.op')} finance/payments`,
        `JOCH701 ${file}:${lineOf(file, '- name: bulk.export')} finance/payments`,
        `JOCH701 ${file}:${lineOf(file, '- name: audit.push')} finance/payments`,
        `JOCH810 ${file}:${lineOf(file, 'when:', 2)}`,
      ].sort(),
    );
  });

  it('says why: production evidence, the level (an undeclared one counts as privileged), and where the level is', async () => {
    const run = await runFixture([file]);
    const wire = diagnostic(run, 'JOCH701', lineOf(file, '- name: wire.transfer'));
    expect(wire.message).toContain('deployed to production Environment prod (it is named prod)');
    expect(wire.message).toContain('Tool finance/wire.transfer, whose side effect is financial');
    expect(wire.related?.map((r) => `${r.file}:${r.line}`)).toEqual([`${file}:${lineOf(file, 'level: financial')}`, `${file}:${lineOf(file, 'name: prod', 1)}`]);
    const mystery = diagnostic(run, 'JOCH701', lineOf(file, '- name: mystery.op'));
    expect(mystery.message).toContain('not declared (treated as privileged)');
  });

  it('denies those tools in the bundle, and lets the tool\'s own or a policy\'s approval stand in', async () => {
    const result = policyOf(await runFixture([file]));
    expect(verdictOf(result, 'finance/payments', 'Tool/wire.transfer')).toMatchObject({ outcome: 'deny' });
    expect(decider(verdictOf(result, 'finance/payments', 'Tool/wire.transfer'))).toBe('joch-baseline#JOCH701');
    expect(decider(verdictOf(result, 'finance/payments', 'Tool/refund.issue'))).toBe('joch-baseline#tool-requires-approval');
    expect(verdictOf(result, 'finance/payments', 'Tool/customer.notify').outcome).toBe('require-approval');
    expect(decider(verdictOf(result, 'finance/payments', 'Tool/customer.notify'))).toBe('finance/notify-approval#customer-messages');
    expect(verdictOf(result, 'finance/payments', 'Tool/ledger.read').outcome).toBe('allow');
  });

  it('does not count a modification as an approval', async () => {
    const result = policyOf(await runFixture([file]));
    const audit = verdictOf(result, 'finance/payments', 'Tool/audit.push');
    expect(audit.outcome).toBe('deny');
    expect(audit.contributions.map((c) => `${c.rule}=${c.outcome}`)).toEqual(['JOCH701=deny', 'redact-audit=modify']);
  });

  it('does not count an approval that only applies at run time', async () => {
    const result = policyOf(await runFixture([file]));
    const bulk = verdictOf(result, 'finance/payments', 'Tool/bulk.export');
    expect(bulk.outcome).toBe('deny');
    expect(bulk.deferred.map((d) => d.rule)).toEqual(['costly-exports']);
  });

  it('leaves agents outside production alone', async () => {
    const result = policyOf(await runFixture([file]));
    expect(verdictOf(result, 'finance/payments-dev', 'Tool/wire.transfer').outcome).toBe('allow');
    expect(agentOf(result, 'finance/payments-dev').production).toEqual([]);
  });
});

describe('JOCH702 and JOCH703: MCP servers', () => {
  const file = 'baseline/mcp.yaml';

  it('flags unpinned servers of production agents and unsandboxed stdio servers of any agent', async () => {
    const run = await runFixture([file]);
    expect(policyDiagnostics(run)).toEqual(
      [
        `JOCH702 ${file}:${lineOf(file, '- name: unpinned-http')} data/indexer`,
        `JOCH703 ${file}:${lineOf(file, '- name: stdio-open', 1)} data/indexer`,
        `JOCH703 ${file}:${lineOf(file, '- name: stdio-open', 2)} data/indexer-dev`,
        `JOCH702 ${file}:${lineOf(file, '- name: repo.search')} data/searcher`,
      ].sort(),
    );
  });

  it('finds a server reached through an mcp tool and points at the tool reference', async () => {
    const run = await runFixture([file]);
    const d = diagnostic(run, 'JOCH702', lineOf(file, '- name: repo.search'));
    expect(d.message).toContain('MCPServer unpinned-http (via tool repo.search)');
    expect(d.message).toContain('production Environment eu-main (it sets spec.compliance.auditRequired: true)');
    expect(d.related?.[0]).toMatchObject({ file: 'base/platform.yaml', line: lineOf('base/platform.yaml', 'security:', 2) });
  });

  it('counts an Environment labelled env: production as production', async () => {
    const result = policyOf(await runFixture([file]));
    expect(agentOf(result, 'data/indexer').production.map((p) => p.because)).toEqual(['it is labelled env: production']);
    expect(verdictOf(result, 'data/indexer', 'MCPServer/pinned-http').outcome).toBe('allow');
    expect(decider(verdictOf(result, 'data/indexer', 'MCPServer/stdio-open'))).toBe('joch-baseline#JOCH703');
  });
});

describe('JOCH704: production agents need budgets', () => {
  const file = 'baseline/budget.yaml';

  it('flags incomplete spec.budgets at spec.budgets and missing ones at the agent name', async () => {
    const run = await runFixture([file]);
    expect(policyDiagnostics(run)).toEqual(
      [`JOCH704 ${file}:${lineOf(file, 'budgets:')} spend/spender`, `JOCH704 ${file}:${lineOf(file, 'name: bare', 1)} spend/bare`].sort(),
    );
    expect(diagnostic(run, 'JOCH704', lineOf(file, 'budgets:')).message).toContain('without token, tool-call limits in spec.budgets');
    expect(diagnostic(run, 'JOCH704', lineOf(file, 'name: bare', 1)).message).toContain('without token, cost, tool-call limits');
  });

  it('accepts a Budget scoped to the agent or to its team, and records the denial on the agent itself', async () => {
    const result = policyOf(await runFixture([file]));
    expect(verdictOf(result, 'spend/covered', 'self').outcome).toBe('allow');
    expect(verdictOf(result, 'ops/ops-agent', 'self').outcome).toBe('allow');
    expect(decider(verdictOf(result, 'spend/bare', 'self'))).toBe('joch-baseline#JOCH704');
  });
});

describe('JOCH705, JOCH706, JOCH707: what the owners of tools and memories allow', () => {
  const file = 'baseline/access.yaml';

  it('enforces allowedAgents, deniedNamespaces and readableBy against every agent that references them', async () => {
    const run = await runFixture([file]);
    expect(policyDiagnostics(run)).toEqual(
      [
        `JOCH705 ${file}:${lineOf(file, '- name: secrets.read', 2)} vault/intruder`,
        `JOCH707 ${file}:${lineOf(file, 'name: vault-notes', 3)} vault/intruder`,
        `JOCH705 ${file}:${lineOf(file, '- name: secrets.read', 3)} apps/outsider`,
        `JOCH706 ${file}:${lineOf(file, '- name: sandboxed.op')} sandbox/tinkerer`,
      ].sort(),
    );
    expect(diagnostic(run, 'JOCH705', lineOf(file, '- name: secrets.read', 3)).message).toBe(
      'Tool vault/secrets.read allows only keeper (safety.allowedAgents); agent apps/outsider is not one of them',
    );
  });

  it('makes a memory the agent may read but not write read-only, without a finding', async () => {
    const result = policyOf(await runFixture([file]));
    const log = verdictOf(result, 'vault/intruder', 'Memory/shared-log');
    expect(log).toMatchObject({ outcome: 'modify' });
    expect(log.decidedBy?.modify).toBe('read-only');
    expect(verdictOf(result, 'vault/keeper', 'Memory/vault-notes').outcome).toBe('allow');
    expect(verdictOf(result, 'vault/keeper', 'Tool/secrets.read').outcome).toBe('allow');
  });
});

describe('JOCH708 and JOCH709: promotion gates', () => {
  const file = 'baseline/promotion.yaml';

  it('flags gates that refer to nothing and gates of another agent or Environment, at the gate', async () => {
    const run = await runFixture([file]);
    expect(policyDiagnostics(run)).toEqual(
      [
        `JOCH708 ${file}:${lineOf(file, 'requiresEval: missing-eval')} rel/shipper`,
        `JOCH708 ${file}:${lineOf(file, 'requiresApproval: chief-of-staff')} rel/shipper`,
        `JOCH709 ${file}:${lineOf(file, 'requiresEval: other-quality')} rel/shipper`,
        `JOCH709 ${file}:${lineOf(file, 'requiresEval: shipper-quality', 2)} rel/shipper`,
        `JOCH709 ${file}:${lineOf(file, 'requiresEval: ungated-quality')} rel/shipper`,
      ].sort(),
    );
  });

  it('explains each mismatch', async () => {
    const run = await runFixture([file]);
    expect(diagnostic(run, 'JOCH709', lineOf(file, 'requiresEval: other-quality')).message).toContain('which evaluates rel/other, not agent rel/shipper');
    expect(diagnostic(run, 'JOCH709', lineOf(file, 'requiresEval: shipper-quality', 2)).message).toContain(
      'which gates promotion to Environment prod, not to staging',
    );
    expect(diagnostic(run, 'JOCH709', lineOf(file, 'requiresEval: ungated-quality')).message).toContain('releaseGate is not enabled');
  });

  it('accepts Teams, Team members and member roles as approvers, and denies the failing Deployments only', async () => {
    const result = policyOf(await runFixture([file]));
    expect(verdictOf(result, 'rel/shipper', 'Deployment/shipper-prod').outcome).toBe('allow');
    expect(verdictOf(result, 'rel/shipper', 'Deployment/shipper-live').outcome).toBe('deny');
    expect(verdictOf(result, 'rel/shipper', 'Deployment/shipper-eu').outcome).toBe('deny');
  });
});

describe('JOCH710: references that do not resolve are denials', () => {
  const file = 'baseline/unresolved.yaml';

  it('reports each hole once, as the reference error, while the bundle still denies it', async () => {
    const run = await runFixture([file]);
    // The reference pass already says "not found" (with a did-you-mean) at each of these places.
    expect(policyDiagnostics(run, ['JOCH710'])).toEqual([]);
    for (const text of ['- name: ghost.tool', '- name: no-such-policy', '- openai:gpt-9', 'name: nowhere']) {
      expect(diagnostic(run, 'JOCH501', lineOf(file, text)).severity).toBe('error');
    }
  });

  it('denies the hole at the reference, once per place, naming every agent it affects, when references are not checked', async () => {
    const run = await runFixture([file], new Set(['schema', 'policy']));
    expect(policyDiagnostics(run)).toEqual(
      [
        `JOCH710 ${file}:${lineOf(file, '- name: ghost.tool')} void/ghostly`,
        `JOCH710 ${file}:${lineOf(file, '- name: no-such-policy')} void/haunted`,
        `JOCH710 ${file}:${lineOf(file, '- openai:gpt-9')}`,
        `JOCH710 ${file}:${lineOf(file, 'name: nowhere')}`,
      ].sort(),
    );
    expect(diagnostic(run, 'JOCH710', lineOf(file, '- openai:gpt-9')).message).toBe(
      'Model "openai:gpt-9" does not resolve, so policy cannot evaluate it for 2 agents: void/ghostly, void/haunted: denied (fail closed)',
    );
  });

  it('records the denial in the bundle and counts an unresolved Environment as production', async () => {
    const result = policyOf(await runFixture([file]));
    const ghostly = agentOf(result, 'void/ghostly');
    const denied = ghostly.bundle.decisions.filter((d) => d.outcome === 'deny').map((d) => `${d.capability.kind}/${d.capability.name}`);
    expect(denied.sort()).toEqual(['Environment/nowhere', 'Model/openai:gpt-9', 'Tool/ghost.tool']);
    expect(ghostly.production.map((p) => p.because)).toEqual(['Environment "nowhere" does not resolve, so it counts as production (fail closed)']);
  });

  it('still evaluates when the references check is off, and still fails closed', async () => {
    const run = await runFixture([file], new Set(['schema', 'policy']));
    expect(run.diagnostics.filter((d) => d.code === 'JOCH501')).toEqual([]);
    expect(policyDiagnostics(run, ['JOCH710'])).toHaveLength(4);
  });
});
