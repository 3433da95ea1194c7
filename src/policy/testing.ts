/**
 * `joch policy test`: table-driven policy tests, as `kyverno test` does it.
 * A test is a folder with a `joch-test.yaml` that names its inputs (files and
 * folders of manifests) and a table of cases: an agent, optionally one of its
 * capabilities, and the expected outcome, deciding rule, deferred rules and
 * finding codes. This module parses the file and checks the cases against a
 * PolicyResult; the CLI runs the pipeline in between.
 */
import { parseDocument } from 'yaml';
import { deepNesting, MAX_NESTING_DEPTH } from '../manifests/index.js';
import { z } from 'zod';
import type { PolicyResult, AgentEvaluation, CapabilityVerdict } from './types.js';
import { errorMessage } from '../diagnostics/index.js';

export const TEST_FILE = 'joch-test.yaml';

const Expectations = {
  outcome: z.enum(['allow', 'deny', 'require-approval', 'modify']).optional(),
  /** `default`, a baseline code such as `JOCH701`, `joch-baseline#<rule>`, or `<namespace>/<policy>#<rule>`. */
  decidedBy: z.string().min(1).optional(),
  /** Runtime rules (`<namespace>/<policy>#<rule>`) the bundle must hold for the agent, or for the capability. */
  deferred: z.array(z.string().min(1)).optional(),
  /** Exactly these finding codes name the agent (or the capability), in any order. */
  findings: z.array(z.string().regex(/^JOCH\d{3}$/, 'must be a diagnostic code such as JOCH701')).optional(),
};

const CaseSchema = z
  .strictObject({
    name: z.string().min(1),
    /** `namespace/name`, or `name` when unique. */
    agent: z.string().min(1),
    /** `Kind/name` or `Kind/namespace/name`; left out, the case is about the agent itself. */
    capability: z.string().regex(/^[A-Za-z]+\/[^/]+(\/[^/]+)?$/, 'must be Kind/name or Kind/namespace/name').optional(),
    ...Expectations,
  })
  .refine((c) => c.outcome !== undefined || c.deferred !== undefined || c.findings !== undefined || c.decidedBy !== undefined, {
    message: 'a case must expect an outcome, a decidedBy, deferred rules or findings',
  });

export const PolicyTestSchema = z.strictObject({
  apiVersion: z.literal('joch.dev/v1alpha1'),
  kind: z.literal('PolicyTest'),
  metadata: z.strictObject({ name: z.string().min(1), description: z.string().optional() }),
  spec: z.strictObject({
    /** Files and folders of manifests, relative to the test file. */
    inputs: z.array(z.string().min(1)).min(1),
    /** joch.yaml to use, relative to the test file; by default the one above the first input. */
    config: z.string().min(1).optional(),
    cases: z.array(CaseSchema).min(1),
  }),
});

export type PolicyTest = z.infer<typeof PolicyTestSchema>;
export type PolicyTestCase = z.infer<typeof CaseSchema>;

export interface CaseResult {
  readonly case: string;
  readonly passed: boolean;
  /** Why it failed, one line each. */
  readonly problems: readonly string[];
}

