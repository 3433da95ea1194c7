/**
 * The budgets that bind one agent, and why each does: the agent's own
 * spec.budgets (per-run limits), every Budget whose scope or allocation
 * names it, its namespace or its Team, and every Budget its Teams and
 * Environments bind. The bundle carries them with their limits, enforcement
 * and the agent's share of an allocation, so the runtime and the gateways
 * enforce the same numbers the repository declares.
 */
import type { SourcePointer } from '../diagnostics/index.js';
import type { BoundBudget } from '../model/policy-bundle.js';
import type { Resource } from '../model/resource.js';
import { agentKeyOf, isRecord, strings, type FleetIndex } from './fleet.js';
import type { AgentSurface } from './surface.js';

/** A bound budget and the places that bind it (for explain). */
export interface BudgetBinding {
  readonly budget: BoundBudget;
  readonly at: readonly SourcePointer[];
}

const at = (r: Resource, path: readonly (string | number)[]): SourcePointer => ({ file: r.file, doc: r.doc, path });

/** Keys sorted, undefined left out: the bundle's JSON is canonical as built. */
function sorted(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.keys(o)
      .sort()
      .filter((k) => o[k] !== undefined)
      .map((k) => [k, o[k]]),
  );
}

function reasonsFor(b: Resource, surface: AgentSurface, fleet: FleetIndex): { why: string; at: SourcePointer }[] {
  const agent = surface.agent;
  const ns = b.namespace ?? '';
  const scope = isRecord(b.spec.scope) ? b.spec.scope : {};
  const out: { why: string; at: SourcePointer }[] = [];
  strings(scope.agents).forEach((a, i) => agentKeyOf(a, ns) === agent.key && out.push({ why: `scope.agents names ${a}`, at: at(b, ['spec', 'scope', 'agents', i]) }));
  strings(scope.namespaces).forEach((n, i) => n === agent.namespace && out.push({ why: `scope.namespaces names ${n}`, at: at(b, ['spec', 'scope', 'namespaces', i]) }));
  const teams = new Set(surface.teams.map((t) => t.name));
  if (agent.labels.team !== undefined) teams.add(agent.labels.team);
  strings(scope.teams).forEach((t, i) => teams.has(t) && out.push({ why: `scope.teams names ${t}, the agent's Team`, at: at(b, ['spec', 'scope', 'teams', i]) }));
  if (!strings(scope.agents).length && !strings(scope.namespaces).length && !strings(scope.teams).length && ns === agent.namespace) {
    out.push({ why: `it has no scope and lives in the agent's namespace`, at: at(b, ['metadata', 'name']) });
  }
  const byAgent = isRecord(b.spec.allocation) && isRecord(b.spec.allocation.byAgent) ? b.spec.allocation.byAgent : {};
  for (const name of Object.keys(byAgent)) {
    if (agentKeyOf(name, ns) === agent.key) out.push({ why: `allocation.byAgent names ${name}`, at: at(b, ['spec', 'allocation', 'byAgent', name]) });
  }
  const binders = [...surface.teams, ...surface.deployments.flatMap((d) => (d.environment ? [d.environment] : []))];
  const seen = new Set<string>();
  for (const binder of binders) {
    if (seen.has(binder.key)) continue;
    seen.add(binder.key);
    for (const e of fleet.budgetBindings.get(binder.key) ?? []) {
      if (e.to === b.key) out.push({ why: `${binder.kind} ${binder.name} binds it (${e.path.filter((p) => typeof p === 'string').join('.')})`, at: at(binder, e.path) });
    }
  }
  return out;
}

/** The agent's share of the Budget's allocation, when the allocation names it. */
function share(b: Resource, agent: Resource): number | undefined {
  const byAgent = isRecord(b.spec.allocation) && isRecord(b.spec.allocation.byAgent) ? b.spec.allocation.byAgent : {};
  for (const [name, value] of Object.entries(byAgent)) {
    if (agentKeyOf(name, b.namespace ?? '') === agent.key && typeof value === 'number') return value;
  }
  return undefined;
}

/** The Budget's USD limits scaled by the agent's share: the caps the gateways hold this agent to. */
function allocatedLimits(limits: Record<string, unknown>, fraction: number | undefined): Record<string, unknown> | undefined {
  if (fraction === undefined) return undefined;
  const out: Record<string, unknown> = {};
  for (const k of ['dailyUsd', 'monthlyUsd', 'tokenLimitDaily']) {
    const v = limits[k];
    // Cents for money, whole tokens for tokens: the value is stable and readable.
    if (typeof v === 'number') out[k] = k === 'tokenLimitDaily' ? Math.floor(v * fraction) : Math.round(v * fraction * 100) / 100;
  }
  return Object.keys(out).length ? sorted(out) : undefined;
}

/** Every budget that binds the agent, sorted by Budget key, each with the reasons it binds. */
export function bindBudgets(surface: AgentSurface, fleet: FleetIndex, applicable: readonly Resource[]): BudgetBinding[] {
  return applicable.map((b) => {
    const reasons = reasonsFor(b, surface, fleet);
    const limits = isRecord(b.spec.limits) ? b.spec.limits : {};
    const fraction = share(b, surface.agent);
    const budget: BoundBudget = sorted({
      allocated: allocatedLimits(limits, fraction),
      attribution: isRecord(b.spec.attribution) ? sorted(b.spec.attribution) : undefined,
      boundBy: reasons.map((r) => r.why),
      enforcement: isRecord(b.spec.enforcement) ? sorted(b.spec.enforcement) : undefined,
      limits: sorted(limits),
      name: b.name,
      namespace: b.namespace,
      share: fraction,
    }) as unknown as BoundBudget;
    return { budget, at: reasons.map((r) => r.at) };
  });
}
