/**
 * Least privilege and outages: a ServiceAccount confined to its namespaces
 * gets clear 403 errors with origins, and an API server that becomes
 * unreachable mid-apply gives a clear error after which a later run
 * converges with no duplicate or orphaned object.
 */
import { readFileSync } from 'node:fs';
import { createServer, request } from 'node:https';
import type { Server } from 'node:https';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { CoreV1Api, KubeConfig, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { applySet, planApply } from '../../src/cluster/index.js';
import type { ApplyOptions, DesiredObject } from '../../src/cluster/index.js';
import type { TestCluster } from './harness.js';
import { describeCluster } from './require-cluster.js';
import { configMap, desired, readLive } from './engine-fixtures.js';

describeCluster(
  'cluster engine: least privilege and outages',
  (cluster) => {
    it('a ServiceAccount limited to its namespaces gets 403 errors with origins, and nothing breaks', async () => {
      const c = cluster();
      const core = c.kubeconfig.makeApiClient(CoreV1Api);
      const rbac = c.kubeconfig.makeApiClient(RbacAuthorizationV1Api);
      for (const name of ['lp-a', 'lp-b', 'lp-c']) await core.createNamespace({ body: { metadata: { name } } });
      const grant = async (namespace: string, verbs: string[]): Promise<void> => {
        await rbac.createNamespacedRole({
          namespace,
          body: { metadata: { name: 'deployer' }, rules: [{ apiGroups: [''], resources: ['configmaps', 'secrets'], verbs }] },
        });
        await rbac.createNamespacedRoleBinding({
          namespace,
          body: {
            metadata: { name: 'deployer' },
            roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'deployer' },
            subjects: [{ kind: 'ServiceAccount', name: 'deployer', namespace: 'lp-a' }],
          },
        });
      };
      await grant('lp-a', ['get', 'list', 'create', 'patch', 'update', 'delete']);
      await grant('lp-b', ['get', 'list']); // read-only there; nothing at all in lp-c
      const sa = await c.serviceAccountIdentity('lp-a', 'deployer');
      const opts: ApplyOptions = { kubeconfig: sa.kubeconfig, inventory: { name: 'team', namespace: 'lp-a' } };

      const mixed: DesiredObject[] = [
        desired(configMap('lp-a', 'mine', { a: '1' }), 3),
        desired(configMap('lp-b', 'read-only-here', { a: '1' }), 7),
        desired(configMap('lp-c', 'no-access-here', { a: '1' }), 9),
      ];
      const refused = await applySet(mixed, opts);
      expect(refused.counters.writes).toBe(0);
      expect(await readLive(c.kubeconfig, configMap('lp-a', 'mine', {}))).toBeUndefined();
      const byName = Object.fromEntries(refused.errors.map((e) => [e.ref?.name, e]));
      expect(byName['read-only-here']).toMatchObject({
        code: 'forbidden',
        httpStatus: 403,
        phase: 'preflight',
        origin: { file: 'manifests/configmap-read-only-here.yaml', line: 7 },
      });
      expect(byName['read-only-here']?.message).toMatch(/cannot patch resource "configmaps" in API group "" in the namespace "lp-b"/);
      expect(byName['no-access-here']).toMatchObject({ code: 'forbidden', httpStatus: 403, phase: 'inventory', origin: { line: 9 } });
      expect(byName['no-access-here']?.message).toMatch(/cannot list configmaps in namespace lp-c to read the ApplySet members/);
      expect(refused.errors).toHaveLength(2);

      // Within its namespace, the same identity applies, re-applies as a no-op and prunes.
      const own = [desired(configMap('lp-a', 'mine', { a: '1' })), desired(configMap('lp-a', 'mine-2', { a: '1' }))];
      const ok = await applySet(own, opts);
      expect(ok.errors).toEqual([]);
      expect(ok.objects.map((o) => o.outcome)).toEqual(['created', 'created']);
      expect((await applySet(own, opts)).counters).toMatchObject({ writes: 0, dryRuns: 0 });
      const pruned = await applySet(own.slice(0, 1).concat(desired(configMap('lp-a', 'mine-3', {}))), opts);
      expect(pruned.errors).toEqual([]);
      expect(pruned.pruned.map((p) => [p.ref.name, p.outcome])).toEqual([['mine-2', 'deleted']]);
    });

    it('an API server lost mid-apply gives one clear error; the next run converges without duplicates or orphans', async () => {
      const c = cluster();
      await c.kubeconfig.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: 'outage' } } });
      const names = (from: number, to: number): string[] => Array.from({ length: to - from + 1 }, (_, i) => `cm-${from + i}`);
      const set = (ns: string[]): DesiredObject[] => ns.map((n, i) => desired(configMap('outage', n, { n }), i + 1));
      const direct: ApplyOptions = { kubeconfig: c.kubeconfig, inventory: { name: 'outage', namespace: 'outage' }, concurrency: 4 };
      expect((await applySet(set(names(1, 10)), direct)).errors).toEqual([]);

      // Next revision: drop cm-1..cm-4, add cm-11..cm-30. The connection dies
      // after 6 writes (the parent, then 5 ConfigMaps).
      const next = set(names(5, 30));
      const proxy = await startCuttingProxy(c, 6);
      const cut = await applySet(next, { ...direct, kubeconfig: proxy.kubeconfig, attempts: 2 });
      await proxy.close();
      expect(cut.complete).toBe(false);
      const unreachable = cut.errors.filter((e) => e.code === 'unreachable');
      expect(unreachable).toHaveLength(1);
      expect(cut.errors).toHaveLength(1);
      expect(unreachable[0]?.message).toMatch(
        /^cannot reach the API server at https:\/\/127\.0\.0\.1:\d+: \w+ .*during the namespaced stage, \d+ of 20 changed objects were written; nothing was pruned; run again to converge$/,
      );
      expect(cut.pruned).toEqual([]);
      expect(cut.objects.filter((o) => o.outcome === 'created').length).toBeLessThan(20);
      expect(cut.objects.some((o) => o.outcome === 'skipped')).toBe(true);

      // The parent already listed everything before the first member write.
      const plan = await planApply(next, direct);
      expect(plan.errors).toEqual([]);
      expect(plan.prune.map((p) => p.ref.name).sort()).toEqual(['cm-1', 'cm-2', 'cm-3', 'cm-4']);

      const again = await applySet(next, direct);
      expect(again.errors).toEqual([]);
      expect(again.complete).toBe(true);
      const live = await c.kubeconfig.makeApiClient(CoreV1Api).listNamespacedConfigMap({
        namespace: 'outage',
        labelSelector: `applyset.kubernetes.io/part-of=${again.inventory.id}`,
      });
      expect(live.items.map((i) => i.metadata?.name).sort()).toEqual(names(5, 30).sort());
      expect((await applySet(next, direct)).counters).toMatchObject({ writes: 0, dryRuns: 0, deletes: 0 });
    });

    it('an unreachable API server before anything starts is a clear error, not a crash', async () => {
      const c = cluster();
      const proxy = await startCuttingProxy(c, 0);
      await proxy.close();
      const plan = await planApply([desired(configMap('outage', 'x', {}))], {
        kubeconfig: proxy.kubeconfig,
        inventory: { name: 'outage', namespace: 'outage' },
        attempts: 1,
      });
      expect(plan.errors).toEqual([expect.objectContaining({ code: 'unreachable', message: expect.stringMatching(/cannot reach the API server at .*ECONNREFUSED/) })]);
    });
  },
  { testTimeoutMs: 60_000 },
);

