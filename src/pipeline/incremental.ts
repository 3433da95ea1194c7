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
import { createHash, randomUUID } from 'node:crypto';
import { statSync, type Stats } from 'node:fs';
import path from 'node:path';
import type { CacheStore } from '../cache/index.js';
import { sortDiagnostics, summarize, type Diagnostic, type Finding } from '../diagnostics/index.js';
import { DEFAULT_PARSE_LIMITS, hashBytes, Locator, loadFile, type FileLoad, type ManifestDocument, type ManifestSet } from '../manifests/index.js';
import { buildAgentGraphsFor, type AgentGraph, type ReferenceEdge } from '../model/graph.js';
import { groupBy } from '../model/group.js';
import { pinsOf } from '../model/pins.js';
import type { Resource } from '../model/resource.js';
import { evaluatePolicy, type PolicyResult } from '../policy/index.js';
import { checkFile } from '../schema/files.js';
import { adapterNeeds, referenceSites } from '../schema/references.js';
import { isCredentialFinding } from '../schema/secrets.js';
import { listLocalFiles, readBounded, readIgnoreFile, type LocalFileList, type LocalSourceOptions, type LocalWalk } from '../source/local.js';
import { displayPath } from '../source/types.js';
import { settleFindings } from './findings.js';
import type { Project, Timings } from './index.js';

/** Bumped when the stored shape changes (the build id covers the code that fills it). */
const STATE_KIND = 'validate-state-v1';
const DETAIL_KIND = 'validate-state-detail-v1';
/** Files stamped this close to the run's start are hashed again: file-system clocks can be this coarse. */
const RACY_MARGIN_MS = 2000;
/** Kinds whose content other resources' checks or decisions read: a change to one is a full run. */
const FLEET_KINDS = new Set(['Policy', 'Environment', 'Team', 'Budget', 'Eval', 'Model', 'FrameworkAdapter']);
/** Codes whose finding means a file holds a credential: no state is stored for such a repository. */
/** Past this share of the agents, re-deciding them costs about as much as the full run. */
const MAX_AFFECTED_SHARE = 0.25;

/** A file's stat as the index keeps it: size, mtime, ctime, inode. */
const STAMP_FIELDS = 4;
const HASH_CHARS = 64;

/**
 * What every incremental run reads: the stat index and the findings, in
 * columns (typed arrays and one string of hashes read back many times faster
 * than one object per file).
 */
interface StateIndex {
  /** When the run that wrote the index started (ms since the epoch). */
  readonly startedAt: number;
  readonly displayPrefix: string | undefined;
  /** Root-relative paths as the source lists them, sorted, joined with NUL (one string reads back at once). */
  readonly paths: string;
  /** The folders the walk read, joined with NUL, and their stamps: unchanged folders list the same files. */
  readonly folders: string;
  readonly folderStamps: Float64Array;
  /** The ignore file's text; undefined when the walk met a link, so that it must walk again. */
  readonly ignoreText: string | undefined;
  /** STAMP_FIELDS numbers per file. */
  readonly stamps: Float64Array;
  /** The sha256 of each file's bytes, HASH_CHARS hex digits each, concatenated. */
  readonly hashes: string;
  /** The load and per-document findings of the files that have any, by file index. */
  readonly fileFindings: ReadonlyMap<number, FileFindings>;
  /** Findings of the configuration and the source walk, first in a run's list. */
  readonly prefix: readonly Finding[];
  /** Identity and reference findings. */
  readonly cross: readonly Finding[];
  /** The policy findings of each agent that has any, by its index in the policy stage's order. */
  readonly agentFindings: ReadonlyMap<number, readonly Finding[]>;
  /** Policy findings shared by several agents or about Policies themselves. */
  readonly extras: readonly Finding[];
  /** Positioned diagnostics by their settled finding. */
  readonly positioned: ReadonlyMap<string, Diagnostic>;
  readonly counts: { readonly files: number; readonly resources: number };
  /** Names the detail written with this index. */
  readonly detail: string;
}

interface FileFindings {
  readonly load: readonly Finding[];
  readonly checks: readonly Finding[];
}

