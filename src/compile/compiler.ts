/**
 * The compiler: the repository split into units (one per resource, one per
 * agent, a few shared ones), each synthesized through its own cdk8s chart and
 * cached under a key made of the content hashes of everything it reads. A
 * second run over a changed repository rebuilds only the units whose inputs
 * changed: a change to one agent's file rebuilds that agent's units.
 */
import { finding, type Finding } from '../diagnostics/index.js';
import type { AgentGraph } from '../model/graph.js';
import { kubernetesLabelName } from '../model/names.js';
import type { PolicyBundle } from '../model/policy-bundle.js';
import { refOf, type Resource } from '../model/resource.js';
import { identityObjects, manifestConfigMap, networkPolicy, type AgentObjectNames } from './access.js';
import { objectIdentity, synthUnit } from './chart.js';
import { unitContext, type UnitContext } from './context.js';
import { jochCrds } from './crd.js';
import { customResource, isCompiledKind } from './custom-resources.js';
import { sha256, shortDigest } from './hash.js';
import { compiledManifest, withCommit, withoutCommit } from './manifest.js';
import { compileOptions } from './options.js';
import { sortObjects } from './order.js';
import { secretAccessObjects } from './secrets.js';
import { teamQuotaObjects } from './bounds.js';
import { namespaceObjects, namespaceOwners, ownedNamespaces, teamClusterRoles, teamRoleBindings, type Owner } from './tenancy.js';
import type { CompiledManifestEntry, CompiledObject, CompileInput, CompileOptions, CompileOutput } from './types.js';
import { deploymentObjects, executionImage, executionJob, runsOnKubernetes, type AgentRuntime } from './workloads.js';

interface Unit {
  readonly key: string;
  readonly objects: readonly CompiledObject[];
  readonly findings: readonly Finding[];
  readonly manifest?: CompiledManifestEntry | undefined;
  /** The emission guard's findings on this unit's documents, when the compiler has a guard. */
  readonly leaks?: readonly Finding[] | undefined;
}

export interface Compiler {
  compile(input: CompileInput): CompileOutput;
}

/** A persistent store of units (src/cache's CacheStore): units of an earlier process are reused by key. */
export interface UnitStore {
  get<T>(kind: string, key: string): T | undefined;
  put(kind: string, key: string, value: unknown): void;
}

/**
 * Checks the documents of one unit before they are emitted (the pipeline's
 * emission guard): run when the unit is built and kept with it, so an
 * unchanged unit is not checked again.
 */
export type UnitGuard = (objects: readonly CompiledObject[], manifest: CompiledManifestEntry | undefined) => Finding[];

export interface CompilerExtras {
  /** Units are stored as one entry per project and options, and reused by a later process. */
  readonly store?: UnitStore | undefined;
  /** The project the units belong to (its root folder or repository URL): its own entry in the store. */
  readonly scope?: string | undefined;
  readonly guard?: UnitGuard | undefined;
}

/** Bumped when the stored shape changes (the store's build id covers the code that builds units). */
const UNIT_PACK_KIND = 'compile-units-v2';
/**
 * The units are stored in this many entries by a hash of the unit id, and a
 * run writes only the entries whose units changed: one changed agent of a
 * thousand rewrites a 64th of the units (the whole pack was about 49 MB).
 */
const UNIT_SHARDS = 64;

/** The agent a Deployment, Execution, Eval or AgBOM belongs to. */
function agentOf(r: Resource, ctx: UnitContext): Resource | undefined {
  if (r.kind === 'Agent') return r;
  if (r.kind === 'Eval') return ctx.target(r, 'Agent', ['spec', 'target']);
  if (r.kind === 'Deployment' || r.kind === 'Execution' || r.kind === 'AgBOM') return ctx.target(r, 'Agent', ['spec', 'agentRef']);
  return undefined;
}

function executionsOf(agent: Resource, ctx: UnitContext): Resource[] {
  const out: Resource[] = [];
  for (const e of ctx.edgesTo.get(agent.key) ?? []) {
    const from = ctx.byKey.get(e.from);
    if (from?.kind === 'Execution' && e.path[1] === 'agentRef') out.push(from);
  }
  return out.sort((a, b) => (a.key < b.key ? -1 : 1));
}

