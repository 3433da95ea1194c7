/**
 * What the policies in effect decide about a capability of the agent: read
 * from the policy bundle as data. Only the policy stage evaluates policies;
 * the AgBOM lists the outcome next to the component it concerns.
 */
import type { CapabilityDecision, PolicyBundle, PolicyRef, RuntimeRule } from '../model/policy-bundle.js';
import type { Resource } from '../model/resource.js';

export type ApprovalState = 'required' | 'conditional' | 'none' | 'denied';

export interface ToolApproval {
  readonly state: ApprovalState;
  /** Who requires it: `tool` (the Tool record) or `policy NS/NAME#RULE`. */
  readonly by: readonly string[];
  readonly approvers: readonly string[];
  /** Compile-time decisions about the tool, as `OUTCOME by WHO`. */
  readonly decisions: readonly string[];
}

export function policyName(p: PolicyRef): string {
  return p.namespace ? `${p.namespace}/${p.name}` : p.name;
}

function decider(d: CapabilityDecision): string {
  return 'baseline' in d.decidedBy ? `baseline ${d.decidedBy.baseline}` : `policy ${policyName(d.decidedBy.policy)}#${d.decidedBy.rule}`;
}

export function decisionsFor(bundle: PolicyBundle | undefined, r: Resource): CapabilityDecision[] {
  if (!bundle) return [];
  return bundle.decisions.filter(
    (d) => d.capability.kind === r.kind && d.capability.name === r.name && (d.capability.namespace ?? r.namespace) === r.namespace,
  );
}

/**
 * A runtime rule concerns a capability when its `capabilities` list names it
 * (its static conditions matched it), or when it has no list (it applies to
 * every call). Its outcome depends on run-time data, so at most it makes an
 * approval conditional.
 */
export function ruleConcerns(rule: RuntimeRule, r: Resource): boolean {
  if (!rule.capabilities) return true;
  return rule.capabilities.some((c) => c.kind === r.kind && c.name === r.name && (c.namespace ?? r.namespace) === r.namespace);
}

function describeRule(rule: RuntimeRule): string {
  const when = Object.entries(rule.when)
    .map(([k, v]) => `${k} ${String(v)}`)
    .join(', ');
  return `${rule.outcome} by policy ${policyName(rule.policy)}#${rule.rule} when ${when}`;
}

/**
 * Run-time rules limited to a capability, as facts of that capability; a
 * rule for every call of the agent is a fact of the agent (`agentWide`).
 */
export function runtimeRuleFacts(bundle: PolicyBundle | undefined, r: Resource, agentWide = false): string[] {
  return (bundle?.runtimeRules ?? []).filter((rule) => (agentWide ? !rule.capabilities : rule.capabilities && ruleConcerns(rule, r))).map(describeRule);
}

export function toolApproval(tool: Resource, bundle: PolicyBundle | undefined): ToolApproval {
  const decisions = decisionsFor(bundle, tool);
  const by: string[] = [];
  const approvers: string[] = [];
  let state: ApprovalState = 'none';
  if (tool.spec.sideEffects && (tool.spec.sideEffects as Record<string, unknown>).requiresApproval === true) {
    state = 'required';
    by.push('tool');
  }
  for (const d of decisions) {
    if (d.outcome === 'require-approval') {
      state = 'required';
      by.push(decider(d));
      // Every rule that asked for the approval, not only the one that decided.
      for (const c of d.contributions ?? []) if (c.outcome === 'require-approval') by.push(c.policy === 'joch-baseline' ? `baseline ${c.rule}` : `policy ${c.policy}#${c.rule}`);
      approvers.push(...(d.approval?.approvers ?? []));
    }
  }
  for (const rule of bundle?.runtimeRules ?? []) {
    if (rule.outcome !== 'require-approval' || !ruleConcerns(rule, tool)) continue;
    if (state === 'none') state = 'conditional';
    by.push(`policy ${policyName(rule.policy)}#${rule.rule} (at run time)`);
    approvers.push(...(rule.approval?.approvers ?? []));
  }
  if (decisions.some((d) => d.outcome === 'deny')) state = 'denied';
  return { state, by, approvers, decisions: decisions.map((d) => `${d.outcome} by ${decider(d)}`) };
}

/** Decisions about a capability other than a tool, as facts. */
export function decisionFacts(bundle: PolicyBundle | undefined, r: Resource): string[] {
  return decisionsFor(bundle, r).map((d) => `${d.outcome} by ${decider(d)}`);
}
