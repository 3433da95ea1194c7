/**
 * The CompiledAgentManifest (docs/architecture/control-plane.md): the agent
 * with every reference resolved, as the worker runs it. Built from the agent
 * graph of the validate stage and the policy bundle of the policy stage.
 */
import type { SourcePointer } from '../diagnostics/index.js';
import type { AgentGraph, Reached, ReachedMemory, ReachedRag, ReachedTool, RoutedModel } from '../model/graph.js';
import { kubernetesName, labelValue } from '../model/names.js';
import type { CapabilityDecision, PolicyBundle } from '../model/policy-bundle.js';
import { resourceKey, type Resource } from '../model/resource.js';
import type { UnitContext } from './context.js';
import { contentDigest, sha256 } from './hash.js';
import { ANNOTATION, LABEL } from './meta.js';
import { secretEntry, secretUses } from './secrets.js';
import type { CompiledAgentManifest, CompiledManifestEntry, DataPlaneOptions } from './types.js';

type Json = Record<string, unknown>;
type Urls = DataPlaneOptions['urls'];

const rec = (v: unknown): Json => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** Drops undefined members so the manifest only says what is known. */
function defined(obj: Json): Json {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined));
}

/** The data-plane URLs of an agent: its adapter's bindings win over the installation defaults. */
export function agentUrls(graph: AgentGraph, urls: Urls): Urls {
  const bindings = rec(graph.adapter?.resource.spec.bindings);
  return {
    ...urls,
    toolGateway: str(bindings.toolGatewayUrl) ?? urls.toolGateway,
    mcpGateway: str(bindings.mcpGatewayUrl) ?? urls.mcpGateway,
    router: str(bindings.modelRouterUrl) ?? urls.router,
  };
}

function decisionFor(bundle: PolicyBundle | undefined, r: Resource): CapabilityDecision | undefined {
  return bundle?.decisions.find((d) => d.capability.kind === r.kind && d.capability.name === r.name && (d.capability.namespace ?? undefined) === r.namespace);
}

function decisionEntry(d: CapabilityDecision | undefined): Json | undefined {
  if (!d) return undefined;
  return defined({ outcome: d.outcome, decidedBy: d.decidedBy, reason: d.reason, redactionRules: d.redactionRules });
}

function framework(graph: AgentGraph): Json {
  const fw = rec(graph.agent.spec.framework);
  const adapter = graph.adapter?.resource;
  return defined({
    adapter: adapter?.name,
    framework: str(adapter?.spec.framework),
    language: str(adapter?.spec.language),
    adapterImage: str(adapter?.spec.adapterImage),
    image: str(fw.image),
    entrypoint: str(fw.entrypoint),
    pythonModule: str(fw.pythonModule),
    typescriptModule: str(fw.typescriptModule),
    workflow: str(fw.workflow),
    capabilities: adapter?.spec.capabilities,
  });
}

function modelEntry(m: RoutedModel): Json {
  const spec = m.model.spec;
  const endpoint = rec(spec.endpoint);
  return defined({
    ref: m.written,
    name: m.model.name,
    provider: str(spec.provider),
    model: str(spec.model),
    endpoint: Object.keys(endpoint).length ? defined({ type: endpoint.type, baseUrl: endpoint.baseUrl }) : undefined,
    contextWindowTokens: rec(spec.limits).contextWindowTokens,
    capabilities: spec.capabilities,
    // The router holds each agent to the provider's rate limits (the Model's own, not the agent's budgets).
    rateLimits: rateLimits(spec),
    regions: rec(spec.routing).regions,
  });
}

function rateLimits(spec: Readonly<Record<string, unknown>>): Json | undefined {
  const limits = rec(spec.limits);
  const out = defined({ requestsPerMinute: limits.requestsPerMinute, tokensPerMinute: limits.tokensPerMinute, maxOutputTokens: limits.maxOutputTokens });
  return Object.keys(out).length ? out : undefined;
}

function modelRoute(graph: AgentGraph, urls: Urls, bundle: PolicyBundle | undefined): Json | undefined {
  const route = graph.route?.resource;
  if (!route) return undefined;
  const strategy = rec(route.spec.strategy);
  const primary = graph.models.find((m) => m.role === 'primary');
  return defined({
    name: route.name,
    namespace: route.namespace,
    routerUrl: urls.router,
    primary: primary ? { ...modelEntry(primary), ...defined({ policyDecision: decisionEntry(decisionFor(bundle, primary.model)) }) } : undefined,
    fallback: graph.models
      .filter((m) => m.role === 'fallback')
      .map((m) => ({ ...modelEntry(m), ...defined({ policyDecision: decisionEntry(decisionFor(bundle, m.model)) }) })),
    failover: strategy.failover,
    requirements: route.spec.requirements,
    constraints: route.spec.constraints,
  });
}

/** A content hash of the tool's input and output schemas: a changed contract changes the hash. */
export function toolSchemaHash(tool: Resource): string {
  return contentDigest({ inputSchema: tool.spec.inputSchema ?? null, outputSchema: tool.spec.outputSchema ?? null });
}

