/**
 * Each agent's resolved surface: everything it can reach, with the place of
 * the reference that gives it each capability. Policy evaluates it, the
 * compiler turns it into a CompiledAgentManifest, the AgBOM inventories it:
 * one walk of the reference graph serves all three.
 */
import type { SourcePointer } from '../diagnostics/index.js';
import type { Resource } from './resource.js';

/** One edge of the reference graph, as the validate stage resolved it. */
export interface ReferenceEdge {
  readonly from: string;
  readonly path: readonly (string | number)[];
  readonly kind: string;
  readonly written: string;
  readonly to: string | undefined;
}

/** A capability the agent holds, and where the reference that grants it is written. */
export interface Reached<T extends Resource = Resource> {
  readonly resource: T;
  /** The reference in the agent (or in a resource between) that leads here. */
  readonly via: SourcePointer;
}

export interface RoutedModel {
  readonly role: 'primary' | 'fallback';
  /** Position in the fallback list; 0 for the primary. */
  readonly order: number;
  /** As written in the route, `provider:model`. */
  readonly written: string;
  readonly model: Resource;
  readonly via: SourcePointer;
}

export interface ReachedTool extends Reached {
  /** The MCP server of an `mcp` tool. */
  readonly mcpServer?: Resource | undefined;
}

export interface ReachedRag extends Reached {
  readonly sources: readonly Reached[];
  readonly embeddingModel?: Resource | undefined;
  readonly rerankerModel?: Resource | undefined;
}

export interface ReachedMemory extends Reached {
  /** The binding role in the agent, such as `working` or `longTerm`. */
  readonly role: string;
}

export interface AgentDeployment {
  readonly deployment: Resource;
  readonly environment?: Resource | undefined;
}

export interface AgentGraph {
  readonly agent: Resource;
  readonly adapter?: Reached | undefined;
  readonly route?: Reached | undefined;
  readonly models: readonly RoutedModel[];
  readonly tools: readonly ReachedTool[];
  readonly mcpServers: readonly Reached[];
  readonly memories: readonly ReachedMemory[];
  readonly rags: readonly ReachedRag[];
  /** Policies the agent names itself (spec.policies); selector-bound ones are the policy stage's business. */
  readonly attachedPolicies: readonly Reached[];
  readonly handoffs: readonly Reached[];
  readonly children: readonly Reached[];
  readonly deployments: readonly AgentDeployment[];
  /** Evals whose target is this agent. */
  readonly evals: readonly Resource[];
  /** AgBOM settings resources for this agent. */
  readonly agbomSettings: readonly Resource[];
  /** Secrets reached through the agent's tools, servers, models, memories and indices. */
  readonly secrets: readonly Reached[];
}

/** Builds the surface of every agent, sorted by agent key. */
export function buildAgentGraphs(resources: readonly Resource[], edges: readonly ReferenceEdge[]): AgentGraph[] {
  return buildAgentGraphsFor(
    resources.filter((r) => r.kind === 'Agent'),
    new Map(resources.map((r) => [r.key, r])),
    edges,
  );
}

/**
 * The graphs of some agents only, with resources looked up by key on demand
 * (an incremental run builds the graphs of the agents a change reaches).
 */
export function buildAgentGraphsFor(
  agents: readonly Resource[],
  byKey: Pick<ReadonlyMap<string, Resource>, 'get'>,
  edges: readonly ReferenceEdge[],
): AgentGraph[] {
  const edgesFrom = new Map<string, ReferenceEdge[]>();
  const edgesTo = new Map<string, ReferenceEdge[]>();
  for (const e of edges) {
    push(edgesFrom, e.from, e);
    if (e.to) push(edgesTo, e.to, e);
  }
  const ctx: Ctx = { byKey, edgesFrom, edgesTo };
  return agents.map((agent) => buildOne(agent, ctx)).sort((a, b) => (a.agent.key < b.agent.key ? -1 : a.agent.key > b.agent.key ? 1 : 0));
}

