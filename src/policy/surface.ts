/**
 * An agent's capability surface as the rules see it: every capability from
 * its AgentGraph with the facts the condition keys read, the agent's own
 * context, its Deployments, and the references that did not resolve.
 *
 * Facts are read on demand through one extractor per key: a rule over
 * tool.sideEffect never pays for parsing a tool's URL. Every extractor
 * checks types: the stage runs on repositories with schema errors and must
 * never crash or guess in the permissive direction.
 */
import type { PathSegment, SourcePointer } from '../diagnostics/index.js';
import type { AgentGraph, ReachedMemory, ReachedRag, ReachedTool, RoutedModel } from '../model/graph.js';
import { declaredPinnedVersion, pinnedServerVersion } from '../model/mcp-server.js';
import type { Resource } from '../model/resource.js';
import { agentKeyOf, isRecord, productionReason, strings, teamsOf, type FleetIndex } from './fleet.js';
import { SENSITIVITY_LEVELS, SIDE_EFFECT_LEVELS } from './keys.js';
import type { Capability, CapabilityRef, Facts, FactValue, ProductionEvidence } from './types.js';

export interface DeploymentLink {
  readonly capability: Capability;
  readonly deployment: Resource;
  readonly environment?: Resource | undefined;
  /** The environment name as written, for an unresolved reference. */
  readonly environmentName: string;
}

export interface AgentSurface {
  readonly agent: Resource;
  /** The agent itself, for rules over its context only. */
  readonly self: Capability;
  /** Tools, MCP servers, models, memories, RAG indices and handoffs, in that order. */
  readonly capabilities: readonly Capability[];
  readonly deployments: readonly DeploymentLink[];
  readonly unresolved: readonly Capability[];
  readonly production: readonly ProductionEvidence[];
  readonly teams: readonly Resource[];
  /** The ModelRoute the agent's models come from, when it resolved. */
  readonly route?: Resource | undefined;
}

/** Whether an agent is deployed to production, for handoff facts. */
export type ProductionLookup = (agentKey: string) => boolean;

type Extractor<C> = (c: C) => FactValue | undefined;

/** Facts of one capability: its extractors by key, its labels by `<prefix>.labels.<label>`. */
class LazyFacts<C> implements Facts {
  constructor(
    private readonly table: ReadonlyMap<string, Extractor<C>>,
    private readonly ctx: C,
    private readonly labelPrefix: string,
    private readonly labels: (c: C, label: string) => FactValue | undefined,
  ) {}

  get(key: string): FactValue | undefined {
    const extract = this.table.get(key);
    if (extract) return extract(this.ctx);
    // A label that is not set is a fact, not an unknown: it equals nothing, as in a Kubernetes selector.
    return key.startsWith(this.labelPrefix) ? (this.labels(this.ctx, key.slice(this.labelPrefix.length)) ?? '') : undefined;
  }
}

export const NO_FACTS: Facts = { get: () => undefined };

function table<C>(entries: Record<string, Extractor<C>>): ReadonlyMap<string, Extractor<C>> {
  return new Map(Object.entries(entries));
}