function toolEntry(t: ReachedTool, urls: Urls, bundle: PolicyBundle | undefined): Json {
  const spec = t.resource.spec;
  const effects = rec(spec.sideEffects);
  const decision = decisionFor(bundle, t.resource);
  const approval = decision?.approval;
  return defined({
    name: t.resource.name,
    namespace: t.resource.namespace,
    type: str(spec.type),
    gatewayUrl: spec.type === 'mcp' ? urls.mcpGateway : urls.toolGateway,
    mcpServer: t.mcpServer?.name,
    sideEffect: str(effects.level) ?? 'unspecified',
    idempotent: effects.idempotent === true,
    requiresApproval: effects.requiresApproval === true || decision?.outcome === 'require-approval',
    approval: approval ? defined({ ...approval }) : undefined,
    policyDecision: decisionEntry(decision),
    schemaSha: toolSchemaHash(t.resource),
    rateLimit: rec(spec.safety).rateLimit,
  });
}

/** Servers the agent names and servers behind its MCP tools, once each. */
function mcpServers(graph: AgentGraph, urls: Urls, bundle: PolicyBundle | undefined): Json[] {
  const servers = new Map<string, { server: Resource; direct: boolean }>();
  for (const m of graph.mcpServers) servers.set(m.resource.key, { server: m.resource, direct: true });
  for (const t of graph.tools) {
    if (t.mcpServer && !servers.has(t.mcpServer.key)) servers.set(t.mcpServer.key, { server: t.mcpServer, direct: false });
  }
  return [...servers.values()]
    .sort((a, b) => (a.server.key < b.server.key ? -1 : 1))
    .map(({ server, direct }) => {
      const security = rec(server.spec.security);
      return defined({
        name: server.name,
        gatewayUrl: urls.mcpGateway,
        transport: str(server.spec.transport),
        pinnedVersion: str(security.pinnedVersion),
        pinServerVersion: security.pinServerVersion === true,
        trustedPublisher: str(security.trustedPublisher),
        minTrustScore: security.minTrustScore,
        sandbox: security.sandbox,
        exposes: server.spec.exposes,
        via: direct ? 'agent' : 'tool',
        policyDecision: decisionEntry(decisionFor(bundle, server)),
      });
    });
}

function memories(list: readonly ReachedMemory[], urls: Urls): Json {
  const out: Json = {};
  for (const m of [...list].sort((a, b) => (a.role < b.role ? -1 : 1))) {
    const spec = m.resource.spec;
    out[m.role] = defined({
      name: m.resource.name,
      namespace: m.resource.namespace,
      endpoint: urls.memory,
      type: str(spec.type),
      backend: str(rec(spec.backend).type),
      retention: spec.retention,
      access: spec.access,
      privacy: spec.privacy,
    });
  }
  return out;
}

function rags(list: readonly ReachedRag[], urls: Urls): Json[] {
  return list.map((r) =>
    defined({
      name: r.resource.name,
      namespace: r.resource.namespace,
      endpoint: urls.memory,
      sources: r.sources.map((s) => defined({ name: s.resource.name, namespace: s.resource.namespace, type: str(s.resource.spec.type), classification: s.resource.spec.classification })),
      embeddingModel: r.embeddingModel?.name,
      rerankerModel: r.rerankerModel?.name,
      retrieval: r.resource.spec.retrieval,
      citations: r.resource.spec.citations,
    }),
  );
}

const names = (list: readonly Reached[]): Json[] => list.map((r) => defined({ name: r.resource.name, namespace: r.resource.namespace }));

/**
 * What each Policy in effect asks the engine to record (Policy.spec.audit),
 * so the runtime logs requests and decisions where the policy's owner said.
 */
function policyAudit(bundle: PolicyBundle, ctx: UnitContext): Json[] | undefined {
  const out: Json[] = [];
  for (const p of bundle.policies) {
    if (p.source === 'baseline') continue;
    const audit = ctx.byKey.get(resourceKey('Policy', p.namespace, p.name))?.spec.audit;
    if (audit !== undefined) out.push({ policy: `${p.namespace ? `${p.namespace}/` : ''}${p.name}`, ...rec(audit) });
  }
  return out.length ? out : undefined;
}

function policies(bundle: PolicyBundle, ctx: UnitContext): Json {
  return defined({
    bundleHash: bundle.hash,
    resolved: bundle.policies.map((p) => `${p.namespace ? `${p.namespace}/` : ''}${p.name}@${p.version}`),
    policies: bundle.policies,
    decisions: bundle.decisions,
    runtimeRules: bundle.runtimeRules,
    audit: policyAudit(bundle, ctx),
  });
}

