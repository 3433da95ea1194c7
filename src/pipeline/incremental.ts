/**
 * `joch validate` after a small change, without reading, parsing or checking
 * what did not change. A full run with the persistent cache stores a state:
 *
 * - a stat index of the files it read (size, mtime, ctime, inode and the
 *   sha256 of the bytes, as Git's index does), so an unchanged file is not
 *   read again. A file whose mtime or ctime is not older than the run's start
 *   (less a margin for coarse file-system clocks) is racily clean: it is
 *   read and hashed again, since a change within the same clock tick would
 *   leave its stat as it was;
 * - per file, its findings and a shape: what the cross-file checks read of
 *   it (each resource's identity, labels, annotations and reference sites);
 * - the findings of the cross-file checks, the reference graph, and per agent
 *   its policy findings and the hash of its policy bundle;
 * - which files each agent's policy decision reads (its graph and what that
 *   references), and the diagnostics already positioned.
 *
 * A later run with the same file list stats every file, parses and checks
 * only the changed ones, and when their shape is unchanged re-decides the
 * policy of the agents that read them, over resources that are parsed only
 * when the decision reads them. It then assembles the findings in the order
 * a full run makes them, so the output is byte-identical. Anything else (a
 * file added, removed or renamed, a changed shape, a change to a kind whose
 * content other resources' checks read: Policy, Environment, Team, Budget,
 * Eval, Model, FrameworkAdapter; an agent whose bundle changed) falls back
 * to the full run, which stores a new state.
 */
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import path from 'node:path';
import type { CacheStore } from '../cache/index.js';
import { sortDiagnostics, summarize, type Diagnostic, type Finding } from '../diagnostics/index.js';
import { DEFAULT_PARSE_LIMITS, Locator, loadFile, type FileLoad, type ManifestDocument, type ManifestSet } from '../manifests/index.js';
import { buildAgentGraphsFor, type AgentGraph, type ReferenceEdge } from '../model/graph.js';
import { pinsOf } from '../model/pins.js';
import type { Resource } from '../model/resource.js';
import { evaluatePolicy, type PolicyResult } from '../policy/index.js';
import { checkFile } from '../schema/files.js';
import { adapterNeeds, referenceSites } from '../schema/references.js';
import { listLocalFiles, type LocalSourceOptions } from '../source/local.js';
import { displayPath } from '../source/types.js';
import { settleFindings } from './findings.js';
import type { Project, Timings } from './index.js';

/** Bumped when the stored shape changes (the build id covers the code that fills it). */
const STATE_KIND = 'validate-state-v1';
/** Files stamped this close to the run's start are hashed again: file-system clocks can be this coarse. */
const RACY_MARGIN_MS = 2000;
/** Kinds whose content other resources' checks or decisions read: a change to one is a full run. */
const FLEET_KINDS = new Set(['Policy', 'Environment', 'Team', 'Budget', 'Eval', 'Model', 'FrameworkAdapter']);
/** Codes whose finding means a file holds a credential: no state is stored for such a repository. */
const CREDENTIAL_CODES = new Set(['JOCH601', 'JOCH602']);
/** Past this share of the agents, re-deciding them costs about as much as the full run. */
const MAX_AFFECTED_SHARE = 0.25;

interface StatStamp {
  readonly size: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
  readonly ino: number;
}

interface ResourceEntry {
  readonly key: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace: string | undefined;
  readonly doc: number;
}

interface StoredFile {
  /** Root-relative, as the source lists it. */
  readonly path: string;
  readonly display: string;
  readonly stat: StatStamp;
  readonly hash: string;
  readonly shape: string;
  readonly fleet: boolean;
  readonly load: readonly Finding[];
  readonly checks: readonly Finding[];
  readonly resources: readonly ResourceEntry[];
}

interface StoredAgent {
  readonly key: string;
  readonly own: readonly Finding[];
  readonly signature: string;
}

interface ValidateState {
  /** When the run that wrote the state started (ms since the epoch). */
  readonly startedAt: number;
  readonly files: readonly StoredFile[];
  /** Findings of the configuration and the source walk, first in a run's list. */
  readonly prefix: readonly Finding[];
  /** Identity and reference findings. */
  readonly cross: readonly Finding[];
  /** Per agent, in the policy stage's order (by key; a key defined twice is there twice). */
  readonly agents: readonly StoredAgent[];
  /** Policy findings shared by several agents or about Policies themselves. */
  readonly extras: readonly Finding[];
  readonly edges: readonly ReferenceEdge[];
  readonly production: readonly string[];
  /** Agents whose policy decision reads a file, by displayed path. */
  readonly agentsByFile: ReadonlyMap<string, readonly string[]>;
  /** Positioned diagnostics by their settled finding. */
  readonly positioned: ReadonlyMap<string, Diagnostic>;
  readonly counts: { readonly files: number; readonly resources: number };
}

