/**
 * The per-agent PolicyBundle: compile-time decisions, deferred runtime
 * rules, the policies in effect, and a content hash over canonical JSON so
 * the same inputs always give the same bundle, byte for byte.
 */
import { createHash } from 'node:crypto';
import type { BoundBudget, CapabilityDecision, CapabilityRef, PolicyBundle, PolicyRef, RuntimeRule } from '../model/policy-bundle.js';
import type { CapabilityVerdict, DeferredMatch } from './types.js';

/*
 * Every object of a bundle is built with its keys in sorted order (absent
 * fields undefined), so JSON.stringify already gives the canonical JSON: the
 * hash needs no second, sorting serialization. A test holds the two equal.
 */

const DEFAULT_ALLOW = { baseline: 'default-allow' } as const;

/** The bundle's decision for a verdict: who decided, and every rule that contributed. */
export function toDecision(v: CapabilityVerdict): CapabilityDecision {
  const d = v.decidedBy;
  const decidedBy = !d ? DEFAULT_ALLOW : d.policy.source === 'baseline' ? { baseline: d.rule } : { policy: d.policy, rule: d.rule };
  const contributions =
    v.contributions.length > 1
      ? v.contributions.map((c) => ({
          outcome: c.outcome,
          policy: c.policy.source === 'baseline' ? 'joch-baseline' : `${c.policy.namespace ?? ''}/${c.policy.name}`,
          rule: c.rule,
        }))
      : undefined;
  return {
    approval: v.approval,
    capability: v.capability.ref,
    contributions,
    decidedBy,
    outcome: v.outcome,
    reason: d?.reason || undefined,
    redactionRules: v.redactionRules,
  };
}

/**
 * Deferred matches grouped into runtime rules: one per rule and set of
 * conditions, naming the capabilities it is limited to (none for a rule over
 * the whole agent).
 */
export function toRuntimeRules(deferred: readonly { readonly match: DeferredMatch; readonly capability?: CapabilityRef | undefined }[]): RuntimeRule[] {
  const groups = new Map<string, { rule: Omit<RuntimeRule, 'capabilities'>; capabilities: CapabilityRef[] | undefined }>();
  for (const { match, capability } of deferred) {
    const when = sortedKeys(match.when);
    const id = `${match.policy.namespace ?? ''}/${match.policy.name}#${match.rule}#${JSON.stringify(when)}`;
    let g = groups.get(id);
    if (!g) {
      const { policy, rule, outcome, reason, approval, modify, redactionRules } = match;
      g = {
        rule: { approval, modify, outcome, policy, reason: reason || undefined, redactionRules: redactionRules?.length ? redactionRules : undefined, rule, when },
        capabilities: capability ? [] : undefined,
      };
      groups.set(id, g);
    }
    // A match over the whole agent makes the rule unconditional on the capability.
    if (capability && g.capabilities) g.capabilities.push(capability);
    else g.capabilities = undefined;
  }
  return [...groups.values()].map(({ rule, capabilities }) => ({
    approval: rule.approval,
    capabilities,
    modify: rule.modify,
    outcome: rule.outcome,
    policy: rule.policy,
    reason: rule.reason,
    redactionRules: rule.redactionRules,
    rule: rule.rule,
    when: rule.when,
  }));
}

function sortedKeys<V>(o: Readonly<Record<string, V>>): Record<string, V> {
  const out: Record<string, V> = {};
  for (const k of Object.keys(o).sort()) out[k] = o[k] as V;
  return out;
}

export function makeBundle(
  agent: string,
  policies: readonly PolicyRef[],
  verdicts: readonly CapabilityVerdict[],
  runtimeRules: readonly RuntimeRule[],
  budgets: readonly BoundBudget[] = [],
): PolicyBundle {
  const decisions = verdicts.map(toDecision).sort(byCapability);
  // No budgets is no field: the bundles (and hashes) of agents no Budget binds stay as they were.
  const body = { agent, budgets: budgets.length ? budgets : undefined, decisions, policies, runtimeRules };
  return { ...body, hash: createHash('sha256').update(JSON.stringify(body)).digest('hex') };
}

function byCapability(a: CapabilityDecision, b: CapabilityDecision): number {
  const ka = `${a.capability.kind}/${a.capability.namespace ?? ''}/${a.capability.name}`;
  const kb = `${b.capability.kind}/${b.capability.namespace ?? ''}/${b.capability.name}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** JSON with object keys sorted and undefined fields left out: one text per value. */
export function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return value === undefined ? 'null' : JSON.stringify(value);
  // Written with string appends rather than map/join: bundles are hashed once per agent, a thousand at a time.
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i ? ',' : '') + canonical(value[i]);
    return `${out}]`;
  }
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).sort();
  let out = '{';
  let first = true;
  for (const k of keys) {
    const v = obj[k];
    if (v === undefined) continue;
    out += `${first ? '' : ','}${JSON.stringify(k)}:${canonical(v)}`;
    first = false;
  }
  return `${out}}`;
}
