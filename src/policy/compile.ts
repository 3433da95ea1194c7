/**
 * Policy resources compiled once: the selection (namespaces and label
 * selector) into a predicate, each rule's `when` into condition tests
 * grouped by what they read, and its action and requirement into an effect.
 * Anything that cannot be compiled becomes a defect; the engine turns a
 * defect into a denial of every agent the policy governs (fail closed).
 */
import type { PathSegment, SourcePointer } from '../diagnostics/index.js';
import type { ApprovalRequirement, Outcome } from '../model/policy-bundle.js';
import type { Resource } from '../model/resource.js';
import { compileCondition, isConditionError, type Condition } from './conditions.js';
import { compileSelector, isSelectorError, type LabelMatcher } from './selector.js';
import type { Subject } from './types.js';

export interface RuleEffect {
  /** The strongest outcome of the rule: deny > require-approval > modify > allow. */
  readonly outcome: Outcome;
  /** A matching deny or allow ends the policy's evaluation for the capability. */
  readonly stops: boolean;
  readonly reason?: string | undefined;
  readonly approval?: ApprovalRequirement | undefined;
  readonly modify?: string | undefined;
  readonly redactionRules?: readonly string[] | undefined;
}

export interface PolicyDefect {
  readonly code: 'JOCH801' | 'JOCH802' | 'JOCH803' | 'JOCH804' | 'JOCH805';
  readonly message: string;
  readonly hint?: string | undefined;
  readonly at: SourcePointer;
  /** The rule it is in, when it is in one. */
  readonly rule?: string | undefined;
}

export interface CompiledRule {
  readonly index: number;
  /** The rule's name, or `rules[i]` when it has none. */
  readonly id: string;
  readonly at: SourcePointer;
  readonly whenAt: SourcePointer;
  /** The capability subject its conditions read; undefined for rules over the agent or the request only. */
  readonly subject: Subject | undefined;
  /** Every condition, in written order. */
  readonly conditions: readonly Condition[];
  readonly agentConditions: readonly Condition[];
  readonly subjectConditions: readonly Condition[];
  readonly requestConditions: readonly Condition[];
  readonly effect: RuleEffect;
  /** Deny, approval or modify: a missing attribute counts as matching. */
  readonly restrictive: boolean;
  readonly defects: readonly PolicyDefect[];
}

export type Selection =
  /** No appliesTo: governs only agents that name it or are bound to it. */
  | { readonly kind: 'none' }
  | { readonly kind: 'selector'; readonly namespaces: readonly string[]; readonly match: LabelMatcher }
  /** The selection cannot be parsed: it governs every agent it could have meant. */
  | { readonly kind: 'broken'; readonly namespaces: readonly string[] };

export interface CompiledPolicy {
  readonly key: string;
  readonly resource: Resource;
  readonly name: string;
  readonly namespace: string | undefined;
  /** Short content hash: changes whenever the policy does. */
  readonly version: string;
  readonly at: SourcePointer;
  readonly selection: Selection;
  readonly rules: readonly CompiledRule[];
  /** Sound rules by the subject they read, in declared order. */
  readonly bySubject: ReadonlyMap<Subject, readonly CompiledRule[]>;
  /** Sound rules over the agent's context or the request only, in declared order. */
  readonly agentRules: readonly CompiledRule[];
  /** Rules that cannot be evaluated. */
  readonly defectiveRules: readonly CompiledRule[];
  /** Defects outside any rule (selection, the rule list itself). */
  readonly policyDefects: readonly PolicyDefect[];
  /** Duplicate rule names: reported, not fatal. */
  readonly duplicateNames: readonly { readonly name: string; readonly at: SourcePointer }[];
}

