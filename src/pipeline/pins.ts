/**
 * A promoted Deployment runs what was promoted. `joch promote` pins the
 * target Deployment to the agent's version (joch.dev/version) and the commit
 * it was compiled from (joch.dev/source-revision). Staging and prod share one
 * Agent record, so a later edit of the agent would otherwise reach prod with
 * no promotion. When the agent at HEAD compiles to another version than the
 * pin, the pinned version is compiled again from its source revision (read
 * from the Git object store, no checkout) and the Deployment's workloads run
 * that manifest. A pin that cannot be honoured is an error: running HEAD's
 * agent instead would be exactly the unpromoted change the pin forbids.
 */
import path from 'node:path';
import { compile, type CompileOptions, type CompiledManifestEntry, type CompileOutput } from '../compile/index.js';
import { finding, type Diagnostic, type Finding, type SourcePointer } from '../diagnostics/index.js';
import type { AgentGraph } from '../model/graph.js';
import { PIN_ANNOTATION, pinsOf, type Pin } from '../model/pins.js';
import { refOf } from '../model/resource.js';
import { openRepo, readSnapshot, type Repo } from '../promote/git.js';
import { gitWorkTreeRoot, resolveRevision } from '../source/revision.js';
import type { Snapshot } from '../source/types.js';
import { findingResolver } from './findings.js';
import type { ValidationRun } from './index.js';
import { runSnapshot, type SnapshotRun, type SnapshotRunInput } from './snapshot.js';

export { PIN_ANNOTATION, pinsOf, type Pin } from '../model/pins.js';

export type RevisionSnapshot = { readonly ok: true; readonly snapshot: Snapshot } | { readonly ok: false; readonly reason: string };

/** Where the project's history is read: the local repository for the CLI, the sync loop's Git cache for `joch sync`. */
export interface PinSource {
  /** The project's files as of a commit, read as the HEAD snapshot was. */
  readonly snapshotAt: (commit: string) => Promise<RevisionSnapshot>;
  readonly compileOptions?: Partial<CompileOptions> | undefined;
}

export interface PinResolution {
  /** Diverging pinned Deployments by key: the manifest of the version they run. Empty when every pin matches HEAD. */
  readonly pinned: ReadonlyMap<string, CompiledManifestEntry>;
  readonly findings: readonly Finding[];
}

const short = (v: string): string => v.replace(/^sha256:/, '').slice(0, 12);
const at = (pin: Pin, key: string): SourcePointer => ({ file: pin.deployment.file, doc: pin.deployment.doc, path: ['metadata', 'annotations', key] });

/** The local project folder's repository, for the CLI: the nearest `.git` at or above the project root. */
export function localPinSource(snapshot: Snapshot, compileOptions?: Partial<CompileOptions>): PinSource {
  const worktree = gitWorkTreeRoot(snapshot.root);
  let repo: Promise<Repo | undefined> | undefined;
  const snapshotAt = async (commit: string): Promise<RevisionSnapshot> => {
    repo ??= worktree ? openRepo(worktree).catch(() => undefined) : Promise.resolve(undefined);
    const opened = await repo;
    if (!opened || !worktree) return { ok: false, reason: 'the project is not in a Git repository' };
    if (!/^[0-9a-f]{40}$/.test(commit)) return { ok: false, reason: `"${commit}" is not a full commit id` };
    const resolved = await resolveRevision(worktree, commit);
    if (!resolved.ok) return { ok: false, reason: `commit ${short(commit)} is not in the repository (a shallow clone, or history not fetched)` };
    const prefix = path.relative(worktree, snapshot.root).split(path.sep).join('/');
    return { ok: true, snapshot: await readSnapshot(opened, resolved.commit, prefix, snapshot.root, snapshot.displayPrefix) };
  };
  return { snapshotAt, compileOptions };
}

/**
 * The manifests pinned Deployments run, given HEAD's compile output. Pins
 * matching HEAD need no Git access, so a repository right after a promotion
 * (or without pins) compiles as before.
 */
export async function resolvePins(graphs: readonly AgentGraph[], head: CompileOutput, source: PinSource): Promise<PinResolution> {
  const headVersion = new Map(head.manifests.map((m) => [m.agent, m.hash]));
  const diverging = pinsOf(graphs).filter((p) => headVersion.get(p.agent.key) !== p.version);
  if (diverging.length === 0) return { pinned: new Map(), findings: [] };
  const pinned = new Map<string, CompiledManifestEntry>();
  const findings: Finding[] = [];
  const reader = revisionReader(source);
  for (const pin of diverging) {
    const compiled = await reader(pin.sourceRevision);
    if (!compiled.ok) {
      findings.push(unreadable(pin, compiled.reason));
      continue;
    }
    const entry = compiled.manifests.find((m) => m.agent === pin.agent.key);
    if (!entry || entry.hash !== pin.version) {
      findings.push(mismatch(pin, entry?.hash));
      continue;
    }
    pinned.set(pin.deployment.key, entry);
    findings.push(held(pin, headVersion.get(pin.agent.key)));
  }
  return { pinned, findings };
}

