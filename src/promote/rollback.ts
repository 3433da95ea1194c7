/**
 * `joch rollback`: a prior revision of a Deployment record restored. A
 * revision that pins a version (joch.dev/version and source-revision) runs
 * it by the pin alone; one that does not brings back the agent record as it
 * was at that revision's commit. Revisions come
 * from the first-parent history of the repository; the status branch's
 * history says which of them ran.
 */
import { hasCommit } from '../source/git-transport.js';
import { finding, sortDiagnostics } from '../diagnostics/index.js';
import type { Resource } from '../model/resource.js';
import { blobOid, findFiles, firstParentHistory, firstParents, readBlobText } from './git.js';
import { ANNOTATION, documentIndex, documentText, replaceDocument } from './records.js';
import {
  commitChange,
  DEFAULT_STATUS_BRANCH,
  deploymentIn,
  deploymentsOf,
  fileText,
  findAgent,
  gateTrailer,
  isRecord,
  oneLine,
  openProject,
  deploymentStatus,
  parseQuietly,
  policyGate,
  refName,
  requireEnvironment,
  rerun,
  resolveAt,
  RUNNING_PHASES,
  shortVersion,
  statusCommit,
  versionAt,
  versionOf,
  diagnosticTexts,
  type Project,
} from './project.js';
import { PromoteUsageError, type DeploymentRevision, type FileChange, type GateResult, type RollbackInput, type RollbackResult } from './types.js';

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
      const entry = deploymentStatus(await readBlobText(project.repo, blob), deployment);
      if (entry?.sourceRevision && RUNNING_PHASES.has(entry.phase)) applied.add(entry.sourceRevision);
    }
  }
  if (seenBlobs.size === 0) return [...revisions];
  const ran = new Set<number>();
  const file = project.gitPath(deployment.file);
  const match = { kind: 'Deployment', name: deployment.name, namespace: deployment.namespace, defaultNamespace: project.defaultNamespace };
  for (const commit of applied) {
    const blob = (await hasCommit(project.repo, commit)) ? await blobOid(project.repo, commit, file) : undefined;
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

/**
 * `joch rollback`: the Git change that restores revision N of a Deployment
 * record, and, when that revision pins no version, the agent record as it
 * was at its commit.
 */
export async function rollback(input: RollbackInput): Promise<RollbackResult> {
  const project = await openProject(input);
  const { deployment, agent } = pickDeployment(project, input);
  const agentName = `${agent.namespace}/${agent.name}`;
  const deploymentName = `${deployment.namespace}/${deployment.name}`;
  const history = await deploymentRevisions(project, deployment);
  const statusBranch = input.statusBranch ?? DEFAULT_STATUS_BRANCH;
  const revisions = await markRan(project, await statusCommit(project.repo, statusBranch), deployment, history.revisions, history.texts);
  const current = revisions.length;
  if (!Number.isInteger(input.toVersion) || input.toVersion < 1 || input.toVersion > current) {
    const list = revisions.map((r) => `${r.revision}: ${r.commit.slice(0, 12)}${r.version ? ` version ${shortVersion(r.version)}` : ''}`).join(', ');
    throw new PromoteUsageError(`Deployment ${deploymentName} has revisions 1 to ${current} (${list}); --to-version ${input.toVersion} is not one of them`);
  }
  if (input.toVersion === current) throw new PromoteUsageError(`Deployment ${deploymentName} is at revision ${current} already`);
  const chosen = revisions[input.toVersion - 1] as DeploymentRevision;
  const restoredText = history.texts[input.toVersion - 1] as string;
  // A restored pin (version and source revision) is enforced by the compiler: the Deployment runs that
  // version and the agent record stays, so the other Environments keep theirs. Without a pin, the agent
  // is restored as it was at the revision's commit.
  const pinnedAt = chosen.version !== undefined ? annotationIn(restoredText, ANNOTATION.sourceRevision) : undefined;
  const agentAt = pinnedAt ?? chosen.commit;
  const changed = await restoreChange(project, deployment, restoredText, pinnedAt === undefined ? agent : undefined, agentAt);

  const after = rerun(project, changed);
  const policy = policyGate(after, agent, refName(deployment.spec.environmentRef) ?? '');
  const compiledVersion = pinnedAt !== undefined ? await versionAt(project, pinnedAt, agent) : versionOf(after, agent);
  const summary = { agent: agentName, deployment: deploymentName, base: project.base, revisions, restored: input.toVersion, compiledVersion, version: chosen.version, texts: diagnosticTexts(project, after) };
  const nothing = { message: '', branch: undefined, commit: undefined, tree: undefined };
  if (changed.length === 0) return { ...summary, ...nothing, files: [], outcome: 'unchanged', gates: [], diagnostics: [] };
  if (!policy.passed) {
    const diagnostics = [
      ...after.diagnostics.filter((d) => d.severity === 'error'),
      ...resolveAt(project, [finding('JOCH723', `rollback of ${deploymentName} to revision ${input.toVersion} is refused: the repository with it has errors (${policy.evidence})`, { file: deployment.file, doc: deployment.doc, path: ['metadata', 'name'] })]),
    ];
    return { ...summary, ...nothing, files: changed, outcome: 'refused', gates: [policy], diagnostics: sortDiagnostics(diagnostics) };
  }
  const message = rollbackMessage({ deploymentName, agentName, chosen, current, agentAt, pinned: pinnedAt !== undefined, statusBranch, compiledVersion, policy });
  const branch = input.branch ?? `joch/rollback/${deployment.name}-r${input.toVersion}`;
  const written = await commitChange(project, input, branch, changed, message);
  return { ...summary, ...written, files: changed, message, gates: [policy], diagnostics: [] };
}

/** The Deployment named (or the agent's in the named Environment), and its agent. */
function pickDeployment(project: Project, input: RollbackInput): { deployment: Resource; agent: Resource } {
  if (input.kind === 'Agent') {
    if (!input.environment) throw new PromoteUsageError('name the Environment to roll back with --env');
    const agent = findAgent(project, input.name, input.namespace);
    requireEnvironment(project, input.environment);
    const deployment = deploymentIn(deploymentsOf(project, agent), input.environment, agent);
    if (!deployment) throw new PromoteUsageError(`agent ${agent.namespace}/${agent.name} has no Deployment in Environment ${input.environment}`);
    return { deployment, agent };
  }
  const hits = project.run.set.resources.filter((r) => r.kind === 'Deployment' && r.name === input.name && (input.namespace === undefined || r.namespace === input.namespace));
  if (hits.length !== 1) throw new PromoteUsageError(hits.length ? `Deployment "${input.name}" exists in several namespaces; name one with -n` : `no Deployment "${input.name}"`);
  const deployment = hits[0] as Resource;
  const agentRef = refName(deployment.spec.agentRef);
  if (!agentRef) throw new PromoteUsageError(`Deployment ${deployment.name} names no agent`);
  const agentNamespace = isRecord(deployment.spec.agentRef) && typeof deployment.spec.agentRef.namespace === 'string' ? deployment.spec.agentRef.namespace : deployment.namespace;
  return { deployment, agent: findAgent(project, agentRef, agentNamespace) };
}

/** The Deployment's document as restored, and (when given) the agent's document as of `agentAt`; files that do not change are left out. */
async function restoreChange(project: Project, deployment: Resource, restoredText: string, agent: Resource | undefined, agentAt: string): Promise<FileChange[]> {
  const match = (r: Resource) => ({ kind: r.kind, name: r.name, namespace: r.namespace, defaultNamespace: project.defaultNamespace });
  const depFile = project.gitPath(deployment.file);
  const depBefore = await fileText(project, depFile);
  let depAfter = replaceDocument(depBefore, documentIndex(depBefore, match(deployment)), restoredText);
  const files: FileChange[] = [];
  if (!agent) return [{ path: depFile, before: depBefore, after: depAfter }].filter((f) => f.before !== f.after);
  const agentFile = project.gitPath(agent.file);
  const oldAgentBlob = (await hasCommit(project.repo, agentAt)) ? await blobOid(project.repo, agentAt, agentFile) : undefined;
  const oldText = oldAgentBlob ? await readBlobText(project.repo, oldAgentBlob) : undefined;
  const oldIndex = oldText === undefined ? -1 : documentIndex(oldText, match(agent));
  const oldDoc = oldText !== undefined && oldIndex >= 0 ? documentText(oldText, oldIndex) : undefined;
  if (oldDoc !== undefined) {
    const current = agentFile === depFile ? depAfter : await fileText(project, agentFile);
    const restored = replaceDocument(current, documentIndex(current, match(agent)), oldDoc);
    if (agentFile === depFile) depAfter = restored;
    else files.push({ path: agentFile, before: current, after: restored });
  }
  return [{ path: depFile, before: depBefore, after: depAfter }, ...files].filter((f) => f.before !== f.after);
}

interface RollbackFacts {
  readonly deploymentName: string;
  readonly agentName: string;
  readonly chosen: DeploymentRevision;
  readonly current: number;
  readonly agentAt: string;
  /** The restored document pins its version: the agent record was left as it is. */
  readonly pinned: boolean;
  readonly statusBranch: string;
  readonly compiledVersion: string | undefined;
  readonly policy: GateResult;
}

function rollbackMessage(f: RollbackFacts): string {
  const ran = f.chosen.ran === undefined ? `unknown; ${f.statusBranch} records nothing of this Deployment` : f.chosen.ran ? `yes; recorded on ${f.statusBranch}` : `no record on ${f.statusBranch}`;
  return [
    `joch: roll back ${f.deploymentName} to revision ${f.chosen.revision}${f.chosen.version ? ` (${shortVersion(f.chosen.version)})` : ''}`,
    '',
    `Restores Deployment ${f.deploymentName} as of ${f.chosen.commit.slice(0, 12)} ("${oneLine(f.chosen.subject)}")`,
    f.pinned
      ? `pinned to the version compiled from ${f.agentAt.slice(0, 12)}; agent ${f.agentName} is left as it is. The Deployment was at revision ${f.current}.`
      : `and agent ${f.agentName} as of ${f.agentAt.slice(0, 12)}; the Deployment was at revision ${f.current}.`,
    '',
    `Joch-Rollback: Deployment/${f.deploymentName}`,
    `Joch-From-Revision: ${f.current}`,
    `Joch-To-Revision: ${f.chosen.revision}`,
    `Joch-Revision-Commit: ${f.chosen.commit}`,
    `Joch-Revision-Ran: ${ran}`,
    ...(f.chosen.version ? [`Joch-Version: ${f.chosen.version}`] : []),
    ...(f.compiledVersion ? [`Joch-Compiled-Version: ${f.compiledVersion}`] : []),
    gateTrailer(f.policy),
    '',
  ].join('\n');
}
