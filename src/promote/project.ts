/**
 * What promotion and rollback share: the project read from a commit and the
 * pipeline's verdict on it, the records they act on, the status branch, the
 * policy verdict on a changed tree, and the commit that carries a change.
 */
import { hasCommit } from '../source/git-transport.js';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { Diagnostic, Finding } from '../diagnostics/index.js';
import type { Resource } from '../model/resource.js';
import { findingResolver } from '../pipeline/findings.js';
import { createCompiler, type Compiler } from '../compile/index.js';
import { unitEmissionFindings } from '../pipeline/emission.js';
import { runSnapshot, SnapshotCache, type SnapshotRun } from '../pipeline/snapshot.js';
import { resolveRevision } from '../source/revision.js';
import type { Snapshot } from '../source/types.js';
import {
  blobOid,
  branchExists,
  committer,
  createBranch,
  isValidBranchName,
  openRepo,
  readBlobText,
  readCommitInfo,
  readSnapshot,
  resolveCommit,
  writeChangedTree,
  writeCommit,
  type Repo,
} from './git.js';
import { PromoteUsageError, type ChangeResult, type FileChange, type GateResult, type RepositoryInput } from './types.js';

export const DEFAULT_STATUS_BRANCH = 'joch/status';

export const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
export const shortVersion = (v: string): string => v.replace(/^sha256:/, '').slice(0, 12);
export const slash = (p: string): string => p.split(path.sep).join('/');

/** The project read at one commit, and the pipeline's verdict on it. */
export interface Project {
  readonly repo: Repo;
  readonly base: string;
  readonly snapshot: Snapshot;
  readonly run: SnapshotRun;
  /** A diagnostic path (as `Resource.file` shows it) to its path in the repository. */
  readonly gitPath: (file: string) => string;
  readonly defaultNamespace: string;
  /** The project root inside the repository ('' at its root). */
  readonly prefix: string;
  /** The pipeline's run of other commits, each made once (a gate may ask for one revision per cluster). */
  readonly runsAt: Map<string, Promise<SnapshotRun | undefined>>;
  /** Kept for `rerun`: the unchanged files and agent units of the base are not worked out again. */
  readonly cache: SnapshotCache;
  readonly compiler: Compiler;
}

export async function openProject(input: RepositoryInput): Promise<Project> {
  const repo = await openRepo(input.worktree);
  const resolved = await resolveRevision(input.worktree, input.base ?? 'HEAD');
  if (!resolved.ok) throw new PromoteUsageError(resolved.reason);
  const prefix = slash(path.relative(input.worktree, input.projectRoot));
  if (prefix.startsWith('..')) throw new PromoteUsageError(`the project ${input.projectRoot} is not inside the Git repository ${input.worktree}`);
  const display = slash(path.relative(input.cwd, input.projectRoot));
  const snapshot = await readSnapshot(repo, resolved.commit, prefix, input.projectRoot, display || undefined);
  const cache = new SnapshotCache();
  // As runSnapshot makes its own, kept so that rerun rebuilds only the units a change reaches.
  const compiler = createCompiler({ requirePolicyBundles: true }, { scope: snapshot.root, guard: unitEmissionFindings });
  const run = runSnapshot({ snapshot, cache, compiler });
  const gitPath = (file: string): string => {
    const rel = display && file.startsWith(`${display}/`) ? file.slice(display.length + 1) : file;
    return prefix ? `${prefix}/${rel}` : rel;
  };
  return { repo, base: resolved.commit, snapshot, run, gitPath, defaultNamespace: run.config.config.defaultNamespace, prefix, runsAt: new Map(), cache, compiler };
}

/** The same project with some files changed, judged by the whole pipeline again. */
export function rerun(project: Project, changes: readonly FileChange[]): SnapshotRun {
  const byGitPath = new Map(changes.map((c) => [c.path, c.after]));
  const files = project.snapshot.files.map((f) => {
    const after = byGitPath.get(project.gitPath(project.snapshot.displayPrefix ? `${project.snapshot.displayPrefix}/${f.path}` : f.path));
    return after === undefined ? f : { path: f.path, bytes: Buffer.from(after, 'utf8') };
  });
  return runSnapshot({ snapshot: { ...project.snapshot, files }, cache: project.cache, compiler: project.compiler });
}

