/**
 * The engine: Policies compiled once and indexed by the namespaces they
 * select in, then, per agent, the policies bound to it (baseline,
 * Environment, Team, attached, selector, in that order) and one decision per
 * capability. Decisions over facts are cheap; everything per agent that does
 * not depend on the capability (binding, the agent's own conditions) is done
 * once in `prepare`.
 */
import { finding, type Finding, type ResourceRef, type SourcePointer } from '../diagnostics/index.js';
import type { AgentGraph, ReferenceEdge } from '../model/graph.js';
import type { PolicyRef } from '../model/policy-bundle.js';
import type { Resource } from '../model/resource.js';
import {
  agentBaseline,
  applicableBudgets,
  baselineRef,
  deploymentBaseline,
  mcpBaseline,
  memoryBaseline,
  toolBaseline,
  unresolvedBaseline,
} from './baseline.js';
import { modelScoping, namespaceScoping, secretScoping } from './scoping.js';
import { bindBudgets } from './budgets.js';
import { makeBundle, toRuntimeRules } from './bundle.js';
import { compilePolicy, type CompiledPolicy, type CompiledRule, type PolicyDefect } from './compile.js';
import { composeVerdict } from './compose.js';
import { ABSENT_BIT, FALSE, RUNTIME, RUNTIME_BIT, TRUE } from './conditions.js';
import { buildFleetIndex, productionReason, push, type FleetIndex } from './fleet.js';
import { buildSurface, NO_FACTS, type AgentSurface } from './surface.js';
import type {
  AgentEvaluation,
  AgentFinding,
  BoundPolicy,
  Capability,
  CapabilityVerdict,
  Contribution,
  DeferredMatch,
  DeferredRule,
  Facts,
  PolicyOptions,
  PolicyResult,
  Subject,
} from './types.js';

export interface PolicyInput {
  readonly resources: readonly Resource[];
  readonly graphs: readonly AgentGraph[];
  /** The resolved reference graph, unresolved references included. */
  readonly references: readonly ReferenceEdge[];
  readonly options?: PolicyOptions | undefined;
  /**
   * The production agents of the whole fleet, when `graphs` holds only some
   * agents (an incremental run): handoffs to other agents are judged by it.
   */
  readonly production?: ReadonlySet<string> | undefined;
}

interface Binding extends BoundPolicy {
  readonly policy: CompiledPolicy;
  /** The agent's own conditions of each rule, by rule index, evaluated once. */
  readonly agentMasks: readonly number[];
}

export interface PreparedAgent {
  readonly surface: AgentSurface;
  readonly bindings: readonly Binding[];
  /** Policy references of the agent's Environments and Teams that did not resolve. */
  readonly bindingHoles: readonly Capability[];
}

export interface PolicyEngine {
  readonly policies: readonly CompiledPolicy[];
  readonly baseline: PolicyRef;
  prepare(graph: AgentGraph): PreparedAgent;
  /** One decision: the bound policies and the baseline over one capability. */
  decide(agent: PreparedAgent, capability: Capability): CapabilityVerdict;
  /** The whole stage over every agent of the input. */
  evaluate(): PolicyResult;
}