/** Everything an agent unit reads, as `key@hash@file#doc` lines. */
function agentInputs(graph: AgentGraph, executions: readonly Resource[], bundle: PolicyBundle | undefined): string {
  const deps: Resource[] = [graph.agent];
  const add = (r: Resource | undefined) => r && deps.push(r);
  add(graph.adapter?.resource);
  add(graph.route?.resource);
  graph.models.forEach((m) => add(m.model));
  graph.tools.forEach((t) => (add(t.resource), add(t.mcpServer)));
  graph.mcpServers.forEach((m) => add(m.resource));
  graph.memories.forEach((m) => add(m.resource));
  graph.rags.forEach((r) => (add(r.resource), r.sources.forEach((s) => add(s.resource)), add(r.embeddingModel), add(r.rerankerModel)));
  graph.handoffs.forEach((h) => add(h.resource));
  graph.children.forEach((c) => add(c.resource));
  graph.deployments.forEach((d) => (add(d.deployment), add(d.environment)));
  graph.secrets.forEach((s) => add(s.resource));
  executions.forEach(add);
  const lines = deps.map((r) => `${r.key}@${r.contentHash}@${r.file}#${r.doc}`);
  lines.push(`bundle@${bundle?.hash ?? 'none'}`);
  return lines.join('\n');
}

/** The ConfigMap of a pinned version: beside the agent's own, named by the version so two pins never share one. */
function pinnedConfigMapName(agent: string, version: string): string {
  return kubernetesLabelName(agent, 'manifest', version.replace(/^sha256:/, '').slice(0, 12));
}

/** What the unit key adds for the agent's pinned Deployments: the versions they run. */
function pinnedInputs(graph: AgentGraph, pinned: ReadonlyMap<string, CompiledManifestEntry>): string {
  return graph.deployments.map(({ deployment }) => `pin@${deployment.key}@${pinned.get(deployment.key)?.hash ?? 'none'}`).join('\n');
}

function buildAgent(
  graph: AgentGraph,
  executions: readonly Resource[],
  bundle: PolicyBundle | undefined,
  ctx: UnitContext,
  pinned: ReadonlyMap<string, CompiledManifestEntry>,
): Omit<Unit, 'key'> {
  const findings: Finding[] = [];
  const agent = graph.agent;
  const at = { file: agent.file, doc: agent.doc, path: ['spec', 'framework', 'adapterRef'] };
  if (!graph.adapter) findings.push(finding('JOCH907', 'the FrameworkAdapter of the agent did not resolve; it cannot be compiled', at, { resource: refOf(agent) }));
  if (!bundle && ctx.options.requirePolicyBundles) {
    findings.push(finding('JOCH906', 'the policy stage produced no bundle for this agent', { file: agent.file, doc: agent.doc, path: [] }, { resource: refOf(agent) }));
  }
  const manifest = compiledManifest(graph, bundle, ctx);
  const names: AgentObjectNames = { serviceAccount: kubernetesLabelName(agent.name), configMap: kubernetesLabelName(agent.name, 'manifest') };
  const rt: AgentRuntime = { graph, serviceAccount: names.serviceAccount, configMap: names.configMap, manifestHash: manifest.hash, findings };

  const workloads: CompiledObject[] = [];
  // A Deployment pinned to another version than HEAD's reads that version's manifest from its own ConfigMap.
  const pinnedMaps = new Map<string, Map<string, CompiledManifestEntry>>();
  const runtimeOf = (deployment: Resource): AgentRuntime => {
    const pin = pinned.get(deployment.key);
    if (!pin || pin.hash === manifest.hash) return rt;
    const configMap = pinnedConfigMapName(agent.name, pin.hash);
    const ns = deployment.namespace ?? '';
    if (!pinnedMaps.has(ns)) pinnedMaps.set(ns, new Map());
    pinnedMaps.get(ns)?.set(configMap, pin);
    return { ...rt, configMap, manifestHash: pin.hash };
  };
  for (const { deployment, environment } of graph.deployments) {
    if (!runsOnKubernetes(deployment, environment)) {
      findings.push(
        finding('JOCH905', `Deployment "${deployment.name}" does not run on Kubernetes; only its custom resource is emitted`, { file: deployment.file, doc: deployment.doc, path: ['spec', 'runtime'] }, {
          resource: refOf(deployment),
        }),
      );
      continue;
    }
    workloads.push(...deploymentObjects(runtimeOf(deployment), deployment, environment, ctx));
  }
  const image = executionImage(graph);
  for (const e of executions) workloads.push(...executionJob(rt, e, image, ctx));

  // The manifest lives in the agent's namespace (the control plane reads it
  // there) and in every namespace where its pods run (a volume is namespace-local).
  const runtimeNamespaces = new Set(workloads.map((w) => w.object.metadata.namespace).filter((n): n is string => n !== undefined));
  const objects: CompiledObject[] = [manifestConfigMap(graph, manifest.manifest, names, agent.namespace ?? '', ctx)];
  for (const ns of [...runtimeNamespaces].sort()) {
    if (ns !== agent.namespace) objects.push(manifestConfigMap(graph, manifest.manifest, names, ns, ctx));
    const pins = [...(pinnedMaps.get(ns) ?? new Map<string, CompiledManifestEntry>())].sort(([a], [b]) => (a < b ? -1 : 1));
    for (const [configMap, pin] of pins) objects.push(manifestConfigMap(graph, withoutCommit(pin.manifest), { ...names, configMap }, ns, ctx));
    objects.push(...identityObjects(graph, names, ns, ctx, pins.map(([configMap]) => configMap)), networkPolicy(graph, names.serviceAccount, ns, ctx));
  }
  objects.push(...workloads);
  return { objects: synthUnit(`agent-${agent.key}`, objects), findings, manifest };
}

