/**
 * applySet with `since`: the sync loop's cheap path between drift checks.
 * Objects whose desired content did not change since the last run are
 * trusted without a read; only changed and removed objects cost requests.
 */
import { expect, it } from 'vitest';
import { applySet } from '../../src/cluster/index.js';
import type { ApplyOptions, ApplyResult, AppliedState, DesiredObject } from '../../src/cluster/index.js';
import { describeCluster } from './require-cluster.js';
import { AppsV1Api, CoreV1Api, KubeConfig, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { configMap, deployment, desired, namespace, readLive, widget, widgetCrd } from './engine-fixtures.js';
import type { KubeObject } from '../../src/cluster/index.js';

const COUNT = 40;

/** The state a run leaves for the next one; every run here reads the whole ApplySet. */
function stateOf(result: ApplyResult): AppliedState {
  if (!result.applied) throw new Error(`the run left no state: ${JSON.stringify(result.errors)}`);
  return result.applied;
}

function serviceAccount(ns: string, name: string): KubeObject {
  return { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: ns } };
}

const withoutKey = (state: AppliedState, suffix: string): AppliedState => ({
  applySetId: state.applySetId,
  objects: Object.fromEntries(Object.entries(state.objects).filter(([k]) => !k.endsWith(suffix))),
});

