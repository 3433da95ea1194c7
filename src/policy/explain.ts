/**
 * `joch explain`: an agent's effective capabilities and, for each, the rule
 * that allowed it, required approval for it or denied it, with file and line
 * of the capability reference and of the rule. Built as plain data (the JSON
 * output) and rendered as text from that data.
 */
import { isPointer, type Finding, type Location, type SourcePointer } from '../diagnostics/index.js';
import type { ApprovalRequirement, BoundBudget, Outcome, RuntimeRule } from '../model/policy-bundle.js';
import { isRecord } from './fleet.js';
import type { AgentEvaluation, CapabilityVerdict, Contribution } from './types.js';

/** Turns a pointer into file, line and column (the CLI passes the manifest Locator). */
export type Locate = (at: SourcePointer) => Location;

export type ExplainFormat = 'text' | 'json';

interface Where {
  readonly file: string;
  readonly line: number;
}

export interface ExplainedRule {
  readonly policy: string;
  readonly rule: string;
  readonly outcome: Outcome;
  readonly at?: Where | undefined;
  readonly reason?: string | undefined;
  readonly assumed?: readonly string[] | undefined;
}

export interface ExplainedCapability {
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string | undefined;
  readonly role?: string | undefined;
  readonly grantedAt: Where;
  readonly outcome: Outcome;
  /** `default`, `joch-baseline#<rule>` or `<namespace>/<policy>#<rule>`. */
  readonly decidedBy: string;
  readonly decidedAt?: Where | undefined;
  readonly reason?: string | undefined;
  readonly approval?: ApprovalRequirement | undefined;
  readonly redactionRules?: readonly string[] | undefined;
  readonly rules: readonly ExplainedRule[];
  readonly deferred: readonly (ExplainedRule & { readonly when: Readonly<Record<string, string | number | boolean>> })[];
}

export interface Explanation {
  readonly agent: { readonly name: string; readonly namespace?: string | undefined; readonly at: Where };
  readonly production: readonly { readonly deployment: string; readonly environment: string; readonly because: string; readonly at: Where }[];
  readonly policies: readonly { readonly policy: string; readonly source: string; readonly version: string; readonly at?: Where | undefined }[];
  readonly capabilities: readonly ExplainedCapability[];
  readonly runtimeRules: readonly (Omit<RuntimeRule, 'policy' | 'capabilities'> & { readonly policy: string; readonly capabilities?: readonly string[] | undefined })[];
  readonly findings: readonly { readonly severity: string; readonly code: string; readonly message: string; readonly file: string; readonly line: number }[];
  /** The agent's own per-run limits (spec.budgets), and every Budget that binds it with where each binding is written. */
  readonly budgets: {
    readonly agent?: Readonly<Record<string, unknown>> | undefined;
    readonly bound: readonly (BoundBudget & { readonly boundAt: readonly Where[] })[];
  };
  readonly bundleHash: string;
}

const BASELINE = 'joch-baseline';

