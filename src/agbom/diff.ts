/**
 * The difference between two AgBOMs of one agent: components added, removed
 * and changed, with the changes that matter for risk first. This is what
 * reviewers see on a pull request.
 */
import { DEFAULT_CLASSIFICATION, SENSITIVITY } from './classify.js';
import { approvalSource, belowTrustThreshold, describe, isHighRiskSideEffect, isSideEffecting, unpinned, type RiskFinding, type RiskSeverity } from './risk.js';
import { fact, type InventoryView, type ViewComponent } from './view.js';

export type ChangeKind = 'added' | 'removed' | 'changed';

export interface ComponentChange {
  readonly kind: ChangeKind;
  readonly key: string;
  readonly class: string;
  readonly name: string;
  readonly before?: string | undefined;
  readonly after?: string | undefined;
  /** What changed, one line each: `joch:tool:approval: required -> none`. */
  readonly details: readonly string[];
  /** The most severe risk the change carries; `low` for an ordinary change. */
  readonly severity: RiskSeverity;
}

export interface AgBomDiff {
  readonly agent: string;
  readonly before?: { readonly serialNumber: string; readonly version: number } | undefined;
  readonly after?: { readonly serialNumber: string; readonly version: number } | undefined;
  /** Risk-relevant changes, most severe first. */
  readonly risks: readonly RiskFinding[];
  /** Every component change, most severe first, then by kind and key. */
  readonly changes: readonly ComponentChange[];
}

const SEVERITY_ORDER: Readonly<Record<RiskSeverity, number>> = { high: 0, medium: 1, low: 2 };
const KIND_ORDER: Readonly<Record<ChangeKind, number>> = { added: 0, removed: 1, changed: 2 };

const EMPTY: InventoryView = { agent: '', serialNumber: '', version: 0, components: new Map() };

