/**
 * Composition: what several rules and policies said about one capability
 * becomes one decision.
 *
 *   - any deny is a deny;
 *   - else any approval requirement is one (all approvers merged);
 *   - else any modification applies (merged in evaluation order);
 *   - else allow, explicit or by default.
 *
 * The deciding contribution is the first of the strongest outcome in
 * evaluation order (baseline first, then policies in binding order).
 */
import type { ApprovalRequirement, Outcome } from '../model/policy-bundle.js';
import { outcomeRank } from './compile.js';
import type { Capability, CapabilityVerdict, Contribution, DeferredMatch } from './types.js';

export function composeVerdict(capability: Capability, contributions: readonly Contribution[], deferred: readonly DeferredMatch[]): CapabilityVerdict {
  // Most capabilities match no rule at all: allowed by default.
  if (contributions.length === 0) return { capability, outcome: 'allow', decidedBy: undefined, contributions, deferred };
  let decidedBy: Contribution | undefined;
  let outcome: Outcome = 'allow';
  for (const c of contributions) {
    if (!decidedBy || outcomeRank(c.outcome) > outcomeRank(outcome)) {
      decidedBy = c;
      outcome = c.outcome;
    }
  }
  const approval = outcome === 'require-approval' ? mergeApprovals(contributions) : undefined;
  const redactionRules = outcome === 'deny' ? undefined : mergeRedactions(contributions);
  return {
    capability,
    outcome,
    decidedBy,
    contributions,
    deferred,
    ...(approval ? { approval } : {}),
    ...(redactionRules ? { redactionRules } : {}),
  };
}

/** Everyone listed may approve; the shortest timeout and the stricter timeout outcome win. */
export function mergeApprovals(contributions: readonly Contribution[]): ApprovalRequirement | undefined {
  const list = contributions.filter((c) => c.outcome === 'require-approval' && c.approval).map((c) => c.approval as ApprovalRequirement);
  if (!list.length) return undefined;
  const approvers = [...new Set(list.flatMap((a) => a.approvers))];
  const timeouts = list.map((a) => a.timeoutMinutes).filter((t): t is number => t !== undefined);
  const onTimeouts = list.map((a) => a.onTimeout).filter((t) => t !== undefined);
  const channels = [...new Set(list.flatMap((a) => a.channels ?? []))];
  // Keys in sorted order, absent ones undefined: the bundle's JSON is canonical as built.
  return {
    approvers,
    channels: channels.length ? channels : undefined,
    onTimeout: onTimeouts.length ? (onTimeouts.includes('deny') ? 'deny' : 'allow') : undefined,
    timeoutMinutes: timeouts.length ? Math.min(...timeouts) : undefined,
  };
}

function mergeRedactions(contributions: readonly Contribution[]): readonly string[] | undefined {
  const rules = [...new Set(contributions.flatMap((c) => c.redactionRules ?? []))];
  return rules.length ? rules : undefined;
}