export function explainAgent(e: AgentEvaluation, locate: Locate): Explanation {
  const where = (p: SourcePointer): Where => {
    const l = locate(p);
    return { file: l.file, line: l.line };
  };
  const policyName = (c: Pick<Contribution, 'policy'>) => (c.policy.source === 'baseline' ? BASELINE : `${c.policy.namespace ?? ''}/${c.policy.name}`);
  const explainRule = (c: Contribution): ExplainedRule => ({
    policy: policyName(c),
    rule: c.rule,
    outcome: c.outcome,
    ...(c.at ? { at: where(c.at) } : {}),
    ...(c.reason ? { reason: c.reason } : {}),
    ...(c.assumed ? { assumed: c.assumed } : {}),
  });
  const capabilities = e.verdicts.map((v: CapabilityVerdict): ExplainedCapability => {
    const d = v.decidedBy;
    return {
      kind: v.capability.ref.kind,
      name: v.capability.ref.name,
      ...(v.capability.ref.namespace ? { namespace: v.capability.ref.namespace } : {}),
      ...(v.capability.class === 'agent' ? { role: 'the agent itself' } : v.capability.role ? { role: v.capability.role } : {}),
      grantedAt: where(v.capability.via),
      outcome: v.outcome,
      decidedBy: d ? `${policyName(d)}#${d.rule}` : 'default',
      ...(d?.at ? { decidedAt: where(d.at) } : {}),
      ...(d?.reason ? { reason: d.reason } : {}),
      ...(v.approval ? { approval: v.approval } : {}),
      ...(v.redactionRules ? { redactionRules: v.redactionRules } : {}),
      rules: v.contributions.map(explainRule),
      deferred: v.deferred.map((m) => ({ policy: `${m.policy.namespace ?? ''}/${m.policy.name}`, rule: m.rule, outcome: m.outcome, at: where(m.at), when: m.when })),
    };
  });
  return {
    agent: { name: e.agent.name, ...(e.agent.namespace ? { namespace: e.agent.namespace } : {}), at: where({ file: e.agent.file, doc: e.agent.doc, path: ['metadata', 'name'] }) },
    production: e.production.map((p) => ({ deployment: p.deployment.split('/').slice(1).join('/'), environment: p.environment, because: p.because, at: where(p.at) })),
    policies: e.policies.map((p) => ({
      policy: p.ref.source === 'baseline' ? BASELINE : `${p.ref.namespace ?? ''}/${p.ref.name}`,
      source: p.ref.source,
      version: p.ref.version,
      ...(p.ref.source === 'baseline' ? {} : { at: where(p.at) }),
    })),
    capabilities,
    runtimeRules: e.runtimeRules.map((r) => {
      const { policy, capabilities: caps, ...rest } = r;
      return {
        ...rest,
        policy: `${policy.namespace ?? ''}/${policy.name}`,
        ...(caps ? { capabilities: caps.map((c) => `${c.kind} ${c.namespace ? `${c.namespace}/` : ''}${c.name}`) } : {}),
      };
    }),
    findings: e.findings.map((f) => explainFinding(f.finding, locate)),
    budgets: {
      ...(isRecord(e.agent.spec.budgets) ? { agent: e.agent.spec.budgets } : {}),
      bound: e.budgets.map((b) => ({ ...b.budget, boundAt: b.at.map(where) })),
    },
    bundleHash: e.bundle.hash,
  };
}

const limitText = (o: Readonly<Record<string, unknown>>): string =>
  Object.entries(o)
    .map(([k, v]) => `${k} ${String(v)}`)
    .join(', ');

function renderBudgets(b: Explanation['budgets'], loc: (w: Where | undefined) => string): string[] {
  const out: string[] = [];
  if (b.agent) out.push(`  the agent's spec.budgets: ${limitText(b.agent)}`);
  for (const x of b.bound) {
    const share = x.share !== undefined ? `; its share ${x.share}${x.allocated ? ` (${limitText(x.allocated)})` : ''}` : '';
    const enforcement = x.enforcement ? `; ${limitText(x.enforcement)}` : '';
    out.push(`  Budget ${x.namespace ? `${x.namespace}/` : ''}${x.name}: ${limitText(x.limits)}${share}${enforcement}`);
    x.boundBy.forEach((why, i) => out.push(`      bound because ${why}  (${loc(x.boundAt[i])})`));
  }
  if (!out.length) out.push('  (none)');
  return out;
}

function explainFinding(f: Finding, locate: Locate) {
  const l = isPointer(f.at) ? locate(f.at) : f.at;
  return { severity: f.severity, code: f.code, message: f.message, file: l.file, line: l.line };
}