export function createPolicyEngine(input: PolicyInput): PolicyEngine {
  const options = input.options ?? {};
  const fleet = buildFleetIndex(input.resources, input.references, options);
  const policies = input.resources.filter((r) => r.kind === 'Policy').map(compilePolicy);
  const byKey = new Map(policies.map((p) => [p.key, p]));
  const selecting = indexBySelectedNamespace(policies);
  const baseline = baselineRef(JSON.stringify([...fleet.productionNames].sort()));
  const production = input.production ?? productionByAgent(input.graphs, fleet);
  const isProduction = (key: string) => production.has(key);

  function prepare(graph: AgentGraph): PreparedAgent {
    const surface = buildSurface(graph, fleet, isProduction);
    const bindings: Binding[] = [];
    const bindingHoles: Capability[] = [];
    const seen = new Set<string>();
    const bind = (key: string, source: PolicyRef['source'], via: SourcePointer) => {
      const policy = byKey.get(key);
      if (!policy || seen.has(key)) return;
      seen.add(key);
      const ref: PolicyRef = { name: policy.name, namespace: policy.namespace, source, version: policy.version };
      bindings.push({ ref, key, at: policy.at, via, policy, agentMasks: agentMasks(policy, surface.self.facts) });
    };
    const bindFrom = (binder: Resource, source: 'environment' | 'team') => {
      for (const e of fleet.policyBindings.get(binder.key) ?? []) {
        const via = { file: binder.file, doc: binder.doc, path: e.path };
        if (e.to) bind(e.to, source, via);
        else bindingHoles.push({ key: `unresolved:${binder.key}:${e.path.join('.')}`, ref: { kind: 'Policy', name: e.written }, class: 'unresolved', via, facts: NO_FACTS });
      }
    };
    for (const d of surface.deployments) if (d.environment) bindFrom(d.environment, 'environment');
    for (const t of surface.teams) bindFrom(t, 'team');
    for (const p of graph.attachedPolicies) bind(p.resource.key, 'attached', p.via);
    for (const p of selecting.get(graph.agent.namespace ?? '') ?? []) {
      if (p.selection.kind === 'broken' || (p.selection.kind === 'selector' && p.selection.match(graph.agent.labels))) {
        bind(p.key, 'selector', { file: p.resource.file, doc: p.resource.doc, path: ['spec', 'appliesTo'] });
      }
    }
    return { surface, bindings, bindingHoles };
  }

  function decide(agent: PreparedAgent, cap: Capability): CapabilityVerdict {
    const contributions: Contribution[] = [];
    const deferred: DeferredMatch[] = [];
    for (const b of agent.bindings) evaluateBinding(b, cap, agent.surface, contributions, deferred);
    return composeVerdict(cap, [...baselineFor(agent.surface, cap, contributions), ...contributions], deferred);
  }

  function baselineFor(surface: AgentSurface, cap: Capability, contributions: readonly Contribution[]): Contribution[] {
    switch (cap.class) {
      case 'tool':
        return [...toolBaseline(cap, surface, baseline, contributions), ...namespaceScoping(cap, surface, baseline), ...secretScoping(cap, surface, fleet, baseline)];
      case 'mcpServer':
        return [...mcpBaseline(cap, surface, baseline), ...secretScoping(cap, surface, fleet, baseline)];
      case 'model':
        return [...modelScoping(cap, surface, baseline), ...secretScoping(cap, surface, fleet, baseline)];
      case 'memory':
        return memoryBaseline(cap, surface, baseline);
      case 'agent':
        return agentBaseline(surface, fleet, baseline);
      default:
        return [];
    }
  }

  function evaluate(): PolicyResult {
    const run = new Run(baseline);
    const agents = input.graphs.map((g) => run.agent(prepare(g), decide, fleet));
    return { ...run.finish(agents, policies), production: [...production].sort() };
  }

  return { policies, baseline, prepare, decide, evaluate };
}

/** Selector-bound policies by each namespace they select in. */
function indexBySelectedNamespace(policies: readonly CompiledPolicy[]): Map<string, CompiledPolicy[]> {
  const out = new Map<string, CompiledPolicy[]>();
  for (const p of [...policies].sort((a, b) => (a.key < b.key ? -1 : 1))) {
    if (p.selection.kind === 'none') continue;
    for (const ns of p.selection.namespaces) push(out, ns, p);
  }
  return out;
}

function productionByAgent(graphs: readonly AgentGraph[], fleet: FleetIndex): Set<string> {
  const out = new Set<string>();
  for (const g of graphs) {
    // An unresolved Environment counts as production, as it does for the agent itself.
    if (g.deployments.some((d) => !d.environment || productionReason(d.environment, fleet.productionNames))) out.add(g.agent.key);
  }
  return out;
}

function agentMasks(policy: CompiledPolicy, facts: Facts): number[] {
  return policy.rules.map((r) => conjunction(r.agentConditions, facts, TRUE));
}

/** Conjunction of condition tests: 0 as soon as one is false, else the OR of their bits. */
function conjunction(conditions: readonly { readonly test: (f: Facts) => number }[], facts: Facts, start: number): number {
  let mask = start;
  for (const c of conditions) {
    const t = c.test(facts);
    if (t === FALSE) return FALSE;
    mask |= t;
  }
  return mask;
}

function rulesFor(policy: CompiledPolicy, cap: Capability): readonly CompiledRule[] | undefined {
  return cap.class === 'agent' ? policy.agentRules : policy.bySubject.get(cap.class as Subject);
}

/**
 * One policy over one capability, rules in declared order: a matching deny
 * or allow ends the policy's say; approvals and modifications accumulate.
 * A rule whose open conditions only the runtime can settle is deferred.
 */
