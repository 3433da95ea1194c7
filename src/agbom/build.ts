/**
 * AgentGraph + PolicyBundle -> the internal AgBOM inventory. One pass over
 * the agent's resolved surface; every component keeps only allow-listed
 * fields of its record (never annotations, never anything a secret value
 * could hide in), and its dependencies as bom-refs.
 */
import type { AgentGraph, ReachedRag } from '../model/graph.js';
import type { PolicyBundle, PolicyRef } from '../model/policy-bundle.js';
import { declaredPinnedVersion, pinnedServerVersion } from '../model/mcp-server.js';
import type { Resource } from '../model/resource.js';
import { decisionFacts, policyName, runtimeRuleFacts, toolApproval } from './approval.js';
import { maxSensitivity, modelFactsOf, personalDataOf, zoneOfModel, zoneOfUrl, DEFAULT_CLASSIFICATION, type Zone } from './classify.js';
import { Facts } from './facts.js';
import { canonicalJson, contentDigest } from '../compile/hash.js';
import { agbomSerial, bomRef, byString, identityKey, recordVersion } from './identity.js';
import type { AgBomInventory, ComponentClass, DataFlow, InventoryComponent, SecretMaterial, ServiceFacts } from './model.js';
import { bool, imageTag, list, num, obj, safeUrl, scalar, segment, str, strings, type Obj } from './spec.js';

/** A component under construction: dependencies and model roles accumulate as the walk finds them. */
interface Draft {
  component: Omit<InventoryComponent, 'dependsOn' | 'facts'>;
  facts: Facts;
  dependsOn: Set<string>;
  resource?: Resource | undefined;
}

interface Walk {
  readonly graph: AgentGraph;
  readonly bundle: PolicyBundle | undefined;
  readonly drafts: Map<string, Draft>;
  /** Agent-level data classification: the ceiling of what flows to its services. */
  readonly classification: string;
  readonly trustScores: ReadonlyMap<string, number>;
  readonly regid: string;
  /** Secret resources the agent reaches, by `name` and `namespace/name`. */
  readonly secrets: ReadonlyMap<string, Resource>;
  /** How each secret is used, which decides its CycloneDX material type. */
  readonly secretUse: Map<string, SecretMaterial>;
}

export interface BuildOptions {
  /** Registration id of the organization: scopes the serial numbers of peer agents' AgBOMs. */
  readonly regid: string;
  /** Trust scores observed at run time, by MCPServer name; the records only hold thresholds. */
  readonly mcpTrustScores?: ReadonlyMap<string, number> | undefined;
}

export function buildInventory(graph: AgentGraph, bundle: PolicyBundle | undefined, options: BuildOptions): AgBomInventory {
  const walk: Walk = {
    graph,
    bundle,
    drafts: new Map(),
    classification: agentClassification(graph),
    trustScores: options.mcpTrustScores ?? new Map(),
    regid: options.regid,
    secrets: secretIndex(graph),
    secretUse: new Map(),
  };
  const agent = addAgent(walk);
  if (graph.adapter) link(agent, addFramework(walk, graph.adapter.resource));
  if (graph.route) link(agent, addRoute(walk, graph.route.resource));
  for (const t of graph.tools) link(agent, addTool(walk, t.resource, t.mcpServer));
  for (const m of graph.mcpServers) link(agent, addMcpServer(walk, m.resource));
  for (const m of graph.memories) link(agent, addMemory(walk, m.resource, m.role));
  for (const r of graph.rags) link(agent, addRag(walk, r));
  for (const p of policiesInEffect(graph, bundle)) link(agent, addPolicy(walk, p.ref, p.resource, p.order));
  for (const h of graph.handoffs) link(agent, addPeer(walk, h.resource, 'handoff'));
  for (const c of graph.children) link(agent, addPeer(walk, c.resource, 'child'));
  return finish(walk, agent, excludedClasses(graph));
}

// ---------------------------------------------------------------------------
// Drafts

function link(from: Draft, to: Draft): void {
  from.dependsOn.add(to.component.ref);
}

