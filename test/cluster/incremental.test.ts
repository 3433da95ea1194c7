/**
 * applySet with `since`: the sync loop's cheap path between drift checks.
 * Objects whose desired content did not change since the last run are
 * trusted without a read; only changed and removed objects cost requests.
 */
import { expect, it } from 'vitest';
import { applySet } from '../../src/cluster/index.js';
import type { ApplyOptions, AppliedState, DesiredObject } from '../../src/cluster/index.js';
import { describeCluster } from './require-cluster.js';
import { CoreV1Api } from '@kubernetes/client-node';
import { configMap, desired, namespace, readLive } from './engine-fixtures.js';

const COUNT = 40;

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
      expect(Object.keys(first.applied.objects)).toHaveLength(COUNT + 2);
      expect(first.applied.applySetId).toBe(first.inventory.id);
      state = first.applied;
    });

    it('with nothing changed it lists nothing, reads only the parent and writes nothing', async () => {
      const again = await applySet(set(), opts({ since: state }));
      expect(again.errors).toEqual([]);
      expect(again.counters).toMatchObject({ lists: 0, dryRuns: 0, writes: 0, deletes: 0 });
      expect(again.counters.reads).toBe(1);
      expect(again.objects.every((o) => o.outcome === 'unchanged')).toBe(true);
      // Health is carried over for the objects it did not read.
      expect(again.objects.every((o) => o.health?.status === 'Current')).toBe(true);
      state = again.applied;
    });

    it('a changed object is read, dry-run and written; the others are not touched', async () => {
      const changed = await applySet(set({ 7: 'v2' }), opts({ since: state }));
      expect(changed.errors).toEqual([]);
      expect(changed.counters).toMatchObject({ lists: 0, dryRuns: 1, writes: 1, deletes: 0 });
      expect(changed.objects.filter((o) => o.outcome !== 'unchanged').map((o) => o.ref.name)).toEqual(['cm-7']);
      expect((await readLive(cluster().kubeconfig, configMap('inc-b', 'cm-7', {})))?.['data']).toEqual({ value: 'v2' });
      state = changed.applied;
    });

    it('an object that left the set is read and pruned', async () => {
      const pruned = await applySet(set({ 7: 'v2' }, [3]), opts({ since: state }));
      expect(pruned.errors).toEqual([]);
      expect(pruned.pruned.map((p) => `${p.ref.name}:${p.outcome}`)).toEqual(['cm-3:deleted']);
      expect(pruned.counters).toMatchObject({ lists: 0, writes: 0, deletes: 1 });
      expect(await readLive(cluster().kubeconfig, configMap('inc-b', 'cm-3', {}))).toBeUndefined();
      state = pruned.applied;
    });

    it('a run stopped before pruning remembers what it did not prune, and the next run prunes it', async () => {
      // A ConfigMap in a namespace nobody creates fails the preflight: nothing is written or pruned.
      const broken = [...set({ 7: 'v2' }, [3, 5]), desired(configMap('inc-nowhere', 'orphan', { value: 'x' }), 99)];
      const stopped = await applySet(broken, opts({ since: state }));
      expect(stopped.errors.length).toBeGreaterThan(0);
      expect(stopped.counters.deletes).toBe(0);
      expect(Object.keys(stopped.applied.objects).some((k) => k.endsWith('/cm-5'))).toBe(true);
      const next = await applySet(set({ 7: 'v2' }, [3, 5]), opts({ since: stopped.applied }));
      expect(next.errors).toEqual([]);
      expect(next.pruned.map((p) => `${p.ref.name}:${p.outcome}`)).toEqual(['cm-5:deleted']);
      expect(next.counters.lists).toBe(0);
      state = next.applied;
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

    it('ignores a since state of another ApplySet', async () => {
      const foreign: AppliedState = { applySetId: 'applyset-other-v1', objects: state.objects };
      const run = await applySet(set({ 7: 'v2' }, [3, 5]), opts({ since: foreign }));
      expect(run.errors).toEqual([]);
      expect(run.counters.lists).toBeGreaterThan(0);
    });
  },
  { testTimeoutMs: 120_000 },
);