function evaluateBinding(b: Binding, cap: Capability, surface: AgentSurface, contributions: Contribution[], deferred: DeferredMatch[]): void {
  const rules = rulesFor(b.policy, cap);
  if (!rules) return;
  for (const rule of rules) {
    const agentMask = b.agentMasks[rule.index] ?? FALSE;
    if (agentMask === FALSE) continue;
    const mask = conjunction(rule.subjectConditions, cap.facts, agentMask | (rule.requestConditions.length ? RUNTIME : TRUE));
    if (mask === FALSE) continue;
    // What a capability does not declare matches rules that restrict and never rules that allow.
    if (mask & ABSENT_BIT && !rule.restrictive) continue;
    if (mask & RUNTIME_BIT) {
      deferred.push(deferredMatch(b, rule, cap));
      continue;
    }
    contributions.push(ruleContribution(b, rule, cap, surface, mask));
    if (rule.effect.stops) return;
  }
}

function ruleContribution(b: Binding, rule: CompiledRule, cap: Capability, surface: AgentSurface, mask: number): Contribution {
  const e = rule.effect;
  const assumed = mask & ABSENT_BIT ? absentKeys(rule, cap, surface.self.facts) : undefined;
  return {
    outcome: e.outcome,
    policy: b.ref,
    rule: rule.id,
    at: rule.at,
    ...(e.reason ? { reason: e.reason } : {}),
    ...(e.approval ? { approval: e.approval } : {}),
    ...(e.modify ? { modify: e.modify } : {}),
    ...(e.redactionRules ? { redactionRules: e.redactionRules } : {}),
    ...(assumed?.length ? { assumed } : {}),
    ...(e.outcome === 'deny' ? { finding: denialFinding(b, rule, cap, surface, assumed) } : {}),
  };
}

function denialFinding(b: Binding, rule: CompiledRule, cap: Capability, surface: AgentSurface, assumed: readonly string[] | undefined) {
  const what = cap.class === 'agent' ? 'the agent' : `${describeRef(cap.ref)}${cap.role ? ` (${cap.role})` : ''}`;
  const because = rule.effect.reason ? `: ${rule.effect.reason}` : '';
  const note = assumed?.length ? `; ${assumed.join(', ')} not declared, taken as matching (fail closed)` : '';
  return {
    code: 'JOCH811',
    message: `Policy ${b.ref.namespace ?? ''}/${b.ref.name} rule "${rule.id}" denies ${what} to agent ${agentName(surface.agent)}${because}${note}`,
    related: [{ at: rule.at, message: `rule "${rule.id}" of Policy ${b.ref.namespace ?? ''}/${b.ref.name}` }],
  };
}

function absentKeys(rule: CompiledRule, cap: Capability, agentFacts: Facts): string[] {
  const out: string[] = [];
  for (const c of rule.agentConditions) if (c.test(agentFacts) & ABSENT_BIT) out.push(c.key);
  for (const c of rule.subjectConditions) if (c.test(cap.facts) & ABSENT_BIT) out.push(c.key);
  return out;
}

function deferredMatch(b: Binding, rule: CompiledRule, cap: Capability): DeferredMatch {
  const when: Record<string, string | number | boolean> = {};
  const open: string[] = [];
  for (const c of rule.conditions) {
    when[c.key] = c.written;
    if (c.scope === 'request' || (c.scope !== 'agent' && c.test(cap.facts) & RUNTIME_BIT)) open.push(c.key);
  }
  const e = rule.effect;
  return {
    policy: b.ref,
    rule: rule.id,
    at: rule.whenAt,
    when,
    open,
    outcome: e.outcome,
    ...(e.reason ? { reason: e.reason } : {}),
    ...(e.approval ? { approval: e.approval } : {}),
    ...(e.modify ? { modify: e.modify } : {}),
    ...(e.redactionRules ? { redactionRules: e.redactionRules } : {}),
  };
}

function describeRef(ref: { kind: string; name: string; namespace?: string | undefined }): string {
  return ref.namespace ? `${ref.kind} ${ref.namespace}/${ref.name}` : `${ref.kind} ${ref.name}`;
}

function agentName(r: Resource): string {
  return `${r.namespace ?? ''}/${r.name}`;
}

function resourceRef(r: Resource): ResourceRef {
  return r.namespace === undefined ? { kind: r.kind, name: r.name } : { kind: r.kind, namespace: r.namespace, name: r.name };
}

/** State across agents: findings shared by several agents are reported once. */
class Run {
  private readonly perAgent = new Map<string, AgentFinding[]>();
  /** Unresolved references outside the agent (a route, a tool, an Environment) by place. */
  private readonly sharedHoles = new Map<string, { cap: Capability; agents: string[] }>();
  private readonly governed = new Map<string, Set<string>>();
  private readonly deferred = new Map<string, { policy: string; rule: CompiledRule; keys: Set<string>; agents: Set<string> }>();