export function compilePolicy(resource: Resource): CompiledPolicy {
  const here = (path: readonly PathSegment[], part?: 'key'): SourcePointer => ({
    file: resource.file,
    doc: resource.doc,
    path,
    ...(part ? { part } : {}),
  });
  const policyDefects: PolicyDefect[] = [];
  const selection = compileSelection(resource, here, policyDefects);
  const rules: CompiledRule[] = [];
  const rawRules = resource.spec.rules;
  if (!Array.isArray(rawRules) || rawRules.length === 0) {
    policyDefects.push({ code: 'JOCH805', message: 'spec.rules must be a non-empty list of rules', at: here(['spec', 'rules']) });
  } else {
    rawRules.forEach((raw, i) => rules.push(compileRule(raw, i, here)));
  }
  const bySubject = new Map<Subject, CompiledRule[]>();
  const agentRules: CompiledRule[] = [];
  for (const r of rules) {
    if (r.defects.length) continue;
    if (r.subject) {
      const list = bySubject.get(r.subject);
      if (list) list.push(r);
      else bySubject.set(r.subject, [r]);
    } else {
      agentRules.push(r);
    }
  }
  return {
    key: resource.key,
    resource,
    name: resource.name,
    namespace: resource.namespace,
    version: resource.contentHash.slice(0, 12),
    at: here(['metadata', 'name']),
    selection,
    rules,
    bySubject,
    agentRules,
    defectiveRules: rules.filter((r) => r.defects.length > 0),
    policyDefects,
    duplicateNames: duplicateNames(rawRules, here),
  };
}

type Here = (path: readonly PathSegment[], part?: 'key') => SourcePointer;

function compileSelection(resource: Resource, here: Here, defects: PolicyDefect[]): Selection {
  const appliesTo = resource.spec.appliesTo;
  const own = resource.namespace ?? '';
  if (appliesTo === undefined) return { kind: 'none' };
  const broken = (message: string, path: PathSegment[], namespaces: readonly string[] = [own]): Selection => {
    defects.push({ code: 'JOCH803', message, at: here(path) });
    return { kind: 'broken', namespaces };
  };
  if (!isRecord(appliesTo)) return broken('appliesTo must be a mapping with agents and/or namespaces', ['spec', 'appliesTo']);
  const extra = Object.keys(appliesTo).find((k) => k !== 'agents' && k !== 'namespaces');
  if (extra) return broken(`unknown appliesTo field "${extra}"`, ['spec', 'appliesTo', extra]);

  const rawNs = appliesTo.namespaces;
  let namespaces: string[] = [own];
  if (rawNs !== undefined) {
    const strings = Array.isArray(rawNs) ? rawNs.filter((n): n is string => typeof n === 'string' && n !== '') : [];
    if (!Array.isArray(rawNs) || strings.length !== rawNs.length || strings.length === 0) {
      const meant = typeof rawNs === 'string' ? [own, rawNs] : [own, ...strings];
      return broken('appliesTo.namespaces must be a non-empty list of namespace names', ['spec', 'appliesTo', 'namespaces'], unique(meant));
    }
    namespaces = unique(strings);
  }
  const agents = appliesTo.agents;
  if (agents !== undefined && !isRecord(agents)) return broken('appliesTo.agents must be a mapping with a selector', ['spec', 'appliesTo', 'agents'], namespaces);
  const extraAgents = agents ? Object.keys(agents).find((k) => k !== 'selector') : undefined;
  if (extraAgents) return broken(`unknown appliesTo.agents field "${extraAgents}"`, ['spec', 'appliesTo', 'agents', extraAgents], namespaces);
  const match = compileSelector(agents?.selector, here(['spec', 'appliesTo', 'agents', 'selector']));
  if (isSelectorError(match)) {
    defects.push({ code: 'JOCH803', message: `the agent selector cannot be parsed: ${match.message}`, at: match.at });
    return { kind: 'broken', namespaces };
  }
  return { kind: 'selector', namespaces, match };
}

