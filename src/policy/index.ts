/**
 * The policy stage ("govern"): after validation says a repository is
 * well-formed, policy says whether it is allowed. Plain data in (resources,
 * agent graphs, the reference graph), plain data out (findings, one
 * evaluation and one PolicyBundle per agent, the rules deferred to run time).
 * See README.md in this folder for the rules of the game.
 */
import { errorMessage, finding, type SourcePointer } from '../diagnostics/index.js';
import type { PolicyBundle } from '../model/policy-bundle.js';
import { baselineRef } from './baseline.js';
import { makeBundle } from './bundle.js';
import { NO_FACTS } from './surface.js';
import { createPolicyEngine, type PolicyInput } from './engine.js';
import type { AgentEvaluation, PolicyResult } from './types.js';

export { createPolicyEngine, type PolicyEngine, type PolicyInput, type PreparedAgent } from './engine.js';
export { BASELINE_RULES, RISKY_SIDE_EFFECTS, type BaselineRule } from './baseline.js';
export { CONDITION_KEYS, LABEL_PREFIXES, SIDE_EFFECT_LEVELS, SENSITIVITY_LEVELS, type ConditionKey } from './keys.js';
export { PRODUCTION_NAMES } from './fleet.js';
export { canonical } from './bundle.js';
export { explainAgent, renderExplanation, type Explanation, type ExplainFormat, type Locate } from './explain.js';
// Policy tests (testing.ts, in zod) are imported from their module by `joch policy test`, so the policy stage loads no zod.
export type { PolicyTest, PolicyTestCase, CaseResult } from './testing.js';
export type * from './types.js';

/**
 * Runs the stage. Evaluation that cannot complete is itself a denial: one
 * error, and a bundle for every agent that denies it, so nothing downstream
 * mistakes a crash for an allow.
 */
export function evaluatePolicy(input: PolicyInput): PolicyResult {
  try {
    return createPolicyEngine(input).evaluate();
  } catch (e) {
    return failedClosed(input, errorMessage(e));
  }
}

function failedClosed(input: PolicyInput, why: string): PolicyResult {
  const ref = baselineRef('failed');
  const agents: AgentEvaluation[] = input.graphs.map((g) => {
    const via: SourcePointer = { file: g.agent.file, doc: g.agent.doc, path: ['metadata', 'name'] };
    const self = { key: 'self', ref: { kind: 'Agent', name: g.agent.name, namespace: g.agent.namespace }, class: 'agent' as const, via, facts: NO_FACTS };
    const contribution = { outcome: 'deny' as const, policy: ref, rule: 'JOCH800', reason: why };
    const verdict = { capability: self, outcome: 'deny' as const, decidedBy: contribution, contributions: [contribution], deferred: [] };
    return { agent: g.agent, production: [], policies: [], verdicts: [verdict], runtimeRules: [], findings: [], budgets: [], bundle: makeBundle(g.agent.key, [ref], [verdict], []) };
  });
  const first = input.graphs[0]?.agent;
  const at = first ? { file: first.file, doc: first.doc, path: ['metadata', 'name'] } : { file: '.', line: 1, column: 1 };
  const bundles: PolicyBundle[] = agents.map((a) => a.bundle);
  return {
    findings: [finding('JOCH800', `policy evaluation failed, so every agent is denied (fail closed): ${why}`, at)],
    agents,
    bundles,
    deferred: [],
    stats: { policies: 0, rules: 0, agents: agents.length, decisions: agents.length, runtimeRules: 0 },
  };
}
