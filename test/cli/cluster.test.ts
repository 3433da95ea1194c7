/**
 * `joch diff` and `joch apply` as a user runs them, against a real
 * kube-apiserver: the example fleet compiled, planned, applied to an empty
 * cluster with no preparation, re-planned; Joch custom resources get their
 * status with the commit applied, objects the commit that last changed them;
 * a refused run changes nothing; a repository with errors is never sent to
 * the cluster.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ApiextensionsV1Api, AppsV1Api, CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import { describeCluster } from '../cluster/require-cluster.js';

const FLEET = new URL('../../examples/fleet/', import.meta.url).pathname;

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function joch(argv: string[], cwd: string): Promise<Run> {
  let stdout = '';
  let stderr = '';
  // CI='' keeps the progress lines that CI runs print off stderr, which these tests read.
  const code = await runCli(argv, { cwd, env: { ...process.env, NO_COLOR: '1', CI: '' }, stdout: (s) => (stdout += s), stderr: (s) => (stderr += s), isTTY: false });
  return { code, stdout, stderr };
}

const GIT_ENV = { ...process.env, GIT_AUTHOR_NAME: 'Test', GIT_AUTHOR_EMAIL: 'test@example.com', GIT_COMMITTER_NAME: 'Test', GIT_COMMITTER_EMAIL: 'test@example.com' };

function gitIn(repo: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd: repo, env: GIT_ENV, encoding: 'utf8' }).trim();
}

function commitAll(repo: string, message: string): string {
  gitIn(repo, 'add', '-A');
  gitIn(repo, 'commit', '-q', '-m', message);
  return gitIn(repo, 'rev-parse', 'HEAD');
}

interface AgentStatus {
  status?: { phase?: string; compiledHash?: string; sourceRevision?: string; conditions?: { type: string; status: string; reason?: string }[] };
  metadata?: { resourceVersion?: string };
}

function readAgent(kc: KubeConfig, namespace: string, name: string): Promise<AgentStatus> {
  return kc
    .makeApiClient(CustomObjectsApi)
    .getNamespacedCustomObject({ group: 'joch.dev', version: 'v1alpha1', namespace, plural: 'agents', name }) as Promise<AgentStatus>;
}

interface Listed {
  metadata?: { namespace?: string; name?: string; resourceVersion?: string };
  status?: AgentStatus['status'];
}

/** The API server answers 429 while a resource's storage (re)initializes: ask again, as it says. */
async function retryBusy<T>(read: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await read();
    } catch (err) {
      if (attempt >= 20 || (err as { code?: number }).code !== 429) throw err;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

/** Every custom resource of the Joch groups, by resource (`plural.group`). */
async function jochCustomResources(kc: KubeConfig): Promise<Map<string, Listed[]>> {
  const crds = await kc.makeApiClient(ApiextensionsV1Api).listCustomResourceDefinition();
  const custom = kc.makeApiClient(CustomObjectsApi);
  const out = new Map<string, Listed[]>();
  for (const crd of crds.items) {
    const { group, names, versions } = crd.spec;
    if (group !== 'joch.dev' && !group.endsWith('.joch.dev')) continue;
    const list = (await retryBusy(() => custom.listClusterCustomObject({ group, version: versions[0]?.name ?? 'v1alpha1', plural: names.plural }))) as { items: Listed[] };
    out.set(`${names.plural}.${group}`, list.items);
  }
  return out;
}

/** resourceVersion of every object of a few kinds the fleet compiles to, by kind/namespace/name. */
async function resourceVersions(kc: KubeConfig): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const add = (kind: string, items: { metadata?: { namespace?: string; name?: string; resourceVersion?: string } }[]) => {
    for (const i of items) out.set(`${kind}/${i.metadata?.namespace ?? ''}/${i.metadata?.name ?? ''}`, i.metadata?.resourceVersion ?? '');
  };
  const core = kc.makeApiClient(CoreV1Api);
  add('ConfigMap', (await core.listConfigMapForAllNamespaces()).items);
  add('Secret', (await core.listSecretForAllNamespaces()).items);
  add('Namespace', (await core.listNamespace()).items);
  add('Deployment', (await kc.makeApiClient(AppsV1Api).listDeploymentForAllNamespaces()).items);
  for (const [plural, items] of await jochCustomResources(kc)) add(plural, items);
  return out;
}

