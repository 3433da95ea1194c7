/**
 * Tests of the test-cluster harness itself, against a real etcd +
 * kube-apiserver + kube-controller-manager started on 127.0.0.1.
 */
import { existsSync } from 'node:fs';
import { expect, it } from 'vitest';
import {
  ApiException,
  ApiextensionsV1Api,
  AuthenticationV1Api,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  RbacAuthorizationV1Api,
} from '@kubernetes/client-node';
import type { KubernetesObject, V1ConfigMap, V1CustomResourceDefinition } from '@kubernetes/client-node';
import { describeCluster } from './require-cluster.js';
import { errorMessage } from '../../src/diagnostics/index.js';

const MANAGER = 'joch-harness-test';

/** Resolves to the HTTP status of a failed Kubernetes API call (fails if it succeeds). */
async function statusOf(p: Promise<unknown>): Promise<number> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ApiException) return err.code;
    throw err;
  }
  throw new Error('expected the API call to fail');
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    if (await check()) return Date.now() - t0;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function gone(read: () => Promise<unknown>): Promise<boolean> {
  try {
    await read();
    return false;
  } catch (err) {
    if (err instanceof ApiException && err.code === 404) return true;
    throw err;
  }
}

function apply<T extends KubernetesObject>(kc: KubeConfig, obj: T, force = true): Promise<T> {
  return KubernetesObjectApi.makeApiClient(kc).patch(obj, undefined, undefined, MANAGER, force, PatchStrategy.ServerSideApply);
}

