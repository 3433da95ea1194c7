/**
 * Promotion and rollback, GitOps style: both change the repository, never a
 * cluster. Each reads the Joch project at a commit, checks what the change
 * needs (release gates for a promotion, a prior revision for a rollback),
 * runs the whole pipeline on the tree the change would produce (so the
 * target Environment's policies judge the agent there), and writes one
 * commit on a new branch, with the evidence as Git trailers.
 */
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { finding, sortDiagnostics, type Diagnostic, type Finding } from '../diagnostics/index.js';
import type { Resource } from '../model/resource.js';
import { findingResolver } from '../pipeline/findings.js';
import { runSnapshot, type SnapshotRun } from '../pipeline/snapshot.js';
import { resolveRevision } from '../source/revision.js';
import type { Snapshot } from '../source/types.js';
import { evalGateSources, evalResultsPath, judgeApprovalGate, judgeEvalGate } from './gates.js';
import {
  blobOid,
  branchExists,
  findFiles,
  firstParents,
  committer,
  createBranch,
  firstParentHistory,
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
import { ANNOTATION, appendDocument, deploymentForTarget, documentIndex, documentText, editDocument, replaceDocument, setAnnotations } from './records.js';
import {
  PromoteUsageError,
  type ChangeResult,
  type DeploymentRevision,
  type FileChange,
  type GateResult,
  type PromoteInput,
  type PromotionResult,
  type RepositoryInput,
  type RollbackInput,
  type RollbackResult,
} from './types.js';

export * from './types.js';
export { APPROVAL_LABEL, APPROVAL_VERSION, evalResultsPath, parseEvalResults } from './gates.js';
export { ANNOTATION } from './records.js';

export const DEFAULT_STATUS_BRANCH = 'joch/status';

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const shortVersion = (v: string): string => v.replace(/^sha256:/, '').slice(0, 12);
const slash = (p: string): string => p.split(path.sep).join('/');

/** The project read at one commit, and the pipeline's verdict on it. */
interface Project {
  readonly repo: Repo;
  readonly base: string;
  readonly snapshot: Snapshot;
  readonly run: SnapshotRun;
  /** A diagnostic path (as `Resource.file` shows it) to its path in the repository. */
  readonly gitPath: (file: string) => string;
  readonly defaultNamespace: string;
  /** The project root inside the repository ('' at its root). */
  readonly prefix: string;
}

async function openProject(input: RepositoryInput): Promise<Project> {
  const repo = await openRepo(input.worktree);
  const resolved = await resolveRevision(input.worktree, input.base ?? 'HEAD');
  if (!resolved.ok) throw new PromoteUsageError(resolved.reason);
  const prefix = slash(path.relative(input.worktree, input.projectRoot));
  if (prefix.startsWith('..')) throw new PromoteUsageError(`the project ${input.projectRoot} is not inside the Git repository ${input.worktree}`);
  const display = slash(path.relative(input.cwd, input.projectRoot));
  const snapshot = await readSnapshot(repo, resolved.commit, prefix, input.projectRoot, display || undefined);
  const run = runSnapshot({ snapshot });
  const gitPath = (file: string): string => {
    const rel = display && file.startsWith(`${display}/`) ? file.slice(display.length + 1) : file;
    return prefix ? `${prefix}/${rel}` : rel;
  };
  return { repo, base: resolved.commit, snapshot, run, gitPath, defaultNamespace: run.config.config.defaultNamespace, prefix };
}

/** The same project with some files changed, judged by the whole pipeline again. */
function rerun(project: Project, changes: readonly FileChange[]): SnapshotRun {
  const byGitPath = new Map(changes.map((c) => [c.path, c.after]));
  const files = project.snapshot.files.map((f) => {
    const after = byGitPath.get(project.gitPath(project.snapshot.displayPrefix ? `${project.snapshot.displayPrefix}/${f.path}` : f.path));
    return after === undefined ? f : { path: f.path, bytes: Buffer.from(after, 'utf8') };
  });
  return runSnapshot({ snapshot: { ...project.snapshot, files } });
}

function findAgent(project: Project, name: string, namespace: string | undefined): Resource {
  const agents = project.run.set.resources.filter((r) => r.kind === 'Agent' && r.name === name && (namespace === undefined || r.namespace === namespace));
  if (agents.length === 1) return agents[0] as Resource;
  if (agents.length > 1) throw new PromoteUsageError(`agent "${name}" exists in namespaces ${agents.map((a) => a.namespace).join(', ')}; name one as NAMESPACE/NAME or with -n`);
  throw new PromoteUsageError(`no agent "${name}"${namespace ? ` in namespace ${namespace}` : ''} at ${project.base.slice(0, 12)}`);
}

function refName(v: unknown): string | undefined {
  return isRecord(v) && typeof v.name === 'string' ? v.name : undefined;
}

function deploymentsOf(project: Project, agent: Resource): Resource[] {
  return project.run.set.resources.filter((r) => {
    if (r.kind !== 'Deployment' || refName(r.spec.agentRef) !== agent.name) return false;
    const ns = isRecord(r.spec.agentRef) && typeof r.spec.agentRef.namespace === 'string' ? r.spec.agentRef.namespace : r.namespace;
    return ns === agent.namespace;
  });
}

function deploymentIn(deployments: readonly Resource[], env: string, agent: Resource): Resource | undefined {
  const hits = deployments.filter((d) => refName(d.spec.environmentRef) === env);
  if (hits.length > 1) throw new PromoteUsageError(`agent ${agent.namespace}/${agent.name} has ${hits.length} Deployments in Environment ${env} (${hits.map((d) => d.name).join(', ')}); promote one at a time`);
  return hits[0];
}

function requireEnvironment(project: Project, env: string): void {
  if (!project.run.set.resources.some((r) => r.kind === 'Environment' && r.name === env)) throw new PromoteUsageError(`no Environment "${env}" at ${project.base.slice(0, 12)}`);
}

function versionOf(run: SnapshotRun, agent: Resource): string | undefined {
  return run.output?.manifests.find((m) => m.agent === agent.key)?.hash;
}

async function fileText(project: Project, gitPath: string): Promise<string> {
  const oid = await blobOid(project.repo, project.base, gitPath);
  if (!oid) throw new Error(`${gitPath} is not in ${project.base}`);
  return readBlobText(project.repo, oid);
}

/** The commit that holds recorded Eval results: the named branch, locally or as fetched from origin. */
async function statusCommit(repo: Repo, branch: string): Promise<string | undefined> {
  return (await resolveCommit(repo, `refs/heads/${branch}`)) ?? resolveCommit(repo, `refs/remotes/origin/${branch}`);
}

async function statusFile(repo: Repo, commit: string | undefined, filepath: string): Promise<string | undefined> {
  if (!commit) return undefined;
  const oid = await blobOid(repo, commit, filepath);
  return oid ? readBlobText(repo, oid) : undefined;
}

/** The policy verdict on the agent in the changed repository, as evidence. */
function policyGate(after: SnapshotRun, agent: Resource, env: string): GateResult {
  const errors = after.diagnostics.filter((d) => d.severity === 'error');
  const bundle = after.policy.bundles.find((b) => b.agent === agent.key);
  const policies = bundle ? bundle.policies.filter((p) => p.source !== 'baseline').map((p) => `${p.namespace ? `${p.namespace}/` : ''}${p.name}@${p.version}`) : [];
  const denied = bundle ? bundle.decisions.filter((d) => d.outcome === 'deny').length : 0;
  if (errors.length === 0) {
    return { kind: 'policy', name: env, passed: true, evidence: `allowed: baseline${policies.length ? ` + ${policies.join(', ')}` : ''}, no denial` };
  }
  return { kind: 'policy', name: env, passed: false, evidence: `refused: ${errors.length} error(s)${denied ? `, ${denied} capability denial(s)` : ''}` };
}

function resolveAt(project: Project, findings: readonly Finding[]): Diagnostic[] {
  return findingResolver(project.run.set.texts, project.run.config)(findings);
}

/** A change is made only on a repository that is valid as it is. */
function repositoryErrors(project: Project): Diagnostic[] {
  return project.run.diagnostics.filter((d) => d.severity === 'error');
}

/**
 * `joch promote`: the Git change that moves the agent's version from one
 * Environment to another, if every release gate passes.
 */
export async function promote(input: PromoteInput): Promise<PromotionResult> {
  if (input.from === input.to) throw new PromoteUsageError('--from and --to name the same Environment');
  const project = await openProject(input);
  const repoErrors = repositoryErrors(project);
  if (repoErrors.length) {
    const asked = `${input.namespace ? `${input.namespace}/` : ''}${input.agent}`;
    return { agent: asked, deployment: '', base: project.base, from: input.from, to: input.to, created: false, files: [], message: '', branch: undefined, commit: undefined, tree: undefined, outcome: 'refused', version: undefined, gates: [], diagnostics: repoErrors };
  }
  const agent = findAgent(project, input.agent, input.namespace);
  const agentName = `${agent.namespace}/${agent.name}`;
  requireEnvironment(project, input.from);
  requireEnvironment(project, input.to);
  const deployments = deploymentsOf(project, agent);
  const source = deploymentIn(deployments, input.from, agent);
  if (!source) throw new PromoteUsageError(`agent ${agentName} has no Deployment in Environment ${input.from}, so nothing runs there to promote`);
  const target = deploymentIn(deployments, input.to, agent);
  const targetName = target?.name ?? `${agent.name}-${input.to}`;
  const empty = { agent: agentName, deployment: `${source.namespace}/${targetName}`, base: project.base, from: input.from, to: input.to, created: !target };
  const nothing = { files: [], message: '', branch: undefined, commit: undefined, tree: undefined };

  const version = versionOf(project.run, agent);
  if (!version) throw new Error(`agent ${agentName} was not compiled`);

  // The release gates, judged at the base commit.
  const statusBranch = input.statusBranch ?? DEFAULT_STATUS_BRANCH;
  const statusTip = await statusCommit(project.repo, statusBranch);
  const gates: GateResult[] = [];
  const gateFindings: Finding[] = [];
  const running = await runningGate(project, statusTip, statusBranch, source, agent, version);
  gates.push(running.gate);
  if (running.finding) gateFindings.push(running.finding);
  for (const src of evalGateSources(project.run.set.resources, agent, input.to, target)) {
    const judged = judgeEvalGate(src, version, await statusFile(project.repo, statusTip, evalResultsPath(src.eval)), statusBranch);
    gates.push(judged.gate);
    if (judged.finding) gateFindings.push(judged.finding);
  }
  const approver = target && isRecord(target.spec.promotion) ? target.spec.promotion.requiresApproval : undefined;
  if (target && typeof approver === 'string') {
    const judged = judgeApprovalGate(project.run.set.resources, agent, target, input.to, version, approver);
    gates.push(judged.gate);
    if (judged.finding) gateFindings.push(judged.finding);
  }

  // The change, and the target Environment's verdict on it.
  const annotations = { [ANNOTATION.version]: version, [ANNOTATION.promotedFrom]: input.from, [ANNOTATION.sourceRevision]: project.base };
  const change = await promotionChange(project, source, target, targetName, input.to, annotations);
  const after = rerun(project, [change]);
  const policy = policyGate(after, agent, input.to);
  gates.push(policy);
  const diagnostics: Diagnostic[] = resolveAt(project, gateFindings);
  if (!policy.passed) {
    diagnostics.push(...after.diagnostics.filter((d) => d.severity === 'error'));
    const at = target ? { file: target.file, doc: target.doc, path: ['spec', 'environmentRef', 'name'] } : { file: source.file, doc: source.doc, path: ['spec', 'environmentRef', 'name'] };
    diagnostics.push(
      ...resolveAt(project, [
        finding('JOCH723', `release gate: the repository with ${agentName} promoted to ${input.to} is refused (${policy.evidence}); the errors are listed with it`, at),
      ]),
    );
  }
  const files = [change];
  if (gates.some((g) => !g.passed)) {
    return { ...empty, ...nothing, files, outcome: 'refused', version, gates, diagnostics: sortDiagnostics(diagnostics) };
  }
  const message = promotionMessage({ agentName, from: input.from, to: input.to, version, base: project.base, deployment: `${source.namespace}/${targetName}`, created: !target, gates });
  const branch = input.branch ?? `joch/promote/${agent.name}-${input.to}-${shortVersion(version)}`;
  const written = await commitChange(project, input, branch, files, message);
  return { ...empty, ...written, files, message, version, gates, diagnostics: sortDiagnostics(diagnostics) };
}

async function promotionChange(
  project: Project,
  source: Resource,
  target: Resource | undefined,
  targetName: string,
  to: string,
  annotations: Record<string, string>,
): Promise<FileChange> {
  const match = (r: Resource) => ({ kind: 'Deployment', name: r.name, namespace: r.namespace, defaultNamespace: project.defaultNamespace });
  const workerImage = isRecord(source.spec.runtime) ? source.spec.runtime.workerImage : undefined;
  if (target) {
    const file = project.gitPath(target.file);
    const before = await fileText(project, file);
    const index = documentIndex(before, match(target));
    const after = editDocument(before, index, (doc) => {
      setAnnotations(doc, annotations);
      // The worker image is part of what runs: it moves with the agent.
      if (typeof workerImage === 'string') doc.setIn(['spec', 'runtime', 'workerImage'], workerImage);
    });
    return { path: file, before, after };
  }
  const file = project.gitPath(source.file);
  const before = await fileText(project, file);
  const sourceDoc = documentText(before, documentIndex(before, match(source)));
  if (sourceDoc === undefined) throw new Error(`Deployment ${source.name} not found in ${file}`);
  return { path: file, before, after: appendDocument(before, deploymentForTarget(sourceDoc, targetName, to, annotations)) };
}

const NOT_CHECKED = 'not checked: ';

/** The phases in which the status branch says a resource's objects run as applied. */
const RUNNING_PHASES = new Set(['Ready', 'Applied']);

interface StatusRecord {
  readonly file: string;
  readonly phase: string;
  readonly sourceRevision: string | undefined;
}

/** The source Deployment's entries in the status files (one per cluster where the status is kept per cluster). */
async function statusRecords(project: Project, tip: string, deployment: Resource): Promise<StatusRecord[]> {
  const name = `${deployment.namespace ?? '_cluster'}.yaml`;
  const out: StatusRecord[] = [];
  for (const file of await findFiles(project.repo, tip, 'resources', name, new Set(['agbom', 'evals']))) {
    const doc = parseQuietly((await statusFile(project.repo, tip, file)) ?? '');
    const entry = isRecord(doc) ? doc[`Deployment/${deployment.name}`] : undefined;
    if (!isRecord(entry)) continue;
    out.push({ file, phase: typeof entry.phase === 'string' ? entry.phase : 'unknown', sourceRevision: typeof entry.sourceRevision === 'string' ? entry.sourceRevision : undefined });
  }
  return out;
}

/** The agent's version compiled from another commit of the repository. */
async function versionAt(project: Project, commit: string, agent: Resource): Promise<string | undefined> {
  if (commit === project.base) return versionOf(project.run, agent);
  const known = await resolveCommit(project.repo, commit);
  if (!known) return undefined;
  const snapshot = await readSnapshot(project.repo, known, project.prefix, project.snapshot.root, project.snapshot.displayPrefix);
  return versionOf(runSnapshot({ snapshot }), agent);
}

/**
 * Freight must be verified upstream: when the status branch records the
 * source Deployment, it must run there, healthy, at this version. With no
 * record (no sync loop writes status), the gate says it was not checked.
 */
async function runningGate(
  project: Project,
  tip: string | undefined,
  statusBranch: string,
  source: Resource,
  agent: Resource,
  version: string,
): Promise<{ gate: GateResult; finding?: Finding }> {
  const env = refName(source.spec.environmentRef) ?? '';
  const records = tip ? await statusRecords(project, tip, source) : [];
  if (records.length === 0) return { gate: { kind: 'running', name: env, passed: true, evidence: `${NOT_CHECKED}${statusBranch} has no status of Deployment ${source.namespace}/${source.name}` } };
  const problems: string[] = [];
  for (const r of records) {
    if (!RUNNING_PHASES.has(r.phase)) problems.push(`${r.file}: phase ${r.phase}`);
    else if (!r.sourceRevision) problems.push(`${r.file}: no source revision`);
    else {
      const ran = await versionAt(project, r.sourceRevision, agent);
      if (ran === undefined) problems.push(`${r.file}: revision ${r.sourceRevision.slice(0, 12)} is not in this repository (fetch it) or does not compile`);
      else if (ran !== version) problems.push(`${r.file}: runs version ${ran} (from ${r.sourceRevision.slice(0, 12)})`);
    }
  }
  const evidence = records.map((r) => `${r.file} ${r.phase} at ${(r.sourceRevision ?? 'unknown').slice(0, 12)}`).join(', ');
  if (problems.length === 0) return { gate: { kind: 'running', name: env, passed: true, evidence: `runs in ${env}: ${evidence}` } };
  return {
    gate: { kind: 'running', name: env, passed: false, evidence: problems.join('; ') },
    finding: finding(
      'JOCH724',
      `release gate: ${statusBranch} does not show version ${version} running in ${env} for Deployment ${source.namespace}/${source.name}: ${problems.join('; ')}`,
      { file: source.file, doc: source.doc, path: ['spec', 'environmentRef', 'name'] },
      { hint: `promote what runs in ${env}, or let it apply and become healthy there first` },
    ),
  };
}

interface MessageFacts {
  readonly agentName: string;
  readonly from: string;
  readonly to: string;
  readonly version: string;
  readonly base: string;
  readonly deployment: string;
  readonly created: boolean;
  readonly gates: readonly GateResult[];
}

const oneLine = (s: string): string => s.replace(/\s+/g, ' ').trim();

export function gateTrailer(g: GateResult): string {
  const label = { running: 'Joch-Gate-Running', eval: 'Joch-Gate-Eval', approval: 'Joch-Gate-Approval', policy: 'Joch-Gate-Policy' }[g.kind];
  const unchecked = g.passed && g.evidence.startsWith(NOT_CHECKED);
  const verdict = !g.passed ? 'failed' : unchecked ? 'not checked' : 'passed';
  return `${label}: ${g.name} ${verdict}; ${oneLine(unchecked ? g.evidence.slice(NOT_CHECKED.length) : g.evidence)}`;
}

function promotionMessage(f: MessageFacts): string {
  return [
    `joch: promote ${f.agentName} to ${f.to} (${shortVersion(f.version)})`,
    '',
    `${f.created ? 'Creates' : 'Updates'} Deployment ${f.deployment} to run agent ${f.agentName}`,
    `at version ${f.version}, the version that runs in ${f.from} at ${f.base.slice(0, 12)}.`,
    `${f.gates.filter((g) => g.passed && !g.evidence.startsWith(NOT_CHECKED)).length} release gate(s) passed.`,
    '',
    `Joch-Promote: Agent/${f.agentName}`,
    `Joch-From: ${f.from}`,
    `Joch-To: ${f.to}`,
    `Joch-Version: ${f.version}`,
    `Joch-Source-Revision: ${f.base}`,
    ...f.gates.map(gateTrailer),
    '',
  ].join('\n');
}

async function commitChange(
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

/**
 * The revisions of a Deployment record along the first-parent history: each
 * distinct content of its document is one revision, numbered from 1 (the
 * oldest), as `kubectl rollout history` numbers a Deployment's.
 */
async function deploymentRevisions(project: Project, deployment: Resource): Promise<{ revisions: DeploymentRevision[]; texts: string[] }> {
  const file = project.gitPath(deployment.file);
  const match = { kind: 'Deployment', name: deployment.name, namespace: deployment.namespace, defaultNamespace: project.defaultNamespace };
  const history = await firstParentHistory(project.repo, project.base, file);
  const revisions: DeploymentRevision[] = [];
  const texts: string[] = [];
  // Newest first until the record did not exist yet, then numbered oldest first.
  const found: { commit: string; subject: string; text: string }[] = [];
  for (const v of [...history].reverse()) {
    const text = await readBlobText(project.repo, v.blob);
    const index = documentIndex(text, match);
    if (index < 0) break;
    found.push({ commit: v.commit, subject: v.subject, text: documentText(text, index) ?? '' });
  }
  found.reverse();
  for (const f of found) {
    if (texts.length && texts[texts.length - 1] === f.text) continue;
    texts.push(f.text);
    revisions.push({ revision: revisions.length + 1, commit: f.commit, subject: f.subject, version: annotationIn(f.text, ANNOTATION.version), ran: undefined });
  }
  return { revisions, texts };
}

/** How many status commits a rollback reads back: months of a busy loop, and a bound on the work. */
const MAX_STATUS_HISTORY = 500;

/**
 * Which revisions the status branch records as having run: every status
 * commit's record of the Deployment (Ready or Applied) names the source
 * revision applied; the Deployment's document at that revision says which
 * of its revisions that was.
 */
async function markRan(project: Project, tip: string | undefined, deployment: Resource, revisions: readonly DeploymentRevision[], texts: readonly string[]): Promise<DeploymentRevision[]> {
  if (!tip) return [...revisions];
  const ns = `${deployment.namespace ?? '_cluster'}.yaml`;
  const paths = await findFiles(project.repo, tip, 'resources', ns, new Set(['agbom', 'evals']));
  const applied = new Set<string>();
  const seenBlobs = new Set<string>();
  for (const commit of await firstParents(project.repo, tip, MAX_STATUS_HISTORY)) {
    for (const p of paths) {
      const blob = await blobOid(project.repo, commit, p);
      if (!blob || seenBlobs.has(blob)) continue;
      seenBlobs.add(blob);
      const doc = parseQuietly(await readBlobText(project.repo, blob));
      const entry = isRecord(doc) ? doc[`Deployment/${deployment.name}`] : undefined;
      if (isRecord(entry) && typeof entry.phase === 'string' && RUNNING_PHASES.has(entry.phase) && typeof entry.sourceRevision === 'string') applied.add(entry.sourceRevision);
    }
  }
  if (seenBlobs.size === 0) return [...revisions];
  const ran = new Set<number>();
  const file = project.gitPath(deployment.file);
  const match = { kind: 'Deployment', name: deployment.name, namespace: deployment.namespace, defaultNamespace: project.defaultNamespace };
  for (const commit of applied) {
    const blob = (await resolveCommit(project.repo, commit)) ? await blobOid(project.repo, commit, file) : undefined;
    if (!blob) continue;
    const text = await readBlobText(project.repo, blob);
    const index = documentIndex(text, match);
    const at = index >= 0 ? texts.lastIndexOf(documentText(text, index) ?? '') : -1;
    if (at >= 0) ran.add(at);
  }
  return revisions.map((r, i) => ({ ...r, ran: ran.has(i) }));
}

function annotationIn(docText: string, key: string): string | undefined {
  const doc = parseQuietly(docText);
  const meta = isRecord(doc) && isRecord(doc.metadata) ? doc.metadata : undefined;
  const ann = meta && isRecord(meta.annotations) ? meta.annotations : undefined;
  const v = ann?.[key];
  return typeof v === 'string' ? v : undefined;
}

function parseQuietly(text: string): unknown {
  try {
    return parseYaml(text);
  } catch {
    return undefined;
  }
}

/**
 * `joch rollback`: the Git change that restores revision N of a Deployment
 * record and the agent record as it was at the revision the version was
 * compiled from.
 */
export async function rollback(input: RollbackInput): Promise<RollbackResult> {
  const project = await openProject(input);
  let deployment: Resource;
  let agent: Resource;
  if (input.kind === 'Agent') {
    if (!input.environment) throw new PromoteUsageError('name the Environment to roll back with --env');
    agent = findAgent(project, input.name, input.namespace);
    requireEnvironment(project, input.environment);
    const d = deploymentIn(deploymentsOf(project, agent), input.environment, agent);
    if (!d) throw new PromoteUsageError(`agent ${agent.namespace}/${agent.name} has no Deployment in Environment ${input.environment}`);
    deployment = d;
  } else {
    const hits = project.run.set.resources.filter((r) => r.kind === 'Deployment' && r.name === input.name && (input.namespace === undefined || r.namespace === input.namespace));
    if (hits.length !== 1) throw new PromoteUsageError(hits.length ? `Deployment "${input.name}" exists in several namespaces; name one with -n` : `no Deployment "${input.name}"`);
    deployment = hits[0] as Resource;
    const agentRef = refName(deployment.spec.agentRef);
    if (!agentRef) throw new PromoteUsageError(`Deployment ${deployment.name} names no agent`);
    agent = findAgent(project, agentRef, isRecord(deployment.spec.agentRef) && typeof deployment.spec.agentRef.namespace === 'string' ? deployment.spec.agentRef.namespace : deployment.namespace);
  }
  const agentName = `${agent.namespace}/${agent.name}`;
  const deploymentName = `${deployment.namespace}/${deployment.name}`;
  const history = await deploymentRevisions(project, deployment);
  const statusBranch = input.statusBranch ?? DEFAULT_STATUS_BRANCH;
  const revisions = await markRan(project, await statusCommit(project.repo, statusBranch), deployment, history.revisions, history.texts);
  const texts = history.texts;
  const current = revisions.length;
  if (!Number.isInteger(input.toVersion) || input.toVersion < 1 || input.toVersion > current) {
    const list = revisions.map((r) => `${r.revision}: ${r.commit.slice(0, 12)}${r.version ? ` version ${shortVersion(r.version)}` : ''}`).join(', ');
    throw new PromoteUsageError(`Deployment ${deploymentName} has revisions 1 to ${current} (${list}); --to-version ${input.toVersion} is not one of them`);
  }
  if (input.toVersion === current) throw new PromoteUsageError(`Deployment ${deploymentName} is at revision ${current} already`);
  const chosen = revisions[input.toVersion - 1] as DeploymentRevision;
  const restoredText = texts[input.toVersion - 1] as string;

  const files: FileChange[] = [];
  const depFile = project.gitPath(deployment.file);
  const depBefore = await fileText(project, depFile);
  const match = (r: Resource) => ({ kind: r.kind, name: r.name, namespace: r.namespace, defaultNamespace: project.defaultNamespace });
  let depAfter = replaceDocument(depBefore, documentIndex(depBefore, match(deployment)), restoredText);
  // The agent as it was where the restored version was compiled (or at the revision's commit).
  const agentAt = annotationIn(restoredText, ANNOTATION.sourceRevision) ?? chosen.commit;
  const agentFile = project.gitPath(agent.file);
  const oldAgentBlob = (await resolveCommitSafe(project.repo, agentAt)) ? await blobOid(project.repo, agentAt, agentFile) : undefined;
  if (oldAgentBlob) {
    const oldText = await readBlobText(project.repo, oldAgentBlob);
    const oldIndex = documentIndex(oldText, match(agent));
    const oldDoc = oldIndex >= 0 ? documentText(oldText, oldIndex) : undefined;
    if (oldDoc !== undefined) {
      const base = agentFile === depFile ? depAfter : await fileText(project, agentFile);
      const restored = replaceDocument(base, documentIndex(base, match(agent)), oldDoc);
      if (agentFile === depFile) depAfter = restored;
      else if (restored !== base) files.push({ path: agentFile, before: base, after: restored });
    }
  }
  files.unshift({ path: depFile, before: depBefore, after: depAfter });
  const changed = files.filter((f) => f.before !== f.after);

  const after = rerun(project, changed);
  const policy = policyGate(after, agent, refName(deployment.spec.environmentRef) ?? '');
  const compiledVersion = versionOf(after, agent);
  const base = { agent: agentName, deployment: deploymentName, base: project.base, revisions, restored: input.toVersion, compiledVersion, version: chosen.version };
  const nothing = { message: '', branch: undefined, commit: undefined, tree: undefined };
  if (!policy.passed) {
    const diagnostics = [
      ...after.diagnostics.filter((d) => d.severity === 'error'),
      ...resolveAt(project, [finding('JOCH723', `rollback of ${deploymentName} to revision ${input.toVersion} is refused: the repository with it has errors (${policy.evidence})`, { file: deployment.file, doc: deployment.doc, path: ['metadata', 'name'] })]),
    ];
    return { ...base, ...nothing, files: changed, outcome: 'refused', gates: [policy], diagnostics: sortDiagnostics(diagnostics) };
  }
  const message = [
    `joch: roll back ${deploymentName} to revision ${input.toVersion}${chosen.version ? ` (${shortVersion(chosen.version)})` : ''}`,
    '',
    `Restores Deployment ${deploymentName} as of ${chosen.commit.slice(0, 12)} ("${oneLine(chosen.subject)}")`,
    `and agent ${agentName} as of ${agentAt.slice(0, 12)}; the Deployment was at revision ${current}.`,
    '',
    `Joch-Rollback: Deployment/${deploymentName}`,
    `Joch-From-Revision: ${current}`,
    `Joch-To-Revision: ${input.toVersion}`,
    `Joch-Revision-Commit: ${chosen.commit}`,
    `Joch-Revision-Ran: ${chosen.ran === undefined ? `unknown; ${statusBranch} records nothing of this Deployment` : chosen.ran ? `yes; recorded on ${statusBranch}` : `no record on ${statusBranch}`}`,
    ...(chosen.version ? [`Joch-Version: ${chosen.version}`] : []),
    ...(compiledVersion ? [`Joch-Compiled-Version: ${compiledVersion}`] : []),
    gateTrailer(policy),
    '',
  ].join('\n');
  const branch = input.branch ?? `joch/rollback/${deployment.name}-r${input.toVersion}`;
  const written = await commitChange(project, input, branch, changed, message);
  return { ...base, ...written, files: changed, message, gates: [policy], diagnostics: [] };
}

async function resolveCommitSafe(repo: Repo, oid: string): Promise<boolean> {
  try {
    await readCommitInfo(repo, oid);
    return true;
  } catch {
    return false;
  }
}
