/**
 * Capability scoping, decided at compile time from what the records declare:
 * a route's models must serve its requirements and its residency (and the
 * residency of every Environment the agent is deployed to), a Secret is used
 * only by the holders its scope binds it to, and a tool in another namespace
 * is reachable only when its owner lets the agent in. Each finding points at
 * the reference that grants the capability.
 */
import type { SourcePointer } from '../diagnostics/index.js';
import type { ReferenceEdge } from '../model/graph.js';
import type { PolicyRef } from '../model/policy-bundle.js';
import type { Resource } from '../model/resource.js';
import { agentName, at, describeRes } from './baseline.js';
import { isRecord, strings, type FleetIndex } from './fleet.js';
import type { AgentSurface } from './surface.js';
import type { Capability, Contribution, PendingFinding } from './types.js';


/** What a candidate model lacks of the route's requirements (capability flags and the context window). */
function unmetRequirements(route: Resource, model: Resource): string[] {
  const wanted = isRecord(route.spec.requirements) ? route.spec.requirements : {};
  const has = isRecord(model.spec.capabilities) ? model.spec.capabilities : {};
  const limits = isRecord(model.spec.limits) ? model.spec.limits : {};
  const out: string[] = [];
  for (const [key, value] of Object.entries(wanted).sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (key === 'contextWindowMin') {
      const window = typeof limits.contextWindowTokens === 'number' ? limits.contextWindowTokens : undefined;
      if (typeof value === 'number' && (window === undefined || window < value)) out.push(`a context window of ${value} tokens (it offers ${window ?? 'none declared'})`);
    } else if (value === true && has[key] !== true) {
      out.push(key);
    }
  }
  return out;
}

/** Whether a model may serve data bound to a residency: one of its regions is the residency or lies in it (`EU` holds `eu-central`). */
function servesResidency(model: Resource, residency: string): boolean {
  const routing = isRecord(model.spec.routing) ? model.spec.routing : {};
  const want = residency.toLowerCase();
  return strings(routing.regions).some((r) => r.toLowerCase() === want || r.toLowerCase().startsWith(`${want}-`));
}

function modelRegions(model: Resource): string {
  const regions = strings(isRecord(model.spec.routing) ? model.spec.routing.regions : undefined);
  return regions.length ? `regions ${regions.join(', ')}` : 'no regions declared';
}

interface Residency {
  readonly value: string;
  readonly from: string;
  readonly at: SourcePointer;
}

/** The residencies that bind the agent's model calls: its route's constraint and each of its Environments' compliance. */
function residencies(surface: AgentSurface): Residency[] {
  const out: Residency[] = [];
  const route = surface.route;
  const constraints = route && isRecord(route.spec.constraints) ? route.spec.constraints : {};
  if (route && typeof constraints.dataResidency === 'string') {
    out.push({ value: constraints.dataResidency, from: `${describeRes(route)} (constraints.dataResidency)`, at: at(route, ['spec', 'constraints', 'dataResidency']) });
  }
  const seen = new Set<string>();
  for (const link of surface.deployments) {
    const env = link.environment;
    if (!env || seen.has(env.key)) continue;
    seen.add(env.key);
    const compliance = isRecord(env.spec.compliance) ? env.spec.compliance : {};
    if (typeof compliance.dataResidency === 'string') {
      out.push({ value: compliance.dataResidency, from: `Environment ${env.name} (compliance.dataResidency)`, at: at(env, ['spec', 'compliance', 'dataResidency']) });
    }
  }
  return out;
}

/**
 * JOCH711 and JOCH713 for the primary (the route cannot serve at all), JOCH712
 * for a fallback (the router skips it, so the failover it promises is thinner).
 */
export function modelScoping(cap: Capability, surface: AgentSurface, ref: PolicyRef): Contribution[] {
  const model = cap.resource as Resource;
  const route = surface.route;
  const fallback = cap.role === 'fallback';
  const problems: { code: 'JOCH711' | 'JOCH713'; what: string; related: PendingFinding['related'] }[] = [];
  const unmet = route ? unmetRequirements(route, model) : [];
  if (route && unmet.length) {
    problems.push({ code: 'JOCH711', what: `does not meet the requirements of ${describeRes(route)}: ${unmet.join(', ')}`, related: [{ at: at(route, ['spec', 'requirements']), message: 'the route requirements' }] });
  }
  for (const r of residencies(surface)) {
    if (!servesResidency(model, r.value)) {
      problems.push({ code: 'JOCH713', what: `cannot keep data in ${r.value}, as ${r.from} requires: it has ${modelRegions(model)}`, related: [{ at: r.at, message: 'the residency' }] });
    }
  }
  return problems.map((p) => {
    const message = `${describeRes(model)}, the ${cap.role ?? 'routed'} model of agent ${agentName(surface.agent)}, ${p.what}`;
    if (fallback) {
      // A fallback the router would skip is a warning: the agent still has a model that serves.
      return { outcome: 'allow', policy: ref, rule: 'JOCH712', reason: `fallback-cannot-serve: ${p.what}`, finding: { code: 'JOCH712', message: `${message}; the router will skip it`, related: p.related } };
    }
    return {
      outcome: 'deny',
      policy: ref,
      rule: p.code,
      reason: p.code === 'JOCH711' ? 'route-requirement-unmet' : 'data-residency',
      finding: {
        code: p.code,
        message,
        hint: p.code === 'JOCH711' ? 'route to a Model that declares these capabilities and limits, or relax spec.requirements' : 'route to a Model whose routing.regions lie in the residency',
        related: p.related,
      },
    };
  });
}

