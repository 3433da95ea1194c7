/**
 * The pipeline from a Git snapshot instead of a local folder: the sync loop's
 * entry. joch.yaml is read from the snapshot's files, its `paths` and
 * `exclude` select the manifests, then the same stages as `runValidate` and
 * `runCompile` run: load, validate, policy, compile. Nothing is compiled
 * when validation or policy found an error. Nothing here prints or touches
 * the disk.
 */
import ignore from 'ignore';
import { CONFIG_FILES, DEFAULT_CONFIG, parseConfigText, type LoadedConfig } from '../config/index.js';
import { createCompiler, type CompiledManifestEntry, type CompileOptions, type CompileOutput, type Compiler } from '../compile/index.js';
import { finding, sortDiagnostics, summarize, type Diagnostic, type Finding, type Summary } from '../diagnostics/index.js';
import { loadManifests, type FileLoad, type LoadOptions, type ManifestDocument, type ManifestSet } from '../manifests/index.js';
import { buildAgentGraphs, type AgentGraph } from '../model/graph.js';
import { evaluatePolicy, type PolicyResult } from '../policy/index.js';
import { ALL_CHECKS, validateManifests, type ValidationResult } from '../schema/index.js';
import { displayPath, type Snapshot, type SourceFile } from '../source/types.js';
import { outputLeaks, unitEmissionFindings } from './emission.js';
import type { CacheStore } from '../cache/index.js';
import { PersistentFiles } from './file-cache.js';
import { unknownWorkloadNames } from './workloads.js';
import { unmappedClusterFindings } from './clusters.js';
import { accountForUnread } from './unread.js';
import { findingResolver } from './findings.js';
import { stageTimer, type Timings } from './index.js';


export interface SnapshotRunInput {
  /** The files of one revision, paths relative to the source root. */
  readonly snapshot: Snapshot;
  /** The compile stage runs only when asked (validate-only callers skip it). Default true. */
  readonly compile?: boolean | undefined;
  /** A compiler kept between cycles rebuilds only what changed. */
  readonly compiler?: Compiler | undefined;
  readonly compileOptions?: Partial<CompileOptions> | undefined;
  /**
   * Kept between cycles: files whose SourceFile object is the one of the
   * previous snapshot (GitSource hands unchanged files back as the same
   * object) are neither parsed nor checked again.
   */
  readonly cache?: SnapshotCache | undefined;
  /** Pinned Deployments held on another version than HEAD's, and what resolving the pins found (see pins.ts). */
  readonly pinned?: ReadonlyMap<string, CompiledManifestEntry> | undefined;
  readonly pinFindings?: readonly Finding[] | undefined;
  /**
   * The persistent cache (src/cache): files and compiled units an earlier
   * process worked out are reused (a restarted loop, the Action's base).
   * A `cache` given too should be built on the same store.
   */
  readonly store?: CacheStore | undefined;
}

export interface SnapshotRun {
  readonly config: LoadedConfig;
  /** The snapshot restricted to the manifests joch.yaml selects. */
  readonly snapshot: Snapshot;
  readonly set: ManifestSet;
  readonly validation: ValidationResult;
  readonly graphs: readonly AgentGraph[];
  readonly policy: PolicyResult;
  /** Undefined when any stage before compile found an error, or compile was not asked for. */
  readonly output: CompileOutput | undefined;
  /** True when any stage found an error: apply nothing. */
  readonly refused: boolean;
  readonly diagnostics: Diagnostic[];
  readonly summary: Summary;
  readonly timings: Timings;
}

