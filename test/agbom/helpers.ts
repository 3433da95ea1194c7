/** Fixtures of the AgBOM tests: the example fleet as the pipeline loads it, and edited copies of it. */
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildAgBom, digestFiles, type AgBom, type AgBomContext } from '../../src/agbom/index.js';
import type { AgentGraph } from '../../src/model/graph.js';
import type { PolicyBundle } from '../../src/model/policy-bundle.js';
import { runValidate, type ValidationRun } from '../../src/pipeline/index.js';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const EXAMPLE_FLEET = path.join(ROOT, 'examples/fleet');
/** 2025-01-01T00:00:00Z: the source time every test document carries unless it says otherwise. */
export const SOURCE_TIME = 1735689600;

/** Loads a fleet through the real pipeline; findings other than policy ones (JOCH7xx, JOCH8xx) fail the fixture. */
export async function load(dir: string): Promise<ValidationRun> {
  const run = await runValidate({ paths: [dir], cwd: dir });
  const errors = run.diagnostics.filter((d) => d.severity === 'error' && !/^JOCH[78]\d\d$/.test(d.code));
  if (errors.length) throw new Error(`fixture ${dir} has errors: ${errors.map((d) => `${d.code} ${d.message}`).join('; ')}`);
  return run;
}

/** The policy stage's bundle for an agent, when the stage ran. */
export function policyBundleOf(run: ValidationRun, name: string): PolicyBundle | undefined {
  return run.policy?.bundles.find((b) => b.agent === graphOf(run, name).agent.key);
}

export function contextOf(run: ValidationRun, extra: Partial<AgBomContext> = {}): AgBomContext {
  return { toolVersion: '0.1.0', sourceTime: SOURCE_TIME, revision: 'a'.repeat(40), files: digestFiles(run.snapshot), ...extra };
}

export function graphOf(run: ValidationRun, name: string): AgentGraph {
  const g = run.graphs.find((x) => x.agent.name === name);
  if (!g) throw new Error(`no agent ${name}`);
  return g;
}

export function bomOf(run: ValidationRun, name: string, bundle?: PolicyBundle, extra: Partial<AgBomContext> = {}): AgBom {
  return buildAgBom(graphOf(run, name), bundle, contextOf(run, extra));
}

/** A copy of the example fleet with some files edited: `edits` maps a fleet-relative path to a text transform. */
export function editedFleet(edits: Readonly<Record<string, (text: string) => string>>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'joch-agbom-'));
  cpSync(EXAMPLE_FLEET, dir, { recursive: true });
  for (const [rel, edit] of Object.entries(edits)) {
    const file = path.join(dir, rel);
    const before = readFileSync(file, 'utf8');
    const after = edit(before);
    if (after === before) throw new Error(`the edit of ${rel} changed nothing`);
    writeFileSync(file, after);
  }
  return dir;
}

/** Replaces exactly one occurrence, so a fixture edit cannot silently miss. */
export function replaceOnce(find: string, replacement: string): (text: string) => string {
  return (text) => {
    const at = text.indexOf(find);
    if (at < 0 || text.indexOf(find, at + 1) >= 0) throw new Error(`"${find}" must occur exactly once`);
    return text.slice(0, at) + replacement + text.slice(at + find.length);
  };
}

/** A hand-made policy bundle, as the policy stage will hand one over. */
export function bundle(agent: string, parts: Partial<Omit<PolicyBundle, 'agent' | 'hash'>> = {}): PolicyBundle {
  return { agent, policies: [], decisions: [], runtimeRules: [], hash: 'sha256:test', ...parts };
}

const APPROVAL_CLASSES = new Set(['external_write', 'financial', 'communication', 'code_execution', 'privileged']);

/**
 * A plausible bundle made by hand from an agent's graph, the way the policy
 * stage hands one over: the agent's own policies plus an environment and a
 * team policy, approvals for tools with external side effects, a run-time
 * rule on each MCP server and one for every call.
 */
export function handBundle(run: ValidationRun, name: string): PolicyBundle {
  const g = graphOf(run, name);
  const team = { name: 'team-approvals', namespace: g.agent.namespace, version: 'v3', source: 'team' } as const;
  const env = { name: 'prod-guardrails', namespace: 'platform', version: 'v9', source: 'environment' } as const;
  const attached = g.attachedPolicies.map((p) => ({ name: p.resource.name, namespace: p.resource.namespace, version: p.resource.contentHash.slice(0, 12), source: 'attached' as const }));
  return bundle(g.agent.key, {
    policies: [env, team, ...attached],
    decisions: g.tools.map((t) => {
      const level = (t.resource.spec.sideEffects as { level?: string } | undefined)?.level ?? '';
      const capability = { kind: 'Tool', name: t.resource.name, namespace: t.resource.namespace };
      return APPROVAL_CLASSES.has(level)
        ? { capability, outcome: 'require-approval' as const, decidedBy: { policy: team, rule: 'external-actions' }, approval: { approvers: [`team:${g.agent.namespace}-leads`] } }
        : { capability, outcome: 'allow' as const, decidedBy: { baseline: 'default-allow' } };
    }),
    runtimeRules: [
      ...g.mcpServers.map((m) => ({
        policy: env,
        rule: 'untrusted-mcp',
        when: { 'mcpServer.trustScore': '<0.8', 'data.contains': 'pii' },
        outcome: 'deny' as const,
        capabilities: [{ kind: 'MCPServer', name: m.resource.name }],
      })),
      { policy: env, rule: 'run-cost-cap', when: { 'cost.runUsd': '>10' }, outcome: 'deny' as const },
    ],
  });
}