/** What the key of a project's state is made of: the same inputs give the same findings. */
export interface StateKeyInput {
  readonly project: Project;
  readonly source: LocalSourceOptions;
  /** The checks that ran, sorted. */
  readonly checks: readonly string[];
}

export function stateKey({ project, source, checks }: StateKeyInput): string {
  const { config, file, text, root } = project.config;
  return JSON.stringify([
    root,
    file ?? null,
    text ?? null,
    config,
    project.include,
    project.namedByUser,
    source.root,
    source.cwd ?? null,
    source.exclude ?? [],
    source.skip ?? [],
    source.maxFileBytes,
    checks,
  ]);
}

// ---------------------------------------------------------------- the full run's state

export interface FullRunParts {
  readonly store: CacheStore;
  readonly key: string;
  readonly startedAt: number;
  readonly root: string;
  /** Root-relative paths the source read, sorted. */
  readonly paths: readonly string[];
  readonly displayPrefix: string | undefined;
  readonly set: ManifestSet;
  readonly documentFindings: WeakMap<ManifestDocument, readonly Finding[]>;
  /** Findings before the load stage's: configuration, project, workloads, clusters, source. */
  readonly prefix: readonly Finding[];
  readonly sourceFindings: number;
  readonly validation: { readonly findings: readonly Finding[]; readonly references: readonly ReferenceEdge[] };
  readonly graphs: readonly AgentGraph[];
  readonly policy: PolicyResult;
  readonly settled: readonly Finding[];
  readonly positioned: readonly Diagnostic[];
}

/**
 * Stores the state of a full run. Nothing is stored when the run's findings
 * cannot be split back into per-file and per-agent parts in the order the run
 * made them, when a file holds a credential, or when a Deployment is pinned.
 */
export function saveFullRunState(parts: FullRunParts): void {
  const state = stateOfFullRun(parts);
  if (state) parts.store.put(STATE_KIND, parts.key, state);
}

function stateOfFullRun(parts: FullRunParts): ValidateState | undefined {
  const { set, policy } = parts;
  if (parts.sourceFindings > 0 || pinsOf(parts.graphs).length > 0) return undefined;
  if (parts.settled.some((f) => CREDENTIAL_CODES.has(f.code)) || policy.findings.some((f) => f.code === 'JOCH800')) return undefined;
  if (set.files.length !== parts.paths.length) return undefined;
  const loadByFile = groupByFile(set.findings);
  const checksByFile = new Map<string, Finding[]>();
  let checkCount = 0;
  for (const d of set.documents) {
    const found = parts.documentFindings.get(d);
    if (!found) return undefined;
    checkCount += found.length;
    const list = checksByFile.get(d.file);
    if (list) list.push(...found);
    else checksByFile.set(d.file, [...found]);
  }
  const resourcesByFile = groupResources(set.resources);
  const documentsByFile = groupDocuments(set.documents);
  const files: StoredFile[] = [];
  for (let i = 0; i < parts.paths.length; i++) {
    const rel = parts.paths[i] as string;
    const loaded = set.files[i];
    const display = displayPath({ displayPrefix: parts.displayPrefix }, rel);
    if (!loaded || loaded.path !== display) return undefined;
    let stat: Stats;
    try {
      stat = statSync(path.join(parts.root, rel));
    } catch {
      return undefined;
    }
    const resources = resourcesByFile.get(display) ?? [];
    files.push({
      path: rel,
      display,
      stat: stampOf(stat),
      hash: loaded.hash,
      shape: shapeOf(loaded.documents, documentsByFile.get(display) ?? [], resources),
      fleet: resources.some((r) => FLEET_KINDS.has(r.kind)),
      load: loadByFile.get(display) ?? [],
      checks: checksByFile.get(display) ?? [],
      resources: resources.map(entryOf),
    });
  }
  // The run's list must be exactly the parts put back together, or the parts are not what the run did.
  if (!sameList([...files.flatMap((f) => f.load)], set.findings)) return undefined;
  const validationChecks = parts.validation.findings.slice(0, checkCount);
  if (!sameList(files.flatMap((f) => f.checks), validationChecks)) return undefined;
  const split = splitPolicy(policy);
  if (!split) return undefined;
  return {
    startedAt: parts.startedAt,
    files,
    prefix: parts.prefix,
    cross: parts.validation.findings.slice(checkCount),
    agents: split.agents,
    extras: split.extras,
    edges: parts.validation.references,
    production: policy.production ?? [],
    agentsByFile: agentsByFile(parts.graphs, parts.validation.references, set.resources),
    positioned: positionedByFinding(parts.settled, parts.positioned),
    counts: { files: set.files.length, resources: set.resources.length },
  };
}