export function runSnapshot(input: SnapshotRunInput): SnapshotRun {
  const timings: Timings = {};
  const time = stageTimer(timings);
  const loaded = time('config', () => configOfSnapshot(input.snapshot));
  const { config } = loaded;
  const selected = time('select', () => accountForUnread(selectFiles(input.snapshot, loaded), config.limits.maxFileBytes));
  const snapshot = selected.snapshot;
  const cache = input.cache ?? (input.store ? new SnapshotCache(input.store) : undefined);
  const loadOptions = { defaultNamespace: config.defaultNamespace, limits: config.limits };
  const set = time('load', () => (cache ? cache.load(snapshot, loadOptions) : loadManifests(snapshot, loadOptions)));
  const validation = time('validate', () =>
    cache
      ? cache.validate(set, config.defaultNamespace)
      : validateManifests(set, { checks: new Set(ALL_CHECKS), defaultNamespace: config.defaultNamespace }),
  );
  const graphs = time('graph', () => buildAgentGraphs(set.resources, validation.references));
  const policy = time('policy', () =>
    evaluatePolicy({ resources: set.resources, graphs, references: validation.references, options: config.policy }),
  );
  const findings: Finding[] = [...loaded.findings, ...selected.findings, ...unknownWorkloadNames(loaded, set.resources), ...unmappedClusterFindings(set.resources, loaded.config), ...set.findings, ...validation.findings, ...policy.findings];
  if (snapshot.files.length === 0) {
    findings.push(finding('JOCH003', 'no YAML files were found', { file: loaded.file ?? displayPath(snapshot, '.'), line: 1, column: 1 }));
  }
  const resolve = findingResolver(set.texts, loaded);
  let diagnostics = time('report', () => resolve(findings));
  let output: CompileOutput | undefined;
  if (input.compile !== false && !diagnostics.some((d) => d.severity === 'error')) {
    const compiler = input.compiler ?? createCompiler({ requirePolicyBundles: true, ...input.compileOptions }, {
      store: input.store,
      scope: input.snapshot.root,
      guard: unitEmissionFindings,
    });
    output = time('compile', () =>
      compiler.compile({
        resources: set.resources,
        graphs,
        references: validation.references,
        bundles: new Map(policy.bundles.map((b) => [b.agent, b])),
        revision: snapshot.revision,
        commitTime: snapshot.commitTime,
        displayPrefix: snapshot.displayPrefix,
        workloads: config.workloads,
        pinned: input.pinned,
      }),
    );
    const leaks = time('guard', () => (output ? outputLeaks(output) : []));
    diagnostics = [...diagnostics, ...time('report', () => resolve([...(input.pinFindings ?? []), ...(output?.findings ?? []), ...leaks]))];
  }
  const sorted = sortDiagnostics(diagnostics);
  const summary = summarize(sorted, set.files.length, set.resources.length);
  const refused = summary.errors > 0 || (input.compile !== false && output === undefined);
  return { config: loaded, snapshot, set, validation, graphs, policy, output: refused ? undefined : output, refused, diagnostics: sorted, summary, timings };
}

/** joch.yaml (or joch.yml) at the snapshot root, parsed as `loadConfig` parses the file on disk. */
export function configOfSnapshot(snapshot: Snapshot): LoadedConfig {
  const source = CONFIG_FILES.map((name) => snapshot.files.find((f) => f.path === name)).find((f) => f !== undefined);
  if (!source) return { config: DEFAULT_CONFIG, root: snapshot.root, findings: [] };
  const file = displayPath(snapshot, source.path);
  const text = Buffer.from(source.bytes).toString('utf8');
  return parseConfigText(text, file, snapshot.root);
}

/**
 * The manifests joch.yaml selects: files under its `paths`, minus its
 * `exclude` patterns and the configuration file itself. The snapshot's
 * ignore file was already applied by the source.
 */
export function selectFiles(snapshot: Snapshot, loaded: LoadedConfig): Snapshot {
  const prefixes = loaded.config.paths.map(normalizeFolder);
  const everything = prefixes.includes('');
  const rules = ignore().add([...loaded.config.exclude]);
  const configPaths = new Set<string>(CONFIG_FILES);
  const selects = (file: string) =>
    !configPaths.has(file) && (everything || prefixes.some((p) => file === p || file.startsWith(`${p}/`))) && !rules.ignores(file);
  const files = snapshot.files.filter((f: SourceFile) => selects(f.path));
  // An unread joch.yaml is reported too: the run would otherwise go on with the default configuration.
  const unread = snapshot.unread?.filter((e) => configPaths.has(e.path) || selects(e.path));
  if (files.length === snapshot.files.length && unread?.length === snapshot.unread?.length) return snapshot;
  return { ...snapshot, files, ...(snapshot.unread ? { unread } : {}) };
}

function normalizeFolder(p: string): string {
  return p
    .split('/')
    .filter((s) => s !== '' && s !== '.')
    .join('/');
}

/**
 * Per-file results of the load stage and per-document results of the
 * document checks (schema, secrets), reused while the file is unchanged:
 * the caches that loadManifests and validateManifests take, dropped together
 * when what they depend on changes.
 */
export class SnapshotCache {
  private files = new WeakMap<SourceFile, FileLoad>();
  private checks = new WeakMap<ManifestDocument, readonly Finding[]>();
  private key = '';
  private persistent: PersistentFiles | undefined;

  /** With a store, files not in memory (the first cycle after a start) are looked up there too. */
  constructor(private readonly store?: CacheStore | undefined) {}

  load(snapshot: Snapshot, options: LoadOptions): ManifestSet {
    const key = JSON.stringify([snapshot.displayPrefix ?? '', options.defaultNamespace, options.limits]);
    if (key !== this.key) {
      this.files = new WeakMap();
      this.checks = new WeakMap();
      this.key = key;
      this.persistent = undefined;
    }
    if (this.store) {
      this.persistent ??= new PersistentFiles(this.store, { defaultNamespace: options.defaultNamespace, limits: options.limits, schema: true }, this.checks);
    }
    return loadManifests(snapshot, { ...options, cache: this.files });
  }

  /** `validateManifests` with every check. */
  validate(set: ManifestSet, defaultNamespace: string): ValidationResult {
    this.persistent?.prime(set);
    const result = validateManifests(set, { checks: new Set(ALL_CHECKS), defaultNamespace, documentCache: this.checks });
    this.persistent?.save(set);
    return result;
  }
}