  constructor(private readonly baseline: PolicyRef) {}

  agent(p: PreparedAgent, decide: (a: PreparedAgent, c: Capability) => CapabilityVerdict, fleet: FleetIndex): AgentEvaluation {
    const { surface } = p;
    const agent = surface.agent;
    const verdicts: CapabilityVerdict[] = [];
    for (const cap of surface.capabilities) verdicts.push(decide(p, cap));
    verdicts.push(decide(p, surface.self));
    for (const link of surface.deployments) verdicts.push(composeVerdict(link.capability, deploymentBaseline(link, surface, fleet, this.baseline), []));
    for (const cap of [...surface.unresolved, ...p.bindingHoles]) verdicts.push(this.hole(cap, agent));
    for (const b of p.bindings) {
      const policyVerdict = this.defects(b);
      if (policyVerdict) verdicts.push(policyVerdict);
      const set = this.governed.get(b.key) ?? new Set<string>();
      set.add(agent.key);
      this.governed.set(b.key, set);
    }
    const findings: AgentFinding[] = [];
    for (const v of verdicts) {
      for (const c of v.contributions) {
        if (!c.finding || this.isShared(v.capability, agent)) continue;
        findings.push({
          agent: agent.key,
          capability: v.capability.key,
          finding: finding(c.finding.code, c.finding.message, c.finding.at ?? v.capability.via, {
            resource: resourceRef(agent),
            hint: c.finding.hint,
            related: c.finding.related,
          }),
        });
      }
    }
    this.perAgent.set(agent.key, findings);
    // Runtime rules in evaluation order: policies as bound, rules as declared.
    const bindingIndex = new Map(p.bindings.map((b, i) => [b.ref, i]));
    const order = (m: DeferredMatch) => (bindingIndex.get(m.policy) ?? 0) * 1e6 + Number(m.at.path[2] ?? 0);
    const deferredWithCaps = verdicts
      .flatMap((v) => v.deferred.map((match) => ({ match, capability: v.capability.class === 'agent' ? undefined : v.capability.ref })))
      .sort((a, b) => order(a.match) - order(b.match));
    for (const v of verdicts) for (const m of v.deferred) this.noteDeferred(p, m, agent);
    const runtimeRules = toRuntimeRules(deferredWithCaps);
    const policies = [this.baseline, ...p.bindings.map((b) => b.ref)];
    const budgets = bindBudgets(surface, fleet, applicableBudgets(surface, fleet));
    return {
      agent,
      production: surface.production,
      policies: [{ ref: this.baseline, key: 'joch-baseline', at: surface.self.via, via: surface.self.via }, ...p.bindings.map(({ ref, key, at, via }) => ({ ref, key, at, via }))],
      verdicts,
      runtimeRules,
      findings,
      budgets,
      bundle: makeBundle(agent.key, policies, verdicts, runtimeRules, budgets.map((b) => b.budget)),
    };
  }

  /** Holes in the agent's own manifest are its findings; holes elsewhere are reported once for every agent they affect. */
  private isShared(cap: Capability, agent: Resource): boolean {
    return cap.class === 'unresolved' && !(cap.via.file === agent.file && cap.via.doc === agent.doc);
  }

  private hole(cap: Capability, agent: Resource): CapabilityVerdict {
    if (this.isShared(cap, agent)) {
      const id = `${cap.via.file}#${cap.via.doc}#${cap.via.path.join('.')}`;
      const entry = this.sharedHoles.get(id) ?? { cap, agents: [] };
      entry.agents.push(agent.key);
      this.sharedHoles.set(id, entry);
    }
    return composeVerdict(cap, [unresolvedBaseline(cap, `agent ${agentName(agent)}`, this.baseline)], []);
  }

  /** A policy with defects denies the agent: one contribution per defect, on the policy as a capability. */
  private defects(b: Binding): CapabilityVerdict | undefined {
    const defects = [...b.policy.policyDefects, ...b.policy.defectiveRules.flatMap((r) => r.defects)];
    if (!defects.length) return undefined;
    const cap: Capability = { key: b.key, ref: { kind: 'Policy', name: b.ref.name, namespace: b.ref.namespace }, class: 'policy', via: b.via, facts: NO_FACTS };
    const contributions: Contribution[] = defects.map((d) => ({
      outcome: 'deny',
      policy: b.ref,
      rule: d.rule ?? '(policy)',
      at: d.at,
      reason: `${d.code}: ${d.message}`,
    }));
    return composeVerdict(cap, contributions, []);
  }