export function renderExplanation(x: Explanation, format: ExplainFormat): string {
  if (format === 'json') return `${JSON.stringify(x, null, 2)}\n`;
  const out: string[] = [];
  const loc = (w: Where | undefined) => (w ? `${w.file}:${w.line}` : '');
  out.push(`Agent ${x.agent.namespace ? `${x.agent.namespace}/` : ''}${x.agent.name}  (${loc(x.agent.at)})`);
  if (x.production.length) {
    for (const p of x.production) out.push(`Production: deployed to ${p.environment} by Deployment ${p.deployment}: ${p.because}  (${loc(p.at)})`);
  } else {
    out.push('Production: no (not deployed to a production Environment)');
  }
  out.push('', 'Policies, in evaluation order:');
  const width = Math.max(...x.policies.map((p) => p.policy.length));
  x.policies.forEach((p, i) => out.push(`  ${i + 1}. ${p.policy.padEnd(width)}  ${p.source.padEnd(11)} ${p.version}${p.at ? `  ${loc(p.at)}` : ''}`));
  out.push('', 'Capabilities:');
  for (const c of x.capabilities) out.push(...renderCapability(c, loc));
  out.push('', 'Budgets (compiled into the bundle):');
  out.push(...renderBudgets(x.budgets, loc));
  out.push('', 'Decided at run time (compiled into the bundle):');
  if (!x.runtimeRules.length) out.push('  (none)');
  for (const r of x.runtimeRules) {
    const when = Object.entries(r.when).map(([k, v]) => `${k}: ${String(v)}`).join(', ');
    const scope = r.capabilities ? ` for ${r.capabilities.join(', ')}` : '';
    out.push(`  ${r.policy}#${r.rule}: when ${when} -> ${effectText(r.outcome, r.reason, r.redactionRules)}${scope}`);
  }
  out.push('', 'Findings:');
  if (!x.findings.length) out.push('  (none)');
  for (const f of x.findings) out.push(`  ${f.file}:${f.line} ${f.severity} ${f.code} ${f.message}`);
  out.push('', `Bundle sha256:${x.bundleHash}`);
  return `${out.join('\n')}\n`;
}

function renderCapability(c: ExplainedCapability, loc: (w: Where | undefined) => string): string[] {
  const name = `${c.kind} ${c.namespace ? `${c.namespace}/` : ''}${c.name}${c.role ? ` (${c.role})` : ''}`;
  const lines = [`  ${c.outcome.toUpperCase().padEnd(17)} ${name}  granted at ${loc(c.grantedAt)}`];
  const by = c.decidedBy === 'default' ? 'default: no rule matched' : `${c.decidedBy}${c.decidedAt ? ` (${loc(c.decidedAt)})` : ''}`;
  lines.push(`      decided by ${by}${c.reason ? `: ${c.reason}` : ''}`);
  // The deciding rule is not always the first: a later, stronger one (a denial) decides.
  const deciding = c.rules.findIndex((r) => `${r.policy}#${r.rule}` === c.decidedBy && r.outcome === c.outcome);
  c.rules.forEach((r, i) => {
    if (i === deciding) return;
    const assumed = r.assumed ? ` [not declared, taken as matching: ${r.assumed.join(', ')}]` : '';
    lines.push(`      also ${r.policy}#${r.rule} -> ${r.outcome}${r.at ? ` (${loc(r.at)})` : ''}${r.reason ? `: ${r.reason}` : ''}${assumed}`);
  });
  if (c.approval) {
    const who = c.approval.approvers.length ? c.approval.approvers.join(', ') : 'the default approvers';
    const timeout = c.approval.timeoutMinutes !== undefined ? `; timeout ${c.approval.timeoutMinutes} min${c.approval.onTimeout ? `, then ${c.approval.onTimeout}` : ''}` : '';
    const channels = c.approval.channels?.length ? `; announced on ${c.approval.channels.join(', ')}` : '';
    lines.push(`      approval by ${who}${timeout}${channels}`);
  }
  if (c.redactionRules) lines.push(`      redacts ${c.redactionRules.join(', ')}`);
  for (const d of c.deferred) {
    const when = Object.entries(d.when).map(([k, v]) => `${k}: ${String(v)}`).join(', ');
    lines.push(`      at run time: ${d.policy}#${d.rule} -> ${d.outcome} when ${when} (${loc(d.at)})`);
  }
  return lines;
}

function effectText(outcome: Outcome, reason: string | undefined, redactions: readonly string[] | undefined): string {
  const extra = [reason, redactions?.length ? `redact ${redactions.join(', ')}` : undefined].filter(Boolean).join('; ');
  return extra ? `${outcome} (${extra})` : outcome;
}