function draftOf(
  walk: Walk,
  r: Resource,
  cls: ComponentClass,
  version: string,
  extra: Partial<Omit<InventoryComponent, 'ref' | 'key' | 'class' | 'kind' | 'name' | 'version' | 'facts' | 'dependsOn'>> = {},
  part?: string,
): { draft: Draft; fresh: boolean } {
  const key = identityKey(r.kind, r.namespace, r.name, part);
  const existing = walk.drafts.get(key);
  if (existing) return { draft: existing, fresh: false };
  const draft: Draft = {
    component: {
      ref: bomRef(r.kind, r.namespace, r.name, version, part),
      key,
      class: cls,
      kind: r.kind,
      name: part ? `${r.name}-${part}` : r.name,
      namespace: r.namespace,
      group: r.namespace,
      version,
      complete: true,
      file: r.file,
      ...extra,
    },
    facts: new Facts(),
    dependsOn: new Set(),
    resource: r,
  };
  walk.drafts.set(key, draft);
  return { draft, fresh: true };
}

function setComponent(d: Draft, patch: Partial<InventoryComponent>): void {
  d.component = { ...d.component, ...patch };
}

// ---------------------------------------------------------------------------
// Agent and peers

function ownerOf(agent: Resource): string {
  return agent.labels.team ?? agent.namespace ?? 'default';
}

function addAgent(walk: Walk): Draft {
  const a = walk.graph.agent;
  const image = str(a.spec, 'framework', 'image');
  const { draft } = draftOf(walk, a, 'agent', imageTag(image) ?? recordVersion(a.contentHash), {
    description: str(a.spec, 'description')?.trim(),
    supplier: ownerOf(a),
    // Without a policy bundle, policies bound by selectors, environments and teams are unknown.
    complete: walk.bundle !== undefined,
  });
  const f = draft.facts
    .add('joch:agent:displayName', str(a.spec, 'displayName'))
    .add('joch:agent:image', image)
    .addFields('joch:agent', obj(a.spec, 'framework'), ['entrypoint', 'pythonModule', 'typescriptModule', 'workflow'])
    .addFields('joch:agent:budget', obj(a.spec, 'budgets'), ['tokenLimitPerRun', 'costLimitUsdPerRun', 'costLimitUsdPerDay', 'toolCallLimitPerRun'])
    .addFields('joch:agent:observability', obj(a.spec, 'observability'), ['tracing', 'agbom', 'redactSensitiveData'])
    .add('joch:agent:owner', ownerOf(a))
    .add('joch:agent:dataClassification', walk.classification)
    .add('joch:agent:autonomy', autonomy(walk))
    .addAll('joch:policy:runtimeRule', runtimeRuleFacts(walk.bundle, a, true));
  for (const d of walk.graph.deployments) {
    f.add('joch:agent:deployment', `${d.deployment.name}${d.environment ? `@${d.environment.name}` : ''}`);
    f.add('joch:agent:environment', d.environment?.name);
  }
  f.addAll('joch:agent:eval', walk.graph.evals.map((e) => e.name));
  return draft;
}

/** Whether a tool with side effects can run without a human approving it (SPDX autonomyType). */
function autonomy(walk: Walk): 'yes' | 'no' {
  for (const t of walk.graph.tools) {
    const level = str(t.resource.spec, 'sideEffects', 'level');
    if (level && level !== 'read_only' && toolApproval(t.resource, walk.bundle).state === 'none') return 'yes';
  }
  return 'no';
}

function addPeer(walk: Walk, r: Resource, relation: 'handoff' | 'child'): Draft {
  const { draft } = draftOf(walk, r, 'peer-agent', recordVersion(r.contentHash), {
    description: str(r.spec, 'description')?.trim(),
    // A peer's own dependencies are in its own AgBOM, not here.
    complete: false,
  });
  draft.facts.add('joch:agent:relation', relation).add('joch:agent:agbomSerial', agbomSerial(walk.regid, r.key));
  return draft;
}

// ---------------------------------------------------------------------------
// Framework, route, models

