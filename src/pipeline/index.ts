/**
 * The stages composed: the CLI, the GitHub Action and the sync loop are thin
 * drivers over these functions. Nothing here prints.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import { loadConfig, type LoadedConfig } from '../config/index.js';
import { finding, sortDiagnostics, summarize, type Diagnostic, type Finding, type Summary } from '../diagnostics/index.js';
import { DEFAULT_PARSE_LIMITS, loadManifests, type ManifestSet } from '../manifests/index.js';
import { ALL_CHECKS, prepareSnapshot, validateManifests, type Check, type ValidationResult } from '../schema/index.js';
import { resolveReferences } from '../schema/references.js';
import { buildAgentGraphs, type AgentGraph } from '../model/graph.js';
import { evaluatePolicy, type PolicyResult } from '../policy/index.js';
import { readLocalSource, type LocalSourceOptions } from '../source/local.js';
import { findingLocator, settleFindings } from './findings.js';
import { saveFullRunState, stateKey, validateIncrementally, type IncrementalOutcome } from './incremental.js';
import { PersistentFiles } from './file-cache.js';
import type { CacheStore } from '../cache/index.js';
import { unknownWorkloadNames } from './workloads.js';
import { unmappedClusterFindings } from './clusters.js';
import type { Snapshot } from '../source/types.js';

export type { IncrementalOutcome, IncrementalRun } from './incremental.js';

export interface ProjectInput {
  /** Files or folders as the user gave them; empty means the configured paths. */
  readonly paths: readonly string[];
  readonly cwd: string;
  readonly configFile?: string | undefined;
}

export interface Project {
  readonly root: string;
  readonly config: LoadedConfig;
  /** Absolute files and folders to read. */
  readonly include: readonly string[];
  /** The include entries came from the command line, not from joch.yaml. */
  readonly namedByUser: boolean;
  /** Configured paths that were refused. */
  readonly findings: readonly Finding[];
}

export function resolveProject(input: ProjectInput): Project {
  const first = input.paths[0] ? path.resolve(input.cwd, input.paths[0]) : input.cwd;
  const start = isDirectory(first) ? first : path.dirname(first);
  const config = loadConfig(start, input.configFile, input.cwd);
  if (input.paths.length === 0) return { ...configuredPaths(config), config, namedByUser: false };
  const include = input.paths.map((p) => path.resolve(input.cwd, p));
  // Paths the user names outside the configured root widen it to their common folder.
  const root = include.reduce((acc, p) => commonFolder(acc, isDirectory(p) ? p : path.dirname(p)), config.root);
  return { root, config, include, namedByUser: true, findings: [] };
}

/**
 * joch.yaml's `paths`, which may not leave its folder: a repository's own
 * configuration must not make the tool read, and echo into diagnostics,
 * files elsewhere on the machine.
 */
