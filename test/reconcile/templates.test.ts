/**
 * templates/ on a real API server: every install manifest is accepted; the
 * ServiceAccount they create can run the loop (apply a fleet, take the
 * Lease, record Events) and cannot do what the loop does not need. Then two
 * replicas running as that ServiceAccount: one leads and applies, the other
 * waits; when the leader is killed, the other takes over and applies.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ApiException, CoordinationV1Api, CoreV1Api, KubernetesObjectApi, PatchStrategy, type KubernetesObject } from '@kubernetes/client-node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { describeCluster } from '../cluster/require-cluster.js';
import { startGitHttpServer, type GitHttpServer } from '../support/git-http-server.js';
import { getObject } from './support/cluster.js';
import { bumpAgent, eventually, fleetRepo } from './support/fleet.js';
import { kill, spawnJoch, type JochProcess } from './support/process.js';

const TEMPLATES = path.resolve(import.meta.dirname, '../../templates');
let root: string;
let git: GitHttpServer;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'joch-sync-install-'));
  git = await startGitHttpServer({ root });
});

afterAll(async () => {
  await git?.close();
  await rm(root, { recursive: true, force: true });
});

function templates(): KubernetesObject[] {
  const docs = readdirSync(TEMPLATES)
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) => parseAllDocuments(readFileSync(path.join(TEMPLATES, f), 'utf8')).map((d) => d.toJS() as KubernetesObject));
  // Namespaces first, as kubectl apply -f does when told the order.
  return docs.sort((a, b) => Number(b.kind === 'Namespace') - Number(a.kind === 'Namespace'));
}

async function forbidden(call: () => Promise<unknown>): Promise<boolean> {
  try {
    await call();
    return false;
  } catch (e) {
    return e instanceof ApiException && e.code === 403;
  }
}

describeCluster(
  'install templates',
  (cluster) => {
    it('apply cleanly, and grant the ServiceAccount what the loop needs and not more', async () => {
      const admin = KubernetesObjectApi.makeApiClient(cluster().kubeconfig);
      const objects = templates();
      expect(new Set(objects.map((o) => o.kind))).toEqual(
        new Set(['Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding', 'ConfigMap', 'Deployment', 'Service', 'NetworkPolicy']),
      );
      for (const o of objects) {
        await admin.patch(o, undefined, undefined, 'joch-install', true, PatchStrategy.ServerSideApply);
      }
      for (const o of objects) expect(await getObject(cluster().kubeconfig, o.apiVersion as string, o.kind as string, o.metadata?.namespace, o.metadata?.name as string)).toBeDefined();

      const sa = await cluster().serviceAccountIdentity('joch-system', 'joch-sync');
      const core = sa.kubeconfig.makeApiClient(CoreV1Api);
      expect(await forbidden(() => core.listPodForAllNamespaces())).toBe(true);
      expect(await forbidden(() => core.listNode())).toBe(true);
      expect(await forbidden(() => core.createNamespacedPod({ namespace: 'joch-system', body: { metadata: { name: 'x' }, spec: { containers: [{ name: 'x', image: 'x' }] } } }))).toBe(true);
      expect(await forbidden(() => sa.kubeconfig.makeApiClient(CoordinationV1Api).listNamespacedLease({ namespace: 'kube-system' }))).toBe(true);
    });

    it('two replicas as that ServiceAccount: one leads and applies, the other takes over when it is killed', async () => {
      const sa = await cluster().serviceAccountIdentity('joch-system', 'joch-sync');
      const { repo } = await fleetRepo(root, 'leader.git', 2);
      const replica = (id: string): JochProcess =>
        spawnJoch([
          'sync',
          '--repo', git.url(repo.name),
          '--kubeconfig', sa.kubeconfigPath,
          '--leader-elect', '--lease-duration', '3s', '--lease-namespace', 'joch-system',
          '--identity', id,
          '--interval', '300ms',
          '--cache-dir', path.join(root, `cache-${id}`),
        ]);
      const a = replica('replica-a');
      const b = replica('replica-b');
      const all = [a, b];
      try {
        const leader = await eventually('a leader', () => all.find((p) => p.saw('became the leader')), 60_000);
        const follower = leader === a ? b : a;
        await eventually('the leader to apply', () => leader.saw('applied') || undefined, 60_000);
        const leases = cluster().kubeconfig.makeApiClient(CoordinationV1Api);
        const lease = () => leases.readNamespacedLease({ name: 'joch-sync', namespace: 'joch-system' });
        expect((await lease()).spec?.holderIdentity).toBe(leader === a ? 'replica-a' : 'replica-b');
        // Several renewals go by: the follower never leads, never applies.
        const renewals = new Set<string>();
        await eventually('three renewals', async () => {
          renewals.add(String((await lease()).spec?.renewTime));
          return renewals.size >= 3 || undefined;
        }, 30_000);
        expect(follower.saw('became the leader')).toBe(false);
        expect(follower.saw('applied')).toBe(false);

        await kill(leader, 'SIGKILL');
        const killedAt = Date.now();
        const next = await bumpAgent(repo, 1, '8.0.0');
        await eventually('the follower to lead and apply the new commit', async () => {
          const agent = await getObject(cluster().kubeconfig, 'joch.dev/v1alpha1', 'Agent', 'team-000', 'agent-00001');
          return (agent?.spec as { framework?: { image?: string } } | undefined)?.framework?.image?.endsWith(':8.0.0') || undefined;
        }, 60_000);
        const took = follower.lines.find((l) => l.msg === 'became the leader');
        expect(took?.seenAt).toBeGreaterThan(killedAt);
        // The custom resource changes during the apply; the log line comes when the apply returns.
        const applied = await eventually('the follower to log its apply', () => follower.lines.find((l) => String(l.msg).startsWith('applied')), 30_000);
        expect(applied.seenAt).toBeGreaterThan(killedAt);
        expect((await lease()).spec).toMatchObject({ holderIdentity: follower === a ? 'replica-a' : 'replica-b', leaseTransitions: 1 });
        expect(next).toMatch(/^[0-9a-f]{40}$/);

        // A graceful stop gives the Lease up at once.
        follower.child.kill('SIGTERM');
        expect((await follower.exited).code).toBe(0);
        expect((await lease()).spec?.holderIdentity).toBeUndefined();
      } finally {
        for (const p of all) await kill(p);
      }
    }, 90_000);
  },
  { testTimeoutMs: 90_000 },
);
