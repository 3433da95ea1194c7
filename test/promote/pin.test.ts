/**
 * A promoted Deployment runs what was promoted: after `joch promote` pins
 * prod, an edit of the agent on main reaches staging and leaves prod on the
 * promoted manifest, compiled again from the pinned commit of a real Git
 * repository. A pin that cannot be honoured refuses the run at its line.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { cli, type JsonDiagnostic } from '../support/repo.js';
import { commitAll, fleetRepo, git, passGates } from './fixtures.js';

interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  data?: Record<string, string>;
  spec?: {
    template?: { metadata: { annotations: Record<string, string> }; spec: { volumes: { name: string; configMap?: { name: string } }[] } };
  };
  rules?: { resourceNames?: string[] }[];
}

const AGENT = 'support-platform/agents/support-triage.yaml';
const DEPLOYMENTS = 'support-platform/deployments.yaml';
const MANIFEST_HASH = 'joch.dev/manifest-hash';

async function compileObjects(root: string): Promise<{ objects: KubeObject[]; stdout: string; diagnostics: JsonDiagnostic[] }> {
  const r = await cli(['compile', '--stdout', '-o', 'json'], root);
  const diagnostics = (JSON.parse(r.stderr) as { diagnostics: JsonDiagnostic[] }).diagnostics;
  if (r.code !== 0) throw new Error(`compile failed: ${diagnostics.map((d) => `${d.code} ${d.message}`).join('\n')}`);
  const objects = parseAllDocuments(r.stdout).map((d) => d.toJS() as KubeObject);
  return { objects, stdout: r.stdout, diagnostics };
}

function one(objects: readonly KubeObject[], kind: string, name: string): KubeObject {
  const hits = objects.filter((o) => o.kind === kind && o.metadata.name === name);
  if (hits.length !== 1) throw new Error(`${hits.length} ${kind} ${name}: ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return hits[0] as KubeObject;
}

const workload = (objects: readonly KubeObject[], name: string) => objects.find((o) => o.apiVersion === 'apps/v1' && o.kind === 'Deployment' && o.metadata.name === name) as KubeObject;
const manifestVolume = (d: KubeObject) => d.spec?.template?.spec.volumes.find((v) => v.name === 'manifest')?.configMap?.name;
const manifestHash = (d: KubeObject) => d.spec?.template?.metadata.annotations[MANIFEST_HASH];
/** The prod workloads (apps/v1 Deployment, HPA, PDB) with the name of the ConfigMap they mount left out. */
const prodWorkloads = (objects: readonly KubeObject[]) =>
  objects
    .filter((o) => o.metadata.name === 'support-triage-prod' && o.apiVersion !== 'ops.joch.dev/v1alpha1')
    .map((o) => JSON.stringify(o).replace(/"support-triage-manifest(-[0-9a-f]{12})?"/g, '"<manifest>"'));

function lineOf(file: string, needle: string): number {
  const i = readFileSync(file, 'utf8')
    .split('\n')
    .findIndex((l) => l.includes(needle));
  if (i < 0) throw new Error(`${needle} not in ${file}`);
  return i + 1;
}

/** Promotes support-triage from staging to prod through its gates, and merges the promotion. */
async function promoteToProd(root: string): Promise<string> {
  const args = ['promote', 'agent/support-triage', '--from', 'staging', '--to', 'prod', '-o', 'json'];
  const first = JSON.parse((await cli(args, root)).stdout) as { version: string };
  passGates(root, first.version);
  const done = await cli(args, root);
  const json = JSON.parse(done.stdout) as { outcome: string; branch: string; version: string };
  expect([done.code, json.outcome]).toEqual([0, 'written']);
  git(root, ['merge', '-q', '--ff-only', json.branch]);
  return json.version;
}

function editAgent(root: string, from: string, to: string): void {
  const file = path.join(root, AGENT);
  const text = readFileSync(file, 'utf8');
  expect(text).toContain(from);
  writeFileSync(file, text.replace(from, to));
  commitAll(root, `support-triage: ${to}`);
}