function addFramework(walk: Walk, r: Resource): Draft {
  const image = str(r.spec, 'adapterImage');
  const { draft, fresh } = draftOf(walk, r, 'framework', imageTag(image) ?? recordVersion(r.contentHash), {
    description: str(r.spec, 'description'),
    group: undefined,
  });
  if (!fresh) return draft;
  draft.facts
    .add('joch:framework:name', str(r.spec, 'framework'))
    .add('joch:framework:language', str(r.spec, 'language'))
    .add('joch:framework:adapterImage', image)
    .add('joch:framework:sdkMinVersion', str(r.spec, 'sdkMinVersion'))
    .addFields('joch:framework:conformance', obj(r.spec, 'conformance'), ['suite', 'lastPassedAt']);
  for (const [k, v] of Object.entries(obj(r.spec, 'capabilities') ?? {})) draft.facts.add(`joch:framework:capability:${segment(k)}`, v);
  for (const [k, v] of Object.entries(obj(r.spec, 'bindings') ?? {})) draft.facts.add(`joch:framework:binding:${segment(k)}`, safeUrl(scalar(v)));
  return draft;
}

function addRoute(walk: Walk, r: Resource): Draft {
  const { draft } = draftOf(walk, r, 'model-route', recordVersion(r.contentHash), { description: str(r.spec, 'description') });
  const f = draft.facts.add('joch:route:primary', str(r.spec, 'strategy', 'primary'));
  strings(r.spec, 'strategy', 'fallback').forEach((m, i) => f.add('joch:route:fallback', `${i + 1}:${m}`));
  for (const [k, v] of Object.entries(obj(r.spec, 'strategy', 'failover') ?? {})) f.add(`joch:route:failover:${segment(k)}`, v);
  for (const [k, v] of Object.entries(obj(r.spec, 'requirements') ?? {})) f.add(`joch:route:requirement:${segment(k)}`, v);
  for (const [k, v] of Object.entries(obj(r.spec, 'constraints') ?? {})) f.add(`joch:route:constraint:${segment(k)}`, v);
  for (const m of walk.graph.models) {
    const model = addModel(walk, m.model, m.role === 'primary' ? 'primary' : `fallback-${m.order}`);
    link(draft, model);
  }
  return draft;
}

function addModel(walk: Walk, r: Resource, role: string): Draft {
  const facts = modelFactsOf(r);
  const { draft, fresh } = draftOf(walk, r, 'model', recordVersion(r.contentHash), {
    group: facts.provider,
    supplier: facts.provider,
    model: facts,
  });
  draft.facts.add('joch:model:role', role);
  if (!fresh) return draft;
  const f = draft.facts
    .add('joch:model:provider', facts.provider)
    .add('joch:model:id', facts.modelId)
    .add('joch:model:endpointType', str(r.spec, 'endpoint', 'type') ?? 'hosted')
    .add('cdx:ai-ml:model:hyperparameter:context_length', facts.contextWindowTokens)
    .addFields('joch:model:limit', obj(r.spec, 'limits'), ['maxOutputTokens', 'requestsPerMinute', 'tokensPerMinute'])
    .addFields('joch:model:pricing', obj(r.spec, 'pricing'), ['currency', 'inputPerMillionTokens', 'outputPerMillionTokens'])
    .addAll('joch:model:region', strings(r.spec, 'routing', 'regions'))
    .add('joch:model:fallbackPolicy', str(r.spec, 'routing', 'fallbackPolicy'))
    .addAll('joch:policy:decision', decisionFacts(walk.bundle, r))
    .addAll('joch:policy:runtimeRule', runtimeRuleFacts(walk.bundle, r));
  for (const [k, v] of settings(obj(r.spec, 'capabilities'))) f.add(`joch:model:capability:${segment(k)}`, v);
  for (const [k, v] of settings(obj(r.spec, 'defaultParameters'))) f.add(`joch:model:arg:${segment(k)}`, v);
  link(draft, addModelEndpoint(walk, r, facts.provider));
  return draft;
}

/**
 * The entries of a free-form map an AgBOM may carry: numbers and booleans
 * (temperature, max_tokens, streaming). A string there can be anything, a
 * prompt or a key pasted by mistake, and an inventory has no use for it.
 */
function settings(map: Record<string, unknown> | undefined): Array<[string, number | boolean]> {
  return Object.entries(map ?? {}).filter((e): e is [string, number | boolean] => typeof e[1] === 'number' || typeof e[1] === 'boolean');
}

