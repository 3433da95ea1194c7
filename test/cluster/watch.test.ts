/**
 * The member watch against a real kube-apiserver: an edit by another field
 * manager and a deletion are reported; our own applies and status writes
 * are not; a watch cut off (the API server unreachable) reconnects and
 * still reports what changes after it is back.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { applySet, MemberWatch, type DriftEvent } from '../../src/cluster/index.js';
import { kubeconfigVia, serverPort } from '../reconcile/support/cluster.js';
import { startProxy } from '../reconcile/support/proxy.js';
import { configMap, desired, namespace } from './engine-fixtures.js';
import { describeCluster } from './require-cluster.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'joch-watch-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function until<T>(what: string, check: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describeCluster('member watch', (cluster) => {
  const inventory = { name: 'watch-suite', namespace: 'watch-a' };
  const set = (value: string) => [desired(namespace('watch-a')), desired(configMap('watch-a', 'one', { v: value })), desired(configMap('watch-a', 'two', { v: value }))];
  const edit = (kc: KubeConfig, name: string, value: string) =>
    kc
      .makeApiClient(CoreV1Api)
      .patchNamespacedConfigMap({ name, namespace: 'watch-a', body: { data: { v: value } }, fieldManager: 'kubectl-edit' }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));

  it('reports edits by others and deletions, not our own applies', async () => {
    const kc = cluster().kubeconfig;
    expect((await applySet(set('1'), { kubeconfig: kc, inventory })).errors).toEqual([]);
    const seen: DriftEvent[] = [];
    const watch = await MemberWatch.start({ kubeconfig: kc, inventory, groupKinds: ['ConfigMap', 'Namespace'], onDrift: (e) => seen.push(e) });
    try {
      await watch.established();
      // Our own change: no report.
      expect((await applySet(set('2'), { kubeconfig: kc, inventory })).errors).toEqual([]);
      await edit(kc, 'one', 'by hand');
      const report = await until('the edit', () => seen.find((e) => e.ref.name === 'one'));
      expect(report).toEqual({ ref: { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'watch-a', name: 'one' }, type: 'MODIFIED', manager: 'kubectl-edit' });
      // The apply that puts it back is ours again: the only reports are the edit's.
      expect((await applySet(set('2'), { kubeconfig: kc, inventory })).objects.find((o) => o.ref.name === 'one')?.outcome).toBe('configured');
      await kc.makeApiClient(CoreV1Api).deleteNamespacedConfigMap({ name: 'two', namespace: 'watch-a' });
      await until('the deletion', () => seen.find((e) => e.ref.name === 'two' && e.type === 'DELETED'));
      expect(seen.map((e) => `${e.type} ${e.ref.name}`)).toEqual(['MODIFIED one', 'DELETED two']);
      expect(watch.stats.lists).toBe(2);
    } finally {
      await watch.stop();
    }
  });

  it('reconnects after losing the API server and reports what changes once it is back', async () => {
    const proxy = await startProxy(serverPort(cluster()));
    const kc = new KubeConfig();
    kc.loadFromFile(await kubeconfigVia(cluster(), proxy.port, dir, 'proxied.kubeconfig'));
    expect((await applySet(set('3'), { kubeconfig: cluster().kubeconfig, inventory })).errors).toEqual([]);
    const seen: DriftEvent[] = [];
    const watch = await MemberWatch.start({ kubeconfig: kc, inventory, groupKinds: ['ConfigMap'], onDrift: (e) => seen.push(e), backoff: { initialMs: 50, maxMs: 200 } });
    try {
      await watch.established();
      proxy.cut();
      await until('a reconnect attempt', () => (watch.stats.reconnects > 0 ? true : undefined));
      proxy.restore();
      const watches = watch.stats.watches;
      await until('the watch to be open again', () => (watch.stats.watches > watches ? true : undefined));
      await edit(cluster().kubeconfig, 'one', 'after the outage');
      await until('the edit after the outage', () => seen.find((e) => e.ref.name === 'one'));
    } finally {
      await watch.stop();
      await proxy.close();
    }
  });
});