/** Either side may be missing (an agent added or removed between the two revisions). */
export function diffViews(before: InventoryView | undefined, after: InventoryView | undefined): AgBomDiff {
  const b = before ?? EMPTY;
  const a = after ?? EMPTY;
  const risks: RiskFinding[] = [];
  const changes: ComponentChange[] = [];
  const keys = [...new Set([...b.components.keys(), ...a.components.keys()])].sort();
  const providersBefore = providers(b);
  for (const key of keys) {
    const was = b.components.get(key);
    const now = a.components.get(key);
    const found = riskOf(was, now, providersBefore);
    risks.push(...found);
    const details = was && now ? detailsOf(was, now) : [];
    if (was && now && !details.length) continue;
    const c = (now ?? was)!;
    changes.push({
      kind: !was ? 'added' : !now ? 'removed' : 'changed',
      key,
      class: c.class,
      name: c.name,
      before: was?.version,
      after: now?.version,
      details,
      severity: found.reduce<RiskSeverity>((s, r) => (SEVERITY_ORDER[r.severity] < SEVERITY_ORDER[s] ? r.severity : s), 'low'),
    });
  }
  return {
    agent: a.agent || b.agent,
    before: before ? { serialNumber: b.serialNumber, version: b.version } : undefined,
    after: after ? { serialNumber: a.serialNumber, version: a.version } : undefined,
    risks: risks.sort((x, y) => SEVERITY_ORDER[x.severity] - SEVERITY_ORDER[y.severity] || cmp(x.component, y.component) || cmp(x.code, y.code)),
    changes: changes.sort((x, y) => SEVERITY_ORDER[x.severity] - SEVERITY_ORDER[y.severity] || KIND_ORDER[x.kind] - KIND_ORDER[y.kind] || cmp(x.key, y.key)),
  };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function providers(v: InventoryView): Set<string> {
  const out = new Set<string>();
  for (const c of v.components.values()) {
    const p = c.class === 'model' ? fact(c, 'joch:model:provider') : undefined;
    if (p) out.add(p);
  }
  return out;
}

// ---------------------------------------------------------------------------
// Risk rules: each looks at one component before and after.

type Rule = (was: ViewComponent | undefined, now: ViewComponent | undefined, providersBefore: ReadonlySet<string>) => RiskFinding[];

function finding(code: string, severity: RiskSeverity, c: ViewComponent, message: string): RiskFinding {
  return { code, severity, component: c.key, message };
}

const approvalRequired = (c: ViewComponent | undefined) => fact(c, 'joch:tool:approval') === 'required' || fact(c, 'joch:tool:approval') === 'denied';

const newSideEffectTool: Rule = (was, now) => {
  if (!now || now.class !== 'tool') return [];
  const level = fact(now, 'joch:tool:sideEffect');
  if (!isSideEffecting(level)) return [];
  const severity: RiskSeverity = isHighRiskSideEffect(level) ? 'high' : 'medium';
  if (!was) return [finding('new-side-effect-tool', severity, now, `new tool with side effects: ${describe(now)} (${level}), ${approvalSource(now)}`)];
  const before = fact(was, 'joch:tool:sideEffect');
  if (before === level) return [];
  const raised = isHighRiskSideEffect(level) && !isHighRiskSideEffect(before);
  return [finding('side-effect-changed', raised ? 'high' : 'medium', now, `${describe(now)} side effect ${before ?? 'unspecified'} -> ${level}, ${approvalSource(now)}`)];
};

const approvalDropped: Rule = (was, now) => {
  if (!was || !now || now.class !== 'tool') return [];
  if (!approvalRequired(was) || approvalRequired(now)) return [];
  return [
    finding(
      'approval-dropped',
      'high',
      now,
      `approval requirement dropped: ${describe(now)} (${fact(now, 'joch:tool:sideEffect') ?? 'unspecified'}) approval ${fact(was, 'joch:tool:approval')} -> ${fact(now, 'joch:tool:approval') ?? 'none'}, ${approvalSource(now)}`,
    ),
  ];
};

const mcpTrust: Rule = (was, now) => {
  if (!now || now.class !== 'mcp-server') return [];
  const out: RiskFinding[] = [];
  if (unpinned(now) && (!was || !unpinned(was))) out.push(finding('mcp-unpinned', 'high', now, `MCP server ${was ? 'unpinned' : 'added unpinned'}: ${describe(now)}`));
  if (belowTrustThreshold(now) && (!was || !belowTrustThreshold(was))) {
    out.push(
      finding('mcp-below-trust-threshold', 'high', now, `${describe(now)} trust score ${fact(now, 'joch:mcp:trustScore')} is below its threshold ${fact(now, 'joch:mcp:minTrustScore')}`),
    );
  }
  const minBefore = Number(fact(was, 'joch:mcp:minTrustScore'));
  const minNow = Number(fact(now, 'joch:mcp:minTrustScore') ?? 0);
  if (was && Number.isFinite(minBefore) && minNow < minBefore) {
    out.push(finding('mcp-trust-threshold-lowered', 'medium', now, `${describe(now)} trust threshold lowered ${minBefore} -> ${fact(now, 'joch:mcp:minTrustScore') ?? 'none'}`));
  }
  if (was && !unpinned(was) && !unpinned(now) && fact(was, 'joch:mcp:pinnedVersion') !== fact(now, 'joch:mcp:pinnedVersion')) {
    out.push(finding('mcp-pin-changed', 'medium', now, `${describe(now)} pinned version ${fact(was, 'joch:mcp:pinnedVersion')} -> ${fact(now, 'joch:mcp:pinnedVersion')}`));
  }
  return out;
};

const newProvider: Rule = (was, now, providersBefore) => {
  if (was || !now || now.class !== 'model') return [];
  const p = fact(now, 'joch:model:provider');
  return p && !providersBefore.has(p) ? [finding('new-model-provider', 'high', now, `new model provider ${p}: ${describe(now)}`)] : [];
};

function level(classification: string): number {
  return SENSITIVITY.indexOf(classification as (typeof SENSITIVITY)[number]);
}

/**
 * Data crossing a trust boundary that did not before, one finding per
 * component. Every tool's stock flows (its arguments out, its results in, as
 * internal data) are part of adding the tool: for a new side-effecting tool
 * they are already in that finding, and only data above internal or a raised
 * classification is high on its own.
 */
const boundaryFlows: Rule = (was, now) => {
  const s = now?.service;
  if (!now || !s || !s.crossesTrustBoundary) return [];
  const before = was?.service?.crossesTrustBoundary ? was.service.flows : [];
  const what: string[] = [];
  let raised = false;
  let sensitive = false;
  for (const f of s.flows) {
    const prior = before.find((p) => p.name === f.name && p.flow === f.flow);
    if (prior && level(f.classification) <= level(prior.classification)) continue;
    if (prior) raised = true;
    if (level(f.classification) > level(DEFAULT_CLASSIFICATION)) sensitive = true;
    what.push(prior ? `"${f.name}" classification raised ${prior.classification} -> ${f.classification}` : `new ${f.flow} flow "${f.name}" (${f.classification})`);
  }
  if (!what.length) return [];
  const coveredByNewTool = !was && now.class === 'tool' && isSideEffecting(fact(now, 'joch:tool:sideEffect'));
  if (coveredByNewTool && !sensitive) return [];
  const severity: RiskSeverity = raised || sensitive ? 'high' : 'medium';
  return [finding('trust-boundary-flow', severity, now, `data flow crossing the trust boundary to ${s.trustZone}: ${describe(now)} ${what.join(', ')}`)];
};

const policyChanges: Rule = (was, now) => {
  const c = now ?? was;
  if (!c || c.class !== 'policy') return [];
  if (was && !now) return [finding('policy-removed', 'medium', was, `policy no longer in effect: ${describe(was)}`)];
  if (!was && now) return [finding('policy-added', 'low', now, `policy now in effect: ${describe(now)}`)];
  return was!.version !== now!.version ? [finding('policy-changed', 'low', now!, `policy changed: ${describe(now!)} ${was!.version} -> ${now!.version}`)] : [];
};

const RULES: readonly Rule[] = [newSideEffectTool, approvalDropped, mcpTrust, newProvider, boundaryFlows, policyChanges];

function riskOf(was: ViewComponent | undefined, now: ViewComponent | undefined, providersBefore: ReadonlySet<string>): RiskFinding[] {
  return RULES.flatMap((r) => r(was, now, providersBefore));
}

// ---------------------------------------------------------------------------
// Details

/** Facts that restate identity or bookkeeping rather than describe the component. */
const IGNORED = new Set(['joch:key', 'joch:class']);

function detailsOf(was: ViewComponent, now: ViewComponent): string[] {
  const out: string[] = [];
  if (was.version !== now.version) out.push(`version: ${was.version} -> ${now.version}`);
  const names = [...new Set([...was.facts.keys(), ...now.facts.keys()])].filter((n) => !IGNORED.has(n)).sort();
  for (const n of names) {
    const b = (was.facts.get(n) ?? []).join(', ');
    const a = (now.facts.get(n) ?? []).join(', ');
    if (a !== b) out.push(`${n}: ${b || '(none)'} -> ${a || '(none)'}`);
  }
  const sb = was.service;
  const sa = now.service;
  if (sb || sa) {
    const line = (s: typeof sa) =>
      s ? `${s.endpoints.join(' ')} boundary=${s.crossesTrustBoundary} zone=${s.trustZone} auth=${s.authenticated} flows=${s.flows.map((f) => `${f.flow}:${f.classification}`).join(',')}` : '(none)';
    if (line(sb) !== line(sa)) out.push(`service: ${line(sb)} -> ${line(sa)}`);
  }
  return out;
}