export function buildSurface(graph: AgentGraph, fleet: FleetIndex, isProduction: ProductionLookup): AgentSurface {
  const agent = graph.agent;
  const deployments = graph.deployments.map((d) => deploymentLink(d.deployment, d.environment));
  const production = productionEvidence(deployments, fleet);
  const teams = teamsOf(agent, fleet);
  const capabilities: Capability[] = [];
  for (const t of graph.tools) capabilities.push(capability(t.resource, 'tool', t.via, toolFacts(t)));
  const servers = new Set<string>();
  for (const m of graph.mcpServers) {
    servers.add(m.resource.key);
    capabilities.push(capability(m.resource, 'mcpServer', m.via, mcpFacts(m.resource)));
  }
  for (const t of graph.tools) {
    const server = t.mcpServer;
    if (!server || servers.has(server.key)) continue;
    servers.add(server.key);
    capabilities.push(capability(server, 'mcpServer', t.via, mcpFacts(server), `via tool ${t.resource.name}`));
  }
  const models = new Set<string>();
  for (const m of graph.models) {
    if (models.has(m.model.key)) continue;
    models.add(m.model.key);
    capabilities.push(capability(m.model, 'model', m.via, new LazyFacts(MODEL, m, 'model.labels.', (c, l) => c.model.labels[l]), m.role));
  }
  const memories = new Set<string>();
  for (const m of graph.memories) {
    if (memories.has(m.resource.key)) continue;
    memories.add(m.resource.key);
    const ctx = { memory: m, agent };
    capabilities.push(capability(m.resource, 'memory', m.via, new LazyFacts(MEMORY, ctx, 'memory.labels.', (c, l) => c.memory.resource.labels[l]), m.role));
  }
  for (const r of graph.rags) capabilities.push(capability(r.resource, 'rag', r.via, new LazyFacts(RAG, r, 'rag.labels.', (c, l) => c.resource.labels[l])));
  for (const h of graph.handoffs) {
    const ctx = { target: h.resource, isProduction };
    capabilities.push(capability(h.resource, 'handoff', h.via, new LazyFacts(HANDOFF, ctx, 'handoff.labels.', (c, l) => c.target.labels[l])));
  }

  const self: Capability = {
    key: 'self',
    ref: refOf(agent),
    class: 'agent',
    via: pointer(agent, ['metadata', 'name']),
    resource: agent,
    facts: agentFacts({ graph, links: deployments, production, teams }),
  };
  return { agent, self, capabilities, deployments, unresolved: unresolvedCapabilities(graph, fleet), production, teams, route: graph.route?.resource };
}

function refOf(r: Resource): CapabilityRef {
  return r.namespace === undefined ? { kind: r.kind, name: r.name } : { kind: r.kind, name: r.name, namespace: r.namespace };
}

function pointer(r: Resource, path: readonly PathSegment[]): SourcePointer {
  return { file: r.file, doc: r.doc, path };
}

function capability(r: Resource, cls: Capability['class'], via: SourcePointer, facts: Facts, role?: string): Capability {
  return { key: r.key, ref: refOf(r), class: cls, via, role, resource: r, facts };
}

function deploymentLink(deployment: Resource, environment: Resource | undefined): DeploymentLink {
  const ref = rec(deployment.spec.environmentRef);
  const environmentName = environment?.name ?? (typeof ref?.name === 'string' ? ref.name : '');
  return {
    capability: capability(deployment, 'deployment', pointer(deployment, ['spec', 'agentRef', 'name']), NO_FACTS),
    deployment,
    environment,
    environmentName,
  };
}

/**
 * Production: any Deployment to a production Environment. An Environment
 * reference that does not resolve counts as production: nothing proves it
 * is not.
 */
function productionEvidence(links: readonly DeploymentLink[], fleet: FleetIndex): ProductionEvidence[] {
  const out: ProductionEvidence[] = [];
  for (const l of links) {
    const because = l.environment
      ? productionReason(l.environment, fleet.productionNames)
      : `Environment "${l.environmentName}" does not resolve, so it counts as production (fail closed)`;
    if (because === undefined) continue;
    out.push({
      deployment: l.deployment.key,
      environment: l.environmentName,
      because,
      at: pointer(l.deployment, ['spec', 'environmentRef', 'name']),
    });
  }
  return out;
}

// ---------------------------------------------------------------- tools

const sideEffects = (t: ReachedTool) => rec(t.resource.spec.sideEffects);
const rateLimit = (t: ReachedTool) => rec(rec(t.resource.spec.safety)?.rateLimit);
const endpoint = (t: ReachedTool) => rec(t.resource.spec.endpoint);