describeCluster(
  'joch diff and joch apply',
  (cluster) => {
    let repo: string;
    let first: string;
    const kc = () => ['--kubeconfig', cluster().kubeconfigPath];

    beforeAll(() => {
      repo = mkdtempSync(path.join(tmpdir(), 'joch-cli-cluster-'));
      cpSync(FLEET, repo, { recursive: true });
      gitIn(repo, 'init', '-q', '-b', 'main');
      first = commitAll(repo, 'fleet');
    });
    afterAll(() => rmSync(repo, { recursive: true, force: true }));

    it('diff on an empty cluster lists every object to create, the inventory namespace first, and exits 1', async () => {
      const r = await joch(['diff', '.', ...kc()], repo);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/^\+ v1 Namespace joch-system \[create\] {2}\(holds the ApplySet parent\)$/m);
      expect(r.stdout).toMatch(/\+ apiextensions\.k8s\.io\/v1 CustomResourceDefinition agents\.joch\.dev/);
      expect(r.stdout).toMatch(/\+ joch\.dev\/v1alpha1 Agent support-platform\/support-triage/);
    });

    it('the first apply to an empty cluster succeeds with no preparation; statuses carry the commit; diff then exits 0', async () => {
      const applied = await joch(['apply', '.', ...kc()], repo);
      expect(applied.stderr).toBe('');
      expect(applied.code).toBe(0);
      expect(applied.stdout).toContain('v1 Namespace joch-system: created (holds the ApplySet parent)');
      const ns = await cluster().kubeconfig.makeApiClient(CoreV1Api).readNamespace({ name: 'joch-system' });
      expect(ns.metadata?.labels?.['app.kubernetes.io/managed-by']).toBe('joch');

      const agent = await readAgent(cluster().kubeconfig, 'support-platform', 'support-triage');
      expect(agent.status?.phase).toBeDefined();
      expect(agent.status?.compiledHash).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(agent.status?.sourceRevision).toBe(first);
      expect(agent.status?.conditions).toContainEqual(expect.objectContaining({ type: 'Applied', status: 'True' }));
      const cm = await cluster().kubeconfig.makeApiClient(CoreV1Api).listConfigMapForAllNamespaces({ labelSelector: 'app.kubernetes.io/managed-by=joch' });
      expect(cm.items.length).toBeGreaterThan(0);
      for (const item of cm.items) expect(item.metadata?.annotations?.['joch.dev/source-commit']).toBe(first);

      const again = await joch(['diff', '.', ...kc(), '--format', 'json'], repo);
      expect(again.code).toBe(0);
      const plan = JSON.parse(again.stdout) as { summary: { create: number; update: number; delete: number; unchanged: number } };
      expect(plan.summary).toMatchObject({ create: 0, update: 0, delete: 0 });
      expect(plan.summary.unchanged).toBeGreaterThan(100);
    });

    it('shows a change to one agent as an update of its objects', async () => {
      const file = path.join(repo, 'support-platform/agents/support-escalation.yaml');
      const before = readFileSync(file, 'utf8');
      writeFileSync(file, before.replace('image: ghcr.io/example/support-escalation:2.1.0', 'image: ghcr.io/example/support-escalation:2.2.0'));
      try {
        const r = await joch(['diff', '.', ...kc()], repo);
        expect(r.code).toBe(1);
        expect(r.stdout).toMatch(/~ apps\/v1 Deployment support-platform\/support-escalation-prod/);
        expect(r.stdout).toContain('support-escalation:2.2.0');
        expect(r.stdout).not.toMatch(/^\+ /m);
      } finally {
        writeFileSync(file, before);
      }
    });

    it('a new commit rewrites only the objects it changed, each annotated with it; the others keep their commit and resourceVersion', async () => {
      const kcfg = cluster().kubeconfig;
      const file = path.join(repo, 'support-platform/agents/support-escalation.yaml');
      const before = readFileSync(file, 'utf8');
      writeFileSync(file, before.replace('image: ghcr.io/example/support-escalation:2.1.0', 'image: ghcr.io/example/support-escalation:2.3.0'));
      const second = commitAll(repo, 'escalation 2.3.0');
      const versions = await resourceVersions(kcfg);
      const apply = await joch(['apply', '.', ...kc()], repo);
      expect(apply.stderr).toBe('');
      expect(apply.code).toBe(0);
      const apps = kcfg.makeApiClient(AppsV1Api);
      const changed = await apps.readNamespacedDeployment({ name: 'support-escalation-prod', namespace: 'support-platform' });
      expect(changed.metadata?.annotations?.['joch.dev/source-commit']).toBe(second);
      const untouched = await apps.readNamespacedDeployment({ name: 'support-triage-prod', namespace: 'support-platform' });
      expect(untouched.metadata?.annotations?.['joch.dev/source-commit']).toBe(first);
      expect(untouched.metadata?.resourceVersion).toBe(versions.get('Deployment/support-platform/support-triage-prod'));
      // A no-op apply of the same commit changes nothing at all.
      const again = await resourceVersions(kcfg);
      const noop = await joch(['apply', '.', ...kc()], repo);
      expect(noop.code).toBe(0);
      expect(await resourceVersions(kcfg)).toEqual(again);
      expect((await readAgent(kcfg, 'support-platform', 'support-escalation')).status?.sourceRevision).toBe(second);
    });

    it('records an uncommitted working tree as the commit plus -dirty', async () => {
      const file = path.join(repo, 'support-platform/agents/support-escalation.yaml');
      const before = readFileSync(file, 'utf8');
      const head = gitIn(repo, 'rev-parse', 'HEAD');
      writeFileSync(file, before.replace('image: ghcr.io/example/support-escalation:2.3.0', 'image: ghcr.io/example/support-escalation:2.4.0'));
      try {
        const apply = await joch(['apply', '.', ...kc()], repo);
        expect(apply.code).toBe(0);
        expect((await readAgent(cluster().kubeconfig, 'support-platform', 'support-escalation')).status?.sourceRevision).toBe(`${head}-dirty`);
        const dep = await cluster().kubeconfig.makeApiClient(AppsV1Api).readNamespacedDeployment({ name: 'support-escalation-prod', namespace: 'support-platform' });
        expect(dep.metadata?.annotations?.['joch.dev/source-commit']).toBe(`${head}-dirty`);
      } finally {
        writeFileSync(file, before);
      }
      const clean = await joch(['apply', '.', ...kc()], repo);
      expect(clean.code).toBe(0);
      expect((await readAgent(cluster().kubeconfig, 'support-platform', 'support-escalation')).status?.sourceRevision).toBe(head);
    });

    it('a refused run (the prune guard) changes no resourceVersion, says so once, and leaves an Event on the inventory', async () => {
      const kcfg = cluster().kubeconfig;
      const file = path.join(repo, 'research/egress-policy.yaml');
      const moved = path.join(path.dirname(repo), `${path.basename(repo)}-egress-policy.yaml`);
      const before = await resourceVersions(kcfg);
      renameSync(file, moved);
      try {
        const r = await joch(['apply', '.', ...kc(), '--max-prune-share', '0.001'], repo);
        expect(r.code).toBe(1);
        expect(r.stdout).toContain('refused: nothing was written to the cluster');
        expect(r.stderr).toMatch(/\[prune-guard\]/);
        expect(r.stderr.match(/\[prune-guard\]/g)).toHaveLength(1);
        expect(await resourceVersions(kcfg)).toEqual(before);
        const events = await kcfg.makeApiClient(CoreV1Api).listNamespacedEvent({ namespace: 'joch-system', fieldSelector: 'reason=ApplyRefused' });
        expect(events.items).toContainEqual(
          expect.objectContaining({ involvedObject: expect.objectContaining({ kind: 'Secret', name: 'joch-inventory' }), message: expect.stringMatching(/^apply refused, nothing written/) }),
        );
      } finally {
        renameSync(moved, file);
      }
    });

    it('--wait succeeds once every Deployment is available, and reports nothing as failed while it waits', async () => {
      const kcfg = cluster().kubeconfig;
      const apps = kcfg.makeApiClient(AppsV1Api);
      // No controller runs in this suite: play the deployment controller and kubelet for every Deployment.
      const deployments = (await apps.listDeploymentForAllNamespaces({ labelSelector: 'app.kubernetes.io/managed-by=joch' })).items;
      expect(deployments.length).toBeGreaterThan(0);
      const waiting = joch(['apply', '.', ...kc(), '--wait', '60s'], repo);
      for (const d of deployments) {
        const name = d.metadata?.name as string;
        const namespace = d.metadata?.namespace as string;
        const live = await apps.readNamespacedDeploymentStatus({ name, namespace });
        const replicas = live.spec?.replicas ?? 1;
        live.status = { observedGeneration: live.metadata?.generation ?? 1, replicas, updatedReplicas: replicas, readyReplicas: replicas, availableReplicas: replicas };
        await apps.replaceNamespacedDeploymentStatus({ name, namespace, body: live });
      }
      const r = await waiting;
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const agent = await readAgent(kcfg, 'support-platform', 'support-triage');
      expect(agent.status?.phase).toBe('Ready');
      expect(agent.status?.conditions).toContainEqual(expect.objectContaining({ type: 'Healthy', status: 'True' }));
    });

    it('--wait that times out names what is not ready, once, and marks nothing Failed', async () => {
      const kcfg = cluster().kubeconfig;
      const apps = kcfg.makeApiClient(AppsV1Api);
      const live = await apps.readNamespacedDeploymentStatus({ name: 'support-triage-prod', namespace: 'support-platform' });
      live.status = { observedGeneration: live.metadata?.generation ?? 1, replicas: 2, updatedReplicas: 2, readyReplicas: 0, availableReplicas: 0 };
      await apps.replaceNamespacedDeploymentStatus({ name: 'support-triage-prod', namespace: 'support-platform', body: live });
      const r = await joch(['apply', '.', ...kc(), '--wait', '2s'], repo);
      expect(r.code).toBe(1);
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/Deployment support-platform\/support-triage-prod: not healthy after 2000 ms: 0 of \d+ replicas available/);
      // The resource the Deployment came from is Progressing (applied, not yet healthy); nothing is Failed.
      const statuses = [...(await jochCustomResources(kcfg)).values()].flat().map((o) => o.status);
      expect(statuses.filter((st) => st?.phase === 'Failed')).toEqual([]);
      const progressing = statuses.filter((st) => st?.phase === 'Progressing');
      expect(progressing).toHaveLength(1);
      expect(progressing[0]?.conditions).toContainEqual(expect.objectContaining({ type: 'Applied', status: 'True' }));
      expect(progressing[0]?.conditions).toContainEqual(expect.objectContaining({ type: 'Healthy', status: 'Unknown', reason: 'InProgress' }));
    });

    it('sends nothing when the repository has errors, and says where they are', async () => {
      const file = path.join(repo, 'support-platform/agents/support-triage.yaml');
      const before = readFileSync(file, 'utf8');
      writeFileSync(file, before.replace('- name: zendesk.search', '- name: zendesk.serch'));
      try {
        const diff = await joch(['diff', '.', ...kc()], repo);
        expect(diff.code).toBe(2);
        const apply = await joch(['apply', '.', ...kc()], repo);
        expect(apply.code).toBe(1);
        expect(apply.stderr).toContain('support-platform/agents/support-triage.yaml:');
        expect(apply.stderr).toContain('JOCH501');
        expect(apply.stderr).toContain('nothing was sent to the cluster');
      } finally {
        writeFileSync(file, before);
      }
    });

    it('get lists the custom resources in the cluster, and -o name and -o json read them too', async () => {
      const table = await joch(['get', 'agents', '-A', ...kc()], repo);
      expect(table.stderr).toBe('');
      expect(table.code).toBe(0);
      expect(table.stdout.split('\n')[0]).toMatch(/^NAMESPACE\s+NAME\s+SOURCE$/);
      expect(table.stdout).toMatch(/^support-platform\s+support-triage\s+https:\/\/127\.0\.0\.1:\d+$/m);
      const names = await joch(['get', 'agent', '-n', 'support-platform', '-o', 'name', ...kc()], repo);
      expect(names.stdout.split('\n')).toContain('agent/support-triage');
      expect(names.stdout).not.toMatch(/research/);
      const one = await joch(['get', 'jagent', 'support-triage', '-n', 'support-platform', '-o', 'json', ...kc()], repo);
      const body = JSON.parse(one.stdout) as { kind: string; metadata: { name: string }; status?: { conditions?: unknown[] } };
      expect(body.kind).toBe('Agent');
      expect(body.metadata.name).toBe('support-triage');
      // The cluster's copy, with the status apply wrote: not the repository's document.
      expect(body.status?.conditions?.length).toBeGreaterThan(0);
    });

    it('describe shows the custom resource in the cluster with the status apply wrote', async () => {
      const r = await joch(['describe', 'agent/support-triage', '-n', 'support-platform', ...kc()], repo);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^Name:\s+support-triage\nNamespace:\s+support-platform\nKind:\s+Agent\n/);
      expect(r.stdout).toMatch(/^Source:\s+https:\/\/127\.0\.0\.1:\d+$/m);
      expect(r.stdout).toMatch(/^Status:\n( {2}.*\n)* {2}compiledHash: sha256:[0-9a-f]{64}$/m);
      const missing = await joch(['describe', 'agent/nobody', '-n', 'support-platform', ...kc()], repo);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toMatch(/^joch describe: Agent "nobody" not found in the cluster in namespace support-platform;/);
    });

    it('version prints the server version given a cluster', async () => {
      const r = await joch(['version', '-o', 'json', ...kc()], repo);
      expect(r.code).toBe(0);
      const v = JSON.parse(r.stdout) as { client: { version: string }; server: { version: string } };
      expect(v.server.version).toMatch(/^v1\.\d+\.\d+/);
    });
  },
  { testTimeoutMs: 120_000 },
);

it('joch diff with a kubeconfig that does not exist is a usage error', async () => {
  const r = await joch(['diff', FLEET, '--kubeconfig', path.join(tmpdir(), 'joch-no-such-kubeconfig')], process.cwd());
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/^joch diff: no such kubeconfig: .*joch-no-such-kubeconfig; see `joch diff --help`\n$/);
});