describeCluster(
  'cluster engine: incremental runs (since)',
  (cluster) => {
    const opts = (extra: Partial<ApplyOptions> = {}): ApplyOptions => ({
      kubeconfig: cluster().kubeconfig,
      inventory: { name: 'incremental', namespace: 'inc-a' },
      ...extra,
    });
    const set = (values: Record<number, string> = {}, drop: readonly number[] = []): DesiredObject[] => [
      desired(namespace('inc-a')),
      desired(namespace('inc-b')),
      ...Array.from({ length: COUNT }, (_, i) => i)
        .filter((i) => !drop.includes(i))
        .map((i) => desired(configMap(i % 2 ? 'inc-b' : 'inc-a', `cm-${i}`, { value: values[i] ?? 'v1' }), i + 2)),
    ];
    let state: AppliedState;

    it('a full run records what it applied', async () => {
      const first = await applySet(set(), opts());
      expect(first.errors).toEqual([]);
      state = stateOf(first);
      expect(Object.keys(state.objects)).toHaveLength(COUNT + 2);
      expect(state.applySetId).toBe(first.inventory.id);
    });

    it('with nothing changed it lists nothing, reads only the parent and writes nothing', async () => {
      const again = await applySet(set(), opts({ since: state }));
      expect(again.errors).toEqual([]);
      expect(again.counters).toMatchObject({ lists: 0, dryRuns: 0, writes: 0, deletes: 0 });
      expect(again.counters.reads).toBe(1);
      expect(again.objects.every((o) => o.outcome === 'unchanged')).toBe(true);
      // Health is carried over for the objects it did not read.
      expect(again.objects.every((o) => o.health?.status === 'Current')).toBe(true);
      state = stateOf(again);
    });

    it('a changed object is read, dry-run and written; the others are not touched', async () => {
      const changed = await applySet(set({ 7: 'v2' }), opts({ since: state }));
      expect(changed.errors).toEqual([]);
      expect(changed.counters).toMatchObject({ lists: 0, dryRuns: 1, writes: 1, deletes: 0 });
      expect(changed.objects.filter((o) => o.outcome !== 'unchanged').map((o) => o.ref.name)).toEqual(['cm-7']);
      expect((await readLive(cluster().kubeconfig, configMap('inc-b', 'cm-7', {})))?.['data']).toEqual({ value: 'v2' });
      state = stateOf(changed);
    });

    it('an object that left the set is read and pruned', async () => {
      const pruned = await applySet(set({ 7: 'v2' }, [3]), opts({ since: state }));
      expect(pruned.errors).toEqual([]);
      expect(pruned.pruned.map((p) => `${p.ref.name}:${p.outcome}`)).toEqual(['cm-3:deleted']);
      expect(pruned.counters).toMatchObject({ lists: 0, writes: 0, deletes: 1 });
      expect(await readLive(cluster().kubeconfig, configMap('inc-b', 'cm-3', {}))).toBeUndefined();
      state = stateOf(pruned);
    });

    it('a run stopped before pruning remembers what it did not prune, and the next run prunes it', async () => {
      // A ConfigMap in a namespace nobody creates fails the preflight: nothing is written or pruned.
      const broken = [...set({ 7: 'v2' }, [3, 5]), desired(configMap('inc-nowhere', 'orphan', { value: 'x' }), 99)];
      const stopped = await applySet(broken, opts({ since: state }));
      expect(stopped.errors.length).toBeGreaterThan(0);
      expect(stopped.counters.deletes).toBe(0);
      expect(Object.keys(stateOf(stopped).objects).some((k) => k.endsWith('/cm-5'))).toBe(true);
      const next = await applySet(set({ 7: 'v2' }, [3, 5]), opts({ since: stateOf(stopped) }));
      expect(next.errors).toEqual([]);
      expect(next.pruned.map((p) => `${p.ref.name}:${p.outcome}`)).toEqual(['cm-5:deleted']);
      expect(next.counters.lists).toBe(0);
      state = stateOf(next);
    });

    it('keeps the prune guard: dropping most of the set is refused', async () => {
      const most = Array.from({ length: 30 }, (_, i) => i + 4);
      const refused = await applySet(set({ 7: 'v2' }, [3, 5, ...most]), opts({ since: state }));
      expect(refused.errors.map((e) => e.code)).toContain('prune-guard');
      expect(refused.counters.deletes).toBe(0);
    });

    it('does not see a hand edit of a trusted object; a run without since does, and puts it back', async () => {
      const kc = cluster().kubeconfig;
      // kubectl-edit style: an Update (not an apply) with its own field manager.
      const core = kc.makeApiClient(CoreV1Api);
      const cm = await core.readNamespacedConfigMap({ name: 'cm-0', namespace: 'inc-a' });
      cm.data = { value: 'edited by hand' };
      await core.replaceNamespacedConfigMap({ name: 'cm-0', namespace: 'inc-a', body: cm, fieldManager: 'kubectl-edit' });
      const trusting = await applySet(set({ 7: 'v2' }, [3, 5]), opts({ since: state }));
      expect(trusting.objects.find((o) => o.ref.name === 'cm-0')?.outcome).toBe('unchanged');
      const full = await applySet(set({ 7: 'v2' }, [3, 5]), opts());
      expect(full.objects.find((o) => o.ref.name === 'cm-0')?.outcome).toBe('configured');
      expect((await readLive(kc, configMap('inc-a', 'cm-0', {})))?.['data']).toEqual({ value: 'v1' });
    });

    it('reads again an unchanged workload that was not healthy, so its health is never stale', async () => {
      const kc = cluster().kubeconfig;
      const inventory = { name: 'inc-health', namespace: 'inc-h' };
      // A custom resource in a Ready-condition group with no controller is Current once applied: it is trusted.
      const objects = [desired(namespace('inc-h')), desired(deployment('inc-h', 'web')), desired(widgetCrd('dials', 'Dial')), desired(widget('inc-h', 'd1', { size: 1 }, 'Dial'))];
      // No controller runs here: the Deployment stays InProgress until its status is written by hand.
      const first = await applySet(objects, { kubeconfig: kc, inventory });
      expect(first.errors).toEqual([]);
      const healthOf = (kind: string) => Object.entries(stateOf(first).objects).find(([k]) => k.includes(kind))?.[1].health;
      expect(healthOf('Deployment')?.status).toBe('InProgress');
      expect(healthOf('Dial')).toEqual({ status: 'Current', message: 'applied; no controller reports a Ready condition' });

      const apps = kc.makeApiClient(AppsV1Api);
      const live = await apps.readNamespacedDeploymentStatus({ name: 'web', namespace: 'inc-h' });
      live.status = { observedGeneration: live.metadata?.generation ?? 1, replicas: 1, updatedReplicas: 1, readyReplicas: 1, availableReplicas: 1 };
      await apps.replaceNamespacedDeploymentStatus({ name: 'web', namespace: 'inc-h', body: live });

      const next = await applySet(objects, { kubeconfig: kc, inventory, since: stateOf(first) });
      expect(next.errors).toEqual([]);
      expect(next.objects.find((o) => o.ref.kind === 'Deployment')?.health).toEqual({ status: 'Current', message: '1 of 1 replicas available' });
      // The parent and the Deployment; not the Dial.
      expect(next.counters).toMatchObject({ writes: 0, reads: 2 });
      // Healthy now, it is trusted on the run after.
      const third = await applySet(objects, { kubeconfig: kc, inventory, since: stateOf(next) });
      expect(third.counters).toMatchObject({ writes: 0, reads: 1 });
    });

    it('ignores a since state of another ApplySet', async () => {
      const foreign: AppliedState = { applySetId: 'applyset-other-v1', objects: state.objects };
      const run = await applySet(set({ 7: 'v2' }, [3, 5]), opts({ since: foreign }));
      expect(run.errors).toEqual([]);
      expect(run.counters.lists).toBeGreaterThan(0);
    });

    it('remembers a member whose kind is not served now, and deletes nothing for it', async () => {
      const ghost = 'example.invalid/Gadget/inc-a/gone';
      const since: AppliedState = { ...state, objects: { ...state.objects, [ghost]: { hash: 'x', health: { status: 'Current', message: '' } } } };
      const run = await applySet(set({ 7: 'v2' }, [3, 5]), opts({ since }));
      expect(run.errors).toEqual([]);
      expect(run.pruned).toEqual([]);
      expect(stateOf(run).objects[ghost]).toMatchObject({ hash: '' });
    });

    it('a run that cannot reach the API server leaves no state to trust', async () => {
      const dead = new KubeConfig();
      dead.loadFromString(cluster().kubeconfig.exportConfig().split(cluster().server).join('https://127.0.0.1:1'));
      const run = await applySet(set({ 7: 'v2' }, [3, 5]), opts({ kubeconfig: dead, since: state, attempts: 1 }));
      expect(run.errors.map((e) => e.code)).toEqual(['unreachable']);
      expect(run.applied).toBeUndefined();
    });
  },
  { testTimeoutMs: 120_000 },
);