const TOOL = table<ReachedTool>({
  'tool.name': (t) => t.resource.name,
  'tool.namespace': (t) => t.resource.namespace,
  'tool.type': (t) => str(t.resource.spec.type),
  // An undeclared side effect could be anything: it counts as the most dangerous level.
  'tool.sideEffect': (t) => {
    const level = sideEffects(t)?.level;
    return typeof level === 'string' && (SIDE_EFFECT_LEVELS as readonly string[]).includes(level) ? level : 'privileged';
  },
  'tool.requiresApproval': (t) => sideEffects(t)?.requiresApproval === true,
  'tool.idempotent': (t) => sideEffects(t)?.idempotent === true,
  'tool.rateLimit.callsPerMinute': (t) => numOr(rateLimit(t)?.callsPerMinute, Infinity),
  'tool.rateLimit.callsPerDay': (t) => numOr(rateLimit(t)?.callsPerDay, Infinity),
  // Not applicable is not unknown: a tool without a server or an endpoint has none ('').
  'tool.mcpServer': (t) => t.mcpServer?.name ?? str(rec(t.resource.spec.mcpServerRef)?.name) ?? '',
  'tool.host': (t) => (endpoint(t)?.url === undefined ? '' : hostOf(endpoint(t)?.url)),
  'tool.method': (t) => (endpoint(t) === undefined ? '' : str(endpoint(t)?.method)),
});

function toolFacts(t: ReachedTool): Facts {
  return new LazyFacts(TOOL, t, 'tool.labels.', (c, l) => c.resource.labels[l]);
}

// ---------------------------------------------------------------- MCP servers

const security = (s: Resource) => rec(s.spec.security);
const minTrust = (s: Resource) => numOr(security(s)?.minTrustScore, 0);

const MCP = table<Resource>({
  'mcpServer.name': (s) => s.name,
  'mcpServer.transport': (s) => str(s.spec.transport),
  'mcpServer.sandbox': (s) => security(s)?.sandbox === true,
  'mcpServer.allowStdio': (s) => security(s)?.allowStdio === true,
  'mcpServer.pinned': (s) => isPinned(s),
  'mcpServer.pinnedVersion': (s) => declaredPinnedVersion(s) ?? '',
  'mcpServer.publisher': (s) => str(security(s)?.trustedPublisher),
  'mcpServer.minTrustScore': minTrust,
  'mcpServer.promptInjectionScan': (s) => rec(s.spec.scanning)?.promptInjectionScan === true,
  'mcpServer.onSchemaDrift': (s) => str(rec(s.spec.discovery)?.onSchemaDrift),
  'mcpServer.host': (s) => (rec(s.spec.endpoint)?.url === undefined ? '' : hostOf(rec(s.spec.endpoint)?.url)),
  // The gateway refuses a server below its floor, so the score lies in [floor, 1].
  'mcpServer.trustScore': (s) => ({ lo: Math.min(Math.max(minTrust(s), 0), 1), hi: 1 }),
});

export function mcpFacts(server: Resource): Facts {
  return new LazyFacts(MCP, server, 'mcpServer.labels.', (c, l) => c.labels[l]);
}

export function isPinned(server: Resource): boolean {
  return pinnedServerVersion(server) !== undefined;
}

// ---------------------------------------------------------------- models

const pricing = (m: RoutedModel) => rec(m.model.spec.pricing);

const MODEL = table<RoutedModel>({
  'model.name': (m) => m.model.name,
  'model.provider': (m) => str(m.model.spec.provider),
  'model.id': (m) => str(m.model.spec.model),
  'model.role': (m) => m.role,
  'model.endpoint': (m) => str(rec(m.model.spec.endpoint)?.type) ?? 'hosted',
  'model.region': (m) => {
    const regions = rec(m.model.spec.routing)?.regions;
    return Array.isArray(regions) && regions.length ? strings(regions) : undefined;
  },
  'model.price.inputPerMillionTokens': (m) => num(pricing(m)?.inputPerMillionTokens),
  'model.price.outputPerMillionTokens': (m) => num(pricing(m)?.outputPerMillionTokens),
  'model.contextWindow': (m) => num(rec(m.model.spec.limits)?.contextWindowTokens),
});

// ---------------------------------------------------------------- memories

export interface MemoryAccess {
  readonly readable: boolean;
  readonly writable: boolean;
}