/** What only a run with changed files reads. An incremental run never changes it. */
interface StateDetail {
  /** The `detail` of the index written with it. */
  readonly id: string;
  /** Each file's shape, HASH_CHARS hex digits each, concatenated. */
  readonly shapes: string;
  /** 1 for a file that holds a kind other resources' checks read. */
  readonly fleet: Uint8Array;
  /** The resources, in file order: the file index of each, then its identity. */
  readonly resourceFile: Int32Array;
  readonly resourceDoc: Int32Array;
  readonly resourceKey: readonly string[];
  readonly resourceKind: readonly string[];
  readonly resourceName: readonly string[];
  readonly resourceNamespace: readonly (string | undefined)[];
  /** Agent keys in the policy stage's order, and what each decision was (see signatureOf). */
  readonly agents: readonly string[];
  readonly signatures: readonly string[];
  /** The reference graph in columns: ends as indexes into resourceKey (-1: unresolved), kinds into edgeKinds, paths as JSON. */
  readonly edgeFrom: Int32Array;
  readonly edgeTo: Int32Array;
  readonly edgeKind: Uint8Array;
  readonly edgeKinds: readonly string[];
  readonly edgeWritten: readonly string[];
  readonly edgePath: readonly string[];
  readonly production: readonly string[];
  /** The agents whose decision reads each file: agent indexes from readersStart[f] to readersStart[f + 1]. */
  readonly readersStart: Int32Array;
  readonly readers: Int32Array;
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
  readonly walk: LocalWalk | undefined;
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
  if (!state) return;
  parts.store.put(DETAIL_KIND, parts.key, state.detail);
  parts.store.put(STATE_KIND, parts.key, state.index);
}

function stateOfFullRun(parts: FullRunParts): { index: StateIndex; detail: StateDetail } | undefined {
  const { set, policy } = parts;
  if (parts.sourceFindings > 0 || pinsOf(parts.graphs).length > 0) return undefined;
  if (parts.settled.some(isCredentialFinding) || policy.findings.some((f) => f.code === 'JOCH800')) return undefined;
  const n = parts.paths.length;
  if (set.files.length !== n) return undefined;
  const loadByFile = groupBy(set.findings, (f) => f.at.file);
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
  const documentsByFile = groupBy(set.documents, (d) => d.file);
  const stamps = new Float64Array(n * STAMP_FIELDS);
  const hashes: string[] = [];
  const shapes: string[] = [];
  const fleet = new Uint8Array(n);
  const fileFindings = new Map<number, FileFindings>();
  const resources: { file: number; r: Resource }[] = [];
  const fileIndex = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const rel = parts.paths[i] as string;
    const loaded = set.files[i];
    const display = displayPath({ displayPrefix: parts.displayPrefix }, rel);
    if (!loaded || loaded.path !== display || loaded.hash.length !== HASH_CHARS) return undefined;
    // The stamp the read took, before the bytes the hash is of.
    const stat = parts.walk?.stats?.[i];
    if (!stat) return undefined;
    writeStamp(stamps, i, stat);
    fileIndex.set(display, i);
    hashes.push(loaded.hash);
    const mine = resourcesByFile.get(display) ?? [];
    shapes.push(shapeOf(loaded.documents, documentsByFile.get(display) ?? [], mine));
    fleet[i] = mine.some((r) => FLEET_KINDS.has(r.kind)) ? 1 : 0;
    for (const r of mine) resources.push({ file: i, r });
    const load = loadByFile.get(display) ?? [];
    const checks = checksByFile.get(display) ?? [];
    if (load.length || checks.length) fileFindings.set(i, { load, checks });
  }
  // The run's list must be exactly the parts put back together, or the parts are not what the run did.
  const byIndex = (pick: (f: FileFindings) => readonly Finding[]) => [...fileFindings.keys()].sort((a, b) => a - b).flatMap((i) => pick(fileFindings.get(i) as FileFindings));
  if (!sameList(byIndex((f) => f.load), set.findings)) return undefined;
  if (!sameList(byIndex((f) => f.checks), parts.validation.findings.slice(0, checkCount))) return undefined;
  const split = splitPolicy(policy);
  if (!split) return undefined;
  const agentFindings = new Map<number, readonly Finding[]>();
  split.agents.forEach((a, i) => {
    if (a.own.length) agentFindings.set(i, a.own);
  });
  const readers = readersOf(parts.graphs, parts.validation.references, set.resources, fileIndex, split.agents.map((a) => a.key));
  if (!readers) return undefined;
  const columns = edgeColumns(parts.validation.references, resources.map((x) => x.r.key));
  // Every end of a reference is a resource of the set: one that is not would be lost in the columns.
  if (columns.edgeFrom.includes(-1) || parts.validation.references.some((e, i) => e.to !== undefined && columns.edgeTo[i] === -1)) return undefined;
  const id = randomUUID();
  const detail: StateDetail = {
    id,
    shapes: shapes.join(''),
    fleet,
    resourceFile: Int32Array.from(resources.map((x) => x.file)),
    resourceDoc: Int32Array.from(resources.map((x) => x.r.doc)),
    resourceKey: resources.map((x) => x.r.key),
    resourceKind: resources.map((x) => x.r.kind),
    resourceName: resources.map((x) => x.r.name),
    resourceNamespace: resources.map((x) => x.r.namespace),
    agents: split.agents.map((a) => a.key),
    signatures: split.agents.map((a) => a.signature),
    ...columns,
    production: policy.production ?? [],
    ...readers,
  };
  const folderStamps = new Float64Array((parts.walk?.folders.length ?? 0) * STAMP_FIELDS);
  try {
    parts.walk?.folders.forEach((rel, i) => writeStamp(folderStamps, i, statSync(path.join(parts.root, rel))));
  } catch {
    return undefined;
  }
  const index: StateIndex = {
    startedAt: parts.startedAt,
    displayPrefix: parts.displayPrefix,
    paths: joinPaths(parts.paths),
    folders: joinPaths(parts.walk?.folders ?? []),
    folderStamps,
    ignoreText: parts.walk && !parts.walk.links ? parts.walk.ignoreText : undefined,
    stamps,
    hashes: hashes.join(''),
    fileFindings,
    prefix: parts.prefix,
    cross: parts.validation.findings.slice(checkCount),
    agentFindings,
    extras: split.extras,
    positioned: positionedByFinding(parts.settled, parts.positioned),
    counts: { files: set.files.length, resources: set.resources.length },
    detail: id,
  };
  return { index, detail };
}

