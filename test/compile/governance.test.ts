/**
 * Workload safety: what the API server would refuse is reported at the Joch
 * line, pods are bounded by requests and limits from a documented source,
 * Team namespaces get their quota, and every namespace denies traffic and
 * enforces the restricted Pod Security Standard unless joch.yaml opts out.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../src/compile/index.js';
import type { Diagnostic } from '../../src/diagnostics/index.js';
import { runCompile } from '../../src/pipeline/compile.js';
import { FLEET, copyFleet, find, get } from './helpers.js';

/** Line and column (1-based) of the first occurrence of `needle` in a file, at `offset` characters into it. */
function positionOf(dir: string, file: string, needle: string, offset = 0): { line: number; column: number } {
  const text = readFileSync(path.join(dir, file), 'utf8');
  const at = text.indexOf(needle);
  if (at < 0) throw new Error(`"${needle}" is not in ${file}`);
  const before = text.slice(0, at + offset);
  return { line: before.split('\n').length, column: before.length - before.lastIndexOf('\n') };
}

async function compileFleet(edits: Record<string, string | ((old: string) => string)>) {
  const dir = copyFleet(FLEET, edits);
  const run = await runCompile({ paths: [], cwd: dir });
  const located = (code: string): Pick<Diagnostic, 'code' | 'file' | 'line' | 'column'>[] =>
    run.diagnostics.filter((d) => d.code === code).map((d) => ({ code: d.code, file: d.file, line: d.line, column: d.column }));
  return { dir, run, located, errors: run.diagnostics.filter((d) => d.severity === 'error') };
}

const pod = (o: KubeObject) => (o.kind === 'CronJob' ? get(o, 'spec', 'jobTemplate', 'spec', 'template', 'spec') : get(o, 'spec', 'template', 'spec'));
const resources = (o: KubeObject) => get(pod(o), 'containers', 0, 'resources');

const WITH_WORKLOADS = (extra: string) => (old: string) => `${old}\nworkloads:\n${extra}`;

