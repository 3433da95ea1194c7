/**
 * Placement: each compiled object goes to the clusters its Environment
 * names; joch.yaml `clusters` says how to reach them. Without `clusters`
 * nothing changes: one cluster receives everything, byte for byte as before.
 */
import { cpSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/index.js';
import { placeObjects, renderStream, shareOf, type ClusterShare } from '../../src/compile/index.js';
import { runCompile, type CompileRun } from '../../src/pipeline/compile.js';
import { at, cli, tmpRepo } from '../support/repo.js';
import { applySetId, defaultApplySetParent } from '../../src/model/applyset.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const TWO_CLUSTERS = path.join(ROOT, 'examples/two-clusters');
const FLEET = path.join(ROOT, 'examples/fleet');

/** A copy of an example whose joch.yaml ends with `extra`. */
function copyOf(example: string, extra = ''): string {
  const repo = tmpRepo();
  cpSync(example, repo.root, { recursive: true });
  const config = path.join(repo.root, 'joch.yaml');
  writeFileSync(config, readFileSync(config, 'utf8') + extra);
  return repo.root;
}

async function compiled(root: string): Promise<CompileRun> {
  const run = await runCompile({ paths: [], cwd: root });
  if (!run.output) throw new Error(run.diagnostics.map((d) => `${at(d)} ${d.message}`).join('\n'));
  return run;
}

function place(run: CompileRun) {
  return placeObjects({ resources: run.validation.set.resources, graphs: run.validation.graphs, references: run.validation.validation.references, output: run.output!, config: run.validation.project.config.config });
}

/** `Kind namespace/name` of a share's objects, for the workloads and records tests look at. */
function names(share: ClusterShare | undefined, kinds: readonly string[]): string[] {
  return (share?.objects ?? [])
    .map((o) => o.object)
    .filter((o) => kinds.includes(`${o.apiVersion.split('/')[0]}/${o.kind}`) || kinds.includes(o.kind))
    .map((o) => `${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`)
    .sort();
}

describe('joch.yaml clusters', () => {
  it.each([
    ['a cluster with no way to reach it', 'clusters:\n  prod: {}\n', 'joch.yaml: clusters.prod: give exactly one way to reach the cluster'],
    ['two ways at once', 'clusters:\n  prod:\n    context: a\n    inCluster: true\n', 'joch.yaml: clusters.prod: give exactly one way to reach the cluster'],
    ['a name that is not a DNS label', 'clusters:\n  Prod_EU:\n    context: a\n', 'joch.yaml: clusters.Prod_EU: a cluster name must be a DNS-1123 label'],
    ['an unknown key', 'clusters:\n  prod:\n    context: a\n    token: x\n', 'joch.yaml: clusters.prod: Unrecognized key: "token"'],
    ['a secretRef without a name', 'clusters:\n  prod:\n    secretRef: {namespace: joch-system}\n', 'joch.yaml: clusters.prod.secretRef.name'],
    ['a bad inventory', 'clusters:\n  prod:\n    context: a\n    inventory: just-a-name\n', 'joch.yaml: clusters.prod.inventory: must be NAMESPACE/NAME'],
    ['several clusters and no default', 'clusters:\n  a: {context: a}\n  b: {context: b}\n', 'joch.yaml: clusters: name the cluster that receives what no Environment places'],
    ['a default that is not mapped', 'clusters:\n  a: {context: a}\ndefaultCluster: b\n', 'joch.yaml: defaultCluster: must name a cluster of `clusters`'],
  ])('refuses %s at its line', (_, text, message) => {
    const loaded = parseConfigText(text, 'joch.yaml', '/');
    expect(loaded.findings.map((f) => f.code)).toContain('JOCH001');
    expect(loaded.findings.map((f) => f.message).join('\n')).toContain(message);
    expect(loaded.findings.every((f) => 'path' in f.at)).toBe(true);
  });

  it('accepts each way to reach a cluster, and one cluster needs no default', () => {
    const text = [
      'clusters:',
      '  a: {context: kind-a}',
      '  b: {kubeconfig: ../b.kubeconfig, context: admin, inventory: joch-system/joch-inventory-b}',
      '  c: {inCluster: true}',
      '  d: {secretRef: {namespace: joch-system, name: prod-kubeconfig}}',
      'defaultCluster: a',
      '',
    ].join('\n');
    const loaded = parseConfigText(text, 'joch.yaml', '/');
    expect(loaded.findings).toEqual([]);
    expect(loaded.config.clusters?.d?.secretRef).toEqual({ namespace: 'joch-system', name: 'prod-kubeconfig', key: 'kubeconfig' });
    expect(parseConfigText('clusters:\n  only: {inCluster: true}\n', 'joch.yaml', '/').findings).toEqual([]);
  });
});

describe('placement', () => {
  it('sends each Deployment to its Environment\'s cluster, an agent wherever it runs, and the rest everywhere', async () => {
    const run = await compiled(TWO_CLUSTERS);
    const placement = place(run);
    expect(placement.shares.map((s) => [s.cluster, s.mapped])).toEqual([
      ['prod-eu', true],
      ['staging-eu', true],
    ]);
    const staging = shareOf(placement, 'staging-eu');
    const prod = shareOf(placement, 'prod-eu');
    expect(names(staging, ['apps/Deployment', 'ops.joch.dev/Deployment'])).toEqual(['Deployment support/support-triage-staging', 'Deployment support/support-triage-staging']);
    expect(names(prod, ['apps/Deployment'])).toEqual(['Deployment support/support-digest-prod', 'Deployment support/support-triage-prod']);
    // support-digest runs only in production: its identity and manifest are nowhere else.
    expect(names(staging, ['ServiceAccount', 'ConfigMap', 'Agent'])).toEqual(['Agent support/support-triage', 'ConfigMap support/support-triage-manifest', 'ServiceAccount support/support-triage']);
    expect(names(prod, ['ServiceAccount'])).toEqual(['ServiceAccount support/support-digest', 'ServiceAccount support/support-triage']);
    expect(staging?.agents).toEqual(['Agent/support/support-triage']);
    expect(prod?.manifests.map((m) => m.agent)).toEqual(['Agent/support/support-digest', 'Agent/support/support-triage']);
    // What every cluster receives: the CRDs, namespaces, cluster-wide records, the records agents reference.
    for (const kind of ['CustomResourceDefinition', 'Namespace', 'Environment', 'Model', 'ModelRoute', 'Team', 'ClusterRole']) {
      expect(names(staging, [kind]), kind).toEqual(names(prod, [kind]));
      expect(names(staging, [kind]).length, kind).toBeGreaterThan(0);
    }
    // Every object is placed somewhere, and an object placed twice is the same object.
    const placed = new Set(placement.shares.flatMap((s) => s.objects));
    expect(run.output!.objects.every((o) => placed.has(o))).toBe(true);
  });

  it('keeps the compiler\'s order in each share, so a share renders deterministically', async () => {
    const run = await compiled(TWO_CLUSTERS);
    const share = shareOf(place(run), 'prod-eu')!;
    const order = run.output!.objects;
    const positions = share.objects.map((o) => order.indexOf(o));
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
    expect(renderStream(share.objects)).toBe(renderStream(shareOf(place(await compiled(TWO_CLUSTERS)), 'prod-eu')!.objects));
  });

  it('without clusters: one implicit cluster receives every object and manifest', async () => {
    const run = await compiled(FLEET);
    const placement = place(run);
    expect(placement.multiCluster).toBe(false);
    expect(placement.shares).toHaveLength(1);
    expect(placement.shares[0]?.objects).toBe(run.output!.objects);
    expect(placement.shares[0]?.manifests).toBe(run.output!.manifests);
  });

  it('the example fleet on two mapped clusters: dev is not mapped, an Execution goes to the default cluster', async () => {
    const root = copyOf(FLEET, 'clusters:\n  staging-agent-cluster: {context: staging}\n  prod-agent-cluster: {context: prod}\ndefaultCluster: staging-agent-cluster\n');
    const run = await compiled(root);
    const placement = place(run);
    expect(placement.unmapped).toEqual([{ cluster: 'dev-agent-cluster', environments: ['Environment//dev'] }]);
    expect(placement.shares.map((s) => `${s.cluster}${s.mapped ? '' : ' (not mapped)'}`)).toEqual(['dev-agent-cluster (not mapped)', 'prod-agent-cluster', 'staging-agent-cluster']);
    const workloads = (c: string) => names(shareOf(placement, c), ['apps/Deployment', 'batch/CronJob']);
    expect(workloads('dev-agent-cluster')).toEqual(['Deployment research/market-researcher-dev']);
    expect(workloads('staging-agent-cluster')).toEqual([
      'CronJob finance-ops/billing-reconcile-nightly',
      'Deployment finance-ops/billing-agent-staging',
      'Deployment research/market-researcher-staging',
      'Deployment support-platform/support-triage-staging',
    ]);
    expect(workloads('prod-agent-cluster')).toEqual(['Deployment finance-ops/billing-agent-prod', 'Deployment support-platform/support-escalation-prod', 'Deployment support-platform/support-triage-prod']);
    // The unmapped cluster is a note at the Environment's line, not an error.
    const notes = run.diagnostics.filter((d) => d.code === 'JOCH005');
    expect(notes.map((d) => `${at(d)} ${d.severity}`)).toEqual(['JOCH005 platform/environments.yaml:12:14 info']);
  });
});

describe('an Execution and its agent', () => {
  it('places the agent on the default cluster, wherever its Deployments run', async () => {
    const root = copyOf(FLEET, 'clusters:\n  staging-agent-cluster: {context: staging}\n  prod-agent-cluster: {context: prod}\ndefaultCluster: prod-agent-cluster\n');
    const agentsOn = async (cluster: string) => shareOf(place(await compiled(root)), cluster)?.agents ?? [];
    // market-researcher runs in dev and staging only.
    expect(await agentsOn('prod-agent-cluster')).not.toContain('Agent/research/market-researcher');
    writeFileSync(
      path.join(root, 'research/adhoc-run.yaml'),
      'apiVersion: runtime.joch.dev/v1alpha1\nkind: Execution\nmetadata:\n  name: adhoc-run\n  namespace: research\nspec:\n  agentRef:\n    name: market-researcher\n  trigger:\n    type: manual\n',
    );
    expect(await agentsOn('prod-agent-cluster')).toContain('Agent/research/market-researcher');
  });
});

describe('joch compile with clusters', () => {
  it('--output-dir writes one folder per cluster, each with its share, its manifests and its AgBOMs', async () => {
    const root = copyOf(TWO_CLUSTERS);
    // Outside the repository, which reads every folder under its root.
    const out = tmpRepo().root;
    const r = await cli(['compile', '--output-dir', out], root);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('one folder per cluster (prod-eu, staging-eu)');
    expect(readdirSync(out).sort()).toEqual(['.git', '.joch-compile.json', 'prod-eu', 'staging-eu']);
    expect(readdirSync(path.join(out, 'staging-eu/objects/support/deployment.apps'))).toEqual(['support-triage-staging.yaml']);
    expect(readdirSync(path.join(out, 'prod-eu/objects/support/deployment.apps')).sort()).toEqual(['support-digest-prod.yaml', 'support-triage-prod.yaml']);
    expect(readdirSync(path.join(out, 'staging-eu/agbom/support')).filter((f) => f.endsWith('.cdx.json'))).toEqual(['support-triage.cdx.json']);
    expect(readdirSync(path.join(out, 'prod-eu/agbom/support')).filter((f) => f.endsWith('.cdx.json')).sort()).toEqual(['support-digest.cdx.json', 'support-triage.cdx.json']);
    // Deterministic: a second run rewrites nothing.
    const again = await cli(['compile', '--output-dir', out], root);
    expect(again.stdout).toMatch(/\(0 written, \d+ unchanged, 0 removed\)/);
  });

  it('--cluster selects one share; the stream holds exactly its objects', async () => {
    const root = copyOf(TWO_CLUSTERS);
    const r = await cli(['compile', '--cluster', 'staging-eu', '--stdout'], root);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('name: support-triage-staging');
    expect(r.stdout).not.toContain('-prod\n');
    const run = await compiled(root);
    expect(r.stdout).toBe(renderStream(shareOf(place(run), 'staging-eu')!.objects));
  });

  it("labels a cluster's share with its own inventory's ApplySet id when joch.yaml gives it one", async () => {
    const root = copyOf(TWO_CLUSTERS);
    const config = path.join(root, 'joch.yaml');
    writeFileSync(config, readFileSync(config, 'utf8').replace('    context: kind-joch-prod\n', '    context: kind-joch-prod\n    inventory: joch-system/prod-inventory\n'));
    const partOf = (stream: string) => [...new Set([...stream.matchAll(/applyset\.kubernetes\.io\/part-of: (\S+)/g)].map((m) => m[1]))];
    const prod = await cli(['compile', '--cluster', 'prod-eu', '--stdout'], root);
    const staging = await cli(['compile', '--cluster', 'staging-eu', '--stdout'], root);
    expect(partOf(prod.stdout)).toEqual([applySetId({ name: 'prod-inventory', namespace: 'joch-system', kind: 'Secret', group: '' })]);
    expect(partOf(staging.stdout)).toEqual([applySetId(defaultApplySetParent())]);
  });

  it('--cluster that nothing names, or without clusters, is a usage error', async () => {
    const root = copyOf(TWO_CLUSTERS);
    const r = await cli(['compile', '--cluster', 'nowhere', '--stdout'], root);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--cluster nowhere: no such cluster in joch.yaml clusters (prod-eu, staging-eu) and no Environment names it');
    const fleet = await cli(['compile', '--cluster', 'prod-agent-cluster', '--stdout'], FLEET);
    expect(fleet.code).toBe(2);
    expect(fleet.stderr).toContain('joch.yaml maps no clusters');
  });

  it('without clusters the output is what it was: one folder, no per-cluster level', async () => {
    const out = tmpRepo().root;
    const r = await cli(['compile', '--output-dir', out, '--no-agbom'], FLEET);
    expect(r.code).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['.git', '.joch-compile.json', 'crds', 'manifests', 'objects']);
  });
});