function secrets(graph: AgentGraph, ctx: UnitContext): Json[] {
  const holders: Resource[] = [
    ...graph.tools.map((t) => t.resource),
    ...graph.tools.flatMap((t) => (t.mcpServer ? [t.mcpServer] : [])),
    ...graph.mcpServers.map((m) => m.resource),
    ...graph.models.map((m) => m.model),
    ...graph.memories.map((m) => m.resource),
    ...graph.rags.flatMap((r) => [r.resource, ...r.sources.map((s) => s.resource)]),
  ];
  const seen = new Set<string>();
  const out: Json[] = [];
  for (const use of secretUses(holders, ctx)) {
    const id = `${use.secret.key}|${use.holder.key}`;
    if (seen.has(id)) continue;
    seen.add(id);
    out.push(secretEntry(use));
  }
  return out.sort((a, b) => (`${String(a.namespace)}/${String(a.name)}/${String(rec(a.usedBy).name)}` < `${String(b.namespace)}/${String(b.name)}/${String(rec(b.usedBy).name)}` ? -1 : 1));
}

function observability(graph: AgentGraph, urls: Urls): Json {
  const o = rec(graph.agent.spec.observability);
  return defined({
    tracing: str(o.tracing) ?? 'enabled',
    agbom: str(o.agbom) ?? 'enabled',
    redactSensitiveData: o.redactSensitiveData === true,
    traceEndpoint: urls.trace,
    // The documented contract's name (docs/architecture/control-plane.md).
    abomEndpoint: urls.agbom,
  });
}

/**
 * What caps the agent's spending: its own per-run limits (spec.budgets) and
 * every Budget that binds it, with enforcement and its share of an
 * allocation, as the policy stage bound them.
 */
function budgets(graph: AgentGraph, bundle: PolicyBundle | undefined): Json | undefined {
  const own = graph.agent.spec.budgets;
  const bound = bundle?.budgets;
  if (own === undefined && !bound?.length) return undefined;
  return defined({ agent: own, bound: bound?.length ? bound : undefined });
}

/** The spec: everything the worker runs from. No commit and no time, so it changes only when the agent does. */
export function manifestSpec(graph: AgentGraph, bundle: PolicyBundle | undefined, ctx: UnitContext): Json {
  const agent = graph.agent;
  const urls = agentUrls(graph, ctx.options.dataPlane.urls);
  return defined({
    agent: defined({
      name: agent.name,
      namespace: agent.namespace,
      kubernetesName: kubernetesName(agent.name),
      displayName: str(agent.spec.displayName),
      sourceHash: ctx.provenance(agent).sourceHash,
    }),
    framework: framework(graph),
    modelRoute: modelRoute(graph, urls, bundle),
    tools: graph.tools.map((t) => toolEntry(t, urls, bundle)),
    mcpServers: mcpServers(graph, urls, bundle),
    memories: memories(graph.memories, urls),
    rag: rags(graph.rags, urls),
    handoffs: names(graph.handoffs),
    children: names(graph.children),
    budgets: budgets(graph, bundle),
    secrets: secrets(graph, ctx),
    policies: bundle ? policies(bundle, ctx) : undefined,
    observability: observability(graph, urls),
  });
}

/**
 * The manifest without the source commit: what the agent's ConfigMap holds,
 * so a commit that does not touch the agent does not roll its pods.
 */
export function compiledManifest(graph: AgentGraph, bundle: PolicyBundle | undefined, ctx: UnitContext): CompiledManifestEntry {
  const spec = manifestSpec(graph, bundle, ctx);
  // The spec is built in a fixed order from the inputs: plain JSON is canonical enough.
  const hash = `sha256:${sha256(JSON.stringify(spec))}`;
  const from = ctx.provenance(graph.agent);
  const origin: SourcePointer = { file: graph.agent.file, doc: graph.agent.doc, path: [] };
  const manifest: CompiledAgentManifest = {
    apiVersion: 'internal.joch.dev/v1',
    kind: 'CompiledAgentManifest',
    metadata: {
      name: kubernetesName(graph.agent.name),
      namespace: graph.agent.namespace ?? '',
      labels: { [LABEL.agent]: labelValue(graph.agent.name), [LABEL.sourceHash]: from.sourceHash },
      annotations: { [ANNOTATION.name]: graph.agent.name, [ANNOTATION.source]: from.sourcePath, [ANNOTATION.manifestHash]: hash },
    },
    spec,
  };
  return { agent: graph.agent.key, manifest, hash, origin };
}

/** The manifest as a file: the source commit (and its time) go on its metadata. */
export function withCommit(entry: CompiledManifestEntry, revision: string | undefined, commitTime: number | undefined): CompiledManifestEntry {
  if (!revision && commitTime === undefined) return entry;
  const annotations = {
    ...entry.manifest.metadata.annotations,
    ...(revision ? { [ANNOTATION.sourceCommit]: revision } : {}),
    ...(commitTime !== undefined ? { [ANNOTATION.sourceCommitTime]: new Date(commitTime * 1000).toISOString() } : {}),
  };
  return { ...entry, manifest: { ...entry.manifest, metadata: { ...entry.manifest.metadata, annotations } } };
}

/** The manifest as its agent's ConfigMap holds it: without the source commit `withCommit` added. */
export function withoutCommit(manifest: CompiledAgentManifest): CompiledAgentManifest {
  const annotations = Object.fromEntries(
    Object.entries(manifest.metadata.annotations).filter(([k]) => k !== ANNOTATION.sourceCommit && k !== ANNOTATION.sourceCommitTime),
  );
  return { ...manifest, metadata: { ...manifest.metadata, annotations } };
}