describe('what the API server would refuse, at the Joch line', () => {
  it('refuses canary and shadow rollouts at the strategy (JOCH902), with nothing written', async () => {
    for (const strategy of ['canary', 'shadow']) {
      const { dir, run, located } = await compileFleet({ 'finance-ops/billing.yaml': (t) => t.replace('strategy: rolling', `strategy: ${strategy}`) });
      expect(located('JOCH902')).toEqual([{ code: 'JOCH902', file: 'finance-ops/billing.yaml', ...positionOf(dir, 'finance-ops/billing.yaml', `strategy: ${strategy}`, 'strategy: '.length) }]);
      expect(run.refused).toBe(true);
    }
  });

  it('refuses canary.enabled under a rolling strategy at the flag (JOCH902)', async () => {
    const edit = (t: string) => t.replace('    maxUnavailable: 0\n', '    maxUnavailable: 0\n    canary:\n      enabled: true\n      percentage: 10\n');
    const { dir, located } = await compileFleet({ 'finance-ops/billing.yaml': edit });
    expect(located('JOCH902')).toEqual([{ code: 'JOCH902', file: 'finance-ops/billing.yaml', ...positionOf(dir, 'finance-ops/billing.yaml', 'enabled: true', 'enabled: '.length) }]);
  });

  it('refuses maxSurge 0 with maxUnavailable 0 (JOCH903)', async () => {
    const { dir, located } = await compileFleet({ 'finance-ops/billing.yaml': (t) => t.replace('    maxUnavailable: 0\n', '    maxUnavailable: 0\n    maxSurge: 0\n') });
    expect(located('JOCH903')).toEqual([{ code: 'JOCH903', file: 'finance-ops/billing.yaml', ...positionOf(dir, 'finance-ops/billing.yaml', 'rollout:') }]);
  });

  it('refuses a nodeSelector key or value that is not a label (JOCH915), at the key or the value', async () => {
    const edit = (selector: string) => (t: string) => t.replace('  runtime:\n    adapter: kubernetes\n    workerImage', `  scheduling:\n    nodeSelector:\n      ${selector}\n  runtime:\n    adapter: kubernetes\n    workerImage`);
    const badKey = await compileFleet({ 'finance-ops/billing.yaml': edit('"bad key/x": agents') });
    expect(badKey.located('JOCH915')).toEqual([{ code: 'JOCH915', file: 'finance-ops/billing.yaml', ...positionOf(badKey.dir, 'finance-ops/billing.yaml', '"bad key/x"') }]);
    const badValue = await compileFleet({ 'finance-ops/billing.yaml': edit('pool: "-agents"') });
    expect(badValue.located('JOCH915')).toEqual([{ code: 'JOCH915', file: 'finance-ops/billing.yaml', ...positionOf(badValue.dir, 'finance-ops/billing.yaml', '"-agents"') }]);
  });

  it('refuses a request above its limit (JOCH914) at the Deployment that would be refused', async () => {
    const { dir, located } = await compileFleet({ 'joch.yaml': WITH_WORKLOADS('  environments:\n    prod:\n      resources:\n        requests: { cpu: "2" }\n') });
    // Every prod Deployment: the request comes from prod, the limit of 1 core from the built-in default.
    const prod = located('JOCH914');
    expect(prod.length).toBeGreaterThan(0);
    expect(prod).toContainEqual({ code: 'JOCH914', file: 'finance-ops/billing.yaml', ...positionOf(dir, 'finance-ops/billing.yaml', 'environmentRef:\n    name: prod') });
  });

  it('refuses a quantity joch.yaml cannot mean (JOCH001) at its line', async () => {
    const { dir, located } = await compileFleet({ 'joch.yaml': WITH_WORKLOADS('  resources:\n    limits: { memory: 1GB }\n') });
    expect(located('JOCH001')).toEqual([{ code: 'JOCH001', file: 'joch.yaml', ...positionOf(dir, 'joch.yaml', '1GB') }]);
  });

  it('compiles a schedule-triggered Execution without a schedule as a suspended Job, with a warning (JOCH912), and refuses a malformed one (JOCH913)', async () => {
    const none = await compileFleet({ 'finance-ops/billing.yaml': (t) => t.replace(/ {2}annotations:\n.*\n {4}joch.dev\/schedule: .*\n/, '') });
    expect(none.located('JOCH912')).toEqual([{ code: 'JOCH912', file: 'finance-ops/billing.yaml', ...positionOf(none.dir, 'finance-ops/billing.yaml', 'type: schedule', 'type: '.length) }]);
    expect(get(find(none.run.output?.objects ?? [], 'batch/v1', 'Job', 'billing-reconcile-nightly', 'finance-ops'), 'spec', 'suspend')).toBe(true);
    const bad = await compileFleet({ 'finance-ops/billing.yaml': (t) => t.replace('"0 2 * * *"', '"every night"') });
    expect(bad.located('JOCH913')).toEqual([{ code: 'JOCH913', file: 'finance-ops/billing.yaml', ...positionOf(bad.dir, 'finance-ops/billing.yaml', '"every night"') }]);
  });
});