function addModelEndpoint(walk: Walk, r: Resource, provider: string): Draft {
  const zone = zoneOfModel(r);
  const baseUrl = safeUrl(str(r.spec, 'endpoint', 'baseUrl'));
  const { draft } = draftOf(
    walk,
    r,
    'model-endpoint',
    recordVersion(r.contentHash),
    {
      group: provider,
      supplier: provider,
      description: `Inference endpoint of model ${r.name}`,
      service: serviceFacts(walk, baseUrl ? [baseUrl] : [], Boolean(obj(r.spec, 'auth', 'secretRef')), zone, [
        { name: 'prompts and completions', flow: 'bi-directional' },
      ]),
    },
    'endpoint',
  );
  draft.facts.add('joch:service:provider', provider);
  linkSecrets(walk, draft, r);
  return draft;
}

// ---------------------------------------------------------------------------
// Tools and MCP servers

function addTool(walk: Walk, r: Resource, mcpServer: Resource | undefined): Draft {
  const type = str(r.spec, 'type') ?? 'function';
  const url = safeUrl(str(r.spec, 'endpoint', 'url'));
  const local = type === 'function' || type === 'os';
  const server = type === 'mcp' && mcpServer ? addMcpServer(walk, mcpServer) : undefined;
  const authType = str(r.spec, 'endpoint', 'auth', 'type');
  const service = local
    ? undefined
    : server?.component.service
      ? { ...server.component.service, endpoints: [] as string[], dataFlows: toolFlows(walk) }
      : serviceFacts(walk, url ? [url] : [], Boolean(authType && authType !== 'none'), url ? zoneOfUrl(url) : unknownZone(), [
          { name: 'tool arguments', flow: 'inbound' },
          { name: 'tool results', flow: 'outbound' },
        ]);
  const { draft } = draftOf(walk, r, 'tool', recordVersion(r.contentHash), {
    description: str(r.spec, 'description'),
    localTool: local,
    service,
  });
  toolFacts(walk, draft.facts, r, type);
  if (server) link(draft, server);
  if (authType === 'basic') noteSecretUse(walk, r, 'password');
  else if (authType === 'bearer' || authType === 'oauth2') noteSecretUse(walk, r, 'token');
  linkSecrets(walk, draft, r);
  return draft;
}

function unknownZone(): Zone {
  return { crossesTrustBoundary: true, trustZone: 'unknown' };
}

function toolFlows(walk: Walk): DataFlow[] {
  return [
    { name: 'tool arguments', flow: 'inbound', classification: walk.classification },
    { name: 'tool results', flow: 'outbound', classification: DEFAULT_CLASSIFICATION },
  ];
}

function toolFacts(walk: Walk, f: Facts, r: Resource, type: string): void {
  const approval = toolApproval(r, walk.bundle);
  const input = obj(r.spec, 'inputSchema');
  const output = obj(r.spec, 'outputSchema');
  f.add('joch:tool:type', type)
    .add('joch:tool:scheme', str(r.spec, 'endpoint', 'method'))
    .add('joch:tool:authScheme', str(r.spec, 'endpoint', 'auth', 'type'))
    .add('joch:tool:sideEffect', str(r.spec, 'sideEffects', 'level') ?? 'unspecified')
    .add('joch:tool:idempotent', bool(r.spec, 'sideEffects', 'idempotent'))
    .add('joch:tool:requiresApproval', bool(r.spec, 'sideEffects', 'requiresApproval') ?? false)
    .add('joch:tool:idempotencyKeyTemplate', str(r.spec, 'sideEffects', 'idempotencyKeyTemplate'))
    .add('joch:tool:approval', approval.state)
    .addAll('joch:tool:approvalBy', approval.by)
    .addAll('joch:tool:approver', approval.approvers)
    .addAll('joch:policy:decision', approval.decisions)
    .addAll('joch:policy:runtimeRule', runtimeRuleFacts(walk.bundle, r))
    .addAll('joch:tool:argument', Object.keys(obj(input, 'properties') ?? {}))
    .add('joch:tool:inputSchemaDigest', input ? contentDigest(input) : undefined)
    .add('joch:tool:outputSchemaDigest', output ? contentDigest(output) : undefined)
    .addFields('joch:tool:rateLimit', obj(r.spec, 'safety', 'rateLimit'), ['callsPerMinute', 'callsPerDay'])
    .addAll('joch:tool:allowedAgent', strings(r.spec, 'safety', 'allowedAgents'))
    .addAll('joch:tool:deniedNamespace', strings(r.spec, 'safety', 'deniedNamespaces'))
    .addFields('joch:tool:observability', obj(r.spec, 'observability'), ['logArgs', 'logResult'])
    .addAll('joch:tool:redactField', strings(r.spec, 'observability', 'redactFields'));
}

