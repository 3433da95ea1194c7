/** `joch compile` and runCompile: validate and policy first, nothing emitted on an error, the output forms. */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { INDEX_FILE } from '../../src/compile/index.js';
import { runCompile } from '../../src/pipeline/compile.js';
import { cli } from '../support/repo.js';
import { FLEET, ROOT, copyFleet } from './helpers.js';

function outDir(): string {
  const parent = mkdtempSync(path.join(tmpdir(), 'joch-out-'));
  onTestFinished(() => rmSync(parent, { recursive: true, force: true }));
  return path.join(parent, 'out');
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

describe('runCompile', () => {
  it('validates, governs and compiles examples/fleet with the policy stage', async () => {
    const run = await runCompile({ paths: [FLEET], cwd: ROOT });
    expect(run.summary.errors).toBe(0);
    expect(run.refused).toBe(false);
    expect(run.output?.manifests).toHaveLength(4);
    // The policy stage's bundles reach the manifests.
    for (const m of run.output?.manifests ?? []) {
      const policies = m.manifest.spec.policies as { bundleHash: string; resolved: string[] };
      expect(policies.bundleHash).toMatch(/^(sha256:)?[0-9a-f]{64}$/);
      expect(policies.resolved.some((p) => p.startsWith('joch-baseline@'))).toBe(true);
    }
    expect(run.timings.compile).toBeGreaterThan(0);
  });

  it('compiles nothing when validation finds an error', async () => {
    const fleet = copyFleet(FLEET, { 'research/research.yaml': (t) => t.replace('name: research-default\n  tools', 'name: no-such-route\n  tools') });
    const run = await runCompile({ paths: [fleet], cwd: ROOT });
    expect(run.refused).toBe(true);
    expect(run.output).toBeUndefined();
    expect(run.diagnostics.some((d) => d.code === 'JOCH501')).toBe(true);
  });

  it('compiles nothing when policy finds an error', async () => {
    // Without the approver roles, the promotion gates name unknown approvers (JOCH708).
    const fleet = copyFleet(FLEET, { 'joch.yaml': 'defaultNamespace: platform\npaths: [platform, support-platform, research, finance-ops]\n' });
    const run = await runCompile({ paths: [fleet], cwd: ROOT });
    expect(run.refused).toBe(true);
    expect(run.output).toBeUndefined();
    expect(run.diagnostics.some((d) => d.severity === 'error' && /^JOCH[78]/.test(d.code))).toBe(true);
  });

  it('compiles without policy only when asked, and says so', async () => {
    const run = await runCompile({ paths: [FLEET], cwd: ROOT, withoutPolicy: true });
    expect(run.refused).toBe(false);
    expect(run.diagnostics.filter((d) => d.code === 'JOCH910')).toHaveLength(1);
    expect(run.output?.manifests.every((m) => m.manifest.spec.policies === undefined)).toBe(true);
  });
});

describe('joch compile', () => {
  it('writes one file per object and the manifests into DIR, then leaves unchanged files alone', async () => {
    const dir = outDir();
    const first = await cli(['compile', FLEET, '--output-dir', dir], ROOT);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(first.stdout).toMatch(/joch compile: \d+ objects and 4 agent manifests in .* \(\d+ written, 0 unchanged, 0 removed\)/);
    const files = walk(dir).map((f) => path.relative(dir, f));
    expect(files).toContain('objects/support-platform/deployment.apps/support-triage-prod.yaml');
    expect(files).toContain('manifests/finance-ops/billing-agent.yaml');
    expect(files).toContain(INDEX_FILE);
    // Each agent's AgBOM, in every format.
    expect(files).toEqual(expect.arrayContaining(['agbom/finance-ops/billing-agent.cdx.json', 'agbom/finance-ops/billing-agent.spdx.json', 'agbom/finance-ops/billing-agent.swid.xml']));
    const doc = parseAllDocuments(readFileSync(path.join(dir, 'objects/support-platform/deployment.apps/support-triage-prod.yaml'), 'utf8'));
    expect(doc).toHaveLength(1);
    expect(doc[0]?.toJS()).toMatchObject({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'support-triage-prod' } });

    const second = await cli(['compile', FLEET, '--output-dir', dir], ROOT);
    expect(second.stdout).toMatch(/\(0 written, \d+ unchanged, 0 removed\)/);
    const single = await cli(['compile', FLEET, '--output-dir', dir, '--single-file'], ROOT);
    expect(single.code).toBe(0);
    expect(existsSync(path.join(dir, 'objects.yaml'))).toBe(true);
    // The per-object files this tool wrote before are gone; nothing else is touched.
    expect(existsSync(path.join(dir, 'objects/support-platform/deployment.apps/support-triage-prod.yaml'))).toBe(false);
    expect(existsSync(path.join(dir, 'manifests/finance-ops/billing-agent.yaml'))).toBe(true);
    const bare = outDir();
    expect((await cli(['compile', FLEET, '--output-dir', bare, '--no-agbom'], ROOT)).code).toBe(0);
    expect(existsSync(path.join(bare, 'agbom'))).toBe(false);
  });

  it('streams a multi-document YAML on stdout, diagnostics on stderr', async () => {
    const r = await cli(['compile', FLEET, '--stdout'], ROOT);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/OK 0 errors/);
    const docs = parseAllDocuments(r.stdout);
    expect(docs.every((d) => d.errors.length === 0)).toBe(true);
    const objects = docs.map((d) => d.toJS() as { kind: string; apiVersion: string });
    expect(objects[0]?.kind).toBe('CustomResourceDefinition');
    expect(objects.filter((o) => o.kind === 'CustomResourceDefinition')).toHaveLength(25);
    expect(objects.some((o) => o.kind === 'Deployment' && o.apiVersion === 'apps/v1')).toBe(true);
    const crdsOnly = await cli(['compile', FLEET, '--stdout', '--crds', 'only'], ROOT);
    expect(parseAllDocuments(crdsOnly.stdout)).toHaveLength(25);
  });

  it('writes nothing and exits 1 when a stage finds an error', async () => {
    const fleet = copyFleet(FLEET, { 'research/research.yaml': (t) => t.replace('name: research-default\n  tools', 'name: no-such-route\n  tools') });
    const dir = outDir();
    const r = await cli(['compile', fleet, '--output-dir', dir], ROOT);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('JOCH501');
    expect(r.stdout).toContain('nothing was emitted');
    expect(existsSync(dir)).toBe(false);
    const s = await cli(['compile', fleet, '--stdout'], ROOT);
    expect(s.code).toBe(1);
    expect(s.stdout).toBe('');
  });

  it('exits 2 on a usage error', async () => {
    expect((await cli(['compile', FLEET], ROOT)).code).toBe(2);
    expect((await cli(['compile', FLEET, '--output-dir', 'x', '--stdout'], ROOT)).code).toBe(2);
    expect((await cli(['compile', FLEET, '--stdout', '--crds', 'some'], ROOT)).code).toBe(2);
    expect((await cli(['compile', FLEET, '--stdout'], ROOT, { env: { SOURCE_DATE_EPOCH: 'yesterday' } })).code).toBe(2);
  });

  it('writes the commit time from SOURCE_DATE_EPOCH on the manifests when the source is not Git', async () => {
    const dir = outDir();
    const r = await cli(['compile', FLEET, '--output-dir', dir], ROOT, { env: { SOURCE_DATE_EPOCH: '1700000000' } });
    expect(r.code).toBe(0);
    expect(readFileSync(path.join(dir, 'manifests/finance-ops/billing-agent.yaml'), 'utf8')).toContain('joch.dev/source-commit-time: "2023-11-14T22:13:20.000Z"');
  });
});