describe('bounded pods and closed namespaces', () => {
  it('gives every agent container the built-in requests and limits, and keeps five old ReplicaSets', async () => {
    const { run } = await compileFleet({});
    const workloads = (run.output?.objects ?? []).map((o) => o.object).filter((o) => ['apps/v1', 'batch/v1'].includes(o.apiVersion));
    expect(workloads.length).toBe(8);
    for (const w of workloads) expect(resources(w), `${w.kind} ${w.metadata.name}`).toEqual({ requests: { cpu: '100m', memory: '256Mi' }, limits: { cpu: '1', memory: '1Gi' } });
    for (const d of workloads.filter((o) => o.kind === 'Deployment')) expect(get(d, 'spec', 'revisionHistoryLimit')).toBe(5);
  });

  it('takes each value from the Environment, else the Team, else the repository default, else the built-in one', async () => {
    const { run, errors } = await compileFleet({
      'joch.yaml': WITH_WORKLOADS(
        [
          '  resources:',
          '    requests: { memory: 300Mi }',
          '  environments:',
          '    prod:',
          '      resources:',
          '        limits: { cpu: "2" }',
          '  teams:',
          '    finance-ops:',
          '      resources:',
          '        requests: { cpu: 250m }',
          '      quota:',
          '        requests.cpu: "4"',
          '        limits.memory: 16Gi',
          '        pods: "20"',
          '',
        ].join('\n'),
      ),
    });
    expect(errors).toEqual([]);
    const objects = run.output?.objects ?? [];
    expect(resources(find(objects, 'apps/v1', 'Deployment', 'billing-agent-prod', 'finance-ops'))).toEqual({ requests: { cpu: '250m', memory: '300Mi' }, limits: { cpu: '2', memory: '1Gi' } });
    expect(resources(find(objects, 'apps/v1', 'Deployment', 'billing-agent-staging', 'finance-ops'))).toEqual({ requests: { cpu: '250m', memory: '300Mi' }, limits: { cpu: '1', memory: '1Gi' } });
    expect(resources(find(objects, 'apps/v1', 'Deployment', 'support-triage-prod', 'support-platform'))).toEqual({ requests: { cpu: '100m', memory: '300Mi' }, limits: { cpu: '2', memory: '1Gi' } });
    expect(find(objects, 'v1', 'ResourceQuota', 'joch-team-quota', 'finance-ops').spec).toEqual({ hard: { 'limits.memory': '16Gi', pods: '20', 'requests.cpu': '4' } });
    expect(find(objects, 'v1', 'LimitRange', 'joch-team-defaults', 'finance-ops').spec).toEqual({
      limits: [{ type: 'Container', default: { cpu: '1', memory: '1Gi' }, defaultRequest: { cpu: '250m', memory: '300Mi' } }],
    });
    // Only the Team that declares a quota gets one.
    expect(objects.filter((o) => o.object.kind === 'ResourceQuota').map((o) => o.object.metadata.namespace)).toEqual(['finance-ops']);
  });

  it('denies all traffic in every namespace it compiles, and enforces restricted Pod Security unless opted out', async () => {
    const { run } = await compileFleet({});
    const objects = run.output?.objects ?? [];
    const namespaces = objects.filter((o) => o.object.kind === 'Namespace').map((o) => o.object);
    expect(namespaces.map((n) => n.metadata.name)).toEqual(['finance-ops', 'platform', 'research', 'support-platform']);
    for (const ns of namespaces) {
      expect(ns.metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
      expect(find(objects, 'networking.k8s.io/v1', 'NetworkPolicy', 'joch-default-deny', ns.metadata.name).spec).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
    }
    const optOut = await compileFleet({ 'joch.yaml': WITH_WORKLOADS('  podSecurity: warn\n') });
    for (const ns of (optOut.run.output?.objects ?? []).filter((o) => o.object.kind === 'Namespace').map((o) => o.object)) {
      expect(ns.metadata.labels?.['pod-security.kubernetes.io/enforce']).toBeUndefined();
      expect(ns.metadata.labels?.['pod-security.kubernetes.io/warn']).toBe('restricted');
    }
  });

  it('stops an Execution that outlives its deadline (executionDeadlineSeconds)', async () => {
    const { run } = await compileFleet({ 'joch.yaml': WITH_WORKLOADS('  executionDeadlineSeconds: 900\n') });
    expect(get(find(run.output?.objects ?? [], 'batch/v1', 'CronJob', 'billing-reconcile-nightly', 'finance-ops'), 'spec', 'jobTemplate', 'spec', 'activeDeadlineSeconds')).toBe(900);
  });
});

describe('budgets and rate limits reach the agents', () => {
  it('compiles every Budget that binds an agent, why it binds, its enforcement and the agent\'s share, into the manifest and the bundle', async () => {
    const { run } = await compileFleet({});
    const manifest = run.output?.manifests.find((m) => m.agent === 'Agent/support-platform/support-triage')?.manifest;
    const budgets = get(manifest, 'spec', 'budgets');
    expect(budgets).toEqual({
      agent: { tokenLimitPerRun: 200000, costLimitUsdPerDay: 25, toolCallLimitPerRun: 100 },
      bound: [
        {
          allocated: { dailyUsd: 150, monthlyUsd: 3000 },
          boundBy: ["scope.teams names support-platform, the agent's Team", 'allocation.byAgent names support-triage', 'Team support-platform binds it (spec.budgetRefs)'],
          enforcement: { onHardLimit: 'deny', onSoftLimit: 'alert', softLimitPct: 0.8 },
          limits: { dailyUsd: 250, monthlyUsd: 5000, perRunUsd: 5 },
          name: 'support-platform-monthly',
          namespace: 'support-platform',
          share: 0.6,
        },
      ],
    });
    const bundle = run.validation.policy?.bundles.find((b) => b.agent === 'Agent/support-platform/support-triage');
    expect(bundle?.budgets).toEqual(get(budgets, 'bound'));
    expect(get(manifest, 'spec', 'observability', 'abomEndpoint')).toBe('http://joch-server.joch-system.svc');
  });

  it('hands a run its own caps, and carries each model\'s rate limits', async () => {
    const { run } = await compileFleet({ 'platform/models.yaml': (t) => t.replace('    maxOutputTokens: 64000\n', '    maxOutputTokens: 64000\n    requestsPerMinute: 100\n    tokensPerMinute: 2000000\n') });
    const cron = find(run.output?.objects ?? [], 'batch/v1', 'CronJob', 'billing-reconcile-nightly', 'finance-ops');
    const env = get(pod(cron), 'containers', 0, 'env') as { name: string; value?: string }[];
    expect(env.find((e) => e.name === 'JOCH_EXECUTION_BUDGETS')?.value).toBe('{"inheritFromAgent":true}');
    const manifest = run.output?.manifests.find((m) => m.agent === 'Agent/support-platform/support-triage')?.manifest;
    const primary = get(manifest, 'spec', 'modelRoute', 'primary') as Record<string, unknown>;
    expect(primary.rateLimits).toEqual({ requestsPerMinute: 100, tokensPerMinute: 2000000, maxOutputTokens: 64000 });
  });
});

describe('audit', () => {
  it('tells the runtime what each Policy in effect asks it to record', async () => {
    const { run } = await compileFleet({});
    const manifest = run.output?.manifests.find((m) => m.agent === 'Agent/support-platform/support-triage')?.manifest;
    expect(get(manifest, 'spec', 'policies', 'audit')).toContainEqual({
      policy: 'support-platform/external-send-requires-approval',
      logRequests: true,
      logDecisions: true,
      redactSecrets: true,
    });
  });
});

describe('Team defaults the API server would refuse', () => {
  it('refuses a Team whose default request exceeds its default limit (JOCH914) at the Team, and emits no quota for it', async () => {
    const { dir, run, located } = await compileFleet({
      'joch.yaml': WITH_WORKLOADS('  teams:\n    research:\n      resources:\n        requests: { memory: 2Gi }\n      quota:\n        pods: "10"\n'),
    });
    expect(located('JOCH914')).toContainEqual({ code: 'JOCH914', file: 'platform/teams.yaml', ...positionOf(dir, 'platform/teams.yaml', 'name: research', 'name: '.length) });
    expect(run.refused).toBe(true);
  });
});

describe("joch.yaml's workloads name real records", () => {
  it('warns at the key of an Environment or Team no record defines (JOCH004), with the nearest name', async () => {
    const { dir, run, located } = await compileFleet({
      'joch.yaml': WITH_WORKLOADS('  environments:\n    prd:\n      resources:\n        requests: { cpu: "2" }\n  teams:\n    nobody-here:\n      resources:\n        limits: { cpu: "2" }\n'),
    });
    expect(located('JOCH004')).toEqual([
      { code: 'JOCH004', file: 'joch.yaml', ...positionOf(dir, 'joch.yaml', 'prd:') },
      { code: 'JOCH004', file: 'joch.yaml', ...positionOf(dir, 'joch.yaml', 'nobody-here:') },
    ]);
    const prd = run.diagnostics.find((d) => d.code === 'JOCH004' && d.message.includes('workloads.environments.prd '));
    expect(prd?.severity).toBe('warning');
    expect(prd?.hint).toBe('did you mean "prod"?');
    // A warning: the fleet still compiles.
    expect(run.refused).toBe(false);
  });
});