function addMcpServer(walk: Walk, r: Resource): Draft {
  const transport = str(r.spec, 'transport') ?? 'streamable_http';
  const url = safeUrl(str(r.spec, 'endpoint', 'url'));
  const pinnedVersion = pinnedServerVersion(r);
  const pinned = pinnedVersion !== undefined;
  const sandbox = bool(r.spec, 'security', 'sandbox') === true;
  const zone: Zone =
    transport === 'stdio' ? { crossesTrustBoundary: false, trustZone: sandbox ? 'sandbox' : 'runtime' } : url ? zoneOfUrl(url) : unknownZone();
  const authType = str(r.spec, 'auth', 'type');
  const exposesTools = bool(r.spec, 'exposes', 'tools') !== false;
  const { draft, fresh } = draftOf(walk, r, 'mcp-server', pinnedVersion ?? recordVersion(r.contentHash), {
    group: undefined,
    supplier: str(r.spec, 'security', 'trustedPublisher'),
    service: serviceFacts(walk, url ? [url] : [], Boolean(authType && authType !== 'none'), zone, [{ name: 'MCP messages', flow: 'bi-directional' }]),
    // Tools the server exposes are discovered at run time: the records name only some of them.
    complete: !exposesTools,
  });
  if (!fresh) return draft;
  const trustScore = walk.trustScores.get(r.name);
  draft.facts
    .add('joch:mcp:transport', transport)
    .add('joch:mcp:pinned', pinned)
    .add('joch:mcp:pinnedVersion', declaredPinnedVersion(r))
    .add('joch:mcp:trustedPublisher', str(r.spec, 'security', 'trustedPublisher'))
    .add('joch:mcp:minTrustScore', num(r.spec, 'security', 'minTrustScore'))
    .add('joch:mcp:trustScore', trustScore)
    .addFields('joch:mcp', obj(r.spec, 'security'), ['sandbox', 'allowStdio'])
    .addFields('joch:mcp:exposes', obj(r.spec, 'exposes'), ['tools', 'resources', 'prompts'])
    .addFields('joch:mcp:discovery', obj(r.spec, 'discovery'), ['enabled', 'refreshInterval', 'onSchemaDrift'])
    .add('joch:mcp:toolsDiscoveredAtRuntime', exposesTools)
    .add('joch:mcp:promptInjectionScan', bool(r.spec, 'scanning', 'promptInjectionScan'))
    .addAll('joch:mcp:redactFieldInResults', strings(r.spec, 'scanning', 'redactFieldsInResults'))
    .addAll('joch:policy:decision', decisionFacts(walk.bundle, r))
    .addAll('joch:policy:runtimeRule', runtimeRuleFacts(walk.bundle, r));
  if (authType === 'basic') noteSecretUse(walk, r, 'password');
  else if (authType === 'bearer' || authType === 'oauth2') noteSecretUse(walk, r, 'token');
  linkSecrets(walk, draft, r);
  return draft;
}

function serviceFacts(
  walk: Walk,
  endpoints: string[],
  authenticated: boolean,
  zone: Zone,
  flows: readonly { name: string; flow: DataFlow['flow'] }[],
): ServiceFacts {
  return {
    endpoints,
    authenticated,
    crossesTrustBoundary: zone.crossesTrustBoundary,
    trustZone: zone.trustZone,
    // What the agent sends carries its own classification; what comes back is external content.
    dataFlows: flows.map((f) => ({
      ...f,
      classification: f.flow === 'outbound' ? DEFAULT_CLASSIFICATION : walk.classification,
    })),
  };
}

// ---------------------------------------------------------------------------
// Memory, RAG, knowledge