export function parsePolicyTest(text: string): { test: PolicyTest } | { errors: string[] } {
  const deep = deepNesting(text);
  if (deep) return { errors: [`nests collections more than ${MAX_NESTING_DEPTH} levels deep at line ${deep.line}, column ${deep.column}`] };
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) return { errors: doc.errors.map((e) => e.message.split('\n')[0] ?? '') };
  let value: unknown;
  try {
    value = doc.toJS();
  } catch (e) {
    // toJS throws when aliases expand past its limit.
    return { errors: [errorMessage(e)] };
  }
  const parsed = PolicyTestSchema.safeParse(value);
  if (parsed.success) return { test: parsed.data };
  return { errors: parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`) };
}

export function checkCases(result: PolicyResult, cases: readonly PolicyTestCase[]): CaseResult[] {
  return cases.map((c) => checkCase(result, c));
}

function checkCase(result: PolicyResult, c: PolicyTestCase): CaseResult {
  const problems: string[] = [];
  const agent = findAgent(result, c.agent, problems);
  if (!agent) return { case: c.name, passed: false, problems };
  const verdict = c.capability === undefined ? agent.verdicts.find((v) => v.capability.class === 'agent') : findCapability(agent, c.capability);
  if (!verdict) {
    const held = agent.verdicts.filter((v) => v.capability.class !== 'agent').map((v) => capabilityId(v));
    return { case: c.name, passed: false, problems: [`agent ${c.agent} holds no ${c.capability ?? 'self'}; it holds ${held.join(', ') || 'nothing'}`] };
  }
  if (c.outcome !== undefined && verdict.outcome !== c.outcome) {
    problems.push(`expected ${c.outcome}, got ${verdict.outcome} (decided by ${decidedByOf(verdict)})`);
  }
  if (c.decidedBy !== undefined && !sameDecider(c.decidedBy, verdict)) {
    problems.push(`expected decided by ${c.decidedBy}, got ${decidedByOf(verdict)}`);
  }
  if (c.deferred !== undefined) {
    const held = c.capability === undefined ? agentDeferred(agent) : verdict.deferred.map((d) => `${d.policy.namespace ?? ''}/${d.policy.name}#${d.rule}`);
    const missing = c.deferred.filter((d) => !held.includes(d));
    if (missing.length) problems.push(`expected deferred ${missing.join(', ')}; deferred: ${held.join(', ') || 'nothing'}`);
  }
  if (c.findings !== undefined) {
    const codes = agent.findings.filter((f) => c.capability === undefined || f.capability === verdict.capability.key).map((f) => f.finding.code);
    const got = [...new Set(codes)].sort();
    const want = [...new Set(c.findings)].sort();
    if (got.join(',') !== want.join(',')) problems.push(`expected findings [${want.join(', ')}], got [${got.join(', ')}]`);
  }
  return { case: c.name, passed: problems.length === 0, problems };
}

function findAgent(result: PolicyResult, written: string, problems: string[]): AgentEvaluation | undefined {
  const slash = written.indexOf('/');
  const matches = result.agents.filter((a) => (slash > 0 ? `${a.agent.namespace ?? ''}/${a.agent.name}` === written : a.agent.name === written));
  if (matches.length === 1) return matches[0];
  if (matches.length > 1) problems.push(`agent "${written}" exists in several namespaces; write namespace/name`);
  else problems.push(`no agent "${written}" in the inputs`);
  return undefined;
}

function findCapability(agent: AgentEvaluation, written: string): CapabilityVerdict | undefined {
  const [kind, a, b] = written.split('/');
  const namespace = b === undefined ? undefined : a;
  const name = b ?? a;
  return agent.verdicts.find(
    (v) => v.capability.class !== 'agent' && v.capability.ref.kind === kind && v.capability.ref.name === name && (namespace === undefined || v.capability.ref.namespace === namespace),
  );
}

function capabilityId(v: CapabilityVerdict): string {
  const r = v.capability.ref;
  return `${r.kind}/${r.namespace ? `${r.namespace}/` : ''}${r.name}`;
}

function decidedByOf(v: CapabilityVerdict): string {
  const d = v.decidedBy;
  if (!d) return 'default';
  return d.policy.source === 'baseline' ? `joch-baseline#${d.rule}` : `${d.policy.namespace ?? ''}/${d.policy.name}#${d.rule}`;
}

function sameDecider(expected: string, v: CapabilityVerdict): boolean {
  const actual = decidedByOf(v);
  return expected === actual || (/^JOCH\d{3}$/.test(expected) && actual === `joch-baseline#${expected}`);
}

function agentDeferred(agent: AgentEvaluation): string[] {
  return agent.runtimeRules.map((r) => `${r.policy.namespace ?? ''}/${r.policy.name}#${r.rule}`);
}