function compileRule(raw: unknown, index: number, here: Here): CompiledRule {
  const at = here(['spec', 'rules', index]);
  const whenAt = here(['spec', 'rules', index, 'when']);
  const name = isRecord(raw) && typeof raw.name === 'string' && raw.name !== '' ? raw.name : undefined;
  const id = name ?? `rules[${index}]`;
  const defects: PolicyDefect[] = [];
  const defect = (code: PolicyDefect['code'], message: string, where: SourcePointer, hint?: string) =>
    defects.push({ code, message, at: where, rule: id, ...(hint ? { hint } : {}) });

  const conditions: Condition[] = [];
  const agentConditions: Condition[] = [];
  const subjectConditions: Condition[] = [];
  const requestConditions: Condition[] = [];
  let effect: RuleEffect = { outcome: 'deny', stops: true };
  if (!isRecord(raw)) {
    defect('JOCH805', 'a rule must be a mapping with when and an action or a requirement', at);
  } else {
    const when = raw.when;
    if (!isRecord(when) || Object.keys(when).length === 0) {
      defect('JOCH805', 'the rule needs a `when` mapping with at least one condition', isRecord(when) ? whenAt : at);
    } else {
      for (const [k, v] of Object.entries(when)) {
        const c = compileCondition(k, v, here(['spec', 'rules', index, 'when', k]));
        if (isConditionError(c)) {
          defect(c.code, c.message, c.at, c.hint);
          continue;
        }
        conditions.push(c);
        if (c.scope === 'agent') agentConditions.push(c);
        else if (c.scope === 'request') requestConditions.push(c);
        else subjectConditions.push(c);
      }
    }
    const subjects = unique(subjectConditions.map((c) => c.scope));
    if (subjects.length > 1) {
      defect(
        'JOCH804',
        `the conditions read ${subjects.join(' and ')} attributes; a rule decides about one kind of capability`,
        whenAt,
        'split it into one rule per capability kind',
      );
    }
    const parsed = parseEffect(raw, index, here);
    if ('message' in parsed) defect('JOCH805', parsed.message, parsed.at);
    else effect = parsed;
  }
  const subject = subjectConditions[0]?.scope as Subject | undefined;
  return {
    index,
    id,
    at,
    whenAt,
    subject,
    conditions,
    agentConditions,
    subjectConditions,
    requestConditions,
    effect,
    restrictive: effect.outcome !== 'allow',
    defects,
  };
}

const RANK: Record<Outcome, number> = { allow: 0, modify: 1, 'require-approval': 2, deny: 3 };

export function strongest(a: Outcome, b: Outcome): Outcome {
  return RANK[a] >= RANK[b] ? a : b;
}

export function outcomeRank(o: Outcome): number {
  return RANK[o];
}

interface EffectError {
  readonly message: string;
  readonly at: SourcePointer;
}

