/**
 * Runs the validate pipeline (policy included) over the policy fixtures and
 * looks up what the tests assert: diagnostics by code and agent, verdicts by
 * agent and capability, and the line of a text in a fixture file.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Diagnostic } from '../../src/diagnostics/index.js';
import { runValidate, type PipelineCheck, type ValidationRun } from '../../src/pipeline/index.js';
import type { AgentEvaluation, CapabilityVerdict, PolicyResult } from '../../src/policy/index.js';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const FIXTURES = path.join(ROOT, 'test/fixtures/policy');

/** The base platform plus the given fixture files, with paths shown relative to the fixtures folder. */
export async function runFixture(files: readonly string[], checks?: ReadonlySet<PipelineCheck>): Promise<ValidationRun> {
  return runValidate({ paths: ['base', ...files], cwd: FIXTURES, ...(checks ? { checks } : {}) });
}

export function policyOf(run: ValidationRun): PolicyResult {
  if (!run.policy) throw new Error('the policy stage did not run');
  return run.policy;
}

/** The 1-based line of the `nth` line of a fixture that contains `needle`. */
export function lineOf(file: string, needle: string, nth = 1): number {
  const lines = readFileSync(path.join(FIXTURES, file), 'utf8').split('\n');
  let seen = 0;
  for (let i = 0; i < lines.length; i++) {
    if ((lines[i] as string).includes(needle) && ++seen === nth) return i + 1;
  }
  throw new Error(`"${needle}" (#${nth}) is not in ${file}`);
}

/** `CODE file:line agent`, the way the tests compare policy diagnostics. */
export function where(d: Diagnostic): string {
  const agent = d.resource?.kind === 'Agent' ? ` ${d.resource.namespace ?? ''}/${d.resource.name}` : '';
  return `${d.code} ${d.file}:${d.line}${agent}`;
}

/** Policy-stage diagnostics (JOCH7xx and JOCH8xx) as `CODE file:line agent`, sorted. */
export function policyDiagnostics(run: ValidationRun, codes?: readonly string[]): string[] {
  return run.diagnostics
    .filter((d) => /^JOCH[78]\d\d$/.test(d.code) && (!codes || codes.includes(d.code)))
    .map(where)
    .sort();
}

export function diagnostic(run: ValidationRun, code: string, line: number): Diagnostic {
  const hits = run.diagnostics.filter((d) => d.code === code && d.line === line);
  if (hits.length !== 1) throw new Error(`expected one ${code} at line ${line}, got ${hits.length}: ${run.diagnostics.map(where).join('; ')}`);
  return hits[0] as Diagnostic;
}

export function agentOf(result: PolicyResult, key: string): AgentEvaluation {
  const [ns, name] = key.split('/');
  const hit = result.agents.find((a) => a.agent.namespace === ns && a.agent.name === name);
  if (!hit) throw new Error(`no agent ${key}`);
  return hit;
}

/** The verdict on `Kind/name` for an agent `namespace/name`; `self` for the agent itself. */
export function verdictOf(result: PolicyResult, agent: string, capability: string): CapabilityVerdict {
  const a = agentOf(result, agent);
  const hit =
    capability === 'self'
      ? a.verdicts.find((v) => v.capability.class === 'agent')
      : a.verdicts.find((v) => `${v.capability.ref.kind}/${v.capability.ref.name}` === capability && v.capability.class !== 'agent');
  if (!hit) throw new Error(`agent ${agent} holds no ${capability}: ${a.verdicts.map((v) => `${v.capability.ref.kind}/${v.capability.ref.name}`).join(', ')}`);
  return hit;
}

/** `namespace/policy#rule`, `joch-baseline#rule` or `default`. */
export function decider(v: CapabilityVerdict): string {
  const d = v.decidedBy;
  if (!d) return 'default';
  return d.policy.source === 'baseline' ? `joch-baseline#${d.rule}` : `${d.policy.namespace ?? ''}/${d.policy.name}#${d.rule}`;
}

export function contributions(v: CapabilityVerdict): string[] {
  return v.contributions.map((c) => `${c.policy.source === 'baseline' ? 'joch-baseline' : `${c.policy.namespace ?? ''}/${c.policy.name}`}#${c.rule}=${c.outcome}`);
}