function addMemory(walk: Walk, r: Resource, role: string): Draft {
  const pii = str(r.spec, 'privacy', 'piiHandling');
  const { draft, fresh } = draftOf(walk, r, 'memory', recordVersion(r.contentHash), {
    description: str(r.spec, 'description'),
    dataset: {
      datasetType: 'structured',
      classification: pii === 'allow' ? 'pii' : undefined,
      personalData: pii === 'allow' ? 'yes' : pii === 'deny' ? 'no' : 'noAssertion',
    },
  });
  draft.facts.add('joch:memory:role', role);
  if (!fresh) return draft;
  draft.facts
    .add('joch:memory:type', str(r.spec, 'type'))
    .add('joch:memory:backend', str(r.spec, 'backend', 'type'))
    .addFields('joch:memory:retention', obj(r.spec, 'retention'), ['ttl', 'maxItems'])
    .addFields('joch:memory:privacy', obj(r.spec, 'privacy'), ['piiHandling', 'encryption'])
    .addFields('joch:memory:scope', obj(r.spec, 'scope'), ['ownerKind', 'ownerName'])
    .addAll('joch:memory:readableBy', strings(r.spec, 'access', 'readableBy'))
    .addAll('joch:memory:writableBy', strings(r.spec, 'access', 'writableBy'))
    .addAll('joch:memory:field', list(r.spec, 'schema', 'fields').map((x) => `${str(x, 'name') ?? ''}:${str(x, 'type') ?? ''}`))
    .addAll('joch:policy:decision', decisionFacts(walk.bundle, r))
    .addAll('joch:policy:runtimeRule', runtimeRuleFacts(walk.bundle, r));
  linkSecrets(walk, draft, r);
  return draft;
}

function addRag(walk: Walk, rag: ReachedRag): Draft {
  const r = rag.resource;
  const levels = rag.sources.map((s) => str(s.resource.spec, 'classification', 'sensitivity'));
  const classification = maxSensitivity(levels, 'public');
  const { draft, fresh } = draftOf(walk, r, 'rag', recordVersion(r.contentHash), {
    description: str(r.spec, 'description'),
    dataset: { datasetType: 'text', classification, personalData: personalDataOf(classification) },
  });
  if (!fresh) return draft;
  const hybrid = bool(r.spec, 'retrieval', 'hybridSearch') === true;
  draft.facts
    .add('joch:rag:searchType', hybrid ? 'hybrid' : 'vector')
    .addFields('joch:rag:vectorStore', obj(r.spec, 'vectorStore'), ['type', 'collection'])
    .addFields('joch:rag:chunking', obj(r.spec, 'chunking'), ['strategy', 'maxTokens', 'overlapTokens'])
    .addFields('joch:rag:retrieval', obj(r.spec, 'retrieval'), ['topK', 'minScore', 'hybridSearch'])
    .add('joch:rag:reranker', bool(r.spec, 'retrieval', 'reranker', 'enabled'))
    .addFields('joch:rag:citations', obj(r.spec, 'citations'), ['required', 'includeSourceUri', 'includeLineNumbers'])
    .addFields('joch:rag:freshness', obj(r.spec, 'freshness'), ['syncInterval', 'staleAfter'])
    .addFields('joch:rag:permissions', obj(r.spec, 'permissions'), ['inheritFromSource', 'enforceAtQueryTime'])
    .addAll('joch:policy:decision', decisionFacts(walk.bundle, r))
    .addAll('joch:policy:runtimeRule', runtimeRuleFacts(walk.bundle, r));
  for (const s of rag.sources) link(draft, addKnowledge(walk, s.resource));
  if (rag.embeddingModel) link(draft, addModel(walk, rag.embeddingModel, 'embedding'));
  if (rag.rerankerModel) link(draft, addModel(walk, rag.rerankerModel, 'reranker'));
  linkSecrets(walk, draft, r);
  return draft;
}

function addKnowledge(walk: Walk, r: Resource): Draft {
  const sensitivity = str(r.spec, 'classification', 'sensitivity');
  const type = str(r.spec, 'type');
  const { draft, fresh } = draftOf(walk, r, 'knowledge', recordVersion(r.contentHash), {
    description: str(r.spec, 'description'),
    dataset: {
      datasetType: type === 'database' || type === 'api' ? 'structured' : 'text',
      classification: sensitivity,
      url: safeUrl(str(r.spec, 'source', 'url')),
      personalData: personalDataOf(sensitivity),
    },
  });
  if (!fresh) return draft;
  draft.facts
    .add('joch:knowledge:type', type)
    .add('joch:knowledge:sensitivity', sensitivity)
    .add('joch:knowledge:retentionDays', num(r.spec, 'classification', 'retention', 'days'))
    .addFields('joch:knowledge:sync', obj(r.spec, 'sync'), ['mode', 'interval'])
    .add('joch:knowledge:permissions', str(r.spec, 'permissions', 'mode'))
    .add('joch:knowledge:crawlMaxDepth', num(r.spec, 'source', 'crawl', 'maxDepth'))
    .addAll('joch:knowledge:include', strings(r.spec, 'source', 'crawl', 'includePatterns'))
    .addAll('joch:knowledge:exclude', strings(r.spec, 'source', 'crawl', 'excludePatterns'))
    .addAll('joch:knowledge:transform', strings(r.spec, 'transforms'))
    .addAll('joch:policy:decision', decisionFacts(walk.bundle, r))
    .addAll('joch:policy:runtimeRule', runtimeRuleFacts(walk.bundle, r));
  linkSecrets(walk, draft, r);
  return draft;
}

