/**
 * The reference pass: every reference between resources resolves to an
 * existing resource of the right kind and scope, or is an error at the
 * reference's line with a "did you mean".
 *
 * Namespace rule. A reference to a cluster-scoped kind is by name alone. A
 * reference to a namespaced kind resolves in the namespace the reference
 * names; else, from a namespaced resource, in the referrer's own namespace;
 * else (from a cluster-scoped resource such as an Environment or a Team) in
 * the default namespace, or in the one namespace that holds a resource of
 * that name when the default has none. Two candidates in other namespaces
 * make the reference ambiguous: name the namespace.
 */
import { didYouMean, finding, formatPath, type Finding, type PathSegment } from '../diagnostics/index.js';
import { kindInfo } from '../model/kinds.js';
import { refOf, resourceKey, type Resource } from '../model/resource.js';

/** One reference, resolved: plain data that the later stages walk. */
export interface ResolvedReference {
  readonly from: string;
  readonly path: readonly PathSegment[];
  readonly kind: string;
  /** The name as written: `provider:model` for model strings. */
  readonly written: string;
  /** Key of the resource it resolved to; undefined when unresolved. */
  readonly to: string | undefined;
}

type Form = 'ref' | 'name' | 'providerModel' | 'mapKey';

interface RefRule {
  readonly path: string;
  /** `path` split at the dots, once. */
  readonly steps: readonly string[];
  readonly kind: string;
  readonly form: Form;
  /** Only when this holds for the referring resource. */
  readonly when?: (r: Resource) => boolean;
}

const rule = (path: string, kind: string, form: Form, when?: (r: Resource) => boolean): RefRule => ({
  path,
  steps: path.split('.'),
  kind,
  form,
  ...(when ? { when } : {}),
});
const ref = (path: string, kind: string, when?: (r: Resource) => boolean) => rule(path, kind, 'ref', when);
const name = (path: string, kind: string, when?: (r: Resource) => boolean) => rule(path, kind, 'name', when);
const model = (path: string) => rule(path, 'Model', 'providerModel');
const keys = (path: string, kind: string) => rule(path, kind, 'mapKey');

const ownerIsAgent = (r: Resource) => (r.spec.scope as { ownerKind?: unknown } | undefined)?.ownerKind === 'Agent';

/** Every reference field of every desired-state kind. Runtime records are not reference-checked. */
export const REFERENCE_RULES: Readonly<Record<string, readonly RefRule[]>> = {
  Agent: [
    ref('spec.framework.adapterRef', 'FrameworkAdapter'),
    ref('spec.modelRoute.routeRef', 'ModelRoute'),
    ref('spec.tools[]', 'Tool'),
    ref('spec.mcpServers[]', 'MCPServer'),
    ref('spec.memories{}', 'Memory'),
    ref('spec.ragRefs[]', 'RAG'),
    name('spec.handoffs.allowedAgents[]', 'Agent'),
    ref('spec.policies[]', 'Policy'),
    ref('spec.children[]', 'Agent'),
  ],
  Model: [ref('spec.endpoint.baseUrlSecretRef', 'Secret'), ref('spec.auth.secretRef', 'Secret')],
  ModelRoute: [model('spec.strategy.primary'), model('spec.strategy.fallback[]')],
  Tool: [ref('spec.endpoint.auth.secretRef', 'Secret'), ref('spec.mcpServerRef', 'MCPServer'), name('spec.safety.allowedAgents[]', 'Agent')],
  MCPServer: [ref('spec.auth.secretRef', 'Secret'), ref('spec.policies[]', 'Policy')],
  Memory: [
    ref('spec.backend.connectionSecretRef', 'Secret'),
    name('spec.scope.ownerName', 'Agent', ownerIsAgent),
    name('spec.access.readableBy[]', 'Agent'),
    name('spec.access.writableBy[]', 'Agent'),
    ref('spec.policies[]', 'Policy'),
  ],
  RAG: [
    ref('spec.sources[]', 'KnowledgeSource'),
    ref('spec.embeddingModelRef', 'Model'),
    ref('spec.vectorStore.connectionSecretRef', 'Secret'),
    ref('spec.retrieval.reranker.modelRef', 'Model'),
    ref('spec.policies[]', 'Policy'),
  ],
  KnowledgeSource: [ref('spec.connector.secretRef', 'Secret'), ref('spec.policies[]', 'Policy')],
  Deployment: [ref('spec.agentRef', 'Agent'), ref('spec.environmentRef', 'Environment'), name('spec.promotion.requiresEval', 'Eval')],
  Environment: [ref('spec.defaults.modelRouteRef', 'ModelRoute'), ref('spec.policies[]', 'Policy'), ref('spec.budgetRefs[]', 'Budget')],
  Team: [name('spec.defaultPolicies[]', 'Policy'), name('spec.budgetRefs[]', 'Budget')],
  Budget: [name('spec.scope.teams[]', 'Team'), name('spec.scope.agents[]', 'Agent'), keys('spec.allocation.byAgent', 'Agent')],
  Eval: [ref('spec.target', 'Agent'), ref('spec.metrics[].judgeModelRef', 'Model'), name('spec.releaseGate.blocksPromotionTo', 'Environment')],
  AgBOM: [ref('spec.agentRef', 'Agent'), ref('spec.signing.keyRef', 'Secret')],
  Secret: [model('spec.scope.boundTo.models[]'), name('spec.scope.boundTo.mcpServers[]', 'MCPServer'), name('spec.scope.boundTo.tools[]', 'Tool')],
  Execution: [ref('spec.agentRef', 'Agent'), ref('spec.modelRouteOverride.routeRef', 'ModelRoute')],
};