interface Ctx {
  readonly byKey: Pick<ReadonlyMap<string, Resource>, 'get'>;
  readonly edgesFrom: ReadonlyMap<string, readonly ReferenceEdge[]>;
  readonly edgesTo: ReadonlyMap<string, readonly ReferenceEdge[]>;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function pointer(from: Resource, e: ReferenceEdge): SourcePointer {
  return { file: from.file, doc: from.doc, path: e.path };
}

/** Resolved outgoing edges of `from` whose path starts with `prefix` and that lead to `kind`. */
function reached(ctx: Ctx, from: Resource, kind: string, prefix: readonly (string | number)[]): Reached[] {
  const out: Reached[] = [];
  for (const e of ctx.edgesFrom.get(from.key) ?? []) {
    if (e.kind !== kind || !e.to || !startsWith(e.path, prefix)) continue;
    const resource = ctx.byKey.get(e.to);
    if (resource) out.push({ resource, via: pointer(from, e) });
  }
  return out;
}

function startsWith(path: readonly (string | number)[], prefix: readonly (string | number)[]): boolean {
  return prefix.every((p, i) => path[i] === p);
}

function buildOne(agent: Resource, ctx: Ctx): AgentGraph {
  const adapter = reached(ctx, agent, 'FrameworkAdapter', ['spec', 'framework'])[0];
  const route = reached(ctx, agent, 'ModelRoute', ['spec', 'modelRoute'])[0];
  const models: RoutedModel[] = [];
  if (route) {
    for (const e of ctx.edgesFrom.get(route.resource.key) ?? []) {
      if (e.kind !== 'Model' || !e.to) continue;
      const model = ctx.byKey.get(e.to);
      if (!model) continue;
      const fallback = e.path[2] === 'fallback';
      models.push({
        role: fallback ? 'fallback' : 'primary',
        order: fallback ? Number(e.path[3]) + 1 : 0,
        written: e.written,
        model,
        via: pointer(route.resource, e),
      });
    }
    models.sort((a, b) => a.order - b.order);
  }

  const tools: ReachedTool[] = reached(ctx, agent, 'Tool', ['spec', 'tools']).map((t) => ({
    ...t,
    mcpServer: reached(ctx, t.resource, 'MCPServer', ['spec', 'mcpServerRef'])[0]?.resource,
  }));
  const mcpServers = reached(ctx, agent, 'MCPServer', ['spec', 'mcpServers']);
  const memories: ReachedMemory[] = reached(ctx, agent, 'Memory', ['spec', 'memories']).map((m) => ({
    ...m,
    role: String(m.via.path[2]),
  }));
  const rags: ReachedRag[] = reached(ctx, agent, 'RAG', ['spec', 'ragRefs']).map((r) => ({
    ...r,
    sources: reached(ctx, r.resource, 'KnowledgeSource', ['spec', 'sources']),
    embeddingModel: reached(ctx, r.resource, 'Model', ['spec', 'embeddingModelRef'])[0]?.resource,
    rerankerModel: reached(ctx, r.resource, 'Model', ['spec', 'retrieval'])[0]?.resource,
  }));

  const deployments: AgentDeployment[] = [];
  const evals: Resource[] = [];
  const agbomSettings: Resource[] = [];
  for (const e of ctx.edgesTo.get(agent.key) ?? []) {
    const from = ctx.byKey.get(e.from);
    if (!from) continue;
    if (from.kind === 'Deployment' && e.path[1] === 'agentRef') {
      const env = reached(ctx, from, 'Environment', ['spec', 'environmentRef'])[0]?.resource;
      deployments.push({ deployment: from, environment: env });
    } else if (from.kind === 'Eval' && e.path[1] === 'target') {
      evals.push(from);
    } else if (from.kind === 'AgBOM' && e.path[1] === 'agentRef') {
      agbomSettings.push(from);
    }
  }

  // Secrets are reached through the resources the agent uses, one hop away.
  const holders: Resource[] = [
    ...tools.map((t) => t.resource),
    ...tools.flatMap((t) => (t.mcpServer ? [t.mcpServer] : [])),
    ...mcpServers.map((m) => m.resource),
    ...models.map((m) => m.model),
    ...memories.map((m) => m.resource),
    ...rags.map((r) => r.resource),
    ...rags.flatMap((r) => r.sources.map((s) => s.resource)),
  ];
  const secrets = new Map<string, Reached>();
  for (const h of holders) {
    for (const s of reached(ctx, h, 'Secret', ['spec'])) if (!secrets.has(s.resource.key)) secrets.set(s.resource.key, s);
  }

  return {
    agent,
    adapter,
    route,
    models,
    tools,
    mcpServers,
    memories,
    rags,
    attachedPolicies: reached(ctx, agent, 'Policy', ['spec', 'policies']),
    handoffs: reached(ctx, agent, 'Agent', ['spec', 'handoffs']),
    children: reached(ctx, agent, 'Agent', ['spec', 'children']),
    deployments: deployments.sort((a, b) => (a.deployment.key < b.deployment.key ? -1 : 1)),
    evals: evals.sort((a, b) => (a.key < b.key ? -1 : 1)),
    agbomSettings: agbomSettings.sort((a, b) => (a.key < b.key ? -1 : 1)),
    secrets: [...secrets.values()].sort((a, b) => (a.resource.key < b.resource.key ? -1 : 1)),
  };
}