function configuredPaths(loaded: LoadedConfig): Pick<Project, 'root' | 'include' | 'findings'> {
  const include: string[] = [];
  const findings: Finding[] = [];
  loaded.config.paths.forEach((p, i) => {
    const abs = path.resolve(loaded.root, p);
    const rel = path.relative(loaded.root, abs);
    if (rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) {
      const at = { file: loaded.file ?? 'joch.yaml', doc: 0, path: ['paths', i] };
      findings.push(finding('JOCH002', `joch.yaml: paths: ${p} is outside the project root; only files and folders inside it are read`, at));
    } else {
      include.push(abs);
    }
  });
  return { root: loaded.root, include, findings };
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function commonFolder(a: string, b: string): string {
  const pa = a.split(path.sep);
  const pb = b.split(path.sep);
  let i = 0;
  while (i < pa.length && i < pb.length && pa[i] === pb[i]) i++;
  return pa.slice(0, i).join(path.sep) || path.sep;
}

export interface Timings {
  [stage: string]: number;
}

/** Runs a stage, adding its wall time to `timings[stage]`. */
export function stageTimer(timings: Timings): <T>(stage: string, fn: () => T) => T {
  return (stage, fn) => {
    const start = performance.now();
    const out = fn();
    timings[stage] = (timings[stage] ?? 0) + performance.now() - start;
    return out;
  };
}

export interface ValidationRun {
  readonly project: Project;
  readonly snapshot: Snapshot;
  readonly set: ManifestSet;
  readonly validation: ValidationResult;
  /** Each agent's resolved surface, for the policy, compile and AgBOM stages. */
  readonly graphs: readonly AgentGraph[];
  /** The policy stage (when the policy check ran): per-agent decisions and the PolicyBundles. */
  readonly policy?: PolicyResult | undefined;
  readonly diagnostics: Diagnostic[];
  readonly summary: Summary;
  readonly timings: Timings;
  /** With the persistent cache: files it served, and files worked out. */
  readonly cached?: { readonly reused: number; readonly worked: number } | undefined;
}

/** The checks of `joch validate`: the validate stage's, then policy. */
export type PipelineCheck = Check | 'policy';
export const PIPELINE_CHECKS: readonly PipelineCheck[] = [...ALL_CHECKS, 'policy'];

export interface ValidateInput extends ProjectInput {
  /** Default: every check, policy included. */
  readonly checks?: ReadonlySet<PipelineCheck> | undefined;
  /** The persistent cache (src/cache): unchanged files are neither parsed nor checked again. */
  readonly cache?: CacheStore | undefined;
  /**
   * Store the state an incremental run starts from (`validateFromState`).
   * Only `joch validate` asks: the state costs a full run about a fifth more,
   * which compile and the Action, which never start from it, need not pay.
   */
  readonly keepState?: boolean | undefined;
}

/** What the source stage reads for a project. */
/** What the local source reads for a project: the same for every path of `joch validate`. */
export function sourceOptionsOf(project: Project, cwd: string): LocalSourceOptions {
  const { config } = project.config;
  return {
    root: project.root,
    include: project.include,
    exclude: config.exclude,
    maxFileBytes: config.limits.maxFileBytes,
    skip: project.config.file ? [path.resolve(cwd, project.config.file)] : [],
    cwd,
    namedByUser: project.namedByUser,
  };
}

/** The incremental run keeps a state only for every check: what users and hooks run. */
function incrementalKey(input: ValidateInput, project: Project): string | undefined {
  const checks = input.checks ?? new Set(PIPELINE_CHECKS);
  if (!input.cache || PIPELINE_CHECKS.some((c) => !checks.has(c))) return undefined;
  return stateKey({ project, source: sourceOptionsOf(project, input.cwd), checks: [...PIPELINE_CHECKS].sort() });
}

/**
 * `joch validate` from the state the last cached run stored, reading and
 * checking only the files changed since (see incremental.ts). Undefined
 * without the cache or with fewer checks; a fallback says why the full run
 * (`runValidate`) is needed.
 */
export function validateFromState(input: ValidateInput): IncrementalOutcome | undefined {
  const project = resolveProject(input);
  const key = incrementalKey(input, project);
  if (!key || !input.cache || project.findings.length) return undefined;
  return validateIncrementally({ store: input.cache, key, project, source: sourceOptionsOf(project, input.cwd) });
}

export async function runValidate(input: ValidateInput): Promise<ValidationRun> {
  const timings: Timings = {};
  const time = stageTimer(timings);
  const project = resolveProject(input);
  const { config } = project.config;
  const start = performance.now();
  const startedAt = Date.now();
  const sourceOptions = sourceOptionsOf(project, input.cwd);
  const source = await readLocalSource(sourceOptions);
  timings.source = performance.now() - start;
  const checks: ReadonlySet<PipelineCheck> = input.checks ?? new Set(PIPELINE_CHECKS);
  // A large repository is parsed and checked file by file on every free core first; the two stages then only assemble.
  const threaded = performance.now();
  const limits = { ...DEFAULT_PARSE_LIMITS, ...config.limits };
  const prepared = await prepareSnapshot(source.snapshot, { defaultNamespace: config.defaultNamespace, limits, schema: checks.has('schema') });
  if (prepared) timings[`files (${prepared.threads} threads, ${prepared.byWorkers} by workers)`] = performance.now() - threaded;
  // What the threads checked is what the persistent cache stores.
  const stored = input.cache
    ? new PersistentFiles(input.cache, { defaultNamespace: config.defaultNamespace, limits: config.limits, schema: checks.has('schema') }, prepared?.documents)
    : undefined;
  const set = time('load', () => loadManifests(source.snapshot, { defaultNamespace: config.defaultNamespace, limits: config.limits, cache: prepared?.files }));
  // The cache's reads and writes count as the validate stage they stand in for.
  const validation = time('validate', () => {
    const documentCache = stored ? stored.prime(set) : prepared?.documents;
    const result = validateManifests(set, { checks: new Set(ALL_CHECKS.filter((c) => checks.has(c))), defaultNamespace: config.defaultNamespace, documentCache });
    stored?.save(set);
    return result;
  });
  // Policy needs every reference, holes included, even when their findings were not asked for.
  const references =
    checks.has('policy') && !checks.has('references')
      ? time('references', () => resolveReferences(set.resources, config.defaultNamespace).references)
      : validation.references;
  const graphs = time('graph', () => buildAgentGraphs(set.resources, references));
  // Govern: after schema and reference checks, on whatever resolved.
  const policy = checks.has('policy')
    ? time('policy', () => evaluatePolicy({ resources: set.resources, graphs, references, options: config.policy }))
    : undefined;
  const prefix: Finding[] = [
    ...project.config.findings,
    ...project.findings,
    // Names of the repository's records: a reference check, left out when only shapes are checked.
    ...(checks.has('references') ? unknownWorkloadNames(project.config, set.resources) : []),
    ...(checks.has('references') ? unmappedClusterFindings(set.resources, config) : []),
    ...source.findings,
  ];
  const findings: Finding[] = [
    ...prefix,
    ...set.findings,
    ...validation.findings,
    ...(policy?.findings ?? []),
  ];
  if (source.snapshot.files.length === 0 && !source.findings.length) {
    findings.push(finding('JOCH003', 'no YAML files were found', { file: project.config.file ?? '.', line: 1, column: 1 }));
  }
  const settled = time('report', () => settleFindings(findings, project.config));
  const positioned = time('report', () => findingLocator(set.texts, project.config)(settled));
  const diagnostics = time('report', () => sortDiagnostics(positioned));
  const key = input.keepState ? incrementalKey(input, project) : undefined;
  if (key && input.cache && stored && policy && project.findings.length === 0) {
    const store = input.cache;
    time('state', () =>
      saveFullRunState({
        store,
        key,
        startedAt,
        root: source.snapshot.root,
        paths: source.snapshot.files.map((f) => f.path),
        walk: source.walk,
        displayPrefix: source.snapshot.displayPrefix,
        set,
        documentFindings: stored.documents,
        prefix,
        sourceFindings: source.findings.length,
        validation,
        graphs,
        policy,
        settled,
        positioned,
      }),
    );
  }
  return {
    project,
    snapshot: source.snapshot,
    set,
    validation,
    graphs,
    policy,
    diagnostics,
    summary: summarize(diagnostics, set.files.length, set.resources.length),
    timings,
    cached: stored ? { ...stored.counts } : undefined,
  };
}