/** Per agent, its own findings and its bundle's hash; the stage's shared findings close its list. */
function splitPolicy(policy: PolicyResult): { agents: StoredAgent[]; extras: Finding[] } | undefined {
  if (policy.shared === undefined) return undefined;
  const extras = policy.findings.slice(policy.findings.length - policy.shared);
  const shared = new Set(extras);
  const agents: StoredAgent[] = [];
  const flat: Finding[] = [];
  for (const a of policy.agents) {
    const own = a.findings.map((f) => f.finding).filter((f) => !shared.has(f));
    agents.push({ key: a.agent.key, own, signature: signatureOf(a, shared) });
    flat.push(...own);
  }
  return sameList([...flat, ...extras], policy.findings) ? { agents, extras } : undefined;
}

/** What the rest of the run reads of an agent's decision: its bundle, and which shared findings name it. */
function signatureOf(a: PolicyResult['agents'][number], shared: ReadonlySet<Finding>): string {
  const sharedCaps = a.findings
    .filter((f) => shared.has(f.finding))
    .map((f) => f.capability)
    .sort();
  return `${a.bundle.hash} ${JSON.stringify(sharedCaps)}`;
}

/** What the cross-file checks and the policy stage read of a file besides the content of the resources they decide on. */
function shapeOf(documents: number, catalog: readonly ManifestDocument[], resources: readonly Resource[]): string {
  const h = createHash('sha256');
  h.update(JSON.stringify([documents, catalog.map((d) => [d.doc, d.kind.kind, d.apiVersion])]));
  for (const r of resources) {
    h.update(
      JSON.stringify([
        r.key,
        r.kind,
        r.apiVersion,
        r.group,
        r.name,
        r.namespace ?? null,
        r.namespaceDefaulted,
        r.doc,
        r.labels,
        r.annotations,
        referenceSites(r),
        adapterNeeds(r),
      ]),
    );
  }
  return h.digest('hex');
}

function entryOf(r: Resource): ResourceEntry {
  return { key: r.key, kind: r.kind, name: r.name, namespace: r.namespace, doc: r.doc };
}

function stampOf(s: Stats): StatStamp {
  return { size: s.size, mtimeMs: s.mtimeMs, ctimeMs: s.ctimeMs, ino: s.ino };
}

function groupByFile(findings: readonly Finding[]): Map<string, Finding[]> {
  const out = new Map<string, Finding[]>();
  for (const f of findings) {
    const list = out.get(f.at.file);
    if (list) list.push(f);
    else out.set(f.at.file, [f]);
  }
  return out;
}

function groupResources(resources: readonly Resource[]): Map<string, Resource[]> {
  const out = new Map<string, Resource[]>();
  for (const r of resources) {
    const list = out.get(r.file);
    if (list) list.push(r);
    else out.set(r.file, [r]);
  }
  for (const list of out.values()) list.sort((a, b) => a.doc - b.doc);
  return out;
}

function groupDocuments(documents: readonly ManifestDocument[]): Map<string, ManifestDocument[]> {
  const out = new Map<string, ManifestDocument[]>();
  for (const d of documents) {
    const list = out.get(d.file);
    if (list) list.push(d);
    else out.set(d.file, [d]);
  }
  return out;
}

function sameList<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * The files each agent's decision reads: the resources of its graph and the
 * resources they reference (the Secrets of its tools and models), by file.
 */