interface AgentPart {
  readonly key: string;
  readonly own: readonly Finding[];
  readonly signature: string;
}

/** Per agent, its own findings and its bundle's hash; the stage's shared findings close its list. */
function splitPolicy(policy: PolicyResult): { agents: AgentPart[]; extras: Finding[] } | undefined {
  if (policy.shared === undefined) return undefined;
  const extras = policy.findings.slice(policy.findings.length - policy.shared);
  const shared = new Set(extras);
  const agents: AgentPart[] = [];
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



/** Resources by file, each file's in document order. */
function groupResources(resources: readonly Resource[]): Map<string, Resource[]> {
  const out = groupBy(resources, (r) => r.file);
  for (const list of out.values()) list.sort((a, b) => a.doc - b.doc);
  return out;
}

function sameList<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * The files each agent's decision reads: the resources of its graph and the
 * resources they reference (the Secrets of its tools and models), by file.
 */
function readersOf(
  graphs: readonly AgentGraph[],
  edges: readonly ReferenceEdge[],
  resources: readonly Resource[],
  fileIndex: ReadonlyMap<string, number>,
  agentOrder: readonly string[],
): Pick<StateDetail, 'readersStart' | 'readers'> | undefined {
  const fileOf = new Map(resources.map((r) => [r.key, fileIndex.get(r.file)]));
  const agentIndex = new Map<string, number>();
  agentOrder.forEach((k, i) => agentIndex.set(k, agentIndex.has(k) ? -1 : i));
  const targets = new Map<string, string[]>();
  for (const e of edges) {
    if (!e.to) continue;
    const list = targets.get(e.from);
    if (list) list.push(e.to);
    else targets.set(e.from, [e.to]);
  }
  const byFile: number[][] = Array.from({ length: fileIndex.size }, () => []);
  for (const g of graphs) {
    const agent = agentIndex.get(g.agent.key);
    // A key defined twice has two decisions that the state cannot tell apart.
    if (agent === undefined || agent < 0) return undefined;
    const files = new Set<number>();
    for (const r of resourcesIn(g)) {
      for (const key of [r.key, ...(targets.get(r.key) ?? [])]) {
        const f = fileOf.get(key);
        if (f !== undefined) files.add(f);
      }
    }
    for (const f of files) byFile[f]?.push(agent);
  }
  const readersStart = new Int32Array(byFile.length + 1);
  byFile.forEach((list, i) => (readersStart[i + 1] = (readersStart[i] ?? 0) + list.length));
  return { readersStart, readers: Int32Array.from(byFile.flat()) };
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
  readonly project: Project;
  readonly diagnostics: Diagnostic[];
  readonly summary: ReturnType<typeof summarize>;
  readonly timings: Timings;
  readonly cached: { readonly reused: number; readonly worked: number };
  /** The text of a displayed file, read when asked (for code frames). */
  readonly textOf: (file: string) => string | undefined;
}

export type IncrementalOutcome = { readonly run: IncrementalRun } | { readonly fallback: string };

/** A file whose content differs from the index's: what it loads and checks to now. */
interface Changed {
  readonly index: number;
  readonly load: FileLoad;
  readonly checks: readonly Finding[];
}

class Stale extends Error {}

export function validateIncrementally(input: IncrementalInput): IncrementalOutcome {
  // The stages of a full run, in its order: reading the state and stamping the files is this run's source stage.
  const timings: Timings = { source: 0, load: 0, validate: 0 };
  const startedAt = Date.now();
  let t = performance.now();
  const lap = (stage: string) => {
    const now = performance.now();
    timings[stage] = (timings[stage] ?? 0) + now - t;
    t = now;
  };
  const index = input.store.get<StateIndex>(STATE_KIND, input.key);
  if (!index || !(index.stamps instanceof Float64Array) || !(index.folderStamps instanceof Float64Array)) return { fallback: 'no state' };
  const root = path.resolve(input.source.root);
  const paths = splitPaths(index.paths, index.stamps.length / STAMP_FIELDS);
  let walked: Pick<StateIndex, 'folders' | 'folderStamps' | 'ignoreText'> | undefined;
  if (!sameListing(index, root)) {
    const listed = listLocalFiles(input.source);
    if (listed.findings.length) return { fallback: 'the walk has findings' };
    if (listed.paths.length !== paths.length || listed.paths.some((p, i) => paths[i] !== p)) return { fallback: 'files added, removed or renamed' };
    walked = restampFolders(root, listed);
  }
  const stamped = stampFiles(index, paths, root, input.source.maxFileBytes);
  lap('source');
  if ('fallback' in stamped) return stamped;
  const display = (i: number) => displayPath({ displayPrefix: index.displayPrefix }, paths[i] as string);
  const { config } = input.project.config;
  const limits = { ...DEFAULT_PARSE_LIMITS, ...config.limits };
  const changed: Changed[] = stamped.changed.map(({ index: i, bytes }) => {
    const check = checkFile({ path: display(i), bytes }, { defaultNamespace: config.defaultNamespace, limits, schema: true });
    return { index: i, load: check.load, checks: check.documentFindings.flat() };
  });
  lap('load');
  let agentFindings = index.agentFindings;
  if (changed.length > 0) {
    const detail = input.store.get<StateDetail>(DETAIL_KIND, input.key);
    // One entry each, so a full run replaces both; the id tells a detail written by another run (a concurrent one) from this index's.
    if (!detail || detail.id !== index.detail || !(detail.readers instanceof Int32Array)) return { fallback: 'no state detail' };
    const affected = reachedAgents(detail, changed, display);
    lap('validate');
    if (!(affected instanceof Set)) return affected;
    if (affected.size > 0) {
      const decided = decideAgain(detail, index, paths, input, root, changed, affected, limits);
      lap('policy');
      if ('fallback' in decided) return decided;
      agentFindings = replaced(index.agentFindings, decided.own);
    }
  }
  const fileFindings = replaced(
    index.fileFindings,
    new Map(changed.map((c) => [c.index, c.load.findings.length || c.checks.length ? { load: c.load.findings, checks: c.checks } : undefined])),
  );
  const textOf = textReader(input.project, root, paths, display);
  const settled = settleFindings(assembled(index, fileFindings, agentFindings), input.project.config);
  const positioned = positionAll(settled, index.positioned, new Set(changed.map((c) => display(c.index))), textOf);
  const diagnostics = sortDiagnostics(positioned);
  lap('report');
  // A racy file is always read again, so it counts among the restamped.
  if (walked || stamped.restamped > 0) {
    const hashes = stamped.newHashes.size ? paths.map((_, i) => stamped.newHashes.get(i) ?? hashAt(index.hashes, i)).join('') : index.hashes;
    const next: StateIndex = { ...index, ...walked, startedAt, stamps: stamped.stamps, hashes, fileFindings, agentFindings, positioned: positionedByFinding(settled, positioned) };
    input.store.put(STATE_KIND, input.key, next);
    lap('state');
  }
  return {
    run: {
      project: input.project,
      diagnostics,
      summary: summarize(diagnostics, index.counts.files, index.counts.resources),
      timings,
      cached: { reused: paths.length - changed.length, worked: changed.length },
      textOf,
    },
  };
}

interface Stamped {
  /** The index's stamps, with those of the files read again replaced. */
  readonly stamps: Float64Array;
  readonly restamped: number;
  /** Files whose bytes differ from the index's, with their new hashes. */
  readonly changed: readonly { readonly index: number; readonly bytes: Uint8Array }[];
  readonly newHashes: ReadonlyMap<number, string>;
}

/** Stats every file; reads and hashes those whose stamp changed or is racy. */
function stampFiles(index: StateIndex, paths: readonly string[], root: string, maxFileBytes: number): Stamped | { fallback: string } {
  const stamps = new Float64Array(index.stamps);
  const changed: { index: number; bytes: Uint8Array }[] = [];
  const newHashes = new Map<number, string>();
  let restamped = 0;
  for (let i = 0; i < paths.length; i++) {
    const abs = path.join(root, paths[i] as string);
    let stat: Stats | undefined;
    try {
      stat = statSync(abs, { throwIfNoEntry: false });
    } catch {
      stat = undefined;
    }
    if (!stat) return { fallback: 'a file went away or cannot be read' };
    if (sameStamp(stat, index.stamps, i) && !racy(index.stamps, i, index.startedAt)) continue;
    if (stat.size > maxFileBytes) return { fallback: 'a file is over the size limit' };
    const bytes = readAll(abs, maxFileBytes);
    if (!bytes) return { fallback: 'a file cannot be read, or grew over the size limit' };
    // The stamp taken before the read: a change after it shows as a new stamp next time.
    writeStamp(stamps, i, stat);
    restamped++;
    const hash = hashBytes(bytes);
    if (hash === hashAt(index.hashes, i)) continue;
    newHashes.set(i, hash);
    changed.push({ index: i, bytes });
  }
  return { stamps, restamped, changed, newHashes };
}

/** The agents whose decision reads a changed file, or why the change needs a full run. */
function reachedAgents(detail: StateDetail, changed: readonly Changed[], display: (i: number) => string): Set<number> | { fallback: string } {
  const affected = new Set<number>();
  for (const c of changed) {
    const shown = display(c.index);
    const resources = [...c.load.resources].sort((a, b) => a.doc - b.doc);
    if (detail.fleet[c.index] || resources.some((r) => FLEET_KINDS.has(r.kind))) return { fallback: `${shown} holds a kind other resources read` };
    if (shapeOf(c.load.file.documents, c.load.documents, resources) !== hashAt(detail.shapes, c.index)) return { fallback: `${shown} changed its identity or references` };
    if ([...c.load.findings, ...c.checks].some(isCredentialFinding)) return { fallback: `${shown} holds a credential` };
    for (let k = detail.readersStart[c.index] as number; k < (detail.readersStart[c.index + 1] as number); k++) affected.add(detail.readers[k] as number);
  }
  if (affected.size > Math.max(1, detail.agents.length * MAX_AFFECTED_SHARE)) return { fallback: `${affected.size} agents to decide again` };
  return affected;
}

/** `base` with the entries of `changes` set, or removed where the change is undefined or empty. */
function replaced<V>(base: ReadonlyMap<number, V>, changes: ReadonlyMap<number, V | undefined>): Map<number, V> {
  const out = new Map(base);
  for (const [k, v] of changes) {
    if (v === undefined || (Array.isArray(v) && v.length === 0)) out.delete(k);
    else out.set(k, v);
  }
  return out;
}

/** The findings in the order a full run makes them: configuration, load, per-document checks, cross-file, per agent, shared. */
function assembled(index: StateIndex, fileFindings: ReadonlyMap<number, FileFindings>, agentFindings: ReadonlyMap<number, readonly Finding[]>): Finding[] {
  const files = [...fileFindings.keys()].sort((a, b) => a - b).map((i) => fileFindings.get(i) as FileFindings);
  const agents = [...agentFindings.keys()].sort((a, b) => a - b).map((i) => agentFindings.get(i) as readonly Finding[]);
  return [...index.prefix, ...files.flatMap((f) => f.load), ...files.flatMap((f) => f.checks), ...index.cross, ...agents.flat(), ...index.extras];
}

/** A displayed file's text, read from disk when asked (positions of new findings, code frames). */
function textReader(project: Project, root: string, paths: readonly string[], display: (i: number) => string): (file: string) => string | undefined {
  const byDisplay = new Map<string, number>();
  return (file) => {
    if (file === project.config.file) return project.config.text;
    if (byDisplay.size === 0) paths.forEach((_, i) => byDisplay.set(display(i), i));
    const i = byDisplay.get(file);
    const bytes = i === undefined ? undefined : readAll(path.join(root, paths[i] as string));
    return bytes ? Buffer.from(bytes).toString('utf8') : undefined;
  };
}

/** Positions each settled finding: from the stored diagnostics unless it points into a changed file. */
function positionAll(
  settled: readonly Finding[],
  known: ReadonlyMap<string, Diagnostic>,
  changedFiles: ReadonlySet<string>,
  textOf: (file: string) => string | undefined,
): Diagnostic[] {
  const locator = new Locator(textOf);
  return settled.map((f) => {
    const stored = filesOf(f).some((file) => changedFiles.has(file)) ? undefined : known.get(findingKey(f));
    return stored ?? (locator.resolve([f])[0] as Diagnostic);
  });
}

function hashAt(hashes: string, i: number): string {
  return hashes.slice(i * HASH_CHARS, (i + 1) * HASH_CHARS);
}

function writeStamp(stamps: Float64Array, i: number, s: Stats): void {
  stamps.set([s.size, s.mtimeMs, s.ctimeMs, s.ino], i * STAMP_FIELDS);
}

function sameStamp(s: Stats, stamps: Float64Array, i: number): boolean {
  const o = i * STAMP_FIELDS;
  return s.size === stamps[o] && s.mtimeMs === stamps[o + 1] && s.ctimeMs === stamps[o + 2] && s.ino === stamps[o + 3];
}

/** Stamped too close to the index's run to tell a later change within the same clock tick from none. */
function racy(stamps: Float64Array, i: number, startedAt: number): boolean {
  const o = i * STAMP_FIELDS;
  return (stamps[o + 1] as number) >= startedAt - RACY_MARGIN_MS || (stamps[o + 2] as number) >= startedAt - RACY_MARGIN_MS;
}

/** The folders a walk read, stamped now; undefined stamps (a folder gone meanwhile) make the next run walk again. */
function restampFolders(root: string, listed: LocalFileList): Pick<StateIndex, 'folders' | 'folderStamps' | 'ignoreText'> {
  const folderStamps = new Float64Array(listed.folders.length * STAMP_FIELDS);
  try {
    listed.folders.forEach((rel, i) => writeStamp(folderStamps, i, statSync(path.join(root, rel))));
  } catch {
    return { folders: '', folderStamps: new Float64Array(0), ignoreText: undefined };
  }
  return { folders: joinPaths(listed.folders), folderStamps, ignoreText: listed.links ? undefined : listed.ignoreText };
}

/** NUL cannot occur in a path. */
function joinPaths(paths: readonly string[]): string {
  return paths.join('\0');
}

/** `count` tells no path from one empty path (the root folder). */
function splitPaths(joined: string, count: number): string[] {
  return count === 0 ? [] : joined.split('\0');
}

/**
 * Whether the walk would list the same files: the ignore file says the same,
 * the walk met no link, and no folder it read changed since (a file added,
 * removed or renamed changes its folder's mtime), racily or not.
 */
function sameListing(index: StateIndex, root: string): boolean {
  if (index.ignoreText === undefined || index.folderStamps.length === 0) return false;
  try {
    if (readIgnoreFile(root) !== index.ignoreText) return false;
  } catch {
    return false;
  }
  const folders = splitPaths(index.folders, index.folderStamps.length / STAMP_FIELDS);
  for (let i = 0; i < folders.length; i++) {
    try {
      const stat = statSync(path.join(root, folders[i] as string));
      if (!stat.isDirectory() || !sameStamp(stat, index.folderStamps, i) || racy(index.folderStamps, i, index.startedAt)) return false;
    } catch {
      return false;
    }
  }
  return true;
}

/** A file's bytes, or undefined when it cannot be read; the size limit is checked by the caller (a stored file was within it). */
function readAll(file: string, limit = Number.MAX_SAFE_INTEGER): Uint8Array | undefined {
  const read = readBounded(file, limit);
  return read.ok ? read.bytes : undefined;
}

/**
 * The policy decisions of the affected agents, over every resource of the
 * repository: those of changed files as just loaded, the others parsed from
 * disk only when the decision reads more than their identity. An agent whose
 * bundle changed changes what the stage says about others: a full run then.
 */
function decideAgain(
  detail: StateDetail,
  index: StateIndex,
  paths: readonly string[],
  input: IncrementalInput,
  root: string,
  changed: readonly Changed[],
  affected: ReadonlySet<number>,
  limits: typeof DEFAULT_PARSE_LIMITS,
): { own: Map<number, Finding[]> } | { fallback: string } {
  const { config } = input.project.config;
  const fresh = new Map<string, Resource>();
  for (const c of changed) for (const r of c.load.resources) fresh.set(r.key, r);
  const loads = new Map<number, FileLoad>();
  const loadStored = (file: number): FileLoad => {
    let load = loads.get(file);
    if (!load) {
      const shown = displayPath({ displayPrefix: index.displayPrefix }, paths[file] as string);
      const bytes = readAll(path.join(root, paths[file] as string));
      if (!bytes) throw new Stale(`${shown} changed during the run`);
      load = loadFile(shown, bytes, limits, config.defaultNamespace);
      if (load.file.hash !== hashAt(index.hashes, file)) throw new Stale(`${shown} changed during the run`);
      loads.set(file, load);
    }
    return load;
  };
  const resources: Resource[] = [];
  const byKey = new Map<string, Resource>();
  for (let k = 0; k < detail.resourceKey.length; k++) {
    const key = detail.resourceKey[k] as string;
    const file = detail.resourceFile[k] as number;
    const doc = detail.resourceDoc[k] as number;
    const r =
      fresh.get(key) ??
      new LazyResource(key, detail.resourceKind[k] as string, detail.resourceName[k] as string, detail.resourceNamespace[k], displayPath({ displayPrefix: index.displayPrefix }, paths[file] as string), doc, () =>
        loadStored(file).resources.find((x) => x.doc === doc && x.key === key),
      );
    resources.push(r);
    if (!byKey.has(key)) byKey.set(key, r);
  }
  resources.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const agents = [...affected].map((i) => byKey.get(detail.agents[i] as string)).filter((r): r is Resource => r !== undefined);
  const edges = edgesNear(detail, affected);
  let policy: PolicyResult;
  try {
    const graphs = buildAgentGraphsFor(agents, byKey, edges);
    policy = evaluatePolicy({ resources, graphs, references: edges, options: config.policy, production: new Set(detail.production) });
  } catch (e) {
    if (e instanceof Stale) return { fallback: e.message };
    throw e;
  }
  if (policy.shared === undefined || policy.findings.some((f) => f.code === 'JOCH800')) return { fallback: 'the policy stage failed, or a file changed during the run' };
  const shared = new Set(policy.findings.slice(policy.findings.length - policy.shared));
  const own = new Map<number, Finding[]>();
  const indexOf = new Map(detail.agents.map((k, i) => [k, i]));
  for (const a of policy.agents) {
    const i = indexOf.get(a.agent.key);
    if (i === undefined || detail.signatures[i] !== signatureOf(a, shared)) return { fallback: `the decision of ${a.agent.key} changed` };
    own.set(
      i,
      a.findings.map((f) => f.finding).filter((f) => !shared.has(f)),
    );
  }
  return { own };
}

function edgeColumns(edges: readonly ReferenceEdge[], keys: readonly string[]): Pick<StateDetail, 'edgeFrom' | 'edgeTo' | 'edgeKind' | 'edgeKinds' | 'edgeWritten' | 'edgePath'> {
  const at = new Map<string, number>();
  keys.forEach((k, i) => {
    if (!at.has(k)) at.set(k, i);
  });
  const kinds = [...new Set(edges.map((e) => e.kind))].sort();
  const kindAt = new Map(kinds.map((k, i) => [k, i]));
  return {
    edgeFrom: Int32Array.from(edges.map((e) => at.get(e.from) ?? -1)),
    edgeTo: Int32Array.from(edges.map((e) => (e.to === undefined ? -1 : (at.get(e.to) ?? -1)))),
    edgeKind: Uint8Array.from(edges.map((e) => kindAt.get(e.kind) ?? 0)),
    edgeKinds: kinds,
    edgeWritten: edges.map((e) => e.written),
    edgePath: edges.map((e) => JSON.stringify(e.path)),
  };
}

/**
 * The references a decision of the affected agents can read, in the order of
 * the whole graph: those from or to a resource of a file one of them reads
 * (their graphs are built from these resources and the references at them),
 * and those of every Environment and Team (the Policies and Budgets they bind
 * reach an agent through its deployments and its team).
 */
function edgesNear(detail: StateDetail, affected: ReadonlySet<number>): ReferenceEdge[] {
  const files = new Uint8Array(detail.fleet.length);
  for (let f = 0; f < files.length; f++) {
    for (let k = detail.readersStart[f] as number; k < (detail.readersStart[f + 1] as number); k++) {
      if (affected.has(detail.readers[k] as number)) {
        files[f] = 1;
        break;
      }
    }
  }
  const near = new Uint8Array(detail.resourceKey.length);
  for (let r = 0; r < near.length; r++) {
    const kind = detail.resourceKind[r];
    if (files[detail.resourceFile[r] as number] || kind === 'Environment' || kind === 'Team') near[r] = 1;
  }
  const out: ReferenceEdge[] = [];
  for (let e = 0; e < detail.edgeFrom.length; e++) {
    const from = detail.edgeFrom[e] as number;
    const to = detail.edgeTo[e] as number;
    if (!(from >= 0 && near[from]) && !(to >= 0 && near[to])) continue;
    out.push({
      from: detail.resourceKey[from] as string,
      path: JSON.parse(detail.edgePath[e] as string) as (string | number)[],
      kind: detail.edgeKinds[detail.edgeKind[e] as number] as string,
      written: detail.edgeWritten[e] as string,
      to: to >= 0 ? (detail.resourceKey[to] as string) : undefined,
    });
  }
  return out;
}

/**
 * A resource of an unchanged file as the state knows it: its identity.
 * Anything else read of it parses its file, once; what a decision never
 * reads is never parsed.
 */
class LazyResource implements Resource {
  private full: Resource | undefined;

  constructor(
    readonly key: string,
    readonly kind: string,
    readonly name: string,
    readonly namespace: string | undefined,
    readonly file: string,
    readonly doc: number,
    private readonly load: () => Resource | undefined,
  ) {}

  private get loaded(): Resource {
    this.full ??= this.load();
    if (!this.full) throw new Stale(`${this.file} no longer defines ${this.key}`);
    return this.full;
  }

  get apiVersion(): string {
    return this.loaded.apiVersion;
  }
  get group(): string {
    return this.loaded.group;
  }
  get namespaceDefaulted(): boolean {
    return this.loaded.namespaceDefaulted;
  }
  get labels(): Readonly<Record<string, string>> {
    return this.loaded.labels;
  }
  get annotations(): Readonly<Record<string, string>> {
    return this.loaded.annotations;
  }
  get spec(): Readonly<Record<string, unknown>> {
    return this.loaded.spec;
  }
  get body(): Readonly<Record<string, unknown>> {
    return this.loaded.body;
  }
  get contentHash(): string {
    return this.loaded.contentHash;
  }
}