interface Site {
  readonly path: PathSegment[];
  readonly name: string;
  readonly namespace?: string | undefined;
  /** For `kind:` fields inside a reference object. */
  readonly declaredKind?: string | undefined;
}

/**
 * Calls `visit` for each reference site of a rule's path pattern (`a.b[]`,
 * `a{}`, `a[].b`). The path is a shared stack, copied only for each site.
 */
function forEachSite(root: unknown, steps: readonly string[], form: Form, visit: (site: Site) => void): void {
  const path: PathSegment[] = [];
  const walk = (node: unknown, i: number): void => {
    if (i === steps.length) {
      leaf(node, path, form, visit);
      return;
    }
    const step = steps[i] as string;
    const last = step.length - 2;
    const list = step.endsWith('[]');
    const map = !list && step.endsWith('{}');
    const field = list || map ? step.slice(0, last) : step;
    if (!isRecord(node)) return;
    const child = node[field];
    if (child === undefined || child === null) return;
    path.push(field);
    if (list) {
      if (Array.isArray(child)) {
        for (let k = 0; k < child.length; k++) {
          path.push(k);
          walk(child[k], i + 1);
          path.pop();
        }
      }
    } else if (map) {
      if (isRecord(child)) {
        for (const k of Object.keys(child)) {
          path.push(k);
          walk(child[k], i + 1);
          path.pop();
        }
      }
    } else if (form === 'mapKey' && i === steps.length - 1) {
      if (isRecord(child)) for (const k of Object.keys(child)) visit({ path: [...path, k], name: k });
    } else {
      walk(child, i + 1);
    }
    path.pop();
  };
  walk(root, 0);
}

