/**
 * Pruning through the ApplySet inventory (KEP-3659) against a real
 * kube-apiserver + controller manager (namespace deletion needs it).
 */
import { createHash } from 'node:crypto';
import { expect, it } from 'vitest';
import { CoreV1Api, PatchStrategy } from '@kubernetes/client-node';
import { applySet, planApply } from '../../src/cluster/index.js';
import type { ApplyOptions, DesiredObject, KubeObject } from '../../src/cluster/index.js';
import { describeCluster } from './require-cluster.js';
import { applyAs, configMap, desired, namespace, objectApi, readLive, waitFor, widget, widgetCrd } from './engine-fixtures.js';

const clusterRole = (name: string): KubeObject => ({
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'ClusterRole',
  metadata: { name },
  rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'] }],
});

describeCluster(
  'cluster engine: prune',
  (cluster) => {
    const opts = (extra: Partial<ApplyOptions> = {}): ApplyOptions => ({
      kubeconfig: cluster().kubeconfig,
      inventory: { name: 'prune-suite', namespace: 'prune-a', kind: 'ConfigMap' },
      ...extra,
    });
    const cms = (names: string[]): DesiredObject[] => names.map((n) => desired(configMap('prune-a', n, { n })));
    const base = (names = ['c1', 'c2', 'c3', 'c4', 'c5', 'c6']): DesiredObject[] => [
      desired(namespace('prune-a')),
      desired(namespace('prune-b')),
      desired(configMap('prune-b', 'b1', { x: '1' })),
      desired(clusterRole('prune-suite-reader')),
      ...cms(names),
    ];

    it('records the inventory on a KEP-3659 parent and labels every member', async () => {
      const result = await applySet(base(), opts());
      expect(result.errors).toEqual([]);
      const expectedId = `applyset-${createHash('sha256').update('prune-suite.prune-a.ConfigMap.').digest('base64url')}-v1`;
      expect(result.inventory.id).toBe(expectedId);
      const parent = await readLive(cluster().kubeconfig, configMap('prune-a', 'prune-suite', {}));
      expect(parent?.metadata.labels).toEqual({ 'applyset.kubernetes.io/id': expectedId });
      expect(parent?.metadata.annotations).toMatchObject({
        'applyset.kubernetes.io/tooling': 'joch/v1',
        'applyset.kubernetes.io/contains-group-kinds': 'ClusterRole.rbac.authorization.k8s.io,ConfigMap,Namespace',
        'applyset.kubernetes.io/additional-namespaces': 'prune-b',
      });
      const ns = await readLive(cluster().kubeconfig, namespace('prune-b'));
      expect(ns?.metadata.labels?.['applyset.kubernetes.io/part-of']).toBe(expectedId);
    });

    it('deletes members that left the desired set and never touches objects it does not own', async () => {
      const kc = cluster().kubeconfig;
      // Same namespace, not ours: no label, and another ApplySet's label.
      await applyAs(kc, 'someone', configMap('prune-a', 'foreign', { f: '1' }));
      await applyAs(kc, 'someone', configMap('prune-a', 'other-set', { f: '1' }, { labels: { 'applyset.kubernetes.io/part-of': 'applyset-other-v1' } }));

      const plan = await planApply(base(['c1', 'c2', 'c3', 'c4', 'c5']), opts());
      expect(plan.prune).toEqual([{ ref: { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'prune-a', name: 'c6' }, action: 'delete' }]);

      const result = await applySet(base(['c1', 'c2', 'c3', 'c4', 'c5']), opts());
      expect(result.errors).toEqual([]);
      expect(result.pruned).toEqual([{ ref: { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'prune-a', name: 'c6' }, outcome: 'deleted' }]);
      expect(result.counters.deletes).toBe(1);
      expect(await readLive(kc, configMap('prune-a', 'c6', {}))).toBeUndefined();
      expect(await readLive(kc, configMap('prune-a', 'foreign', {}))).toBeDefined();
      expect(await readLive(kc, configMap('prune-a', 'other-set', {}))).toBeDefined();

      // Desiring an object of another ApplySet is refused, not silently adopted.
      const steal = await planApply([...base(['c1', 'c2', 'c3', 'c4', 'c5']), desired(configMap('prune-a', 'other-set', { f: '2' }), 3)], opts());
      expect(steal.errors).toEqual([
        expect.objectContaining({ code: 'ownership', ref: expect.objectContaining({ name: 'other-set' }), origin: expect.objectContaining({ line: 3 }) }),
      ]);
    });

    it('keeps a member annotated joch.dev/prune: disabled', async () => {
      const kc = cluster().kubeconfig;
      await applyAs(kc, 'ops', configMap('prune-a', 'c5', {}, { annotations: { 'joch.dev/prune': 'disabled' } }));
      const result = await applySet(base(['c1', 'c2', 'c3', 'c4']), opts());
      expect(result.errors).toEqual([]);
      expect(result.pruned).toEqual([
        { ref: expect.objectContaining({ name: 'c5' }), outcome: 'kept', reason: 'joch.dev/prune: disabled' },
      ]);
      expect(await readLive(kc, configMap('prune-a', 'c5', {}))).toBeDefined();
    });

    it('refuses to prune more than the allowed share, and never all of it, without the flag', async () => {
      const kc = cluster().kubeconfig;
      // Live members now: 2 namespaces, b1, the ClusterRole, c1..c5 = 9. Dropping
      // prune-b, b1, the ClusterRole and c1..c3 would delete 6 of 9 (> 50%).
      const few: DesiredObject[] = [desired(namespace('prune-a')), ...cms(['c4'])];
      const refused = await applySet(few, opts());
      expect(refused.counters).toMatchObject({ writes: 0, deletes: 0, dryRuns: 0 });
      expect(refused.errors).toEqual([expect.objectContaining({ code: 'prune-guard', phase: 'prune' })]);
      expect(refused.errors[0]?.message).toMatch(/refusing to prune 6 of 9 members \(67% > 50%\)/);
      expect(await readLive(kc, configMap('prune-a', 'c1', {}))).toBeDefined();

      const none = await planApply([], opts({ pruneGuard: { maxShare: 1 } }));
      expect(none.errors.map((e) => e.message)).toEqual([expect.stringMatching(/refusing to prune all \d+ members/)]);

      const allowed = await planApply(few, opts({ pruneGuard: { maxShare: 0.7 } }));
      expect(allowed.errors).toEqual([]);
      const flagged = await planApply([], opts({ pruneGuard: { allowMassPrune: true } }));
      expect(flagged.errors).toEqual([]);
    });

    it('prunes a namespace only when nothing in it belongs to someone else', async () => {
      const kc = cluster().kubeconfig;
      await applyAs(kc, 'someone', configMap('prune-b', 'squatter', { s: '1' }));
      const withoutB = [desired(namespace('prune-a')), desired(clusterRole('prune-suite-reader')), ...cms(['c1', 'c2', 'c3', 'c4'])];
      const result = await applySet(withoutB, opts());
      expect(result.errors).toEqual([]);
      const byName = Object.fromEntries(result.pruned.map((p) => [p.ref.name, p]));
      expect(byName['b1']?.outcome).toBe('deleted');
      expect(byName['prune-b']).toMatchObject({ outcome: 'kept', reason: expect.stringMatching(/holds ConfigMap prune-b\/squatter/) });
      expect(await readLive(kc, namespace('prune-b'))).toBeDefined();
      // The kept Namespace stays a member (its kind stays in the inventory),
      // so a later run retries it; no namespaced member is left in prune-b.
      const parent = await readLive(kc, configMap('prune-a', 'prune-suite', {}));
      expect(parent?.metadata.annotations?.['applyset.kubernetes.io/contains-group-kinds']).toContain('Namespace');
      expect(parent?.metadata.annotations?.['applyset.kubernetes.io/additional-namespaces']).toBe('');

      await kc.makeApiClient(CoreV1Api).deleteNamespacedConfigMap({ name: 'squatter', namespace: 'prune-b' });
      const again = await applySet(withoutB, opts());
      expect(again.errors).toEqual([]);
      expect(again.pruned).toEqual(expect.arrayContaining([{ ref: expect.objectContaining({ kind: 'Namespace', name: 'prune-b' }), outcome: 'deleted' }]));
      await waitFor('namespace prune-b to go', async () => (await readLive(kc, namespace('prune-b'))) === undefined);
      const after = await readLive(kc, configMap('prune-a', 'prune-suite', {}));
      expect(after?.metadata.annotations?.['applyset.kubernetes.io/contains-group-kinds']).toBe('ClusterRole.rbac.authorization.k8s.io,ConfigMap,Namespace');
    });

    it('prunes a CRD only when no custom resource of it belongs to someone else', async () => {
      const kc = cluster().kubeconfig;
      const withCrd = [desired(namespace('prune-a')), desired(clusterRole('prune-suite-reader')), ...cms(['c1', 'c2', 'c3', 'c4']), desired(widgetCrd('gizmos', 'Gizmo'))];
      expect((await applySet(withCrd, opts())).errors).toEqual([]);
      await applyAs(kc, 'someone', widget('prune-a', 'theirs', { size: 1 }, 'Gizmo'));
      const dropCrd = withCrd.slice(0, -1);
      const kept = await applySet(dropCrd, opts());
      expect(kept.pruned.filter((p) => p.ref.kind === 'CustomResourceDefinition')).toEqual([
        { ref: expect.objectContaining({ kind: 'CustomResourceDefinition' }), outcome: 'kept', reason: expect.stringMatching(/Gizmo prune-a\/theirs still uses this CRD/) },
      ]);
      await applyAs(kc, 'someone', { ...widget('prune-a', 'theirs', { size: 1 }, 'Gizmo'), metadata: { name: 'theirs', namespace: 'prune-a', labels: { 'applyset.kubernetes.io/part-of': kept.inventory.id } } }, true);
      const pruned = await applySet(dropCrd, opts());
      expect(pruned.errors).toEqual([]);
      // The Gizmo now carries our label, so it no longer blocks; it goes with its CRD.
      expect(pruned.pruned.map((p) => [p.ref.kind, p.ref.name, p.outcome])).toEqual([
        ['ConfigMap', 'c5', 'kept'],
        ['CustomResourceDefinition', 'gizmos.test.joch.dev', 'deleted'],
      ]);
    });

    it('a namespace holding only dependents of its members is pruned; anything else in it, on any page, keeps it', async () => {
      const kc = cluster().kubeconfig;
      const core = kc.makeApiClient(CoreV1Api);
      const inventory = { name: 'deps', namespace: 'deps-home' };
      const home = [desired(namespace('deps-home')), desired(configMap('deps-home', 'anchor', {}))];
      const withX = [...home, desired(namespace('deps-x')), desired(configMap('deps-x', 'owner', {}))];
      expect((await applySet(withX, { kubeconfig: kc, inventory })).errors).toEqual([]);
      const ownerUid = String((await readLive(kc, configMap('deps-x', 'owner', {})))?.metadata['uid']);
      const ownedBy = (name: string, uid: string, kind = 'ConfigMap', apiVersion = 'v1') => ({ ownerReferences: [{ apiVersion, kind, name, uid }] });

      // More dependents than one list page (250), so an object sorting after them is on page two.
      const names = Array.from({ length: 251 }, (_, i) => `dep-${String(i).padStart(3, '0')}`);
      for (let i = 0; i < names.length; i += 25) {
        await Promise.all(names.slice(i, i + 25).map((n) => core.createNamespacedConfigMap({ namespace: 'deps-x', body: configMap('deps-x', n, {}, ownedBy('owner', ownerUid)) })));
      }
      // A dependent of a dependent, as a Pod is of a ReplicaSet of a Deployment.
      const firstUid = String((await readLive(kc, configMap('deps-x', 'dep-000', {})))?.metadata['uid']);
      await core.createNamespacedConfigMap({ namespace: 'deps-x', body: configMap('deps-x', 'dep-000-child', {}, ownedBy('dep-000', firstUid)) });
      await core.createNamespacedConfigMap({ namespace: 'deps-x', body: configMap('deps-x', 'zz-foreign', {}) });

      const keepOf = async () => (await planApply(home, { kubeconfig: kc, inventory })).prune.find((p) => p.ref.kind === 'Namespace');
      expect(await keepOf()).toMatchObject({ action: 'keep', reason: expect.stringMatching(/holds ConfigMap deps-x\/zz-foreign/) });

      // A dependent of someone else's object is someone else's.
      await core.deleteNamespacedConfigMap({ name: 'zz-foreign', namespace: 'deps-x' });
      const theirs = await applyAs(kc, 'someone', clusterRole('deps-theirs'));
      await core.createNamespacedConfigMap({
        namespace: 'deps-x',
        body: configMap('deps-x', 'their-child', {}, ownedBy('deps-theirs', String(theirs.metadata?.uid), 'ClusterRole', 'rbac.authorization.k8s.io/v1')),
      });
      expect(await keepOf()).toMatchObject({ action: 'keep', reason: expect.stringMatching(/holds ConfigMap deps-x\/their-child/) });

      await core.deleteNamespacedConfigMap({ name: 'their-child', namespace: 'deps-x' });
      expect(await keepOf()).toEqual({ ref: expect.objectContaining({ name: 'deps-x' }), action: 'delete' });
      const pruned = await applySet(home, { kubeconfig: kc, inventory });
      expect(pruned.errors).toEqual([]);
      expect(pruned.pruned.map((p) => [p.ref.kind, p.ref.name, p.outcome])).toEqual([
        ['ConfigMap', 'owner', 'deleted'],
        ['Namespace', 'deps-x', 'deleted'],
      ]);
      await waitFor('namespace deps-x to go', async () => (await readLive(kc, namespace('deps-x'))) === undefined, 60_000);
    });

    it('does not adopt an object it did not create unless forced; a namespace that existed before is managed but never pruned', async () => {
      const kc = cluster().kubeconfig;
      const inventory = { name: 'adopt', namespace: 'adopt-ns' };
      await applyAs(kc, 'platform-team', namespace('adopt-ns', { owner: 'platform' }));
      await applyAs(kc, 'someone', configMap('adopt-ns', 'theirs', { t: '1' }));
      const ours = [desired(namespace('adopt-ns', { team: 'a' }), 1), desired(configMap('adopt-ns', 'anchor', { a: '1' }), 2), desired(configMap('adopt-ns', 'mine', { m: '1' }), 3)];
      const withTheirs = [...ours, desired(configMap('adopt-ns', 'theirs', { t: '2' }), 9)];

      const refused = await applySet(withTheirs, { kubeconfig: kc, inventory });
      expect(refused.errors).toEqual([
        expect.objectContaining({ code: 'ownership', ref: expect.objectContaining({ name: 'theirs' }), origin: expect.objectContaining({ line: 9 }), message: expect.stringMatching(/not created by this ApplySet.*apply with force to adopt it/) }),
      ]);
      expect(refused.counters.writes).toBe(0);
      expect((await readLive(kc, configMap('adopt-ns', 'theirs', {})))?.['data']).toEqual({ t: '1' });

      // The namespace gets our labels but not the part-of label: it is not a member.
      const applied = await applySet(ours, { kubeconfig: kc, inventory });
      expect(applied.errors).toEqual([]);
      const ns = await readLive(kc, namespace('adopt-ns'));
      expect(ns?.metadata.labels).toMatchObject({ owner: 'platform', team: 'a' });
      expect(ns?.metadata.labels?.['applyset.kubernetes.io/part-of']).toBeUndefined();
      expect((await applySet(ours, { kubeconfig: kc, inventory })).counters).toMatchObject({ writes: 0, dryRuns: 0 });

      // A label removed by hand from an object it applied is put back, not refused.
      await objectApi(kc).patch(
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'mine', namespace: 'adopt-ns', labels: { 'applyset.kubernetes.io/part-of': null } } } as never,
        undefined,
        undefined,
        'kubectl-label',
        undefined,
        PatchStrategy.MergePatch,
      );
      const relabelled = await applySet(ours, { kubeconfig: kc, inventory });
      expect(relabelled.errors).toEqual([]);
      expect((await readLive(kc, configMap('adopt-ns', 'mine', {})))?.metadata.labels?.['applyset.kubernetes.io/part-of']).toBe(relabelled.inventory.id);

      // With force it is adopted, and from then on pruned like any member.
      const adopted = await applySet(withTheirs, { kubeconfig: kc, inventory, force: true });
      expect(adopted.errors).toEqual([]);
      const dropped = await applySet(ours, { kubeconfig: kc, inventory });
      expect(dropped.pruned).toEqual([{ ref: expect.objectContaining({ name: 'theirs' }), outcome: 'deleted' }]);

      // Leaving the desired set, the namespace is no prune candidate.
      const plan = await planApply([desired(namespace('adopt-other')), desired(configMap('adopt-other', 'anchor', {}))], { kubeconfig: kc, inventory, pruneGuard: { allowMassPrune: true } });
      expect(plan.prune.map((p) => `${p.ref.kind} ${p.ref.name}`).sort()).toEqual(['ConfigMap anchor', 'ConfigMap mine']);
    });
  },
  { controllerManager: true, testTimeoutMs: 90_000 },
);