interface CuttingProxy {
  kubeconfig: KubeConfig;
  close(): Promise<void>;
}

/**
 * A TLS-terminating proxy in front of the test apiserver that serves the
 * apiserver's own certificate (so clients still verify TLS against the test
 * CA) and goes down for good after `cutAfterWrites` non-dry-run writes.
 */
async function startCuttingProxy(c: TestCluster, cutAfterWrites: number): Promise<CuttingProxy> {
  const target = new URL(c.server);
  const sockets = new Set<Socket>();
  let writes = 0;
  const goDown = (): void => {
    server.close();
    for (const s of sockets) s.destroy();
  };
  const server: Server = createServer(
    { cert: readFileSync(join(c.dir, 'apiserver.crt')), key: readFileSync(join(c.dir, 'apiserver.key')) },
    (req, res) => {
      const isWrite = (req.method === 'PATCH' || req.method === 'DELETE') && !/[?&]dryRun=/.test(req.url ?? '');
      if (isWrite && ++writes > cutAfterWrites) {
        goDown();
        return;
      }
      const upstream = request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers, ca: c.caPem },
        (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers);
          r.pipe(res);
        },
      );
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    },
  );
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const port = await new Promise<number>((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
  });
  if (cutAfterWrites === 0) goDown();
  const kubeconfig = new KubeConfig();
  kubeconfig.loadFromOptions({
    clusters: [{ name: 'proxy', server: `https://127.0.0.1:${port}`, caData: Buffer.from(c.caPem).toString('base64'), skipTLSVerify: false }],
    users: [{ name: 'admin', token: c.adminToken }],
    contexts: [{ name: 'proxy', cluster: 'proxy', user: 'admin' }],
    currentContext: 'proxy',
  });
  return {
    kubeconfig,
    close: () =>
      new Promise<void>((resolve) => {
        goDown();
        resolve();
      }),
  };
}