function leaf(node: unknown, path: readonly PathSegment[], form: Form, visit: (site: Site) => void): void {
  if (form === 'mapKey') return;
  if (form === 'ref') {
    if (!isRecord(node) || typeof node.name !== 'string') return;
    visit({
      path: [...path, 'name'],
      name: node.name,
      namespace: typeof node.namespace === 'string' ? node.namespace : undefined,
      declaredKind: typeof node.kind === 'string' ? node.kind : undefined,
    });
    return;
  }
  if (typeof node !== 'string') return;
  // A bare name may be written `namespace/name`.
  const slash = form === 'name' ? node.indexOf('/') : -1;
  if (slash > 0) visit({ path: [...path], name: node.slice(slash + 1), namespace: node.slice(0, slash) });
  else visit({ path: [...path], name: node });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export interface ReferencePass {
  readonly references: ResolvedReference[];
  readonly findings: Finding[];
}

export function resolveReferences(resources: readonly Resource[], defaultNamespace: string): ReferencePass {
  const index = new ResourceIndex(resources);
  const references: ResolvedReference[] = [];
  const findings: Finding[] = [];
  for (const r of resources) {
    if (kindInfo(r.kind)?.role !== 'desired') continue;
    for (const rr of REFERENCE_RULES[r.kind] ?? []) {
      if (rr.when && !rr.when(r)) continue;
      forEachSite(r.body, rr.steps, rr.form, (site) => {
        const result = resolveSite(index, r, rr, site, defaultNamespace);
        references.push({ from: r.key, path: site.path, kind: rr.kind, written: result.written, to: result.to });
        if (result.finding) findings.push(result.finding);
      });
    }
  }
  findings.push(...adapterCapabilityFindings(index, references));
  return { references, findings };
}

/**
 * What a resource's references are before resolution: per site the rule's
 * kind and form, the path and what is written there. Resolution depends only
 * on these and on which resources exist (and, for models and adapters, on
 * their content), so a resource whose sites are unchanged resolves as before.
 */
export function referenceSites(r: Resource): unknown[] {
  const out: unknown[] = [];
  if (kindInfo(r.kind)?.role !== 'desired') return out;
  for (const rr of REFERENCE_RULES[r.kind] ?? []) {
    if (rr.when && !rr.when(r)) continue;
    forEachSite(r.body, rr.steps, rr.form, (site) => out.push([rr.kind, rr.form, site.path, site.name, site.namespace ?? null, site.declaredKind ?? null]));
  }
  return out;
}

/** Whether an agent uses each capability it may need from its adapter (the JOCH503 check's input). */
export function adapterNeeds(r: Resource): boolean[] {
  return r.kind === 'Agent' ? NEEDS.map((n) => n.uses(r)) : [];
}

interface SiteResult {
  readonly written: string;
  readonly to?: string | undefined;
  readonly finding?: Finding | undefined;
}

function resolveSite(index: ResourceIndex, r: Resource, rule: RefRule, site: Site, defaultNamespace: string): SiteResult {
  const at = { file: r.file, doc: r.doc, path: site.path };
  const resource = refOf(r);
  if (rule.form === 'providerModel') return resolveProviderModel(index, r, site, at);
  if (site.declaredKind && site.declaredKind !== rule.kind) {
    return {
      written: site.name,
      finding: finding('JOCH504', `${formatPath(site.path.slice(0, -1))} refers to a ${site.declaredKind}; only ${rule.kind} is allowed here`, { ...at, path: site.path.slice(0, -1) }, { resource }),
    };
  }
  const target = kindInfo(rule.kind);
  const candidates = index.named(rule.kind, site.name);
  let hit: Resource | undefined;
  let searched: string;
  if (target?.scope === 'Cluster') {
    hit = candidates[0];
    searched = '';
  } else if (site.namespace ?? r.namespace) {
    const ns = (site.namespace ?? r.namespace) as string;
    hit = candidates.find((c) => c.namespace === ns);
    searched = ` in namespace ${ns}`;
  } else {
    hit = candidates.find((c) => c.namespace === defaultNamespace);
    if (!hit && candidates.length > 1) {
      const where = candidates.map((c) => c.namespace).join(', ');
      return {
        written: site.name,
        finding: finding('JOCH504', `${rule.kind} "${site.name}" exists in several namespaces (${where}); name the namespace`, at, {
          resource,
          hint: rule.form === 'ref' ? 'add `namespace:` to the reference' : `write it as "<namespace>/${site.name}"`,
        }),
      };
    }
    hit ??= candidates[0];
    searched = ` (default namespace ${defaultNamespace})`;
  }
  if (hit) return { written: site.name, to: hit.key };

  const nearby = index.namesOf(rule.kind, target?.scope === 'Cluster' ? undefined : (site.namespace ?? r.namespace));
  const elsewhere = candidates.length && target?.scope === 'Namespaced' ? ` (it exists in ${candidates.map((c) => c.namespace).join(', ')})` : '';
  return {
    written: site.name,
    finding: finding('JOCH501', `${rule.kind} "${site.name}" not found${searched}${elsewhere}`, at, {
      resource,
      hint: didYouMean(site.name, nearby),
    }),
  };
}

/** `provider:model`: the Model named `model` whose provider is `provider`, else the one serving that model id. */
function resolveProviderModel(index: ResourceIndex, r: Resource, site: Site, at: { file: string; doc: number; path: PathSegment[] }): SiteResult {
  const written = site.name;
  const colon = written.indexOf(':');
  const resource = refOf(r);
  if (colon <= 0) {
    return { written, finding: finding('JOCH504', `"${written}" is not of the form provider:model`, at, { resource }) };
  }
  const provider = written.slice(0, colon);
  const modelName = written.slice(colon + 1);
  const byName = index.named('Model', modelName)[0];
  if (byName) {
    const actual = byName.spec.provider;
    if (actual !== provider) {
      return {
        written,
        to: byName.key,
        finding: finding('JOCH502', `Model "${modelName}" has provider "${String(actual)}", not "${provider}"`, at, {
          resource,
          hint: `write "${String(actual)}:${modelName}"`,
          related: [{ at: { file: byName.file, doc: byName.doc, path: ['spec', 'provider'] }, message: 'the Model' }],
        }),
      };
    }
    return { written, to: byName.key };
  }
  const byModelId = index.ofKind('Model').find((m) => m.spec.provider === provider && m.spec.model === modelName);
  if (byModelId) return { written, to: byModelId.key };
  const known = index.ofKind('Model').map((m) => `${String(m.spec.provider)}:${m.name}`);
  return {
    written,
    finding: finding('JOCH501', `no Model serves "${written}"`, at, { resource, hint: didYouMean(written, known) ?? 'add a Model with that name and provider' }),
  };
}

/** Capabilities an agent needs from its framework adapter, by what it uses. */
const NEEDS: readonly { readonly capability: string; readonly uses: (r: Resource) => boolean; readonly what: string }[] = [
  { capability: 'toolBinding', what: 'it calls tools', uses: (r) => Array.isArray(r.spec.tools) && r.spec.tools.length > 0 },
  { capability: 'mcpBinding', what: 'it uses MCP servers', uses: (r) => Array.isArray(r.spec.mcpServers) && r.spec.mcpServers.length > 0 },
  { capability: 'modelRouterBinding', what: 'it has a model route', uses: (r) => r.spec.modelRoute !== undefined },
  {
    capability: 'a2a',
    what: 'it hands off to other agents',
    uses: (r) => Array.isArray((r.spec.handoffs as { allowedAgents?: unknown } | undefined)?.allowedAgents) && ((r.spec.handoffs as { allowedAgents: unknown[] }).allowedAgents.length > 0),
  },
];

function adapterCapabilityFindings(index: ResourceIndex, references: readonly ResolvedReference[]): Finding[] {
  const out: Finding[] = [];
  for (const edge of references) {
    if (edge.kind !== 'FrameworkAdapter' || !edge.to) continue;
    const agent = index.get(edge.from);
    const adapter = index.get(edge.to);
    if (!agent || !adapter || agent.kind !== 'Agent') continue;
    const caps = (adapter.spec.capabilities ?? {}) as Record<string, unknown>;
    for (const need of NEEDS) {
      if (!need.uses(agent) || caps[need.capability] === true) continue;
      out.push(
        finding('JOCH503', `the agent needs the adapter capability "${need.capability}" because ${need.what}, but FrameworkAdapter "${adapter.name}" does not declare it`, { file: agent.file, doc: agent.doc, path: edge.path }, {
          resource: refOf(agent),
          related: [{ at: { file: adapter.file, doc: adapter.doc, path: ['spec', 'capabilities'] }, message: 'the adapter capabilities' }],
        }),
      );
    }
  }
  return out;
}

/** Resources by kind and name, for lookups. */
export class ResourceIndex {
  private readonly byKey = new Map<string, Resource>();
  private readonly byKindName = new Map<string, Resource[]>();
  private readonly byKind = new Map<string, Resource[]>();

  constructor(resources: readonly Resource[]) {
    for (const r of resources) {
      if (this.byKey.has(r.key)) continue;
      this.byKey.set(r.key, r);
      push(this.byKindName, `${r.kind}/${r.name}`, r);
      push(this.byKind, r.kind, r);
    }
  }

  get(key: string): Resource | undefined {
    return this.byKey.get(key);
  }

  lookup(kind: string, namespace: string | undefined, name: string): Resource | undefined {
    return this.byKey.get(resourceKey(kind, kindInfo(kind)?.scope === 'Cluster' ? undefined : namespace, name));
  }

  named(kind: string, name: string): Resource[] {
    return this.byKindName.get(`${kind}/${name}`) ?? [];
  }

  ofKind(kind: string): Resource[] {
    return this.byKind.get(kind) ?? [];
  }

  namesOf(kind: string, namespace: string | undefined): string[] {
    return this.ofKind(kind)
      .filter((r) => namespace === undefined || r.namespace === namespace)
      .map((r) => r.name);
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
