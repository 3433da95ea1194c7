/**
 * Fleet-wide lookups the engine needs per agent, built once: which
 * Environments are production, Teams by namespace, Budgets by scope, Evals by
 * name, the Policies bound by Environments and Teams, and the references that
 * did not resolve.
 */
import type { ReferenceEdge } from '../model/graph.js';
import type { Resource } from '../model/resource.js';
import type { PolicyOptions } from './types.js';

export const PRODUCTION_NAMES = ['prod', 'production'] as const;

export interface FleetIndex {
  readonly byKey: ReadonlyMap<string, Resource>;
  /** Edges that did not resolve, by the key of the resource they start from. */
  readonly unresolvedFrom: ReadonlyMap<string, readonly ReferenceEdge[]>;
  /** Policy references of Environments and Teams, resolved or not, by the binder's key. */
  readonly policyBindings: ReadonlyMap<string, readonly ReferenceEdge[]>;
  /** Budget references of Environments and Teams, by the binder's key. */
  readonly budgetBindings: ReadonlyMap<string, readonly ReferenceEdge[]>;
  readonly teamsByNamespace: ReadonlyMap<string, readonly Resource[]>;
  readonly teamsByName: ReadonlyMap<string, Resource>;
  readonly budgets: BudgetIndex;
  /** Evals by `namespace/name`. */
  readonly evals: ReadonlyMap<string, Resource>;
  /** Approvers that exist: `team:<name>`, Team member users, member roles and configured roles. */
  readonly approvers: ReadonlySet<string>;
  readonly productionNames: ReadonlySet<string>;
  /** Resolved Secret references by the key of the resource that holds them (tools, models, MCP servers). */
  readonly secretRefs: ReadonlyMap<string, readonly ReferenceEdge[]>;
}

export interface BudgetIndex {
  readonly byNamespace: ReadonlyMap<string, readonly Resource[]>;
  readonly byTeam: ReadonlyMap<string, readonly Resource[]>;
  /** By agent key. */
  readonly byAgent: ReadonlyMap<string, readonly Resource[]>;
}

export function buildFleetIndex(resources: readonly Resource[], references: readonly ReferenceEdge[], options: PolicyOptions): FleetIndex {
  const byKey = new Map(resources.map((r) => [r.key, r]));
  const unresolvedFrom = new Map<string, ReferenceEdge[]>();
  const policyBindings = new Map<string, ReferenceEdge[]>();
  const budgetBindings = new Map<string, ReferenceEdge[]>();
  const secretRefs = new Map<string, ReferenceEdge[]>();
  for (const e of references) {
    if (e.to === undefined) push(unresolvedFrom, e.from, e);
    else if (e.kind === 'Secret') push(secretRefs, e.from, e);
    if (!e.from.startsWith('Environment/') && !e.from.startsWith('Team/')) continue;
    if (e.kind === 'Policy') push(policyBindings, e.from, e);
    else if (e.kind === 'Budget') push(budgetBindings, e.from, e);
  }
  const teamsByNamespace = new Map<string, Resource[]>();
  const teamsByName = new Map<string, Resource>();
  const evals = new Map<string, Resource>();
  const approvers = new Set<string>(options.approverRoles ?? []);
  const budgetList: Resource[] = [];
  for (const r of resources) {
    if (r.kind === 'Team') {
      teamsByName.set(r.name, r);
      approvers.add(r.name).add(`team:${r.name}`);
      for (const ns of strings(r.spec.namespaces)) push(teamsByNamespace, ns, r);
      for (const m of Array.isArray(r.spec.members) ? r.spec.members : []) {
        if (isRecord(m) && typeof m.user === 'string') approvers.add(m.user);
        if (isRecord(m) && typeof m.role === 'string') approvers.add(m.role);
      }
    } else if (r.kind === 'Eval') {
      evals.set(`${r.namespace ?? ''}/${r.name}`, r);
    } else if (r.kind === 'Budget') {
      budgetList.push(r);
    }
  }
  return {
    byKey,
    unresolvedFrom,
    policyBindings,
    budgetBindings,
    teamsByNamespace,
    teamsByName,
    budgets: indexBudgets(budgetList),
    evals,
    approvers,
    productionNames: new Set([...PRODUCTION_NAMES, ...(options.productionEnvironments ?? [])]),
    secretRefs,
  };
}

/**
 * A Budget covers the agents its scope names (agents, namespaces, teams) and
 * those its allocation lists; a Budget without a scope covers its namespace.
 */
function indexBudgets(budgets: readonly Resource[]): BudgetIndex {
  const byNamespace = new Map<string, Resource[]>();
  const byTeam = new Map<string, Resource[]>();
  const byAgent = new Map<string, Resource[]>();
  for (const b of budgets) {
    const ns = b.namespace ?? '';
    const scope = isRecord(b.spec.scope) ? b.spec.scope : undefined;
    const agents = strings(scope?.agents);
    const namespaces = strings(scope?.namespaces);
    const teams = strings(scope?.teams);
    const allocation = isRecord(b.spec.allocation) && isRecord(b.spec.allocation.byAgent) ? Object.keys(b.spec.allocation.byAgent) : [];
    for (const a of [...agents, ...allocation]) push(byAgent, agentKeyOf(a, ns), b);
    for (const n of namespaces) push(byNamespace, n, b);
    for (const t of teams) push(byTeam, t, b);
    if (!agents.length && !namespaces.length && !teams.length) push(byNamespace, ns, b);
  }
  return { byNamespace, byTeam, byAgent };
}

/** `name` in the given namespace, or `namespace/name`. */
export function agentKeyOf(written: string, namespace: string): string {
  const slash = written.indexOf('/');
  return slash > 0 ? `Agent/${written.slice(0, slash)}/${written.slice(slash + 1)}` : `Agent/${namespace}/${written}`;
}

/** What makes an Environment production, or undefined when nothing does. */
export function productionReason(env: Resource, names: ReadonlySet<string>): string | undefined {
  if (names.has(env.name)) return `it is named ${env.name}`;
  const label = env.labels.env;
  if (label !== undefined && names.has(label)) return `it is labelled env: ${label}`;
  const compliance = isRecord(env.spec.compliance) ? env.spec.compliance : undefined;
  if (compliance?.auditRequired === true) return 'it sets spec.compliance.auditRequired: true';
  return undefined;
}

/** The teams of an agent: those owning its namespace, and the one its `team` label names. */
export function teamsOf(agent: Resource, fleet: FleetIndex): Resource[] {
  const out = new Set(fleet.teamsByNamespace.get(agent.namespace ?? '') ?? []);
  const labelled = agent.labels.team !== undefined ? fleet.teamsByName.get(agent.labels.team) : undefined;
  if (labelled) out.add(labelled);
  return [...out].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

export function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
