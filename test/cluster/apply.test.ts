/**
 * applySet against a real kube-apiserver: staged server-side apply, the
 * cheap no-op, drift, conflicts, immutable fields and API error reporting.
 */
import { expect, it } from 'vitest';
import { CoreV1Api } from '@kubernetes/client-node';
import type { KubernetesObject, V1ConfigMap } from '@kubernetes/client-node';
import { applySet, planApply } from '../../src/cluster/index.js';
import type { ApplyOptions, ApplyProgress, DesiredObject, KubeObject } from '../../src/cluster/index.js';
import { describeCluster } from './require-cluster.js';
import {
  applyAs,
  configMap,
  deployment,
  desired,
  job,
  namespace,
  objectApi,
  readLive,
  secret,
  widget,
  widgetCrd,
} from './engine-fixtures.js';

describeCluster(
  'cluster engine: apply',
  (cluster) => {
    const opts = (extra: Partial<ApplyOptions> = {}): ApplyOptions => ({
      kubeconfig: cluster().kubeconfig,
      inventory: { name: 'apply-suite', namespace: 'apply-a' },
      ...extra,
    });

    const baseSet = (): DesiredObject[] => [
      // Deliberately out of order: the engine stages them.
      desired(widget('apply-a', 'w1', { size: 2 }), 4),
      desired(configMap('apply-a', 'settings', { mode: 'fast' }), 2),
      desired(deployment('apply-a', 'web'), 7),
      desired(secret('apply-a', 'creds', { token: 's3cret' }), 9),
      desired(namespace('apply-a'), 1),
      desired(widgetCrd(), 3),
      desired(job('apply-a', 'migrate', ['run', 'v1']), 11),
    ];

    it('applies CRDs, then namespaces, then namespaced objects and custom resources', async () => {
      const progress: ApplyProgress[] = [];
      const result = await applySet(baseSet(), { ...opts(), onProgress: (p) => progress.push(p) });
      expect(result.errors).toEqual([]);
      // Progress counts every written object once, in order, up to all seven.
      expect(progress.every((p) => p.phase === 'applying' && p.total === 7)).toBe(true);
      expect(progress.filter((p, i) => i === 0 || p.done !== progress[i - 1]?.done).map((p) => p.done)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      expect(result.complete).toBe(true);
      const outcomes = Object.fromEntries(result.objects.map((o) => [`${o.ref.kind}/${o.ref.name}`, o.outcome]));
      expect(outcomes).toEqual({
        'Widget/w1': 'created',
        'ConfigMap/settings': 'created',
        'Deployment/web': 'created',
        'Secret/creds': 'created',
        'Namespace/apply-a': 'created',
        'CustomResourceDefinition/widgets.test.joch.dev': 'created',
        'Job/migrate': 'created',
      });
      const stages = Object.fromEntries(result.objects.map((o) => [o.ref.kind, o.stage]));
      expect(stages).toMatchObject({ CustomResourceDefinition: 'crds', Namespace: 'cluster', Widget: 'namespaced', ConfigMap: 'namespaced' });
      // Everything that changed was dry-run first, then applied once.
      expect(result.counters.writes).toBe(7 + 1); // + the ApplySet parent
      expect(result.counters.deletes).toBe(0);

      const kc = cluster().kubeconfig;
      const cm = await readLive(kc, configMap('apply-a', 'settings', {}));
      expect(cm?.metadata.labels?.['applyset.kubernetes.io/part-of']).toBe(result.inventory.id);
      const managers = (cm?.metadata['managedFields'] as { manager: string; operation: string }[]).map((m) => `${m.manager}/${m.operation}`);
      expect(managers).toEqual(['joch/Apply']);
      // The stringData of the Secret was folded into data.
      const sec = await readLive(kc, secret('apply-a', 'creds', {}));
      expect(sec?.['data']).toEqual({ token: Buffer.from('s3cret').toString('base64') });

      // Health: the CRD is Established; ConfigMaps are Current; the
      // Deployment waits for its controller; the Job has not run; the Widget
      // (a joch.dev group) has no controller reporting on it: Current (kstatus).
      const health = Object.fromEntries(result.objects.map((o) => [o.ref.kind, o.health?.status]));
      expect(health).toMatchObject({
        CustomResourceDefinition: 'Current',
        ConfigMap: 'Current',
        Secret: 'Current',
        Namespace: 'Current',
        Deployment: 'InProgress',
        Job: 'InProgress',
        Widget: 'Current',
      });
      expect(result.healthy).toBe(false);
    });

    it('a re-apply with nothing changed makes no write and no dry-run', async () => {
      const progress: ApplyProgress[] = [];
      const result = await applySet(baseSet(), { ...opts(), onProgress: (p) => progress.push(p) });
      expect(progress).toEqual([]);
      expect(result.errors).toEqual([]);
      expect(result.objects.every((o) => o.outcome === 'unchanged')).toBe(true);
      expect(result.counters).toMatchObject({ writes: 0, dryRuns: 0, deletes: 0 });
      // discovery (2) + the parent read + one LIST per member type and namespace
      expect(result.counters.reads).toBe(1);
      expect(result.counters.lists).toBe(7);

      const plan = await planApply(baseSet(), opts());
      expect(plan.summary).toMatchObject({ create: 0, update: 0, unchanged: 7, delete: 0 });
      expect(plan.counters).toMatchObject({ writes: 0, dryRuns: 0 });
    });

    it('fields defaulted by the server or owned by other managers are not changes', async () => {
      const kc = cluster().kubeconfig;
      // Another controller adds its own label and annotation: not ours, not a change.
      await applyAs(kc, 'other-controller', {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web', namespace: 'apply-a', annotations: { 'other.example/seen': 'yes' } },
      });
      const plan = await planApply(baseSet(), opts());
      expect(plan.objects.filter((o) => o.action !== 'unchanged')).toEqual([]);
      expect(plan.counters.dryRuns).toBe(0);
    });

    it('a value the server stores in its own form (a defaulted field inside an atomic struct) is not a change', async () => {
      // fieldRef is atomic: the server adds apiVersion: v1 to the whole value we own,
      // so the owned-field comparison sees a difference; the dry-run proves there is none.
      const withFieldRef = (): KubeObject => {
        const d = deployment('apply-a', 'downward');
        const spec = d['spec'] as { template: { spec: { containers: { env?: unknown[] }[] } } };
        const container = spec.template.spec.containers[0];
        if (container) container.env = [{ name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }];
        return d;
      };
      const set = [...baseSet(), desired(withFieldRef(), 13)];
      const first = await applySet(set, opts());
      expect(first.errors).toEqual([]);
      const again = await applySet(set, opts());
      expect(again.errors).toEqual([]);
      expect(again.objects.find((o) => o.ref.name === 'downward')?.outcome).toBe('unchanged');
      expect(again.counters).toMatchObject({ writes: 0, dryRuns: 1 });
      // Leave the suite's set as the later tests expect it.
      const back = await applySet(baseSet(), opts());
      expect(back.errors).toEqual([]);
    });

    it('detects a hand edit (Update by another manager, or a plain PUT) and puts it back', async () => {
      const kc = cluster().kubeconfig;
      const core = kc.makeApiClient(CoreV1Api);
      // kubectl-edit style: an Update with its own field manager.
      const cm = await core.readNamespacedConfigMap({ name: 'settings', namespace: 'apply-a' });
      cm.data = { mode: 'slow', extra: 'x' };
      await core.replaceNamespacedConfigMap({ name: 'settings', namespace: 'apply-a', body: cm, fieldManager: 'kubectl-edit' });
      // A plain PUT without field manager, on the Deployment.
      const dep = (await readLive(kc, deployment('apply-a', 'web'))) as KubeObject;
      (dep['spec'] as { replicas: number }).replicas = 5;
      await objectApi(kc).replace(dep as KubernetesObject);

      const plan = await planApply(baseSet(), opts());
      const changed = Object.fromEntries(plan.objects.filter((o) => o.action !== 'unchanged').map((o) => [o.ref.kind, o]));
      expect(Object.keys(changed).sort()).toEqual(['ConfigMap', 'Deployment']);
      expect(changed['ConfigMap']?.diff).toEqual([{ path: 'data.mode', op: 'change', before: 'slow', after: 'fast' }]);
      expect(changed['ConfigMap']?.reasons.join(' ')).toMatch(/drift: revert edits by "kubectl-edit"/);
      expect(changed['Deployment']?.diff).toEqual([{ path: 'spec.replicas', op: 'change', before: 5, after: 1 }]);

      const result = await applySet(baseSet(), opts());
      expect(result.errors).toEqual([]);
      const live = (await core.readNamespacedConfigMap({ name: 'settings', namespace: 'apply-a' })) as V1ConfigMap;
      // Our field is back; the key another manager added stays theirs.
      expect(live.data).toEqual({ mode: 'fast', extra: 'x' });
      const again = await applySet(baseSet(), opts());
      expect(again.counters.writes).toBe(0);
    });

    it('reports a field owned by another applier as a conflict naming it; force takes it over', async () => {
      const kc = cluster().kubeconfig;
      await applyAs(kc, 'team-b-tool', configMap('apply-a', 'settings', { mode: 'theirs' }), true);
      const result = await applySet(baseSet(), opts());
      expect(result.complete).toBe(false);
      expect(result.counters.writes).toBe(0);
      expect(result.errors).toHaveLength(1);
      expect(result.errors[0]).toMatchObject({
        code: 'conflict',
        httpStatus: 409,
        managers: ['team-b-tool'],
        ref: { kind: 'ConfigMap', name: 'settings' },
        origin: { file: 'manifests/configmap-settings.yaml', line: 2 },
      });
      expect(result.errors[0]?.message).toMatch(/\.data\.mode is owned by "team-b-tool"/);

      const forced = await applySet(baseSet(), opts({ force: true }));
      expect(forced.errors).toEqual([]);
      expect((await readLive(kc, configMap('apply-a', 'settings', {})))?.['data']).toMatchObject({ mode: 'fast' });
    });

    it('reports immutable-field changes with the origin and recreates only when asked', async () => {
      const kc = cluster().kubeconfig;
      const changedJob = baseSet().map((d) => (d.object.kind === 'Job' ? desired(job('apply-a', 'migrate', ['run', 'v2']), 11) : d));
      const before = await readLive(kc, job('apply-a', 'migrate', []));

      const refused = await applySet(changedJob, opts());
      expect(refused.counters.writes).toBe(0);
      expect(refused.errors).toHaveLength(1);
      expect(refused.errors[0]).toMatchObject({
        code: 'immutable',
        httpStatus: 422,
        ref: { kind: 'Job', name: 'migrate' },
        origin: { file: 'manifests/job-migrate.yaml', line: 11, column: 1 },
      });
      expect(refused.errors[0]?.causes?.[0]?.field).toBe('spec.template');

      const plan = await planApply(changedJob, opts({ recreateImmutable: true }));
      expect(plan.errors).toEqual([]);
      expect(plan.objects.find((o) => o.ref.kind === 'Job')?.action).toBe('recreate');

      const recreated = await applySet(changedJob, opts({ recreateImmutable: true }));
      expect(recreated.errors).toEqual([]);
      expect(recreated.objects.find((o) => o.ref.kind === 'Job')?.outcome).toBe('recreated');
      const after = await readLive(kc, job('apply-a', 'migrate', []));
      expect(after?.metadata['uid']).not.toBe(before?.metadata['uid']);
      expect(recreated.counters.deletes).toBe(1);

      // A Deployment's selector is immutable too.
      const newSelector = changedJob.map((d) =>
        d.object.kind === 'Deployment' ? desired(deployment('apply-a', 'web', { selector: { app: 'web', tier: 'x' } }), 7) : d,
      );
      const sel = await planApply(newSelector, opts());
      expect(sel.errors.map((e) => [e.code, e.ref?.kind, e.causes?.[0]?.field])).toEqual([['immutable', 'Deployment', 'spec.selector']]);

      // Recreating a CRD would delete every custom resource it serves: never, even when asked.
      const crdBefore = await readLive(kc, widgetCrd());
      const rescoped = baseSet().map((d) => {
        if (d.object.kind !== 'CustomResourceDefinition') return d;
        const crd = widgetCrd();
        return desired({ ...crd, spec: { ...(crd['spec'] as object), scope: 'Cluster' } }, 3);
      });
      const crdRefused = await applySet(rescoped, opts({ recreateImmutable: true }));
      expect(crdRefused.errors).toEqual([
        expect.objectContaining({
          code: 'immutable',
          ref: expect.objectContaining({ kind: 'CustomResourceDefinition' }),
          message: expect.stringMatching(/not recreated even so: deleting a CustomResourceDefinition deletes every custom resource it serves/),
        }),
      ]);
      expect(crdRefused.counters).toMatchObject({ writes: 0, deletes: 0 });
      expect((await readLive(kc, widgetCrd()))?.metadata['uid']).toBe(crdBefore?.metadata['uid']);
    });

    it('preflight reports every invalid object at once and writes nothing', async () => {
      const kc = cluster().kubeconfig;
      const bad = [
        ...baseSet().map((d) => (d.object.kind === 'Job' ? desired(job('apply-a', 'migrate', ['run', 'v2']), 11) : d)),
        desired(configMap('apply-a', 'new-one', { a: '1' }), 20),
        desired(widget('apply-a', 'too-small', { size: 0 }), 30), // minimum: 1 → 422
        desired(widget('apply-a', 'wrong-type', { size: 'big' }), 40), // type → 500 typed patch
        desired({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'Bad_Name', namespace: 'apply-a' } }, 50),
        desired({ apiVersion: 'nope.example/v1', kind: 'Gadget', metadata: { name: 'g', namespace: 'apply-a' } }, 60),
      ];
      const result = await applySet(bad, opts());
      expect(result.counters.writes).toBe(0);
      expect(await readLive(kc, configMap('apply-a', 'new-one', {}))).toBeUndefined();
      const byName = Object.fromEntries(result.errors.map((e) => [`${e.ref?.kind}/${e.ref?.name}`, e]));
      expect(Object.keys(byName).sort()).toEqual(['ConfigMap/Bad_Name', 'Gadget/g', 'Widget/too-small', 'Widget/wrong-type']);
      expect(byName['Widget/too-small']).toMatchObject({ code: 'invalid', httpStatus: 422, origin: { line: 30 } });
      expect(byName['Widget/too-small']?.causes?.[0]?.field).toBe('spec.size');
      expect(byName['Widget/wrong-type']).toMatchObject({ code: 'schema', httpStatus: 500, origin: { line: 40 } });
      expect(byName['Widget/wrong-type']?.causes?.[0]?.field).toBe('.spec.size');
      expect(byName['ConfigMap/Bad_Name']).toMatchObject({ code: 'invalid', httpStatus: 422, origin: { line: 50 } });
      expect(byName['Gadget/g']).toMatchObject({ code: 'unknown-kind', origin: { line: 60 } });
    });
  },
  { controllerManager: true, testTimeoutMs: 90_000 },
);
