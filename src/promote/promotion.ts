/**
 * `joch promote`: the agent's version (its compiled hash at the base commit)
 * moved to another Environment's Deployment, if every release gate passes:
 * it runs upstream, its Evals pass on that version, it is approved, and the
 * target Environment's policies allow it there.
 */
import { finding, sortDiagnostics, type Diagnostic, type Finding } from '../diagnostics/index.js';
import type { Resource } from '../model/resource.js';
import { evalGateSources, evalResultsPath, judgeApprovalGate, judgeEvalGate } from './gates.js';
import { documentIndex, documentText, editDocument, appendDocument, deploymentForTarget, setAnnotations, ANNOTATION } from './records.js';
import { findFiles } from './git.js';
import {
  commitChange,
  DEFAULT_STATUS_BRANCH,
  deploymentIn,
  deploymentsOf,
  fileText,
  findAgent,
  gateTrailer,
  isRecord,
  NOT_CHECKED,
  openProject,
  deploymentStatus,
  policyGate,
  refName,
  repositoryErrors,
  requireEnvironment,
  rerun,
  resolveAt,
  RUNNING_PHASES,
  shortVersion,
  statusCommit,
  statusFile,
  versionAt,
  versionOf,
  diagnosticTexts,
  type Project,
} from './project.js';
import { PromoteUsageError, type FileChange, type GateResult, type PromoteInput, type PromotionResult } from './types.js';

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
    return { agent: asked, deployment: '', base: project.base, from: input.from, to: input.to, created: false, files: [], message: '', branch: undefined, commit: undefined, tree: undefined, outcome: 'refused', version: undefined, gates: [], diagnostics: repoErrors, texts: diagnosticTexts(project) };
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

  const workerImage = isRecord(source.spec.runtime) && typeof source.spec.runtime.workerImage === 'string' ? source.spec.runtime.workerImage : undefined;
  if (target && alreadyThere(target, version, workerImage)) {
    return { ...empty, ...nothing, outcome: 'unchanged', version, gates: [], diagnostics: [], texts: new Map() };
  }
  const statusBranch = input.statusBranch ?? DEFAULT_STATUS_BRANCH;
  const { gates, findings: gateFindings } = await releaseGates(project, { statusBranch, source, target, agent, to: input.to, version });

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
    return { ...empty, ...nothing, files, outcome: 'refused', version, gates, diagnostics: sortDiagnostics(diagnostics), texts: diagnosticTexts(project, after) };
  }
  const message = promotionMessage({ agentName, from: input.from, to: input.to, version, workerImage, base: project.base, deployment: `${source.namespace}/${targetName}`, created: !target, gates });
  const branch = input.branch ?? `joch/promote/${agent.name}-${input.to}-${shortVersion(version)}`;
  const written = await commitChange(project, input, branch, files, message);
  return { ...empty, ...written, files, message, version, gates, diagnostics: sortDiagnostics(diagnostics), texts: diagnosticTexts(project, after) };
}

/** The target pins this version and runs the same worker image: a promotion would change nothing that runs. */
function alreadyThere(target: Resource, version: string, workerImage: string | undefined): boolean {
  const image = isRecord(target.spec.runtime) ? target.spec.runtime.workerImage : undefined;
  return target.annotations[ANNOTATION.version] === version && image === workerImage;
}

interface GateContext {
  readonly statusBranch: string;
  readonly source: Resource;
  readonly target: Resource | undefined;
  readonly agent: Resource;
  readonly to: string;
  readonly version: string;
}

/** The gates judged at the base commit: the version runs upstream, its Evals pass, it is approved. */
async function releaseGates(project: Project, c: GateContext): Promise<{ gates: GateResult[]; findings: Finding[] }> {
  const tip = await statusCommit(project.repo, c.statusBranch);
  const judged: { gate: GateResult; finding?: Finding }[] = [await runningGate(project, tip, c.statusBranch, c.source, c.agent, c.version)];
  for (const src of evalGateSources(project.run.set.resources, c.agent, c.to, c.target)) {
    judged.push(judgeEvalGate(src, c.version, await statusFile(project.repo, tip, evalResultsPath(src.eval)), c.statusBranch));
  }
  const approver = c.target && isRecord(c.target.spec.promotion) ? c.target.spec.promotion.requiresApproval : undefined;
  if (c.target && typeof approver === 'string') judged.push(judgeApprovalGate(project.run.set.resources, c.agent, c.target, c.to, c.version, approver));
  return { gates: judged.map((j) => j.gate), findings: judged.flatMap((j) => (j.finding ? [j.finding] : [])) };
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
    const entry = deploymentStatus((await statusFile(project.repo, tip, file)) ?? '', deployment);
    if (entry) out.push({ file, ...entry });
  }
  return out;
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
  readonly workerImage: string | undefined;
  readonly base: string;
  readonly deployment: string;
  readonly created: boolean;
  readonly gates: readonly GateResult[];
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
    ...(f.workerImage ? [`Joch-Worker-Image: ${f.workerImage}`] : []),
    `Joch-Source-Revision: ${f.base}`,
    ...f.gates.map(gateTrailer),
    '',
  ].join('\n');
}

