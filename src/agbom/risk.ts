/**
 * What makes an AgBOM high-risk (`joch agbom ls --high-risk`): an MCP
 * server that is not pinned or is below its trust threshold, a tool with
 * side effects that runs without approval, or a policy finding (JOCH7xx,
 * JOCH8xx) about the agent or one of its components.
 */
import type { ResourceRef } from '../diagnostics/index.js';
import { fact, type InventoryView, type ViewComponent } from './view.js';

export type RiskSeverity = 'high' | 'medium' | 'low';

export interface RiskFinding {
  readonly code: string;
  readonly severity: RiskSeverity;
  /** Key of the component concerned. */
  readonly component: string;
  readonly message: string;
}

/** Any side effect at all; a tool that declares no class is treated as having one. */
export function isSideEffecting(level: string | undefined): boolean {
  return level !== 'read_only';
}

/**
 * Side effects that reach outside the agent: the classes the policy
 * baseline (JOCH701) puts under approval in production. `local_write` (the
 * agent's own scratch state) is a side effect but not a high-risk one.
 */
export function isHighRiskSideEffect(level: string | undefined): boolean {
  return level !== 'read_only' && level !== 'local_write';
}

export function describe(c: ViewComponent): string {
  const [kind, ns, name] = c.key.split('/');
  return `${kind} ${ns ? `${ns}/` : ''}${name ?? c.name}`;
}

/**
 * Who requires approval for a tool: the tool itself, or the policies that
 * cover it while the tool says `requiresApproval: false`. Reviewers need the
 * difference: without that policy the tool would run unattended.
 */
export function approvalSource(c: ViewComponent | undefined): string | undefined {
  if (c?.class !== 'tool') return undefined;
  const state = fact(c, 'joch:tool:approval') ?? 'none';
  const by = c.facts.get('joch:tool:approvalBy') ?? [];
  const own = fact(c, 'joch:tool:requiresApproval') === 'true';
  if (state === 'denied') {
    const deniers = (c.facts.get('joch:policy:decision') ?? []).filter((d) => d.startsWith('deny by ')).map((d) => d.slice('deny by '.length));
    return `denied by ${deniers.join(', ') || 'policy'}${own ? '' : '; the tool itself sets requiresApproval: false'}`;
  }
  if (state === 'none') return 'runs without approval';
  if (by.includes('tool')) return `approval ${state} by the tool itself`;
  return `approval ${state} by ${by.join(', ')}; the tool itself sets requiresApproval: false`;
}

export function unpinned(c: ViewComponent): boolean {
  return c.class === 'mcp-server' && fact(c, 'joch:mcp:pinned') !== 'true';
}

export function belowTrustThreshold(c: ViewComponent): boolean {
  const score = Number(fact(c, 'joch:mcp:trustScore'));
  const min = Number(fact(c, 'joch:mcp:minTrustScore'));
  return c.class === 'mcp-server' && fact(c, 'joch:mcp:trustScore') !== undefined && Number.isFinite(min) && score < min;
}

export function unapprovedSideEffects(c: ViewComponent): boolean {
  return c.class === 'tool' && isHighRiskSideEffect(fact(c, 'joch:tool:sideEffect')) && fact(c, 'joch:tool:approval') === 'none';
}

/** Risks an AgBOM carries on its own, whatever it was before. */
export function standingRisks(view: InventoryView): RiskFinding[] {
  const out: RiskFinding[] = [];
  for (const c of view.components.values()) {
    if (unpinned(c)) out.push({ code: 'mcp-unpinned', severity: 'high', component: c.key, message: `${describe(c)} is not pinned to a server version` });
    if (belowTrustThreshold(c)) {
      out.push({
        code: 'mcp-below-trust-threshold',
        severity: 'high',
        component: c.key,
        message: `${describe(c)} has trust score ${fact(c, 'joch:mcp:trustScore')}, below its threshold ${fact(c, 'joch:mcp:minTrustScore')}`,
      });
    }
    if (unapprovedSideEffects(c)) {
      out.push({
        code: 'side-effects-without-approval',
        severity: 'high',
        component: c.key,
        message: `${describe(c)} has side effects (${fact(c, 'joch:tool:sideEffect')}) and runs without approval`,
      });
    }
  }
  return out.sort((a, b) => (a.component < b.component ? -1 : a.component > b.component ? 1 : a.code < b.code ? -1 : 1));
}

/** A diagnostic as the risk report needs it: its code, message and the resource it is about. */
export interface PolicyFinding {
  readonly code: string;
  readonly severity: 'error' | 'warning' | 'info';
  readonly message: string;
  readonly resource?: ResourceRef | undefined;
  /** The agent the finding was made for (the policy stage's per-agent findings); absent for findings about a resource as such. */
  readonly agent?: string | undefined;
  /** Key of the capability concerned, when the finding is an agent's. */
  readonly capability?: string | undefined;
}

export function isPolicyFindingCode(code: string): boolean {
  return /^JOCH[78]\d\d$/.test(code);
}

/**
 * Policy findings (errors and warnings; an info such as a rule deferred to
 * run time is no violation) about the agent or anything in its inventory.
 */
export function policyRisks(view: InventoryView, findings: readonly PolicyFinding[]): RiskFinding[] {
  const out: RiskFinding[] = [];
  for (const f of findings) {
    if (!isPolicyFindingCode(f.code) || f.severity === 'info') continue;
    const severity: RiskSeverity = f.severity === 'error' ? 'high' : 'medium';
    if (f.agent !== undefined) {
      if (f.agent === view.agent) out.push({ code: f.code, severity, component: f.capability ?? f.agent, message: f.message });
      continue;
    }
    if (!f.resource) continue;
    const key = `${f.resource.kind}/${f.resource.namespace ?? ''}/${f.resource.name}`;
    if (view.components.has(key)) out.push({ code: f.code, severity, component: key, message: f.message });
  }
  return out;
}

export interface AgentRisk {
  readonly agent: string;
  readonly risks: readonly RiskFinding[];
}

export function assessRisk(view: InventoryView, findings: readonly PolicyFinding[] = []): AgentRisk {
  return { agent: view.agent, risks: [...standingRisks(view), ...policyRisks(view, findings)] };
}