function collisions(objects: readonly CompiledObject[]): Finding[] {
  const seen = new Map<string, CompiledObject>();
  const out: Finding[] = [];
  for (const o of objects) {
    const id = objectIdentity(o.object);
    const first = seen.get(id);
    if (!first) {
      seen.set(id, o);
      continue;
    }
    const { kind, metadata } = o.object;
    const where = o.origin ?? first.origin ?? { file: '.', line: 1, column: 1 };
    out.push(
      finding('JOCH904', `two compiled objects are ${kind} ${metadata.namespace ? `${metadata.namespace}/` : ''}${metadata.name}`, where, {
        related: first.origin ? [{ at: first.origin, message: 'the other object comes from here' }] : undefined,
      }),
    );
  }
  return out;
}

class CachingCompiler implements Compiler {
  private cache = new Map<string, Unit>();
  private readonly storeScope: string;
  /** The units a previous process stored for this project, read when the first unit is not in memory. */
  private stored: ReadonlyMap<string, Unit> | undefined;

  constructor(
    private readonly options: CompileOptions,
    private readonly extras: CompilerExtras = {},
  ) {
    this.storeScope = `${shortDigest({ options, guarded: extras.guard !== undefined })}\n${extras.scope ?? ''}`;
  }

  /** A unit from memory, else from the persistent store, else built (and stored). */
  private resolveUnit(id: string, key: string, build: () => Omit<Unit, 'key'>): { unit: Unit; built: boolean } {
    const hit = this.cache.get(id);
    if (hit && hit.key === key) return { unit: hit, built: false };
    if (this.extras.store) {
      this.stored ??= this.readStored();
      const stored = this.stored.get(id);
      if (stored && stored.key === key && Array.isArray(stored.objects)) return { unit: stored, built: false };
    }
    const made = build();
    const unit: Unit = { key, ...made, ...(this.extras.guard ? { leaks: this.extras.guard(made.objects, made.manifest) } : {}) };
    return { unit, built: true };
  }

  private readStored(): ReadonlyMap<string, Unit> {
    const out = new Map<string, Unit>();
    for (let shard = 0; shard < UNIT_SHARDS; shard++) {
      // Shards may come from different runs: a unit is only ever used when its key matches.
      const units = this.extras.store?.get<Map<string, Unit>>(UNIT_PACK_KIND, `${this.storeScope}\n${shard}`);
      if (units instanceof Map) for (const [id, unit] of units) out.set(id, unit);
    }
    return out;
  }

  /** Writes the shards holding a unit built, added or dropped since the stored units. */
  private writeStored(next: ReadonlyMap<string, Unit>, builtIds: ReadonlySet<string>): void {
    const store = this.extras.store;
    if (!store) return;
    const before = this.stored ?? new Map<string, Unit>();
    const dirty = new Set<number>();
    for (const id of builtIds) dirty.add(shardOf(id));
    for (const id of next.keys()) if (!before.has(id)) dirty.add(shardOf(id));
    for (const id of before.keys()) if (!next.has(id)) dirty.add(shardOf(id));
    if (dirty.size === 0) return;
    const shards = new Map<number, Map<string, Unit>>([...dirty].map((s) => [s, new Map()]));
    for (const [id, unit] of next) shards.get(shardOf(id))?.set(id, unit);
    for (const [shard, units] of [...shards].sort(([a], [b]) => a - b)) store.put(UNIT_PACK_KIND, `${this.storeScope}\n${shard}`, units);
  }