/** How a Secret's `scope.boundTo` may name a holder: the written forms of a model, a tool or an MCP server. */
function boundNames(holder: Resource): { list: 'models' | 'tools' | 'mcpServers'; names: string[] } | undefined {
  const ns = holder.namespace ? [`${holder.namespace}/${holder.name}`] : [];
  if (holder.kind === 'Model') {
    const provider = typeof holder.spec.provider === 'string' ? holder.spec.provider : '';
    const id = typeof holder.spec.model === 'string' ? holder.spec.model : '';
    return { list: 'models', names: [holder.name, `${provider}:${holder.name}`, ...(id ? [id, `${provider}:${id}`] : [])] };
  }
  if (holder.kind === 'Tool') return { list: 'tools', names: [holder.name, ...ns] };
  if (holder.kind === 'MCPServer') return { list: 'mcpServers', names: [holder.name, ...ns] };
  return undefined;
}

/** JOCH714: a Secret whose scope binds it to named holders is used by one it does not name. */
export function secretScoping(cap: Capability, surface: AgentSurface, fleet: FleetIndex, ref: PolicyRef): Contribution[] {
  const holder = cap.resource as Resource;
  const names = boundNames(holder);
  if (!names) return [];
  const out: Contribution[] = [];
  for (const edge of fleet.secretRefs.get(holder.key) ?? []) {
    const secret = fleet.byKey.get(edge.to as string);
    const scope = secret && isRecord(secret.spec.scope) ? secret.spec.scope : undefined;
    if (!secret || !scope || !isRecord(scope.boundTo)) continue;
    const allowed = strings(scope.boundTo[names.list]);
    if (names.names.some((n) => allowed.includes(n))) continue;
    out.push({
      outcome: 'deny',
      policy: ref,
      rule: 'JOCH714',
      reason: 'secret-out-of-scope',
      finding: {
        code: 'JOCH714',
        message: `${describeRes(holder)}, held by agent ${agentName(surface.agent)}, uses ${describeRes(secret)}, whose scope.boundTo.${names.list} ${allowed.length ? `names only ${allowed.join(', ')}` : 'names none'}`,
        hint: `add ${holder.name} to the Secret's scope.boundTo.${names.list}, or give the ${holder.kind} its own Secret`,
        at: referenceAt(holder, edge),
        related: [{ at: at(secret, ['spec', 'scope', 'boundTo']), message: 'what the Secret is bound to' }],
      },
    });
  }
  return out;
}

function referenceAt(holder: Resource, edge: ReferenceEdge): SourcePointer {
  return at(holder, edge.path);
}

/**
 * The Tool spec names allowed agents by name only (safety.allowedAgents, in
 * the tool's namespace), so a tool's owner opens it to other namespaces with
 * this annotation: a comma-separated list of namespaces.
 */
const ALLOWED_NAMESPACES_ANNOTATION = 'joch.dev/allowed-namespaces';

/**
 * JOCH715: a tool in another namespace is another team's; holding it needs
 * the owner's consent, given by listing the agent's namespace in the
 * joch.dev/allowed-namespaces annotation, or by declaring
 * safety.deniedNamespaces (a deny list opens every namespace it does not
 * name; JOCH706 refuses the others). A tool with safety.allowedAgents admits
 * agents of its own namespace only, which is JOCH705's case.
 */
export function namespaceScoping(cap: Capability, surface: AgentSurface, ref: PolicyRef): Contribution[] {
  const tool = cap.resource as Resource;
  const agent = surface.agent;
  if (tool.namespace === undefined || tool.namespace === agent.namespace) return [];
  const safety = isRecord(tool.spec.safety) ? tool.spec.safety : undefined;
  // A deny list of namespaces is the owner opening the tool to every other one (JOCH706 handles those it lists).
  if (safety?.allowedAgents !== undefined || safety?.deniedNamespaces !== undefined) return [];
  const allowed = (tool.annotations[ALLOWED_NAMESPACES_ANNOTATION] ?? '').split(',').map((n) => n.trim());
  if (agent.namespace !== undefined && allowed.includes(agent.namespace)) return [];
  return [
    {
      outcome: 'deny',
      policy: ref,
      rule: 'JOCH715',
      reason: 'cross-namespace',
      finding: {
        code: 'JOCH715',
        message: `agent ${agentName(agent)} references ${describeRes(tool)} in another namespace, which does not let namespace ${agent.namespace ?? ''} in`,
        hint: `the tool's owner lists ${agent.namespace ?? ''} in its ${ALLOWED_NAMESPACES_ANNOTATION} annotation, or the agent uses a tool of its own namespace`,
      },
    },
  ];
}
