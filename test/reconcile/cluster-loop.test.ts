/**
 * The whole loop against the real Git server and the real API server: a
 * commit to an agent is applied, its status lands on the status branch and
 * on the custom resource, drift made by hand is put back with an Event, a
 * bad commit is refused with the last good revision kept; a no-op cycle
 * makes no write call; and the API server going away mid-apply leaves
 * nothing that the next cycle does not converge (no orphan, no duplicate).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CoreV1Api, KubernetesObjectApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { parse } from 'yaml';
import { applySetId, defaultApplySetParent } from '../../src/model/applyset.js';
import { ClusterTarget, type ObjectChange } from '../../src/reconcile/index.js';
import { describeCluster } from '../cluster/require-cluster.js';
import { startGitHttpServer, type GitHttpServer } from '../support/git-http-server.js';
import { ensureNamespace, getObject, kubeconfigVia, liveMembers, serverPort, type Obj } from './support/cluster.js';
import { agentFile, agentFiles, branchLog, bumpAgent, desiredNames, eventually, fleetRepo, show, syncRuntime as startRuntime } from './support/fleet.js';
import { startProxy } from './support/proxy.js';

let root: string;
let git: GitHttpServer;
let n = 0;
const ID = applySetId(defaultApplySetParent());

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'joch-sync-cluster-'));
  git = await startGitHttpServer({ root });
});

/** Every runtime a test made is shut down after it: each watches the ApplySet's members once it applied. */
const runtimes: Awaited<ReturnType<typeof startRuntime>>[] = [];
async function syncRuntime(...args: Parameters<typeof startRuntime>): ReturnType<typeof startRuntime> {
  const runtime = await startRuntime(...args);
  runtimes.push(runtime);
  return runtime;
}

afterEach(async () => {
  for (const r of runtimes.splice(0)) await r.shutdown(5_000);
});

afterAll(async () => {
  await git?.close();
  await rm(root, { recursive: true, force: true });
});

/** `Kind ns/name` of each changed object. */
function changed(changes: readonly ObjectChange[] | undefined): string[] {
  return (changes ?? []).map((c) => `${c.ref.kind} ${c.ref.namespace ?? ''}/${c.ref.name}`).sort();
}