export function findAgent(project: Project, name: string, namespace: string | undefined): Resource {
  const agents = project.run.set.resources.filter((r) => r.kind === 'Agent' && r.name === name && (namespace === undefined || r.namespace === namespace));
  if (agents.length === 1) return agents[0] as Resource;
  if (agents.length > 1) throw new PromoteUsageError(`agent "${name}" exists in namespaces ${agents.map((a) => a.namespace).join(', ')}; name one as NAMESPACE/NAME or with -n`);
  throw new PromoteUsageError(`no agent "${name}"${namespace ? ` in namespace ${namespace}` : ''} at ${project.base.slice(0, 12)}`);
}

export function refName(v: unknown): string | undefined {
  return isRecord(v) && typeof v.name === 'string' ? v.name : undefined;
}

export function deploymentsOf(project: Project, agent: Resource): Resource[] {
  return project.run.set.resources.filter((r) => {
    if (r.kind !== 'Deployment' || refName(r.spec.agentRef) !== agent.name) return false;
    const ns = isRecord(r.spec.agentRef) && typeof r.spec.agentRef.namespace === 'string' ? r.spec.agentRef.namespace : r.namespace;
    return ns === agent.namespace;
  });
}

export function deploymentIn(deployments: readonly Resource[], env: string, agent: Resource): Resource | undefined {
  const hits = deployments.filter((d) => refName(d.spec.environmentRef) === env);
  if (hits.length > 1) throw new PromoteUsageError(`agent ${agent.namespace}/${agent.name} has ${hits.length} Deployments in Environment ${env} (${hits.map((d) => d.name).join(', ')}); promote one at a time`);
  return hits[0];
}

export function requireEnvironment(project: Project, env: string): void {
  if (!project.run.set.resources.some((r) => r.kind === 'Environment' && r.name === env)) throw new PromoteUsageError(`no Environment "${env}" at ${project.base.slice(0, 12)}`);
}

export function versionOf(run: SnapshotRun, agent: Resource): string | undefined {
  return run.output?.manifests.find((m) => m.agent === agent.key)?.hash;
}

/** The agent's version compiled from another commit of the repository. */
export async function versionAt(project: Project, commit: string, agent: Resource): Promise<string | undefined> {
  if (commit === project.base) return versionOf(project.run, agent);
  let run = project.runsAt.get(commit);
  if (!run) {
    run = runAt(project, commit);
    project.runsAt.set(commit, run);
  }
  const done = await run;
  return done && versionOf(done, agent);
}

async function runAt(project: Project, commit: string): Promise<SnapshotRun | undefined> {
  // A full id resolves to itself whether or not the object is here: look for the commit.
  if (!(await hasCommit(project.repo, commit))) return undefined;
  return runSnapshot({ snapshot: await readSnapshot(project.repo, commit, project.prefix, project.snapshot.root, project.snapshot.displayPrefix) });
}

/** A Deployment's entry in a status file's text: the phase and the source revision applied. */
export function deploymentStatus(text: string, deployment: Resource): { phase: string; sourceRevision: string | undefined } | undefined {
  const doc = parseQuietly(text);
  const entry = isRecord(doc) ? doc[`Deployment/${deployment.name}`] : undefined;
  if (!isRecord(entry)) return undefined;
  return { phase: typeof entry.phase === 'string' ? entry.phase : 'unknown', sourceRevision: typeof entry.sourceRevision === 'string' ? entry.sourceRevision : undefined };
}

export async function fileText(project: Project, gitPath: string): Promise<string> {
  // The base's records are in the project's snapshot already; anything else is read from Git.
  const rel = project.prefix ? gitPath.slice(project.prefix.length + 1) : gitPath;
  const read = (!project.prefix || gitPath.startsWith(`${project.prefix}/`)) && project.snapshot.files.find((f) => f.path === rel);
  if (read) return Buffer.from(read.bytes).toString('utf8');
  const oid = await blobOid(project.repo, project.base, gitPath);
  if (!oid) throw new Error(`${gitPath} is not in ${project.base}`);
  return readBlobText(project.repo, oid);
}

/** The commit that holds recorded Eval results: the named branch, locally or as fetched from origin. */
export async function statusCommit(repo: Repo, branch: string): Promise<string | undefined> {
  return (await resolveCommit(repo, `refs/heads/${branch}`)) ?? resolveCommit(repo, `refs/remotes/origin/${branch}`);
}