// ---------------------------------------------------------------------------
// Policies

interface PolicyInEffect {
  readonly ref: PolicyRef;
  readonly resource?: Resource | undefined;
  readonly order: number;
}

/** The bundle's list when there is one; otherwise only the policies the agent names itself. */
function policiesInEffect(graph: AgentGraph, bundle: PolicyBundle | undefined): PolicyInEffect[] {
  const byKey = new Map(graph.attachedPolicies.map((p) => [`${p.resource.namespace ?? ''}/${p.resource.name}`, p.resource]));
  if (bundle) {
    return bundle.policies.map((ref, order) => ({
      ref,
      resource: byKey.get(`${ref.namespace ?? graph.agent.namespace ?? ''}/${ref.name}`),
      order,
    }));
  }
  return graph.attachedPolicies.map((p, order) => ({
    ref: { name: p.resource.name, namespace: p.resource.namespace, version: recordVersion(p.resource.contentHash), source: 'attached' },
    resource: p.resource,
    order,
  }));
}

function addPolicy(walk: Walk, ref: PolicyRef, resource: Resource | undefined, order: number): Draft {
  const r: Resource = resource ?? policyStub(ref);
  const { draft } = draftOf(walk, r, 'policy', ref.version, { description: str(r.spec, 'description')?.trim() });
  if (!resource) draft.component = { ...draft.component, file: undefined };
  const f = draft.facts
    .add('joch:policy:source', ref.source)
    .add('joch:policy:order', order + 1)
    .addAll('joch:policy:rule', list(r.spec, 'rules').map((x) => str(x, 'name')))
    .add('joch:policy:selector', obj(r.spec, 'appliesTo') ? canonicalJson(obj(r.spec, 'appliesTo')) : undefined);
  for (const rule of walk.bundle?.runtimeRules ?? []) {
    if (policyName(rule.policy) === policyName(ref)) f.add('joch:policy:runtimeRule', `${rule.rule}: ${rule.outcome}`);
  }
  return draft;
}

/** A policy the bundle names but whose record the graph does not carry (selected by a selector or a team). */
function policyStub(ref: PolicyRef): Resource {
  return {
    key: `Policy/${ref.namespace ?? ''}/${ref.name}`,
    kind: 'Policy',
    apiVersion: 'joch.dev/v1alpha1',
    group: 'joch.dev',
    name: ref.name,
    namespace: ref.namespace,
    namespaceDefaulted: false,
    labels: {},
    annotations: {},
    spec: {},
    body: {},
    file: '',
    doc: 0,
    contentHash: ref.version,
  };
}

// ---------------------------------------------------------------------------
// Secrets: by reference only

function secretIndex(graph: AgentGraph): Map<string, Resource> {
  const out = new Map<string, Resource>();
  const byName = new Map<string, Resource[]>();
  for (const s of graph.secrets) {
    out.set(`${s.resource.namespace ?? ''}/${s.resource.name}`, s.resource);
    byName.set(s.resource.name, [...(byName.get(s.resource.name) ?? []), s.resource]);
  }
  // A bare name (a cluster-scoped holder's reference) resolves only while it is unambiguous.
  for (const [name, list] of byName) if (list.length === 1) out.set(name, list[0]!);
  return out;
}

/** Every `secretRef`-like object in a record's spec: `secretRef`, `connectionSecretRef`, `baseUrlSecretRef`... */
function secretRefsIn(value: unknown, out: Obj[] = []): Obj[] {
  if (Array.isArray(value)) for (const v of value) secretRefsIn(v, out);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value as Obj)) {
      if (/^(secretRef|\w+SecretRef)$/.test(k) && obj(v) && str(v, 'name')) out.push(v as Obj);
      else secretRefsIn(v, out);
    }
  }
  return out;
}