type Compiled = { readonly ok: true; readonly manifests: readonly CompiledManifestEntry[] } | { readonly ok: false; readonly reason: string };

/** Compiles the project as of a commit, once per commit however many Deployments pin it. */
function revisionReader(source: PinSource): (revision: string) => Promise<Compiled> {
  const done = new Map<string, Promise<Compiled>>();
  const read = async (revision: string): Promise<Compiled> => {
    const at = await source.snapshotAt(revision);
    if (!at.ok) return at;
    const run = runSnapshot({ snapshot: at.snapshot, compileOptions: source.compileOptions });
    if (!run.output) return { ok: false, reason: `the project at ${short(revision)} does not compile (${run.summary.errors} error(s))` };
    return { ok: true, manifests: run.output.manifests };
  };
  return (revision) => {
    const known = done.get(revision);
    if (known) return known;
    const next = read(revision);
    done.set(revision, next);
    return next;
  };
}

function unreadable(pin: Pin, reason: string): Finding {
  return finding(
    'JOCH726',
    `Deployment "${pin.deployment.name}" is pinned to version ${short(pin.version)} from ${short(pin.sourceRevision)}, which cannot be read: ${reason}; the agent at HEAD is not run in its place`,
    at(pin, PIN_ANNOTATION.sourceRevision),
    {
      resource: refOf(pin.deployment),
      hint: 'fetch the full history (git fetch --unshallow, or actions/checkout with fetch-depth: 0), or promote the agent again to pin the version at HEAD',
    },
  );
}

function mismatch(pin: Pin, compiled: string | undefined): Finding {
  const what = compiled ? `compiles the agent to ${short(compiled)}` : `has no agent ${pin.agent.namespace ? `${pin.agent.namespace}/` : ''}${pin.agent.name}`;
  return finding(
    'JOCH727',
    `Deployment "${pin.deployment.name}" is pinned to version ${short(pin.version)}, but its source revision ${short(pin.sourceRevision)} ${what}`,
    at(pin, PIN_ANNOTATION.version),
    {
      resource: refOf(pin.deployment),
      hint: 'promote the agent again: joch promote writes a version and the revision it was compiled from together',
    },
  );
}

function held(pin: Pin, headVersion: string | undefined): Finding {
  const env = pin.deployment.spec.environmentRef;
  const envName = typeof env === 'object' && env !== null && 'name' in env && typeof env.name === 'string' ? env.name : pin.deployment.name;
  const from = pin.promotedFrom ? ` promoted from ${pin.promotedFrom}` : '';
  return finding(
    'JOCH725',
    `${envName} runs version ${short(pin.version)}${from} at ${short(pin.sourceRevision)}; the agent at HEAD compiles to ${headVersion ? short(headVersion) : 'nothing'}: promote to move it`,
    at(pin, PIN_ANNOTATION.version),
    { resource: refOf(pin.deployment) },
  );
}

/**
 * `joch validate`'s view of the pins: when a Deployment is held on a version
 * the agent at HEAD no longer compiles to, the note (or the error) compile
 * would give. Compiles only when some Deployment is pinned, and only a
 * repository that validated without errors.
 */
export async function pinDiagnostics(run: ValidationRun): Promise<Diagnostic[]> {
  if (run.summary.errors > 0 || !run.policy || pinsOf(run.graphs).length === 0) return [];
  const head = compile({
    resources: run.set.resources,
    graphs: run.graphs,
    references: run.validation.references,
    bundles: new Map(run.policy.bundles.map((b) => [b.agent, b])),
    displayPrefix: run.snapshot.displayPrefix,
    workloads: run.project.config.config.workloads,
  }, { requirePolicyBundles: true });
  const { findings } = await resolvePins(run.graphs, head, localPinSource(run.snapshot, { requirePolicyBundles: true }));
  return findingResolver(run.set.texts, run.project.config)(findings);
}

/**
 * `runSnapshot` for the sync loop, with its Deployments held on their pinned
 * versions: a second compile (of the changed agent units only) when a pin
 * diverges from HEAD.
 */
export async function runPinnedSnapshot(input: SnapshotRunInput, source: PinSource): Promise<SnapshotRun> {
  const first = runSnapshot(input);
  if (!first.output) return first;
  const { pinned, findings } = await resolvePins(first.graphs, first.output, source);
  if (findings.length === 0) return first;
  return runSnapshot({ ...input, pinned, pinFindings: findings });
}