/** A list that is not set restricts nothing; a list that is set must name the agent. */
export function memoryAccess(memory: Resource, agent: Resource): MemoryAccess {
  const access = rec(memory.spec.access);
  const ns = memory.namespace ?? '';
  const allows = (list: unknown) => list === undefined || strings(list).some((w) => agentKeyOf(w, ns) === agent.key);
  return { readable: allows(access?.readableBy), writable: allows(access?.writableBy) };
}

interface MemoryContext {
  readonly memory: ReachedMemory;
  readonly agent: Resource;
}

const privacy = (c: MemoryContext) => rec(c.memory.resource.spec.privacy);

const MEMORY = table<MemoryContext>({
  'memory.name': (c) => c.memory.resource.name,
  'memory.namespace': (c) => c.memory.resource.namespace,
  'memory.type': (c) => str(c.memory.resource.spec.type),
  'memory.role': (c) => c.memory.role,
  'memory.backend': (c) => str(rec(c.memory.resource.spec.backend)?.type),
  'memory.piiHandling': (c) => str(privacy(c)?.piiHandling),
  'memory.encryption': (c) => str(privacy(c)?.encryption),
  'memory.readable': (c) => memoryAccess(c.memory.resource, c.agent).readable,
  'memory.writable': (c) => memoryAccess(c.memory.resource, c.agent).writable,
});

// ---------------------------------------------------------------- RAG indices

/** Sensitivity of every source; unknown (absent) when one source declares none. */
function sensitivities(r: ReachedRag): string[] | undefined {
  if (r.sources.length === 0) return undefined;
  const out: string[] = [];
  for (const s of r.sources) {
    const level = str(rec(s.resource.spec.classification)?.sensitivity);
    if (level === undefined || !(SENSITIVITY_LEVELS as readonly string[]).includes(level)) return undefined;
    out.push(level);
  }
  return out;
}

const RAG = table<ReachedRag>({
  'rag.name': (r) => r.resource.name,
  'rag.namespace': (r) => r.resource.namespace,
  'rag.sensitivity': sensitivities,
  'rag.sourceType': (r) => r.sources.map((s) => str(s.resource.spec.type)).filter(defined),
  'rag.citationsRequired': (r) => rec(r.resource.spec.citations)?.required === true,
  'rag.enforcePermissions': (r) => rec(r.resource.spec.permissions)?.enforceAtQueryTime === true,
});

// ---------------------------------------------------------------- handoffs

interface HandoffContext {
  readonly target: Resource;
  readonly isProduction: ProductionLookup;
}

const HANDOFF = table<HandoffContext>({
  'handoff.agent': (c) => c.target.name,
  'handoff.namespace': (c) => c.target.namespace,
  'handoff.production': (c) => c.isProduction(c.target.key),
});

// ---------------------------------------------------------------- the agent itself

interface AgentContext {
  readonly graph: AgentGraph;
  readonly links: readonly DeploymentLink[];
  readonly production: readonly ProductionEvidence[];
  readonly teams: readonly Resource[];
}

const budget = (c: AgentContext, field: string) => numOr(rec(c.graph.agent.spec.budgets)?.[field], Infinity);
const environments = (c: AgentContext) => c.links.map((l) => l.environment).filter(defined);
const compliance = (e: Resource) => rec(e.spec.compliance);
const envValues = (c: AgentContext, read: (e: Resource) => string | undefined) => unique(environments(c).map(read).filter(defined));