function agentsByFile(graphs: readonly AgentGraph[], edges: readonly ReferenceEdge[], resources: readonly Resource[]): Map<string, string[]> {
  const fileOf = new Map(resources.map((r) => [r.key, r.file]));
  const targets = new Map<string, string[]>();
  for (const e of edges) {
    if (!e.to) continue;
    const list = targets.get(e.from);
    if (list) list.push(e.to);
    else targets.set(e.from, [e.to]);
  }
  const out = new Map<string, string[]>();
  for (const g of graphs) {
    const keys = new Set<string>();
    for (const r of resourcesIn(g)) {
      keys.add(r.key);
      for (const t of targets.get(r.key) ?? []) keys.add(t);
    }
    const files = new Set<string>();
    for (const k of keys) {
      const f = fileOf.get(k);
      if (f !== undefined) files.add(f);
    }
    for (const f of files) {
      const list = out.get(f);
      if (list) list.push(g.agent.key);
      else out.set(f, [g.agent.key]);
    }
  }
  return out;
}

/** Every resource an agent graph holds, found by walking it down to the resources (whose content is not walked). */
function resourcesIn(graph: AgentGraph): Resource[] {
  const out: Resource[] = [];
  const seen = new Set<unknown>();
  const walk = (node: unknown, depth: number): void => {
    if (node === null || typeof node !== 'object' || seen.has(node) || depth > 12) return;
    seen.add(node);
    if (isResource(node)) {
      out.push(node);
      return;
    }
    for (const v of Array.isArray(node) ? node : Object.values(node)) walk(v, depth + 1);
  };
  walk(graph, 0);
  return out;
}

function isResource(node: object): node is Resource {
  const r = node as Partial<Resource>;
  return typeof r.key === 'string' && typeof r.contentHash === 'string' && typeof r.kind === 'string';
}

function findingKey(f: Finding): string {
  return JSON.stringify(f);
}

function positionedByFinding(settled: readonly Finding[], positioned: readonly Diagnostic[]): Map<string, Diagnostic> {
  const out = new Map<string, Diagnostic>();
  if (settled.length !== positioned.length) return out;
  settled.forEach((f, i) => out.set(findingKey(f), positioned[i] as Diagnostic));
  return out;
}

function filesOf(f: Finding): string[] {
  return [f.at.file, ...(f.related ?? []).map((r) => r.at.file)];
}

// ---------------------------------------------------------------- the incremental run

export interface IncrementalInput {
  readonly store: CacheStore;
  readonly key: string;
  readonly project: Project;
  readonly source: LocalSourceOptions;
}

export interface IncrementalRun {
  readonly diagnostics: Diagnostic[];
  readonly summary: ReturnType<typeof summarize>;
  readonly timings: Timings;
  readonly cached: { readonly reused: number; readonly worked: number };
  /** The text of a displayed file, read when asked (for code frames). */
  readonly textOf: (file: string) => string | undefined;
}

export type IncrementalOutcome = { readonly run: IncrementalRun } | { readonly fallback: string };

/** A file whose content differs from the state's: its path in the state, its bytes and what they load to. */
interface Changed {
  readonly index: number;
  readonly stat: StatStamp;
  readonly hash: string;
  readonly load: FileLoad;
  readonly checks: readonly Finding[];
}

class Stale extends Error {}