function resolveSecret(walk: Walk, holder: Resource, ref: Obj): Resource | undefined {
  const name = str(ref, 'name')!;
  const ns = str(ref, 'namespace') ?? holder.namespace;
  return (ns ? walk.secrets.get(`${ns}/${name}`) : undefined) ?? walk.secrets.get(name);
}

function noteSecretUse(walk: Walk, holder: Resource, material: SecretMaterial): void {
  for (const ref of secretRefsIn(holder.spec)) {
    const s = resolveSecret(walk, holder, ref);
    if (s && !walk.secretUse.has(s.key)) walk.secretUse.set(s.key, material);
  }
}

function linkSecrets(walk: Walk, holder: Draft, r: Resource): void {
  for (const ref of secretRefsIn(r.spec)) {
    const s = resolveSecret(walk, r, ref);
    if (s) link(holder, addSecret(walk, s));
  }
}

function addSecret(walk: Walk, r: Resource): Draft {
  const { draft, fresh } = draftOf(walk, r, 'secret', recordVersion(r.contentHash), {});
  if (!fresh) return draft;
  // Where the value lives, never the value: the Secret kind holds references only.
  draft.facts
    .addFields('joch:secret:source', obj(r.spec, 'source'), ['type', 'name', 'key'])
    .addFields('joch:secret:rotation', obj(r.spec, 'rotation'), ['policy', 'intervalDays']);
  return draft;
}

// ---------------------------------------------------------------------------
// Settings, classification, finishing

const SETTING_CLASSES: Readonly<Record<string, readonly ComponentClass[]>> = {
  models: ['model', 'model-endpoint', 'model-route'],
  knowledge: ['rag', 'knowledge'],
  memory: ['memory'],
  tools: ['tool'],
  mcpServers: ['mcp-server'],
  policies: ['policy'],
  secrets: ['secret'],
  capabilities: ['peer-agent'],
};

function excludedClasses(graph: AgentGraph): ComponentClass[] {
  const out = new Set<ComponentClass>();
  for (const s of graph.agbomSettings) {
    for (const [k, v] of Object.entries(obj(s.spec, 'components') ?? {})) {
      if (v === false) for (const c of SETTING_CLASSES[k] ?? []) out.add(c);
    }
  }
  return [...out].sort(byString);
}

function agentClassification(graph: AgentGraph): string {
  const levels: (string | undefined)[] = graph.rags.flatMap((r) => r.sources.map((s) => str(s.resource.spec, 'classification', 'sensitivity')));
  for (const m of graph.memories) if (str(m.resource.spec, 'privacy', 'piiHandling') === 'allow') levels.push('pii');
  return maxSensitivity(levels);
}

function finish(walk: Walk, agent: Draft, excluded: ComponentClass[]): AgBomInventory {
  for (const [key, material] of walk.secretUse) {
    const d = walk.drafts.get(key);
    if (d) setComponent(d, { secret: material });
  }
  const dropped = new Set<string>();
  for (const d of walk.drafts.values()) {
    if (d.component.class === 'secret' && !d.component.secret) setComponent(d, { secret: 'credential' });
    if (excluded.includes(d.component.class)) dropped.add(d.component.ref);
  }
  const components: InventoryComponent[] = [];
  for (const d of walk.drafts.values()) {
    if (dropped.has(d.component.ref)) continue;
    const deps = [...d.dependsOn].filter((r) => !dropped.has(r)).sort(byString);
    // A component whose dependencies the settings removed is no longer completely described.
    const complete = d.component.complete && deps.length === d.dependsOn.size;
    components.push({ ...d.component, complete, facts: d.facts.done(), dependsOn: deps });
  }
  components.sort((a, b) => (a.ref === agent.component.ref ? -1 : b.ref === agent.component.ref ? 1 : byString(a.ref, b.ref)));
  return {
    agent: walk.graph.agent.key,
    root: agent.component.ref,
    owner: ownerOf(walk.graph.agent),
    components,
    excluded,
    policiesFromBundle: walk.bundle !== undefined,
  };
}