function parseEffect(rule: Record<string, unknown>, index: number, here: Here): RuleEffect | EffectError {
  const actionAt = here(['spec', 'rules', index, 'action']);
  const requireAt = here(['spec', 'rules', index, 'require']);
  let approval: ApprovalRequirement | undefined;
  if (rule.require !== undefined) {
    const a = parseRequire(rule.require, requireAt);
    if ('message' in a) return a;
    approval = a;
  }
  const action = rule.action;
  if (action === undefined) {
    if (!approval) return { message: 'the rule has neither an action nor a requirement', at: here(['spec', 'rules', index]) };
    return { outcome: 'require-approval', stops: false, approval };
  }
  if (action === 'deny') return { outcome: 'deny', stops: true };
  if (action === 'allow') return approval ? { outcome: 'require-approval', stops: true, approval } : { outcome: 'allow', stops: true };
  if (!isRecord(action)) return { message: `action must be allow, deny or a mapping, got ${JSON.stringify(action)}`, at: actionAt };
  const known = ['allow', 'deny', 'redact', 'redactionRules', 'modify', 'reason'];
  const extra = Object.keys(action).find((k) => !known.includes(k));
  if (extra) return { message: `unknown action field "${extra}"`, at: { ...actionAt, path: [...actionAt.path, extra], part: 'key' } };
  const reason = typeof action.reason === 'string' ? action.reason : undefined;
  const rules = action.redactionRules;
  if (rules !== undefined && (!Array.isArray(rules) || rules.some((r) => typeof r !== 'string'))) {
    return { message: 'redactionRules must be a list of rule names', at: { ...actionAt, path: [...actionAt.path, 'redactionRules'] } };
  }
  const redactionRules = (rules ?? []) as string[];
  const modify = typeof action.modify === 'string' ? action.modify : action.redact === true || redactionRules.length ? 'redact' : undefined;
  if (action.deny === true && action.allow === true) return { message: 'the action both allows and denies', at: actionAt };
  if (action.deny === true) return { outcome: 'deny', stops: true, reason };
  const base = {
    ...(reason ? { reason } : {}),
    ...(modify ? { modify } : {}),
    ...(redactionRules.length ? { redactionRules } : {}),
    ...(approval ? { approval } : {}),
  };
  const stops = action.allow === true;
  if (approval) return { outcome: 'require-approval', stops, ...base };
  if (modify) return { outcome: 'modify', stops, ...base };
  if (stops) return { outcome: 'allow', stops, ...base };
  return { message: 'the action neither allows, denies, redacts nor modifies', at: actionAt };
}

function parseRequire(raw: unknown, at: SourcePointer): ApprovalRequirement | EffectError {
  const sub = (k: string) => ({ ...at, path: [...at.path, k] });
  if (!isRecord(raw)) return { message: 'require must be a mapping', at };
  if (raw.approval !== 'human') return { message: `require.approval must be "human", got ${JSON.stringify(raw.approval)}`, at: sub('approval') };
  const routing = raw.approvalRouting;
  if (routing !== undefined && !isRecord(routing)) return { message: 'approvalRouting must be a mapping', at: sub('approvalRouting') };
  const approvers = routing?.approvers;
  if (approvers !== undefined && (!Array.isArray(approvers) || approvers.some((a) => typeof a !== 'string'))) {
    return { message: 'approvalRouting.approvers must be a list', at: sub('approvalRouting') };
  }
  const timeout = routing?.timeoutMinutes;
  if (timeout !== undefined && (typeof timeout !== 'number' || !Number.isInteger(timeout) || timeout < 1)) {
    return { message: 'approvalRouting.timeoutMinutes must be a positive whole number', at: sub('approvalRouting') };
  }
  const onTimeout = routing?.onTimeout;
  if (onTimeout !== undefined && onTimeout !== 'deny' && onTimeout !== 'allow') {
    return { message: 'approvalRouting.onTimeout must be deny or allow', at: sub('approvalRouting') };
  }
  const channels = raw.channels;
  if (channels !== undefined && (!Array.isArray(channels) || channels.some((c) => typeof c !== 'string'))) {
    return { message: 'channels must be a list', at: sub('channels') };
  }
  return {
    approvers: (approvers ?? []) as string[],
    channels: channels as string[] | undefined,
    onTimeout: onTimeout as 'deny' | 'allow' | undefined,
    timeoutMinutes: timeout as number | undefined,
  };
}

function duplicateNames(rawRules: unknown, here: Here): { name: string; at: SourcePointer }[] {
  if (!Array.isArray(rawRules)) return [];
  const seen = new Set<string>();
  const out: { name: string; at: SourcePointer }[] = [];
  rawRules.forEach((r, i) => {
    const name = isRecord(r) && typeof r.name === 'string' ? r.name : undefined;
    if (name === undefined) return;
    if (seen.has(name)) out.push({ name, at: here(['spec', 'rules', i, 'name']) });
    seen.add(name);
  });
  return out;
}

function unique<T>(xs: readonly T[]): T[] {
  return [...new Set(xs)];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