export function validateIncrementally(input: IncrementalInput): IncrementalOutcome {
  const timings: Timings = {};
  const startedAt = Date.now();
  let t = performance.now();
  const lap = (stage: string) => {
    const now = performance.now();
    timings[stage] = (timings[stage] ?? 0) + now - t;
    t = now;
  };
  const state = input.store.get<ValidateState>(STATE_KIND, input.key);
  lap('state');
  if (!state || !Array.isArray(state.files)) return { fallback: 'no state' };
  const listed = listLocalFiles(input.source);
  if (listed.findings.length) return { fallback: 'the walk has findings' };
  if (listed.paths.length !== state.files.length || listed.paths.some((p, i) => state.files[i]?.path !== p)) return { fallback: 'files added, removed or renamed' };
  const { config } = input.project.config;
  const limits = { ...DEFAULT_PARSE_LIMITS, ...config.limits };
  const changed: Changed[] = [];
  const restamped = new Map<number, StatStamp>();
  for (let i = 0; i < state.files.length; i++) {
    const stored = state.files[i] as StoredFile;
    const abs = path.join(listed.root, stored.path);
    let stat: Stats;
    try {
      stat = statSync(abs);
    } catch {
      return { fallback: 'a file went away' };
    }
    if (sameStamp(stat, stored.stat) && !racy(stored.stat, state.startedAt)) continue;
    if (stat.size > input.source.maxFileBytes) return { fallback: 'a file is over the size limit' };
    const bytes = readAll(abs);
    if (!bytes) return { fallback: 'a file cannot be read' };
    const hash = createHash('sha256').update(bytes).digest('hex');
    if (hash === stored.hash) {
      restamped.set(i, stampOf(stat));
      continue;
    }
    const check = checkFile({ path: stored.display, bytes }, { defaultNamespace: config.defaultNamespace, limits, schema: true });
    changed.push({ index: i, stat: stampOf(stat), hash, load: check.load, checks: check.documentFindings.flat() });
  }
  lap('source');
  for (const c of changed) {
    const stored = state.files[c.index] as StoredFile;
    const resources = [...c.load.resources].sort((a, b) => a.doc - b.doc);
    if (stored.fleet || resources.some((r) => FLEET_KINDS.has(r.kind))) return { fallback: `${stored.display} holds a kind other resources read` };
    if (shapeOf(c.load.file.documents, c.load.documents, resources) !== stored.shape) return { fallback: `${stored.display} changed its identity or references` };
    if ([...c.load.findings, ...c.checks].some((f) => CREDENTIAL_CODES.has(f.code))) return { fallback: `${stored.display} holds a credential` };
  }
  lap('load');
  const affected = new Set<string>();
  for (const c of changed) for (const a of state.agentsByFile.get((state.files[c.index] as StoredFile).display) ?? []) affected.add(a);
  if (affected.size > Math.max(1, state.agents.length * MAX_AFFECTED_SHARE)) return { fallback: `${affected.size} agents to decide again` };
  let agents = state.agents;
  if (affected.size > 0) {
    if (state.agents.filter((a) => affected.has(a.key)).length !== affected.size) return { fallback: 'an agent is defined twice' };
    const decided = decideAgain(state, input, listed.root, changed, affected, limits);
    lap('policy');
    if ('fallback' in decided) return decided;
    agents = state.agents.map((a) => {
      const own = decided.own.get(a.key);
      return own ? { ...a, own } : a;
    });
  }
  const files = state.files.map((f, i) => {
    const c = changed.find((x) => x.index === i);
    if (c) return { ...f, stat: c.stat, hash: c.hash, load: c.load.findings, checks: c.checks };
    const stamp = restamped.get(i);
    return stamp ? { ...f, stat: stamp } : f;
  });
  const findings = [...state.prefix, ...files.flatMap((f) => f.load), ...files.flatMap((f) => f.checks), ...state.cross, ...agents.flatMap((a) => a.own), ...state.extras];
  const changedFiles = new Set(changed.map((c) => (state.files[c.index] as StoredFile).display));
  const byDisplay = new Map(state.files.map((f) => [f.display, f]));
  const textOf = (file: string): string | undefined => {
    const f = byDisplay.get(file);
    if (!f) return file === input.project.config.file ? input.project.config.text : undefined;
    const bytes = readAll(path.join(listed.root, f.path));
    return bytes ? Buffer.from(bytes).toString('utf8') : undefined;
  };
  const settled = settleFindings(findings, input.project.config);
  const locator = new Locator((file) => (file === input.project.config.file ? input.project.config.text : textOf(file)));
  const positioned = settled.map((f) => {
    const known = filesOf(f).some((file) => changedFiles.has(file)) ? undefined : state.positioned.get(findingKey(f));
    return known ?? (locator.resolve([f])[0] as Diagnostic);
  });
  const diagnostics = sortDiagnostics(positioned);
  lap('report');
  if (changed.length > 0 || restamped.size > 0 || racyCount(state) > 0) {
    input.store.put(STATE_KIND, input.key, {
      ...state,
      startedAt,
      files,
      agents,
      positioned: positionedByFinding(settled, positioned),
    } satisfies ValidateState);
    lap('state');
  }
  return {
    run: {
      diagnostics,
      summary: summarize(diagnostics, state.counts.files, state.counts.resources),
      timings,
      cached: { reused: state.files.length - changed.length, worked: changed.length },
      textOf,
    },
  };
}

function sameStamp(s: Stats, stamp: StatStamp): boolean {
  return s.size === stamp.size && s.mtimeMs === stamp.mtimeMs && s.ctimeMs === stamp.ctimeMs && s.ino === stamp.ino;
}