async function events(kc: KubeConfig, namespace: string, name: string): Promise<string[]> {
  const list = await kc.makeApiClient(CoreV1Api).listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${name}` });
  return list.items.map((e) => `${e.reason}: ${e.message}`);
}

describeCluster(
  'joch sync against a real API server',
  (cluster) => {
    it('applies a commit to an agent, writes status to Git and to the resource, corrects drift, refuses a bad commit', async () => {
      const kc = cluster().kubeconfig;
      await ensureNamespace(kc, 'joch-system');
      const { repo, commit: first } = await fleetRepo(root, `done-${++n}.git`, 2);
      const sync = await syncRuntime(
        { repo: git.url(repo.name), 'cache-dir': path.join(root, `cache-${n}`), kubeconfig: cluster().kubeconfigPath, interval: '1h', 'drift-interval': '5m' },
        root,
      );

      const r1 = await sync.reconciler.runCycle();
      expect(r1, JSON.stringify(r1.errors)).toMatchObject({ result: 'applied', revision: first });
      const agent = await getObject(kc, 'joch.dev/v1alpha1', 'Agent', 'team-000', 'agent-00001');
      expect(agent?.spec).toMatchObject({ framework: { image: 'ghcr.io/example/agent-00001:1.1.0' } });

      // Commit a change to an agent: applied, status on the branch and on the custom resource, an Event.
      const second = await bumpAgent(repo, 1, '5.0.0');
      const r2 = await sync.reconciler.runCycle();
      expect(r2).toMatchObject({ result: 'applied', revision: second });
      expect(r2.changed).toBeGreaterThan(0);
      expect(changed(r2.changes).every((c) => c.includes('agent-00001'))).toBe(true); // only what the agent change touches
      const changedAgent = await getObject(kc, 'joch.dev/v1alpha1', 'Agent', 'team-000', 'agent-00001');
      expect(changedAgent?.spec).toMatchObject({ framework: { image: 'ghcr.io/example/agent-00001:5.0.0' } });
      expect(changedAgent?.status).toMatchObject({ sourceRevision: second, compiledHash: expect.stringMatching(/^sha256:/), agbomRef: 'agbom/team-000/agent-00001/2.cdx.json' });
      expect(await events(kc, 'team-000', 'agent-00001')).toEqual(expect.arrayContaining([expect.stringMatching(/^Applied: applied revision/)]));
      const summary = parse(await show(repo, 'joch/status:summary.yaml')) as Record<string, unknown>;
      expect(summary).toMatchObject({ phase: 'Progressing', lastApplied: { revision: second } }); // no kubelet here: Deployments never become available
      const statuses = parse(await show(repo, 'joch/status:resources/team-000.yaml')) as Record<string, Record<string, unknown>>;
      expect(statuses['Agent/agent-00001']).toMatchObject({ sourceRevision: second, conditions: [{ type: 'Applied', status: 'True' }, { type: 'Healthy' }] });

      // A no-op cycle: one Git ref listing, no pipeline, no API call.
      const noop = await sync.reconciler.runCycle();
      expect(noop).toMatchObject({ result: 'unchanged', ranPipeline: false });
      expect(noop.counters).toBeUndefined();

      // Drift by hand: a field of the custom resource edited, a ConfigMap deleted.
      const objects = KubernetesObjectApi.makeApiClient(kc);
      await objects.patch(
        { apiVersion: 'joch.dev/v1alpha1', kind: 'Agent', metadata: { name: 'agent-00001', namespace: 'team-000' }, spec: { displayName: 'edited by hand' } },
        undefined,
        undefined,
        'kubectl-edit',
        undefined,
        PatchStrategy.MergePatch,
      );
      const cms = await kc.makeApiClient(CoreV1Api).listNamespacedConfigMap({ namespace: 'team-000', labelSelector: `applyset.kubernetes.io/part-of=${ID}` });
      const victim = cms.items[0]?.metadata?.name as string;
      await kc.makeApiClient(CoreV1Api).deleteNamespacedConfigMap({ name: victim, namespace: 'team-000' });
      // The member watch sees both at once: the next cycle is a drift check, long before the drift interval.
      await eventually('the member watch to report both', () => (sync.target instanceof ClusterTarget && sync.target.reportedCount === 2) || undefined);
      expect(sync.reconciler.driftPending).toBe(true);
      const drift = await sync.reconciler.runCycle();
      expect(drift).toMatchObject({ result: 'drift-checked', drifted: 2 });
      expect(changed(drift.changes)).toEqual(['Agent team-000/agent-00001', `ConfigMap team-000/${victim}`].sort());
      // Only the two reported members were read: no listing of the ApplySet.
      expect(drift.counters).toMatchObject({ lists: 0 });
      expect((await getObject(kc, 'joch.dev/v1alpha1', 'Agent', 'team-000', 'agent-00001'))?.spec?.displayName).toBe('Agent 1');
      expect(await getObject(kc, 'v1', 'ConfigMap', 'team-000', victim)).toBeDefined();
      expect(await events(kc, 'team-000', 'agent-00001')).toEqual(expect.arrayContaining([expect.stringMatching(/^DriftCorrected: put back/)]));
      expect(sync.logs.lines.filter((l) => String(l.msg).startsWith('drift corrected:')).map((l) => l.object)).toEqual(
        expect.arrayContaining(['Agent team-000/agent-00001', `ConfigMap team-000/${victim}`]),
      );
      // A drift check that finds nothing writes nothing.
      sync.clock.advance(5 * 60_000);
      const clean = await sync.reconciler.runCycle();
      expect(clean.result).toBe('drift-checked');
      expect(changed(clean.changes)).toEqual([]);
      expect(clean.counters).toMatchObject({ writes: 0, deletes: 0 });

      // A bad commit: refused, every error reported, the cluster keeps the last good revision.
      await repo.write({ [agentFile(1)]: (await show(repo, `${second}:${agentFile(1)}`)).replace('agent-00001:5.0.0', 'agent-00001:6.0.0').replace('tokenLimitPerRun: 200000', 'tokenLimitPerRun: lots') });
      const bad = await repo.commit('bad agent');
      await repo.push('HEAD:refs/heads/main');
      const r3 = await sync.reconciler.runCycle();
      expect(r3).toMatchObject({ result: 'refused', revision: bad });
      expect(r3.errors[0]).toMatchObject({ file: agentFile(1), line: expect.any(Number) });
      expect((await getObject(kc, 'joch.dev/v1alpha1', 'Agent', 'team-000', 'agent-00001'))?.spec).toMatchObject({ framework: { image: 'ghcr.io/example/agent-00001:5.0.0' } });
      expect(parse(await show(repo, 'joch/status:summary.yaml'))).toMatchObject({ phase: 'Refused', observedRevision: bad, lastApplied: { revision: second } });
      expect((await branchLog(repo, 'joch/status')).every((c) => c.subject.endsWith('[skip ci]'))).toBe(true);
      const metrics = await sync.metrics.text();
      expect(metrics).toMatch(/joch_objects_drift_corrected_total 2/);
      expect(metrics).toMatch(new RegExp(`joch_last_successful_revision_info\\{revision="${second}"\\} 1`));
    }, 90_000);

    it('a hand edit is reverted within seconds by the running loop, with the drift interval an hour away', async () => {
      const kc = cluster().kubeconfig;
      await ensureNamespace(kc, 'joch-system');
      const { repo } = await fleetRepo(root, `watch-${++n}.git`, 2);
      const sync = await syncRuntime(
        { repo: git.url(repo.name), 'cache-dir': path.join(root, `cache-${n}`), kubeconfig: cluster().kubeconfigPath, interval: '1h', 'drift-interval': '1h' },
        root,
      );
      await sync.start();
      await eventually('the first apply', () => (sync.reconciler.appliedRevision ? true : undefined), 60_000);
      const watch = await eventually('the member watch', () => (sync.target instanceof ClusterTarget ? sync.target.memberWatch : undefined), 60_000);
      // An edit before the watches are open is found by the drift interval, not in seconds.
      await watch.established();
      const core = kc.makeApiClient(CoreV1Api);
      const cms = await core.listNamespacedConfigMap({ namespace: 'team-000', labelSelector: `applyset.kubernetes.io/part-of=${ID}` });
      const cm = cms.items[0];
      const name = cm?.metadata?.name as string;
      const before = cm?.data;
      const key = Object.keys(before ?? {})[0] as string;
      await core.patchNamespacedConfigMap({ name, namespace: 'team-000', body: { data: { [key]: 'edited by hand' } }, fieldManager: 'kubectl-edit' }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
      await eventually('the edit to be reverted', async () => {
        const live = await core.readNamespacedConfigMap({ name, namespace: 'team-000' });
        return JSON.stringify(live.data) === JSON.stringify(before) || undefined;
      }, 20_000);
      // The loop logs the correction once its apply has returned, a moment after the write itself.
      const corrected = () => sync.logs.lines.some((l) => String(l.msg).startsWith('drift corrected:') && l.object === `ConfigMap team-000/${name}`);
      await eventually('the correction to be logged', () => corrected() || undefined, 20_000).catch(() => undefined);
      expect(corrected()).toBe(true);
    }, 90_000);

    it('going back to the last good revision after a failed apply applies it; it is not reported as drift', async () => {
      const kc = cluster().kubeconfig;
      await ensureNamespace(kc, 'joch-system');
      const { repo, commit: good } = await fleetRepo(root, `back-${++n}.git`, 2);
      const sync = await syncRuntime(
        { repo: git.url(repo.name), 'cache-dir': path.join(root, `cache-${n}`), kubeconfig: cluster().kubeconfigPath, interval: '1h', 'drift-interval': '1h', 'backoff-initial': '10ms' },
        root,
      );
      expect((await sync.reconciler.runCycle()).result).toBe('applied');

      // A new agent whose name another ApplySet already holds: the apply fails on ownership.
      const existing = await getObject(kc, 'joch.dev/v1alpha1', 'Agent', 'team-000', 'agent-00001');
      await KubernetesObjectApi.makeApiClient(kc).create({
        apiVersion: 'joch.dev/v1alpha1',
        kind: 'Agent',
        metadata: { name: 'agent-00077', namespace: 'team-000', labels: { 'applyset.kubernetes.io/part-of': 'applyset-someone-else-v1' } },
        spec: existing?.spec,
      } as Obj);
      const text = await show(repo, `${good}:${agentFile(1)}`);
      // Without agent 1's tools and memory, which allow agent 1 only.
      const agent77 = text
        .replace('name: agent-00001', 'name: agent-00077')
        .replace(/ {2}tools:\n( {4}- name: .*\n)+/, '')
        .replace(/ {2}memories:\n {4}working:\n {6}name: .*\n/, '');
      await repo.write({ 'team-000/agents/agent-00077.yaml': agent77 });
      await repo.commit('add agent 77');
      await repo.push('HEAD:refs/heads/main');
      const failed = await sync.reconciler.runCycle();
      expect(failed.result, JSON.stringify(failed.errors)).toBe('failed');
      expect(failed.errors.some((e) => e.code === 'cluster/ownership')).toBe(true);

      await repo.git(['reset', '-q', '--hard', good]);
      await repo.push('HEAD:refs/heads/main', true);
      const back = await sync.reconciler.runCycle();
      expect(back).toMatchObject({ result: 'applied', revision: good, drifted: 0 });
      expect(parse(await show(repo, 'joch/status:summary.yaml'))).toMatchObject({ lastApplied: { revision: good } });
    }, 90_000);
  },
  { testTimeoutMs: 90_000 },
);

// A cluster of its own: the generated fleet's namespaces belong to the first block's ApplySet there.
describeCluster(
  'joch sync when the API server goes away',
  (cluster) => {
    it('converges after the API server goes away mid-apply and comes back: no orphan, no duplicate', async () => {
      const kc = cluster().kubeconfig;
      await ensureNamespace(kc, 'joch-system');
      const proxy = await startProxy(serverPort(cluster()));
      try {
        const kubeconfig = await kubeconfigVia(cluster(), proxy.port, root, `proxied-${++n}.kubeconfig`);
        const { repo } = await fleetRepo(root, `cut-${n}.git`, 2);
        const flags = { repo: git.url(repo.name), 'cache-dir': path.join(root, `cache-${n}`), kubeconfig, interval: '1h', 'drift-interval': '1h', 'backoff-initial': '10ms' };
        const sync = await syncRuntime(flags, root);
        expect((await sync.reconciler.runCycle()).result).toBe('applied');

        // The next revision adds many agents and removes one: cut the API server once its first new object lands.
        const { generateFleet } = await import('../../bench/fleet.js');
        const bigger = path.join(root, `bigger-${n}`);
        generateFleet(bigger, 60);
        const { cpSync } = await import('node:fs');
        cpSync(bigger, repo.work, { recursive: true });
        await repo.write(agentFiles(repo, 1));
        await repo.commit('grow the fleet, retire agent 1');
        await repo.push('HEAD:refs/heads/main');
        let done = false;
        const cycle = sync.reconciler.runCycle().finally(() => (done = true));
        await eventually('the first object of the new revision', async () => done || (await getObject(kc, 'joch.dev/v1alpha1', 'Agent', 'team-000', 'agent-00010')) !== undefined || undefined, 60_000);
        proxy.cut();
        const failed = await cycle;
        expect(failed.result === 'refused' ? failed.errors : []).toEqual([]);
        expect(failed.result, 'the apply finished before the cut: make the revision bigger').toBe('failed');
        expect(failed.errors.some((e) => e.code === 'cluster/unreachable')).toBe(true);

        proxy.restore();
        const retried = await eventually('a converging retry', async () => {
          const r = await sync.reconciler.runCycle();
          return r.result === 'applied' ? r : undefined;
        }, 60_000);
        expect(retried.errors).toEqual([]);
        expect(retried.counters?.lists, 'a retry reads the whole ApplySet').toBeGreaterThan(0);
        expect(await liveMembers(kc, ID)).toEqual(await desiredNames(repo));
        expect(await getObject(kc, 'joch.dev/v1alpha1', 'Agent', 'team-000', 'agent-00001')).toBeUndefined();
      } finally {
        await proxy.close();
      }
    }, 90_000);
  },
  { testTimeoutMs: 90_000 },
);