  private noteDeferred(p: PreparedAgent, m: DeferredMatch, agent: Resource): void {
    const b = p.bindings.find((x) => x.ref === m.policy);
    const rule = b?.policy.rules.find((r) => r.id === m.rule);
    if (!b || !rule) return;
    const id = `${b.key}#${rule.index}`;
    const entry = this.deferred.get(id) ?? { policy: `${b.ref.namespace ?? ''}/${b.ref.name}`, rule, keys: new Set<string>(), agents: new Set<string>() };
    for (const k of m.open) entry.keys.add(k);
    entry.agents.add(agent.key);
    this.deferred.set(id, entry);
  }

  finish(agents: AgentEvaluation[], policies: readonly CompiledPolicy[]): PolicyResult {
    const sorted = [...agents].sort((a, b) => (a.agent.key < b.agent.key ? -1 : a.agent.key > b.agent.key ? 1 : 0));
    const extra: Finding[] = [];
    for (const { cap, agents: keys } of this.sharedHoles.values()) {
      const names = keys.map((k) => k.slice('Agent/'.length));
      const f = finding('JOCH710', unresolvedBaseline(cap, listAgents(names), this.baseline).finding?.message ?? '', cap.via, {
        hint: 'fix the reference (see the unresolved-reference error at the same place)',
      });
      extra.push(f);
      for (const k of keys) this.perAgent.get(k)?.push({ agent: k, capability: cap.key, finding: f });
    }
    for (const p of policies) {
      const governed = [...(this.governed.get(p.key) ?? [])].sort();
      for (const d of [...p.policyDefects, ...p.defectiveRules.flatMap((r) => r.defects)]) {
        const f = defectFinding(p, d, governed);
        extra.push(f);
        for (const k of governed) this.perAgent.get(k)?.push({ agent: k, capability: p.key, finding: f });
      }
      for (const dup of p.duplicateNames) {
        extra.push(finding('JOCH806', `rule name "${dup.name}" is used twice in Policy ${p.namespace ?? ''}/${p.name}; decisions and emergency overrides name rules, so names must be unique`, dup.at, { resource: resourceRef(p.resource) }));
      }
    }
    const deferred: DeferredRule[] = [];
    for (const d of this.deferred.values()) {
      const agentsList = [...d.agents].sort();
      const keys = [...d.keys].sort();
      deferred.push({ policy: d.policy, rule: d.rule.id, at: d.rule.whenAt, keys, agents: agentsList });
      extra.push(
        finding(
          'JOCH810',
          `rule "${d.rule.id}" of Policy ${d.policy} is decided at run time (${keys.join(', ')}): it is compiled into the policy bundles of ${listAgents(agentsList.map((k) => k.slice('Agent/'.length)))}`,
          d.rule.whenAt,
        ),
      );
    }
    const shared = new Set(extra);
    const agentFindings = sorted.flatMap((a) => a.findings.filter((f) => !shared.has(f.finding)).map((f) => f.finding));
    const decisions = sorted.reduce((n, a) => n + a.verdicts.length, 0);
    const runtimeRules = sorted.reduce((n, a) => n + a.runtimeRules.length, 0);
    return {
      findings: [...agentFindings, ...extra],
      shared: extra.length,
      agents: sorted,
      bundles: sorted.map((a) => a.bundle),
      deferred: deferred.sort((a, b) => (a.policy + a.rule < b.policy + b.rule ? -1 : 1)),
      stats: { policies: policies.length, rules: policies.reduce((n, p) => n + p.rules.length, 0), agents: sorted.length, decisions, runtimeRules },
    };
  }
}

function listAgents(names: readonly string[]): string {
  if (names.length === 0) return 'no agent';
  const shown = names.slice(0, 5).join(', ');
  const more = names.length > 5 ? ` and ${names.length - 5} more` : '';
  return names.length === 1 ? `agent ${shown}` : `${names.length} agents: ${shown}${more}`;
}

function defectFinding(p: CompiledPolicy, d: PolicyDefect, governed: readonly string[]): Finding {
  const what = d.rule ? `rule "${d.rule}" cannot be evaluated` : 'the policy cannot be evaluated';
  const whom = governed.length
    ? `so it denies ${listAgents(governed.map((k) => k.slice('Agent/'.length)))} (fail closed)`
    : 'so it would deny every agent it governs (fail closed); it governs none now';
  return finding(d.code, `${d.message}; ${what}, ${whom}`, d.at, { resource: resourceRef(p.resource), hint: d.hint });
}