describeCluster(
  'cluster engine: incremental runs never lose a member',
  (cluster) => {
    const inventory = { name: 'members', namespace: 'inc-c' };
    const set = (extra: readonly KubeObject[] = []): DesiredObject[] => [
      desired(namespace('inc-c')),
      ...Array.from({ length: 8 }, (_, i) => desired(configMap('inc-c', `cm-${i}`, { value: 'v1' }), i + 2)),
      ...extra.map((o, i) => desired(o, 20 + i)),
    ];
    const parentKinds = async (): Promise<string> => {
      const parent = await cluster().kubeconfig.makeApiClient(CoreV1Api).readNamespacedSecret({ name: 'members', namespace: 'inc-c' });
      return parent.metadata?.annotations?.['applyset.kubernetes.io/contains-group-kinds'] ?? '';
    };

    it('an incremental run does not shrink the parent: a member the state forgot is still pruned by the next full run', async () => {
      const kc = cluster().kubeconfig;
      const first = await applySet(set([serviceAccount('inc-c', 'sa-x')]), { kubeconfig: kc, inventory });
      expect(first.errors).toEqual([]);
      // A state that lost sa-x (as one from a run that saw only part of the ApplySet would).
      const forgetful = withoutKey(stateOf(first), '/sa-x');
      const incremental = await applySet(set(), { kubeconfig: kc, inventory, since: forgetful });
      expect(incremental.errors).toEqual([]);
      expect(incremental.pruned).toEqual([]);
      expect(await parentKinds()).toContain('ServiceAccount');
      const full = await applySet(set(), { kubeconfig: kc, inventory });
      expect(full.errors).toEqual([]);
      expect(full.pruned.map((p) => `${p.ref.kind} ${p.ref.name}:${p.outcome}`)).toEqual(['ServiceAccount sa-x:deleted']);
      expect(await parentKinds()).not.toContain('ServiceAccount');
    });

    it('a member that left the set and cannot be read stops pruning with an error, and leaves no state to trust', async () => {
      const c = cluster();
      const first = await applySet(set([serviceAccount('inc-c', 'sa-y'), configMap('inc-c', 'cm-gone', { value: 'v1' })]), { kubeconfig: c.kubeconfig, inventory });
      expect(first.errors).toEqual([]);
      // An identity that may manage ConfigMaps and the parent, but cannot read ServiceAccounts.
      const rbac = c.kubeconfig.makeApiClient(RbacAuthorizationV1Api);
      await rbac.createNamespacedRole({
        namespace: 'inc-c',
        body: { metadata: { name: 'no-sa' }, rules: [{ apiGroups: [''], resources: ['configmaps', 'secrets'], verbs: ['get', 'list', 'create', 'patch', 'update', 'delete'] }] },
      });
      await rbac.createNamespacedRoleBinding({
        namespace: 'inc-c',
        body: {
          metadata: { name: 'no-sa' },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'no-sa' },
          subjects: [{ kind: 'ServiceAccount', name: 'no-sa', namespace: 'inc-c' }],
        },
      });
      const limited = await c.serviceAccountIdentity('inc-c', 'no-sa');
      const run = await applySet(set(), { kubeconfig: limited.kubeconfig, inventory, since: stateOf(first) });
      expect(run.errors).toEqual([expect.objectContaining({ code: 'forbidden', message: expect.stringMatching(/cannot read ServiceAccount inc-c\/sa-y, which left the desired set; nothing is pruned/) })]);
      expect(run.counters.deletes).toBe(0);
      expect(run.applied).toBeUndefined();
      expect(await readLive(c.kubeconfig, configMap('inc-c', 'cm-gone', {}))).toBeDefined();
    });
  },
  { testTimeoutMs: 120_000 },
);