const AGENT = table<AgentContext>({
  'agent.name': (c) => c.graph.agent.name,
  'agent.namespace': (c) => c.graph.agent.namespace,
  'agent.framework': (c) => c.graph.adapter?.resource.name ?? str(rec(rec(c.graph.agent.spec.framework)?.adapterRef)?.name),
  'agent.team': (c) => {
    const names = new Set(c.teams.map((t) => t.name));
    if (c.graph.agent.labels.team !== undefined) names.add(c.graph.agent.labels.team);
    return [...names].sort();
  },
  environment: (c) => unique(c.links.map((l) => l.environmentName).filter((n) => n !== '')),
  'environment.production': (c) => c.production.length > 0,
  'environment.region': (c) => envValues(c, (e) => str(e.spec.region)),
  'environment.piiMode': (c) => envValues(c, (e) => str(compliance(e)?.piiMode)),
  'environment.dataResidency': (c) => envValues(c, (e) => str(compliance(e)?.dataResidency)),
  'budget.tokenLimitPerRun': (c) => budget(c, 'tokenLimitPerRun'),
  'budget.costLimitUsdPerRun': (c) => budget(c, 'costLimitUsdPerRun'),
  'budget.costLimitUsdPerDay': (c) => budget(c, 'costLimitUsdPerDay'),
  'budget.toolCallLimitPerRun': (c) => budget(c, 'toolCallLimitPerRun'),
});

/** The agent's labels, and the labels of its Environments (a list: it may run in several). */
function agentLabel(c: AgentContext, key: string): FactValue | undefined {
  if (key.startsWith('agent.labels.')) return c.graph.agent.labels[key.slice('agent.labels.'.length)] ?? '';
  const label = key.slice('environment.labels.'.length);
  return unique(environments(c).map((e) => e.labels[label]).filter(defined)).sort();
}

function agentFacts(ctx: AgentContext): Facts {
  return {
    get: (key) => {
      const extract = AGENT.get(key);
      if (extract) return extract(ctx);
      return key.startsWith('agent.labels.') || key.startsWith('environment.labels.') ? agentLabel(ctx, key) : undefined;
    },
  };
}

// ---------------------------------------------------------------- holes

/** Kinds whose unresolved references leave a hole in the surface, by the kind that holds the reference. */
const SURFACE_REFERENCES: Readonly<Record<string, ReadonlySet<string>>> = {
  Agent: new Set(['FrameworkAdapter', 'ModelRoute', 'Tool', 'MCPServer', 'Memory', 'RAG', 'Agent', 'Policy']),
  ModelRoute: new Set(['Model']),
  // Tool.safety.allowedAgents names agents that may call it, not capabilities of this one.
  Tool: new Set(['MCPServer']),
  RAG: new Set(['KnowledgeSource', 'Model']),
  Deployment: new Set(['Environment']),
};

function unresolvedCapabilities(graph: AgentGraph, fleet: FleetIndex): Capability[] {
  const holders: Resource[] = [
    graph.agent,
    ...(graph.route ? [graph.route.resource] : []),
    ...graph.tools.map((t) => t.resource),
    ...graph.rags.map((r) => r.resource),
    ...graph.deployments.map((d) => d.deployment),
  ];
  const out: Capability[] = [];
  const seen = new Set<string>();
  for (const h of holders) {
    const holes = fleet.unresolvedFrom.get(h.key);
    if (!holes || seen.has(h.key)) continue;
    seen.add(h.key);
    const kinds = SURFACE_REFERENCES[h.kind];
    for (const e of holes) {
      if (!kinds?.has(e.kind)) continue;
      out.push({ key: `unresolved:${h.key}:${e.path.join('.')}`, ref: { kind: e.kind, name: e.written }, class: 'unresolved', via: pointer(h, e.path), facts: NO_FACTS });
    }
  }
  return out;
}

// ---------------------------------------------------------------- readers

function rec(v: unknown): Record<string, unknown> | undefined {
  return isRecord(v) ? v : undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function numOr(v: unknown, fallback: number): number {
  return num(v) ?? fallback;
}

/** The host of an absolute URL, lowercased; a regular expression is a tenth of the cost of `new URL`. */
const URL_HOST = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/?#]*@)?(\[[^\]]*\]|[^:/?#]+)/i;

function hostOf(url: unknown): string | undefined {
  if (typeof url !== 'string') return undefined;
  return URL_HOST.exec(url)?.[1]?.toLowerCase();
}

function unique<T>(xs: readonly T[]): T[] {
  return [...new Set(xs)];
}

function defined<T>(x: T | undefined): x is T {
  return x !== undefined;
}