describe('a promoted Deployment runs the promoted version', () => {
  it('keeps prod on the promoted manifest after the agent changes on main, while staging moves, byte for byte and deterministically', async () => {
    const root = fleetRepo();
    const version = await promoteToProd(root);
    const before = await compileObjects(root);
    // Right after the promotion HEAD compiles to the pinned version: one shared manifest, as without a pin.
    expect(manifestHash(workload(before.objects, 'support-triage-prod'))).toBe(version);
    expect(manifestVolume(workload(before.objects, 'support-triage-prod'))).toBe('support-triage-manifest');
    expect(before.objects.some((o) => /^support-triage-manifest-/.test(o.metadata.name))).toBe(false);
    expect(before.diagnostics.filter((d) => d.code.startsWith('JOCH72'))).toEqual([]);

    editAgent(root, 'displayName: Support Triage', 'displayName: Support Triage (new tone)');
    const after = await compileObjects(root);
    // Staging runs the agent at HEAD.
    const staging = workload(after.objects, 'support-triage-staging');
    expect(manifestHash(staging)).not.toBe(version);
    expect(manifestVolume(staging)).toBe('support-triage-manifest');
    const shared = one(after.objects, 'ConfigMap', 'support-triage-manifest');
    expect(shared.data?.['manifest.json']).toContain('Support Triage (new tone)');

    // Prod runs the promoted manifest, from its own ConfigMap holding exactly what it ran before the edit.
    const pinnedName = `support-triage-manifest-${version.slice(7, 19)}`;
    const prod = workload(after.objects, 'support-triage-prod');
    expect(manifestHash(prod)).toBe(version);
    expect(manifestVolume(prod)).toBe(pinnedName);
    const pinned = one(after.objects, 'ConfigMap', pinnedName);
    expect(pinned.data).toEqual(one(before.objects, 'ConfigMap', 'support-triage-manifest').data);
    expect(pinned.data?.['manifest.json']).not.toContain('new tone');
    // The prod workloads are unchanged but for the name of the ConfigMap they mount.
    expect(prodWorkloads(after.objects)).toEqual(prodWorkloads(before.objects));
    // The agent's identity may read the pinned manifest.
    expect(one(after.objects, 'Role', 'support-triage').rules?.[0]?.resourceNames).toEqual(['support-triage-manifest', pinnedName]);

    // The run says so, at the pin.
    const note = after.diagnostics.find((d) => d.code === 'JOCH725');
    expect(note?.severity).toBe('info');
    expect(`${note?.file}:${note?.line}`).toBe(`${DEPLOYMENTS}:${lineOf(path.join(root, DEPLOYMENTS), 'joch.dev/version:')}`);
    expect(note?.message).toMatch(new RegExp(`^prod runs version ${version.slice(7, 19)} promoted from staging at [0-9a-f]{12}; the agent at HEAD compiles to ${manifestHash(staging)?.slice(7, 19)}: promote to move it$`));

    // The same commit compiles to the same bytes.
    expect((await compileObjects(root)).stdout).toBe(after.stdout);

    // validate reports the held version too.
    const validate = await cli(['validate', '-o', 'json'], root);
    expect(validate.code).toBe(0);
    const validated = (JSON.parse(validate.stdout) as { diagnostics: JsonDiagnostic[] }).diagnostics;
    expect(validated.filter((d) => d.code === 'JOCH725').map((d) => d.message)).toEqual([note?.message]);

    // Promoting again moves prod to HEAD: one shared manifest again.
    const next = await promoteToProd(root);
    const moved = await compileObjects(root);
    expect(manifestHash(workload(moved.objects, 'support-triage-prod'))).toBe(next);
    expect(manifestVolume(workload(moved.objects, 'support-triage-prod'))).toBe('support-triage-manifest');
    expect(moved.objects.some((o) => /^support-triage-manifest-/.test(o.metadata.name))).toBe(false);
  });

  it('runs the version a rollback restores by its pin alone, while staging keeps the agent at HEAD', async () => {
    const root = fleetRepo();
    const a = await promoteToProd(root);
    const runningA = await compileObjects(root);
    editAgent(root, 'displayName: Support Triage', 'displayName: Support Triage (new tone)');
    const b = await promoteToProd(root);
    expect(b).not.toBe(a);

    // Revisions of prod: 1 as first written, 2 pinned to A, 3 pinned to B.
    const r = await cli(['rollback', 'deployment/support-triage-prod', '--to-version', '2', '-o', 'json'], root);
    const json = JSON.parse(r.stdout) as { outcome: string; branch: string; compiledVersion: string; files: { path: string }[] };
    expect([r.code, json.outcome, json.compiledVersion, json.files.map((f) => f.path)]).toEqual([0, 'written', a, [DEPLOYMENTS]]);
    git(root, ['merge', '-q', '--ff-only', json.branch]);

    const after = await compileObjects(root);
    const prod = workload(after.objects, 'support-triage-prod');
    expect([manifestHash(prod), manifestVolume(prod)]).toEqual([a, `support-triage-manifest-${a.slice(7, 19)}`]);
    expect(one(after.objects, 'ConfigMap', `support-triage-manifest-${a.slice(7, 19)}`).data).toEqual(one(runningA.objects, 'ConfigMap', 'support-triage-manifest').data);
    expect(manifestHash(workload(after.objects, 'support-triage-staging'))).toBe(b);
    expect(after.diagnostics.filter((d) => d.code === 'JOCH725')).toHaveLength(1);
  });

  it('refuses the run when the pinned commit is not in the repository, at the source-revision line, and says how to fix it', async () => {
    const root = fleetRepo();
    await promoteToProd(root);
    editAgent(root, 'displayName: Support Triage', 'displayName: Support Triage (new tone)');
    const file = path.join(root, DEPLOYMENTS);
    writeFileSync(file, readFileSync(file, 'utf8').replace(/joch\.dev\/source-revision: "?[0-9a-f]{40}"?/, `joch.dev/source-revision: "${'0'.repeat(40)}"`));
    commitAll(root, 'a pin whose commit is gone');
    const r = await cli(['compile', '--stdout', '-o', 'json'], root);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    const errors = (JSON.parse(r.stderr) as { diagnostics: JsonDiagnostic[] }).diagnostics.filter((d) => d.severity === 'error');
    expect(errors.map((d) => `${d.code} ${d.file}:${d.line}`)).toEqual([`JOCH726 ${DEPLOYMENTS}:${lineOf(file, 'joch.dev/source-revision:')}`]);
    expect(errors[0]?.message).toContain('000000000000 is not in the repository');
    expect(errors[0]?.hint).toContain('git fetch --unshallow');
    expect(errors[0]?.hint).toContain('promote the agent again');
  });

  it('refuses a pin whose source revision compiles to another version, and a project outside Git', async () => {
    const root = fleetRepo();
    await promoteToProd(root);
    editAgent(root, 'displayName: Support Triage', 'displayName: Support Triage (new tone)');
    const file = path.join(root, DEPLOYMENTS);
    writeFileSync(file, readFileSync(file, 'utf8').replace(/joch\.dev\/version: "?sha256:[0-9a-f]{64}"?/, `joch.dev/version: "sha256:${'a'.repeat(64)}"`));
    commitAll(root, 'a pin naming a version its commit does not compile to');
    const r = await cli(['compile', '--stdout', '-o', 'json'], root);
    expect(r.code).toBe(1);
    const errors = (JSON.parse(r.stderr) as { diagnostics: JsonDiagnostic[] }).diagnostics.filter((d) => d.severity === 'error');
    expect(errors.map((d) => `${d.code} ${d.file}:${d.line}`)).toEqual([`JOCH727 ${DEPLOYMENTS}:${lineOf(file, 'joch.dev/version:')}`]);
    expect(errors[0]?.message).toMatch(/pinned to version aaaaaaaaaaaa, but its source revision [0-9a-f]{12} compiles the agent to [0-9a-f]{12}/);

    // Without the history there is nothing to compile the pinned version from: fail closed.
    rmSync(path.join(root, '.git'), { recursive: true, force: true });
    const outside = await cli(['compile', '--stdout', '-o', 'json'], root);
    expect(outside.code).toBe(1);
    const codes = (JSON.parse(outside.stderr) as { diagnostics: JsonDiagnostic[] }).diagnostics.filter((d) => d.severity === 'error').map((d) => d.code);
    expect(codes).toEqual(['JOCH726']);
  });
});