/** Stamped too close to the state's run to tell a later change within the same clock tick from none. */
function racy(stamp: StatStamp, startedAt: number): boolean {
  return stamp.mtimeMs >= startedAt - RACY_MARGIN_MS || stamp.ctimeMs >= startedAt - RACY_MARGIN_MS;
}

function racyCount(state: ValidateState): number {
  return state.files.filter((f) => racy(f.stat, state.startedAt)).length;
}

function readAll(file: string): Uint8Array | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const size = fstatSync(fd).size;
    const bytes = Buffer.allocUnsafe(size);
    let off = 0;
    while (off < size) {
      const n = readSync(fd, bytes, off, size - off, off);
      if (n === 0) break;
      off += n;
    }
    return off === size ? bytes : bytes.subarray(0, off);
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * The policy decisions of the affected agents, over every resource of the
 * repository: those of changed files as just loaded, the others parsed from
 * disk only when the decision reads more than their identity. An agent whose
 * bundle changed changes what the stage says about others: a full run then.
 */
function decideAgain(
  state: ValidateState,
  input: IncrementalInput,
  root: string,
  changed: readonly Changed[],
  affected: ReadonlySet<string>,
  limits: typeof DEFAULT_PARSE_LIMITS,
): { own: Map<string, Finding[]> } | { fallback: string } {
  const { config } = input.project.config;
  const fresh = new Map<string, Resource>();
  for (const c of changed) for (const r of c.load.resources) fresh.set(r.key, r);
  const loads = new Map<string, FileLoad>();
  let stale = false;
  const loadStored = (f: StoredFile): FileLoad => {
    let load = loads.get(f.display);
    if (!load) {
      const bytes = readAll(path.join(root, f.path));
      if (!bytes || createHash('sha256').update(bytes).digest('hex') !== f.hash) {
        stale = true;
        throw new Stale(`${f.display} changed during the run`);
      }
      load = loadFile(f.display, bytes, limits, config.defaultNamespace);
      loads.set(f.display, load);
    }
    return load;
  };
  const resources: Resource[] = [];
  const byKey = new Map<string, Resource>();
  for (const f of state.files) {
    for (const e of f.resources) {
      const r = fresh.get(e.key) ?? lazyResource(e, f.display, () => loadStored(f).resources.find((x) => x.doc === e.doc && x.key === e.key));
      resources.push(r);
      byKey.set(r.key, r);
    }
  }
  resources.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  let policy: PolicyResult;
  try {
    const agents = [...affected].map((k) => byKey.get(k)).filter((r): r is Resource => r !== undefined);
    const graphs = buildAgentGraphsFor(agents, byKey, state.edges);
    policy = evaluatePolicy({ resources, graphs, references: state.edges, options: config.policy, production: new Set(state.production) });
  } catch (e) {
    if (e instanceof Stale) return { fallback: e.message };
    throw e;
  }
  if (stale) return { fallback: 'a file changed during the run' };
  if (policy.shared === undefined || policy.findings.some((f) => f.code === 'JOCH800')) return { fallback: 'the policy stage failed' };
  const shared = new Set(policy.findings.slice(policy.findings.length - policy.shared));
  const own = new Map<string, Finding[]>();
  const signatures = new Map(state.agents.map((a) => [a.key, a.signature]));
  for (const a of policy.agents) {
    const before = signatures.get(a.agent.key);
    if (before !== signatureOf(a, shared)) return { fallback: `the decision of ${a.agent.key} changed` };
    own.set(
      a.agent.key,
      a.findings.map((f) => f.finding).filter((f) => !shared.has(f)),
    );
  }
  return { own };
}

/** The fields of a resource that are not in the state: read from its file the first time one is asked for. */
const LAZY_FIELDS = ['apiVersion', 'group', 'namespaceDefaulted', 'labels', 'annotations', 'spec', 'body', 'contentHash'] as const;

function lazyResource(entry: ResourceEntry, file: string, load: () => Resource | undefined): Resource {
  let full: Resource | undefined;
  const get = (): Resource => {
    full ??= load();
    if (!full) throw new Stale(`${file} no longer defines ${entry.key}`);
    return full;
  };
  const r: Record<string, unknown> = { key: entry.key, kind: entry.kind, name: entry.name, namespace: entry.namespace, file, doc: entry.doc };
  for (const field of LAZY_FIELDS) Object.defineProperty(r, field, { get: () => get()[field], enumerable: true, configurable: false });
  return r as unknown as Resource;
}