  compile(input: CompileInput): CompileOutput {
    const ownerFindings: Finding[] = [];
    const owner = namespaceOwners(
      input.resources.filter((r) => r.kind === 'Team' && isCompiledKind(r.kind)),
      ownerFindings,
    );
    const teamOfNamespace = new Map([...owner].map(([ns, o]) => [ns, o.team.name]));
    const ctx = unitContext(input, this.options, teamOfNamespace);
    const optionsKey = shortDigest({ options: this.options, displayPrefix: input.displayPrefix ?? '' });
    // Agent units also read the workload settings and which Team owns each namespace (their pods' resources).
    const agentKey = shortDigest({ optionsKey, workloads: ctx.workloads, owners: [...teamOfNamespace].sort(([a], [b]) => (a < b ? -1 : 1)) });
    const next = new Map<string, Unit>();
    let built = 0;
    const builtIds = new Set<string>();
    const unit = (id: string, key: string, build: () => Omit<Unit, 'key'>): Unit => {
      const r = this.resolveUnit(id, key, build);
      if (r.built) {
        built++;
        builtIds.add(id);
      }
      next.set(id, r.unit);
      return r.unit;
    };

    if (this.options.crds) unit('crds', optionsKey, () => ({ objects: synthUnit('crds', jochCrds(this.options.applySetId).map((object) => ({ object, origin: undefined }))), findings: [] }));
    this.customResources(input, ctx, optionsKey, unit);
    for (const graph of input.graphs) {
      const executions = executionsOf(graph.agent, ctx);
      const bundle = input.bundles.get(graph.agent.key);
      const pinned = input.pinned ?? new Map<string, CompiledManifestEntry>();
      const key = sha256(`${agentKey}\n${agentInputs(graph, executions, bundle)}\n${pinnedInputs(graph, pinned)}`);
      unit(`agent:${graph.agent.key}`, key, () => buildAgent(graph, executions, bundle, ctx, pinned));
    }
    // Shared units read many resources and are cheap: rebuilt every run.
    const shared = this.sharedObjects(input, ctx, owner, ownerFindings);
    if (this.extras.store) {
      this.stored ??= this.readStored();
      this.writeStored(next, builtIds);
    }
    this.stored = next;
    built += 1;
    this.cache = next;

    const units = [...next.values()];
    const objects = sortObjects([...units.flatMap((u) => u.objects), ...shared.objects]);
    const manifests = units
      .flatMap((u) => (u.manifest ? [withCommit(u.manifest, input.revision, input.commitTime)] : []))
      .sort((a, b) => (a.agent < b.agent ? -1 : a.agent > b.agent ? 1 : 0));
    const findings = [...units.flatMap((u) => u.findings), ...shared.findings, ...collisions(objects)];
    const guard = this.extras.guard;
    const leaks = guard ? [...units.flatMap((u) => u.leaks ?? []), ...guard(shared.objects, undefined)] : undefined;
    return { objects, manifests, findings, stats: { units: next.size + 1, built }, ...(leaks ? { leaks } : {}) };
  }

  private customResources(input: CompileInput, ctx: UnitContext, optionsKey: string, unit: (id: string, key: string, build: () => Omit<Unit, 'key'>) => Unit): void {
    for (const r of input.resources) {
      if (!isCompiledKind(r.kind)) continue;
      const agent = agentOf(r, ctx)?.name;
      const key = `${r.contentHash}|${r.file}#${r.doc}|${agent ?? ''}|${optionsKey}`;
      unit(`cr:${r.key}`, key, () => ({
        objects: synthUnit(`cr-${r.key}`, [{ object: customResource(ctx.provenance(r), this.options.applySetId, agent), origin: { file: r.file, doc: r.doc, path: [] } }]),
        findings: [],
      }));
    }
  }

  /** Namespaces, team access and secret access: each reads resources from across the repository. */
  private sharedObjects(input: CompileInput, ctx: UnitContext, owner: ReadonlyMap<string, Owner>, ownerFindings: readonly Finding[]): { objects: CompiledObject[]; findings: Finding[] } {
    const findings: Finding[] = [...ownerFindings];
    const compiled = input.resources.filter((r) => isCompiledKind(r.kind));
    const teams = compiled.filter((r) => r.kind === 'Team');
    const used = new Map<string, Resource>();
    for (const r of compiled) if (r.namespace !== undefined && !used.has(r.namespace)) used.set(r.namespace, r);
    const objects: CompiledObject[] = [...namespaceObjects(used, owner, ctx)];
    if (teams.length) {
      objects.push(...teamClusterRoles(ctx));
      const owned = ownedNamespaces(owner);
      for (const team of teams) {
        objects.push(...teamRoleBindings(team, owned.get(team.key) ?? [], ctx, findings));
        const places = (owned.get(team.key) ?? []).map((namespace) => ({ namespace, index: owner.get(namespace)?.index ?? 0 }));
        objects.push(...teamQuotaObjects(team, places, ctx, findings));
      }
    }
    objects.push(...secretAccessObjects(ctx, compiled.filter((r) => r.kind === 'Secret')));
    return { objects: synthUnit('shared', objects), findings };
  }
}

/** A compiler that remembers its last run: for the sync loop and watch mode. */
export function createCompiler(options: Partial<CompileOptions> = {}, extras: CompilerExtras = {}): Compiler {
  return new CachingCompiler(compileOptions(options), extras);
}

/** One compilation, nothing remembered. */
export function compile(input: CompileInput, options: Partial<CompileOptions> = {}): CompileOutput {
  return createCompiler(options).compile(input);
}

/** Which entry of the store holds a unit: stable across runs and processes. */
function shardOf(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return (h >>> 0) % UNIT_SHARDS;
}