describeCluster(
  'test-cluster harness',
  (cluster) => {
    it('starts a TLS-verified cluster and lists namespaces', async () => {
      const c = cluster();
      expect(c.server).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      expect(c.caPem).toContain('BEGIN CERTIFICATE');

      const ns = await c.kubeconfig.makeApiClient(CoreV1Api).listNamespace();
      const names = ns.items.map((n) => n.metadata?.name);
      expect(names).toEqual(expect.arrayContaining(['default', 'kube-system', 'kube-public']));

      // The kubeconfig file is self-contained and usable as-is.
      const fromFile = new KubeConfig();
      fromFile.loadFromFile(c.kubeconfigPath);
      const viaFile = await fromFile.makeApiClient(CoreV1Api).readNamespace({ name: 'default' });
      expect(viaFile.metadata?.name).toBe('default');

      // Without the test CA the server certificate is rejected: TLS is verified.
      const noCa = new KubeConfig();
      noCa.loadFromOptions({
        clusters: [{ name: 'c', server: c.server, skipTLSVerify: false }],
        users: [{ name: 'u', token: c.adminToken }],
        contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
        currentContext: 'x',
      });
      const refused = await noCa.makeApiClient(CoreV1Api).listNamespace().then(() => undefined, (e: unknown) => e);
      expect(errorMessage(refused)).toMatch(/certificate/i);
    });

    it('server-side apply creates, updates and prunes a ConfigMap', async () => {
      const kc = cluster().kubeconfig;
      const cm = (data: Record<string, string>): V1ConfigMap => ({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'ssa-demo', namespace: 'default', labels: { 'app.kubernetes.io/managed-by': 'joch' } },
        data,
      });

      const created = await apply(kc, cm({ a: '1', b: '2' }));
      expect(created.data).toEqual({ a: '1', b: '2' });
      const mf = created.metadata?.managedFields ?? [];
      expect(mf).toHaveLength(1);
      expect(mf[0]).toMatchObject({ manager: MANAGER, operation: 'Apply' });

      const updated = await apply(kc, cm({ a: '10', c: '3' }));
      // 'b' was owned by this manager and is no longer applied: SSA removes it.
      expect(updated.data).toEqual({ a: '10', c: '3' });
      expect(updated.metadata?.uid).toBe(created.metadata?.uid);
      expect(updated.metadata?.resourceVersion).not.toBe(created.metadata?.resourceVersion);

      // Another manager changing an owned field conflicts unless forced.
      const other = KubernetesObjectApi.makeApiClient(kc);
      const conflict = await statusOf(
        other.patch(cm({ a: 'theirs' }), undefined, undefined, 'someone-else', false, PatchStrategy.ServerSideApply),
      );
      expect(conflict).toBe(409);

      const read = await kc.makeApiClient(CoreV1Api).readNamespacedConfigMap({ name: 'ssa-demo', namespace: 'default' });
      expect(read.data).toEqual({ a: '10', c: '3' });
    });

    it('creates a CRD that becomes Established and applies a custom resource', async () => {
      const kc = cluster().kubeconfig;
      const crd: V1CustomResourceDefinition = {
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: 'widgets.test.joch.dev' },
        spec: {
          group: 'test.joch.dev',
          scope: 'Namespaced',
          names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
          versions: [
            {
              name: 'v1',
              served: true,
              storage: true,
              schema: {
                openAPIV3Schema: {
                  type: 'object',
                  properties: {
                    spec: {
                      type: 'object',
                      required: ['size'],
                      properties: { size: { type: 'integer', minimum: 1 }, color: { type: 'string' } },
                    },
                  },
                },
              },
            },
          ],
        },
      };
      await apply(kc, crd);

      const ext = kc.makeApiClient(ApiextensionsV1Api);
      await waitFor('CRD Established', async () => {
        const got = await ext.readCustomResourceDefinition({ name: 'widgets.test.joch.dev' });
        return (got.status?.conditions ?? []).some((c) => c.type === 'Established' && c.status === 'True');
      });

      interface Widget extends KubernetesObject {
        spec: { size: number | string; color?: string };
      }
      const widget = (spec: Widget['spec']): Widget => ({
        apiVersion: 'test.joch.dev/v1',
        kind: 'Widget',
        metadata: { name: 'w1', namespace: 'default' },
        spec,
      });
      const applied = await apply(kc, widget({ size: 3, color: 'blue' }));
      expect(applied.spec).toEqual({ size: 3, color: 'blue' });
      const updated = await apply(kc, widget({ size: 4 }));
      expect(updated.spec).toEqual({ size: 4 });

      // The CRD's schema is enforced: a value check fails validation (422)...
      expect(await statusOf(apply(kc, widget({ size: 0 })))).toBe(422);
      // ...but a type mismatch fails earlier, building the typed SSA patch,
      // and the real apiserver answers 500 (not 422) for it.
      const typeErr = await apply(kc, widget({ size: 'big' })).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(typeErr).toBeInstanceOf(ApiException);
      expect((typeErr as ApiException<unknown>).code).toBe(500);
      expect(String((typeErr as ApiException<unknown>).body)).toContain('failed to create typed patch object');
    });

    it('a ServiceAccount token (TokenRequest) is confined to its namespace: 403 elsewhere', async () => {
      const c = cluster();
      const admin = c.kubeconfig;
      await admin.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: 'team-a' } } });
      const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
      await rbac.createNamespacedRole({
        namespace: 'team-a',
        body: {
          metadata: { name: 'cm-editor' },
          rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'create', 'patch', 'update'] }],
        },
      });
      await rbac.createNamespacedRoleBinding({
        namespace: 'team-a',
        body: {
          metadata: { name: 'reconciler-cm-editor' },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'cm-editor' },
          subjects: [{ kind: 'ServiceAccount', name: 'reconciler', namespace: 'team-a' }],
        },
      });

      const sa = await c.serviceAccountIdentity('team-a', 'reconciler');
      expect(sa.user).toBe('system:serviceaccount:team-a:reconciler');
      const who = await sa.kubeconfig.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({ body: {} });
      expect(who.status?.userInfo?.username).toBe(sa.user);

      const cm = (namespace: string): V1ConfigMap => ({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'sa-owned', namespace },
        data: { k: 'v' },
      });
      const ok = await apply(sa.kubeconfig, cm('team-a'));
      expect(ok.metadata?.namespace).toBe('team-a');

      expect(await statusOf(apply(sa.kubeconfig, cm('default')))).toBe(403);
      const core = sa.kubeconfig.makeApiClient(CoreV1Api);
      expect(await statusOf(core.listNamespacedConfigMap({ namespace: 'default' }))).toBe(403);
      expect(await statusOf(core.listNamespace())).toBe(403);

      // The kubeconfig file written for it works the same way.
      const fromFile = new KubeConfig();
      fromFile.loadFromFile(sa.kubeconfigPath);
      const list = await fromFile.makeApiClient(CoreV1Api).listNamespacedConfigMap({ namespace: 'team-a' });
      expect(list.items.map((i) => i.metadata?.name)).toContain('sa-owned');
    });

    it('a static-token user gets its groups and only what RBAC grants them', async () => {
      const c = cluster();
      const viewer = c.userIdentity('joch-viewer');
      const who = await viewer.kubeconfig.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({ body: {} });
      expect(who.status?.userInfo?.username).toBe('joch-viewer');
      expect(who.status?.userInfo?.groups).toEqual(
        expect.arrayContaining(['joch:viewers', 'joch:auditors', 'system:authenticated']),
      );

      const core = viewer.kubeconfig.makeApiClient(CoreV1Api);
      expect(await statusOf(core.listNamespacedConfigMap({ namespace: 'team-a' }))).toBe(403);
      await c.kubeconfig.makeApiClient(RbacAuthorizationV1Api).createNamespacedRoleBinding({
        namespace: 'team-a',
        body: {
          metadata: { name: 'viewers-view' },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
          subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'joch:viewers' }],
        },
      });
      // `view` is an aggregated ClusterRole: its rules are filled in by the
      // controller manager's clusterrole-aggregation-controller.
      await waitFor('RBAC grant to take effect', async () => {
        try {
          await core.listNamespacedConfigMap({ namespace: 'team-a' });
          return true;
        } catch (err) {
          if (err instanceof ApiException && err.code === 403) return false;
          throw err;
        }
      }, 10_000);
      expect(await statusOf(core.listNamespacedConfigMap({ namespace: 'default' }))).toBe(403);
      expect(
        await statusOf(
          apply(viewer.kubeconfig, {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: { name: 'nope', namespace: 'team-a' },
          } satisfies V1ConfigMap),
        ),
      ).toBe(403);
    });

    it('deletes a namespace with content to completion (namespace controller)', async () => {
      const kc = cluster().kubeconfig;
      const core = kc.makeApiClient(CoreV1Api);
      await core.createNamespace({ body: { metadata: { name: 'doomed' } } });
      await apply(kc, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'doomed' } });
      await apply(kc, {
        apiVersion: 'test.joch.dev/v1',
        kind: 'Widget',
        metadata: { name: 'w', namespace: 'doomed' },
        spec: { size: 1 },
      } as KubernetesObject);
      await core.deleteNamespace({ name: 'doomed' });
      await waitFor('namespace "doomed" to disappear', () => gone(() => core.readNamespace({ name: 'doomed' })));
    });

    it('garbage-collects ownerReference dependents (garbage collector)', async () => {
      const kc = cluster().kubeconfig;
      const core = kc.makeApiClient(CoreV1Api);
      const parent = await apply<V1ConfigMap>(kc, {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'gc-parent', namespace: 'default' },
      } satisfies V1ConfigMap);
      await apply(kc, {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          name: 'gc-child',
          namespace: 'default',
          ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'gc-parent', uid: parent.metadata?.uid ?? '' }],
        },
      } satisfies V1ConfigMap);
      await core.deleteNamespacedConfigMap({ name: 'gc-parent', namespace: 'default', propagationPolicy: 'Background' });
      await waitFor('dependent ConfigMap to be collected', () =>
        gone(() => core.readNamespacedConfigMap({ name: 'gc-child', namespace: 'default' })),
      );
    });

    it('stop() terminates every process and removes the temp dir', async () => {
      const c = cluster();
      const pids = Object.values(c.pids);
      expect(pids.length).toBe(3);
      const alive = (pid: number): boolean => {
        try {
          process.kill(pid, 0);
          return true;
        } catch {
          return false;
        }
      };
      expect(pids.every(alive)).toBe(true);
      await c.stop();
      expect(pids.filter(alive)).toEqual([]);
      expect(existsSync(c.dir)).toBe(false);
      await c.stop(); // idempotent
    });
  },
  { controllerManager: true, users: [{ name: 'joch-viewer', groups: ['joch:viewers', 'joch:auditors'] }] },
);
