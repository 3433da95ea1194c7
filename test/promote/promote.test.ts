/**
 * `joch promote` and `joch rollback` on real Git repositories (made with the
 * git binary): the commit a promotion writes, each release gate refusing at
 * its file and line, the target Environment's policy, and a rollback from
 * the repository's history.
 */
import { cpSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { cli, type JsonDiagnostic } from '../support/repo.js';
import { commitAll, commitOnBranch, FLEET, fleetRepo, git, passGates } from './fixtures.js';

interface Json {
  outcome: string;
  version: string;
  branch?: string;
  commit?: string;
  tree?: string;
  created: boolean;
  gates: { kind: string; name: string; passed: boolean; evidence: string }[];
  diagnostics: JsonDiagnostic[];
  files: { path: string }[];
  revisions?: { revision: number; commit: string; version?: string; ran?: boolean }[];
  compiledVersion?: string;
}

async function joch(root: string, args: string[]): Promise<{ code: number; json: Json; stdout: string }> {
  const r = await cli([...args, '-o', 'json'], root);
  if (r.code === 2) throw new Error(`usage error: ${r.stderr}`);
  return { code: r.code, json: JSON.parse(r.stdout) as Json, stdout: r.stdout };
}

const promoteTriage = (root: string, extra: string[] = []) => joch(root, ['promote', 'agent/support-triage', '--from', 'staging', '--to', 'prod', ...extra]);

function lineOf(file: string, needle: string): number {
  const lines = readFileSync(file, 'utf8').split('\n');
  const i = lines.findIndex((l) => l.includes(needle));
  if (i < 0) throw new Error(`${needle} not in ${file}`);
  return i + 1;
}

/** Records passing scores for the version on joch/status and commits an Approval record for it. */

function trailers(root: string, rev: string): Record<string, string[]> {
  const parsed = git(root, ['interpret-trailers', '--parse'], git(root, ['log', '-1', '--format=%B', rev]));
  const out: Record<string, string[]> = {};
  for (const line of parsed.split('\n')) {
    const at = line.indexOf(': ');
    (out[line.slice(0, at)] ??= []).push(line.slice(at + 2));
  }
  return out;
}

function deploymentDoc(text: string, name: string): Record<string, unknown> {
  const doc = parseAllDocuments(text)
    .map((d) => d.toJS() as { metadata: { name: string } })
    .find((d) => d.metadata.name === name);
  if (!doc) throw new Error(`no ${name}`);
  return doc as unknown as Record<string, unknown>;
}

describe('joch promote', () => {
  it('refuses when the Eval has no result and no Approval exists, naming each gate at its file and line, and writes nothing', async () => {
    const root = fleetRepo();
    const head = git(root, ['rev-parse', 'HEAD']);
    const { code, json } = await promoteTriage(root);
    expect(code).toBe(1);
    expect(json.outcome).toBe('refused');
    const file = path.join(root, 'support-platform/deployments.yaml');
    const places = json.diagnostics.map((d) => `${d.code} ${d.file}:${d.line}`);
    expect(places).toEqual([
      `JOCH720 support-platform/deployments.yaml:${lineOf(file, 'requiresEval: support-triage-quality')}`,
      `JOCH722 support-platform/deployments.yaml:${lineOf(file, 'requiresApproval: release-manager')}`,
    ]);
    expect(json.diagnostics[0]?.message).toContain('support-platform/support-triage-quality');
    expect(json.gates.find((g) => g.kind === 'policy')?.passed).toBe(true);
    expect(git(root, ['branch', '--list', 'joch/promote/*'])).toBe('');
    expect(git(root, ['rev-parse', 'HEAD'])).toBe(head);

    // As text: each refusal with its code frame, then the verdict per gate.
    const text = await cli(['promote', 'agent/support-triage', '--from', 'staging', '--to', 'prod', '--no-color'], root);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain(`support-platform/deployments.yaml:${lineOf(file, 'requiresEval:')}`);
    expect(text.stdout).toMatch(/\|\s+requiresEval: support-triage-quality/);
    expect(text.stdout).toContain('refused: promote support-platform/support-triage from staging to prod');
    expect(text.stdout).toContain('FAIL approval release-manager: no Approval record');
  });

  it('refuses a recorded result that fails a threshold, pointing at the gate and the threshold', async () => {
    const root = fleetRepo();
    const { json: first } = await promoteTriage(root);
    passGates(root, first.version, 'task_success: 0.70\n      cost_per_case: 0.22\n      pii_leakage: 0.0');
    const { code, json } = await promoteTriage(root);
    expect(code).toBe(1);
    const failing = json.diagnostics.find((d) => d.code === 'JOCH721');
    expect(failing?.message).toContain('task_success 0.7 fails >= 0.85');
    expect(failing?.line).toBe(lineOf(path.join(root, 'support-platform/deployments.yaml'), 'requiresEval:'));
    expect(failing?.related?.map((r) => `${r.file}:${r.line}`)).toEqual([`support-platform/operations.yaml:${lineOf(path.join(root, 'support-platform/operations.yaml'), 'task_success: 0.85')}`]);
    // The approval is for this version, so only the Eval gate fails.
    expect(json.diagnostics.map((d) => d.code)).toEqual(['JOCH721']);
  });

  it('writes the promotion as one commit on a new branch, with the gates as trailers, leaving the working tree alone', async () => {
    const root = fleetRepo();
    // Staging runs a newer worker image: it moves to prod with the agent.
    const deployments = path.join(root, 'support-platform/deployments.yaml');
    const original = readFileSync(deployments, 'utf8');
    const stagingEnd = original.indexOf('---');
    writeFileSync(deployments, original.slice(0, stagingEnd).replace('joch-worker:1.0.0', 'joch-worker:1.1.0') + original.slice(stagingEnd));
    commitAll(root, 'staging: worker 1.1.0');
    const { json: first } = await promoteTriage(root);
    const version = first.version;
    expect(version).toMatch(/^sha256:[0-9a-f]{64}$/);
    passGates(root, version);
    const head = git(root, ['rev-parse', 'HEAD']);
    const before = readFileSync(path.join(root, 'support-platform/deployments.yaml'), 'utf8');

    const { code, json } = await promoteTriage(root);
    expect(json.diagnostics).toEqual([]);
    expect(code).toBe(0);
    expect(json.outcome).toBe('written');
    expect(json.branch).toBe(`joch/promote/support-triage-prod-${version.slice(7, 19)}`);
    expect(json.gates.map((g) => `${g.kind} ${g.name} ${g.passed}`)).toEqual(['running staging true', 'eval support-platform/support-triage-quality true', 'approval release-manager true', 'policy prod true']);

    // The user's checkout did not move.
    expect(git(root, ['rev-parse', 'HEAD'])).toBe(head);
    expect(git(root, ['status', '--porcelain'])).toBe('');
    expect(git(root, ['fsck', '--no-progress'])).toBe('');

    const branch = json.branch as string;
    expect(git(root, ['rev-parse', `${branch}^`])).toBe(head);
    expect(git(root, ['diff', '--name-only', head, branch])).toBe('support-platform/deployments.yaml');
    const after = git(root, ['show', `${branch}:support-platform/deployments.yaml`]) + '\n';
    const prod = deploymentDoc(after, 'support-triage-prod') as { metadata: { annotations: Record<string, string> }; spec: unknown };
    expect(prod.metadata.annotations).toEqual({ 'joch.dev/version': version, 'joch.dev/promoted-from': 'staging', 'joch.dev/source-revision': head });
    const prodBefore = deploymentDoc(before, 'support-triage-prod') as { spec: { runtime: Record<string, unknown> } };
    expect(prodBefore.spec.runtime.workerImage).toBe('ghcr.io/peasantsai/joch-worker:1.0.0');
    expect(prod.spec).toEqual({ ...prodBefore.spec, runtime: { ...prodBefore.spec.runtime, workerImage: 'ghcr.io/peasantsai/joch-worker:1.1.0' } });
    // Only the target document changed: the staging one keeps its bytes.
    expect(after.slice(0, stagingEnd)).toBe(before.slice(0, stagingEnd));

    const t = trailers(root, branch);
    expect(t['Joch-Promote']).toEqual(['Agent/support-platform/support-triage']);
    expect(t['Joch-From']).toEqual(['staging']);
    expect(t['Joch-To']).toEqual(['prod']);
    expect(t['Joch-Version']).toEqual([version]);
    expect(t['Joch-Source-Revision']).toEqual([head]);
    expect(t['Joch-Worker-Image']).toEqual(['ghcr.io/peasantsai/joch-worker:1.1.0']);
    expect(t['Joch-Gate-Eval']?.[0]).toMatch(/^support-platform\/support-triage-quality passed; passed: cost_per_case 0.22 meets < 0.4, pii_leakage 0 meets >= 0, task_success 0.91 meets >= 0.85$/);
    expect(t['Joch-Gate-Approval']?.[0]).toMatch(/^release-manager passed; Approval support-platform\/promote-support-triage-prod-/);
    expect(t['Joch-Gate-Policy']?.[0]).toMatch(/^prod passed; allowed: baseline \+ .*platform\/prod-guardrails@/);
    // No sync loop wrote status here: the upstream check says it did not run.
    expect(t['Joch-Gate-Running']).toEqual(['staging not checked; joch/status has no status of Deployment support-platform/support-triage-staging']);

    // The branch compiles the agent to the promoted version, and a second run refuses to overwrite it.
    const again = await joch(root, ['promote', 'agent/support-triage', '--from', 'staging', '--to', 'prod', '--base', branch, '--dry-run', '--branch', 'check']);
    expect(again.json.version).toBe(version);
    const clash = await cli(['promote', 'agent/support-triage', '--from', 'staging', '--to', 'prod'], root);
    expect(clash.code).toBe(2);
    expect(clash.stderr).toContain(`branch ${branch} exists`);
    // Once merged, promoting the same version again changes nothing.
    git(root, ['merge', '-q', '--ff-only', branch]);
    const same = await promoteTriage(root);
    expect([same.code, same.json.outcome, same.json.branch]).toEqual([0, 'unchanged', undefined]);
  });

  it('is deterministic: the same repository and gates give the same tree, whatever the time', async () => {
    const root = fleetRepo();
    const { json: first } = await promoteTriage(root);
    passGates(root, first.version);
    const a = await promoteTriage(root, ['--dry-run']);
    const b = await promoteTriage(root, ['--branch', 'promote-a']);
    expect(a.json.outcome).toBe('planned');
    expect(a.json.tree).toBe(b.json.tree);
    expect(git(root, ['rev-parse', 'promote-a^{tree}'])).toBe(a.json.tree);
    expect(git(root, ['branch', '--list', 'joch/promote/*'])).toBe('');
    // With SOURCE_DATE_EPOCH the commit itself is reproducible.
    const args = ['promote', 'agent/support-triage', '--from', 'staging', '--to', 'prod', '--branch', 'promote-b', '--force', '-o', 'json'];
    const env = { SOURCE_DATE_EPOCH: '1767225600' };
    const c1 = JSON.parse((await cli(args, root, { env })).stdout) as Json;
    const c2 = JSON.parse((await cli(args, root, { env })).stdout) as Json;
    expect(c1.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(c2.commit).toBe(c1.commit);
    expect(git(root, ['log', '-1', '--format=%at', 'promote-b'])).toBe('1767225600');
  });

  it("evaluates the target Environment's policies: an agent prod's guardrails deny is refused, with the denial located", async () => {
    const root = fleetRepo();
    // market-researcher runs in staging on a Gemini-first route; prod's guardrails deny Google models.
    const { code, json } = await joch(root, ['promote', 'agent/research/market-researcher', '--from', 'staging', '--to', 'prod']);
    expect(code).toBe(1);
    expect(json.created).toBe(true);
    const policy = json.gates.find((g) => g.kind === 'policy');
    expect(policy?.passed).toBe(false);
    const denial = json.diagnostics.find((d) => d.code === 'JOCH811' && d.message.includes('prod-guardrails'));
    expect(denial, JSON.stringify(json.diagnostics.map((d) => `${d.code} ${d.file}:${d.line} ${d.message}`), null, 1)).toBeDefined();
    expect(json.diagnostics.some((d) => d.code === 'JOCH723' && d.file === 'research/research.yaml')).toBe(true);
    expect(git(root, ['branch', '--list', 'joch/promote/*'])).toBe('');
  });

  it('creates the target Deployment when the agent has none there, without the source gates', async () => {
    const root = fleetRepo();
    // Without the Google guardrail, the same promotion goes through and adds a Deployment.
    const policies = path.join(root, 'platform/policies.yaml');
    writeFileSync(policies, readFileSync(policies, 'utf8').replace('model.provider: google', 'model.provider: nobody-uses-this'));
    commitAll(root, 'relax prod guardrails');
    const { code, json } = await joch(root, ['promote', 'agent/research/market-researcher', '--from', 'staging', '--to', 'prod']);
    expect(json.diagnostics.map((d) => `${d.code} ${d.file}:${d.line} ${d.message}`)).toEqual([]);
    expect(code).toBe(0);
    expect(json.created).toBe(true);
    const text = git(root, ['show', `${json.branch as string}:research/research.yaml`]);
    const created = deploymentDoc(text, 'market-researcher-prod') as { spec: { environmentRef: unknown; promotion?: unknown }; metadata: { annotations: Record<string, string> } };
    expect(created.spec.environmentRef).toEqual({ name: 'prod' });
    expect(created.metadata.annotations['joch.dev/version']).toBe(json.version);
  });

  it('prints the diff with --dry-run and, once written, the commands to push and open a pull request', async () => {
    const root = fleetRepo();
    const { json: first } = await promoteTriage(root);
    passGates(root, first.version);
    const dry = await cli(['promote', 'agent/support-triage', '--from', 'staging', '--to', 'prod', '--dry-run'], root);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('would write: promote support-platform/support-triage from staging to prod');
    expect(dry.stdout).toContain('--- a/support-platform/deployments.yaml');
    expect(dry.stdout).toContain(`+    joch.dev/version: ${first.version}`);
    expect(git(root, ['branch', '--list', 'joch/promote/*'])).toBe('');
    const done = await cli(['promote', 'agent/support-triage', '--from', 'staging', '--to', 'prod'], root);
    expect(done.code).toBe(0);
    const branch = `joch/promote/support-triage-prod-${first.version.slice(7, 19)}`;
    expect(done.stdout).toContain(`git push origin ${branch}`);
    expect(git(root, ['branch', '--list', 'joch/promote/*'])).toBe(branch);
  });

  it('works on a project in a folder of a larger repository, changing only files under it', async () => {
    const root = realpathSync(mkdtempSync(path.join(tmpdir(), 'joch-promote-')));
    onTestFinished(() => rmSync(root, { recursive: true, force: true }));
    cpSync(FLEET, path.join(root, 'agents/fleet'), { recursive: true });
    writeFileSync(path.join(root, 'README.md'), 'other things\n');
    git(root, ['init', '-q', '-b', 'main']);
    commitAll(root, 'monorepo');
    const project = path.join(root, 'agents/fleet');
    const r = await cli(['promote', 'agent/research/market-researcher', '--from', 'dev', '--to', 'staging', '-o', 'json', '--branch', 'p'], project);
    const json = JSON.parse(r.stdout) as Json;
    expect(json.diagnostics).toEqual([]);
    expect(r.code).toBe(0);
    expect(git(root, ['diff', '--name-only', 'main', 'p'])).toBe('agents/fleet/research/research.yaml');
  });

  it('checks on the status branch that the version runs in the source Environment: failed there or another version refuses', async () => {
    const root = fleetRepo();
    const first = git(root, ['rev-parse', 'HEAD']);
    const agentFile = path.join(root, 'support-platform/agents/support-triage.yaml');
    writeFileSync(agentFile, readFileSync(agentFile, 'utf8').replace('displayName: Support Triage', 'displayName: Support Triage v2'));
    commitAll(root, 'support-triage v2');
    const version = (await promoteTriage(root)).json.version;
    passGates(root, version);
    const head = git(root, ['rev-parse', 'HEAD']);
    const status = (phase: string, revision: string) =>
      commitOnBranch(root, 'joch/status', { 'resources/support-platform.yaml': `Deployment/support-triage-staging:\n  file: support-platform/deployments.yaml\n  phase: ${phase}\n  sourceRevision: ${revision}\n` });
    const deployments = path.join(root, 'support-platform/deployments.yaml');
    const stagingEnv = `support-platform/deployments.yaml:${lineOf(deployments, 'name: staging')}`;

    status('Failed', head);
    let r = await promoteTriage(root, ['--dry-run']);
    expect(r.code).toBe(1);
    expect(r.json.diagnostics.map((d) => `${d.code} ${d.file}:${d.line}`)).toEqual([`JOCH724 ${stagingEnv}`]);
    expect(r.json.diagnostics[0]?.message).toContain('resources/support-platform.yaml: phase Failed');

    // Staging still runs the version compiled from the first commit.
    status('Ready', first);
    r = await promoteTriage(root, ['--dry-run']);
    expect(r.code).toBe(1);
    const ran = /runs version (sha256:[0-9a-f]{64}) \(from ([0-9a-f]{12})\)/.exec(r.json.diagnostics[0]?.message ?? '');
    expect(ran?.[2]).toBe(first.slice(0, 12));
    expect(ran?.[1]).not.toBe(version);

    status('Ready', head);
    r = await promoteTriage(root, ['--dry-run']);
    expect(r.json.diagnostics).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.json.gates[0]).toEqual({ kind: 'running', name: 'staging', passed: true, evidence: `runs in staging: resources/support-platform.yaml Ready at ${head.slice(0, 12)}` });
  });

  it('judges the latest result recorded for the version: a failed re-run blocks a version that passed before', async () => {
    const root = fleetRepo();
    const { json: first } = await promoteTriage(root);
    passGates(root, first.version);
    expect((await promoteTriage(root, ['--dry-run'])).code).toBe(0);
    const entry = (success: number) => `  - version: ${first.version}\n    scores: {task_success: ${success}, cost_per_case: 0.2, pii_leakage: 0}\n`;
    commitOnBranch(root, 'joch/status', { 'evals/support-platform/support-triage-quality.yaml': `results:\n${entry(0.9)}${entry(0.6)}` });
    const { code, json } = await promoteTriage(root, ['--dry-run']);
    expect(code).toBe(1);
    expect(json.diagnostics.map((d) => d.code)).toEqual(['JOCH721']);
    expect(json.diagnostics[0]?.message).toContain('task_success 0.6 fails >= 0.85');
  });
});

describe('joch rollback', () => {
  it('restores a prior revision of the Deployment, whose pin runs the version it ran, from the history', async () => {
    const root = fleetRepo();
    // Revision 1: the Deployment as first written. Revision 2: version A promoted.
    const a = (await promoteTriage(root)).json.version;
    passGates(root, a);
    const pa = await promoteTriage(root);
    git(root, ['merge', '-q', '--ff-only', pa.json.branch as string]);
    const runningA = git(root, ['rev-parse', 'HEAD']);
    const prodStatus = (revision: string) =>
      commitOnBranch(root, 'joch/status', { 'resources/support-platform.yaml': `Deployment/support-triage-prod:\n  phase: Ready\n  sourceRevision: ${revision}\n` });
    prodStatus(runningA);
    const agentFile = path.join(root, 'support-platform/agents/support-triage.yaml');
    const agentA = readFileSync(agentFile, 'utf8');
    // A change to the agent, then revision 3: version B promoted.
    writeFileSync(agentFile, agentA.replace('displayName: Support Triage', 'displayName: Support Triage v2'));
    commitAll(root, 'support-triage v2');
    const b = (await promoteTriage(root)).json.version;
    expect(b).not.toBe(a);
    passGates(root, b);
    const pb = await promoteTriage(root);
    expect(pb.code).toBe(0);
    git(root, ['merge', '-q', '--ff-only', pb.json.branch as string]);
    const head = git(root, ['rev-parse', 'HEAD']);
    prodStatus(head);

    const { code, json } = await joch(root, ['rollback', 'deployment/support-triage-prod', '--to-version', '2']);
    expect(code).toBe(0);
    // The status branch's history says which revisions ran: the first was never applied by the loop.
    expect(json.revisions?.map((r) => [r.revision, r.version, r.ran])).toEqual([
      [1, undefined, false],
      [2, a, true],
      [3, b, true],
    ]);
    expect(json.compiledVersion).toBe(a);
    expect(json.branch).toBe('joch/rollback/support-triage-prod-r2');
    // The restored document pins version A: the pin alone runs it, and the agent record (staging's) stays at B.
    expect(git(root, ['diff', '--name-only', head, json.branch as string]).split('\n')).toEqual(['support-platform/deployments.yaml']);
    expect(git(root, ['show', `${json.branch as string}:support-platform/agents/support-triage.yaml`]) + '\n').not.toBe(agentA);
    const restored = deploymentDoc(git(root, ['show', `${json.branch as string}:support-platform/deployments.yaml`]), 'support-triage-prod') as { metadata: { annotations: Record<string, string> } };
    expect(restored.metadata.annotations['joch.dev/version']).toBe(a);
    const t = trailers(root, json.branch as string);
    expect(t['Joch-Rollback']).toEqual(['Deployment/support-platform/support-triage-prod']);
    expect(t['Joch-From-Revision']).toEqual(['3']);
    expect(t['Joch-To-Revision']).toEqual(['2']);
    expect(t['Joch-Version']).toEqual([a]);
    expect(t['Joch-Compiled-Version']).toEqual([a]);
    expect(t['Joch-Revision-Ran']).toEqual(['yes; recorded on joch/status']);
    expect(git(root, ['status', '--porcelain'])).toBe('');

    const bad = await cli(['rollback', 'deployment/support-triage-prod', '--to-version', '7'], root);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(`has revisions 1 to 3 (1: ${git(root, ['rev-list', '--max-parents=0', 'HEAD']).slice(0, 12)}, 2: `);
    expect(bad.stderr).toContain(`version ${b.slice(7, 19)})`);
  });

  it('says there is nothing to change when the revision restored is what the repository has now', async () => {
    const root = fleetRepo();
    const deployments = path.join(root, 'support-platform/deployments.yaml');
    const original = readFileSync(deployments, 'utf8');
    writeFileSync(deployments, original.replace('replicas: 3', 'replicas: 4'));
    commitAll(root, 'prod: 4 replicas');
    writeFileSync(deployments, original);
    commitAll(root, 'prod: 3 replicas again');
    const { code, json } = await joch(root, ['rollback', 'agent/support-triage', '--env', 'prod', '--to-version', '1']);
    expect(json.revisions?.map((r) => r.revision)).toEqual([1, 2, 3]);
    expect([code, json.outcome, json.files]).toEqual([0, 'unchanged', []]);
    expect(git(root, ['branch', '--list', 'joch/rollback/*'])).toBe('');
  });
});