export async function statusFile(repo: Repo, commit: string | undefined, filepath: string): Promise<string | undefined> {
  if (!commit) return undefined;
  const oid = await blobOid(repo, commit, filepath);
  return oid ? readBlobText(repo, oid) : undefined;
}

/** The policy verdict on the agent in the changed repository, as evidence. */
export function policyGate(after: SnapshotRun, agent: Resource, env: string): GateResult {
  const errors = after.diagnostics.filter((d) => d.severity === 'error');
  const bundle = after.policy.bundles.find((b) => b.agent === agent.key);
  const policies = bundle ? bundle.policies.filter((p) => p.source !== 'baseline').map((p) => `${p.namespace ? `${p.namespace}/` : ''}${p.name}@${p.version}`) : [];
  const denied = bundle ? bundle.decisions.filter((d) => d.outcome === 'deny').length : 0;
  if (errors.length === 0) {
    return { kind: 'policy', name: env, passed: true, evidence: `allowed: baseline${policies.length ? ` + ${policies.join(', ')}` : ''}, no denial` };
  }
  return { kind: 'policy', name: env, passed: false, evidence: `refused: ${errors.length} error(s)${denied ? `, ${denied} capability denial(s)` : ''}` };
}

export function resolveAt(project: Project, findings: readonly Finding[]): Diagnostic[] {
  return findingResolver(project.run.set.texts, project.run.config)(findings);
}

/**
 * The texts the diagnostics point into, for code frames: the base commit's,
 * and those only the changed tree has. Gates are located at the base.
 */
export function diagnosticTexts(project: Project, after?: SnapshotRun): ReadonlyMap<string, string> {
  const texts = new Map(after?.set.texts ?? []);
  for (const [file, text] of project.run.set.texts) texts.set(file, text);
  return texts;
}

/** A change is made only on a repository that is valid as it is. */
export function repositoryErrors(project: Project): Diagnostic[] {
  return project.run.diagnostics.filter((d) => d.severity === 'error');
}

/** A gate whose evidence is absent passes only with this said in its evidence, and in its trailer. */
export const NOT_CHECKED = 'not checked: ';

/** The phases in which the status branch says a resource's objects run as applied. */
export const RUNNING_PHASES = new Set(['Ready', 'Applied']);

export const oneLine = (s: string): string => s.replace(/\s+/g, ' ').trim();

export function gateTrailer(g: GateResult): string {
  const label = { running: 'Joch-Gate-Running', eval: 'Joch-Gate-Eval', approval: 'Joch-Gate-Approval', policy: 'Joch-Gate-Policy' }[g.kind];
  const unchecked = g.passed && g.evidence.startsWith(NOT_CHECKED);
  const verdict = !g.passed ? 'failed' : unchecked ? 'not checked' : 'passed';
  return `${label}: ${g.name} ${verdict}; ${oneLine(unchecked ? g.evidence.slice(NOT_CHECKED.length) : g.evidence)}`;
}

export async function commitChange(
  project: Project,
  input: RepositoryInput,
  branch: string,
  files: readonly FileChange[],
  message: string,
): Promise<Pick<ChangeResult, 'outcome' | 'branch' | 'commit' | 'tree'>> {
  if (!isValidBranchName(branch)) throw new PromoteUsageError(`"${branch}" is not a valid branch name`);
  if (!input.force && (await branchExists(project.repo, branch))) throw new PromoteUsageError(`branch ${branch} exists; name another with --branch, or replace it with --force`);
  const base = await readCommitInfo(project.repo, project.base);
  const tree = await writeChangedTree(project.repo, base.tree, new Map(files.map((f) => [f.path, f.after])));
  if (input.dryRun) return { outcome: 'planned', branch, commit: undefined, tree };
  const commit = await writeCommit(project.repo, { parent: project.base, tree, message, author: await committer(project.repo), time: input.time ?? Math.floor(Date.now() / 1000) });
  await createBranch(project.repo, branch, commit, input.force === true);
  return { outcome: 'written', branch, commit, tree };
}

export function parseQuietly(text: string): unknown {
  try {
    return parseYaml(text);
  } catch {
    return undefined;
  }
}
