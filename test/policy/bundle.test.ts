/**
 * The PolicyBundle contract: canonical, hashed, deterministic, and what the
 * compiler and the AgBOM read. Also the generated benchmark fleet, which
 * must come out of the stage clean.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateFleet } from '../../bench/fleet.js';
import { runValidate } from '../../src/pipeline/index.js';
import { canonical, evaluatePolicy } from '../../src/policy/index.js';
import { agentOf, policyOf, ROOT, runFixture } from './helpers.js';

describe('canonical JSON', () => {
  it('sorts keys at every depth and leaves out undefined fields', () => {
    expect(canonical({ b: 1, a: { d: [2, { z: true, y: null }], c: undefined } })).toBe('{"a":{"d":[2,{"y":null,"z":true}]},"b":1}');
  });
});

describe('policy bundles', () => {
  it('carry the sha256 of their canonical JSON without the hash', async () => {
    for (const bundle of policyOf(await runFixture(['policies/composition.yaml'])).bundles) {
      const { hash, ...body } = bundle;
      expect(hash).toBe(createHash('sha256').update(canonical(body)).digest('hex'));
    }
  });

  it('are built canonical: their JSON already has every key in order', async () => {
    const runs = [await runValidate({ paths: ['examples/fleet'], cwd: ROOT }), await runFixture(['policies/composition.yaml', 'policies/deferred.yaml', 'baseline/unresolved.yaml'])];
    const bundles = runs.flatMap((r) => policyOf(r).bundles);
    expect(bundles).toHaveLength(8);
    for (const { hash: _hash, ...body } of bundles) expect(JSON.stringify(body)).toBe(canonical(body));
  });

  it('are the same for the same inputs, and change when a policy in effect changes', async () => {
    const run = await runFixture(['policies/composition.yaml']);
    const input = { resources: run.set.resources, graphs: run.graphs, references: run.validation.references };
    const again = evaluatePolicy(input);
    expect(again.bundles.map((b) => b.hash)).toEqual(policyOf(run).bundles.map((b) => b.hash));
    const edited = run.set.resources.map((r) => (r.name === 'deny-reads' ? { ...r, contentHash: `0${r.contentHash.slice(1)}` } : r));
    const changed = evaluatePolicy({ ...input, resources: edited });
    expect(changed.bundles[0]?.hash).not.toBe(again.bundles[0]?.hash);
  });

  it('list the policies in effect with their versions, one decision per capability and the runtime rules', async () => {
    const run = await runValidate({ paths: ['examples/fleet'], cwd: ROOT });
    const bundle = agentOf(policyOf(run), 'finance-ops/billing-agent').bundle;
    expect(bundle.agent).toBe('Agent/finance-ops/billing-agent');
    expect(bundle.policies.map((p) => `${p.source}:${p.name}`)).toEqual([
      'baseline:joch-baseline',
      'environment:prod-guardrails',
      'team:financial-actions-require-approval',
      'selector:mcp-hygiene',
    ]);
    const keys = bundle.decisions.map((d) => `${d.capability.kind}/${d.capability.name}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(bundle.decisions.find((d) => d.capability.name === 'refund.issue')).toMatchObject({
      outcome: 'require-approval',
      approval: { approvers: ['team:billing-leads'], timeoutMinutes: 60, onTimeout: 'deny', channels: ['slack:#billing-approvals', 'email:billing-leads@example.com'] },
    });
    expect(bundle.runtimeRules.map((r) => r.rule)).toEqual(['redact-pii', 'run-cost-cap', 'schema-drift', 'strip-injections']);
  });
});

describe('the generated fleet', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'joch-policy-fleet-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is policy-clean, with approval for every consequential tool and the cost cap deferred', async () => {
    generateFleet(dir, 100);
    const run = await runValidate({ paths: [dir], cwd: dir });
    const result = policyOf(run);
    expect(run.summary.errors).toBe(0);
    expect(result.stats).toMatchObject({ agents: 100, decisions: 1000, runtimeRules: 100 });
    expect(result.deferred.map((d) => `${d.policy}#${d.rule}:${d.agents.length}`)).toEqual(['team-000/cost-cap#run-cap:50', 'team-001/cost-cap#run-cap:50']);
    const outcomes = new Map<string, number>();
    for (const b of result.bundles) for (const d of b.decisions) outcomes.set(d.outcome, (outcomes.get(d.outcome) ?? 0) + 1);
    // 300 tools, two in five external_write or communication; every other capability allowed.
    expect(Object.fromEntries(outcomes)).toEqual({ allow: 880, 'require-approval': 120 });
  });
});
