/** Cluster helpers for the sync tests: raw reads through the admin identity, and a kubeconfig that goes through a proxy. */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ApiException, ApisApi, CoreV1Api, CustomObjectsApi, KubernetesObjectApi, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import type { TestCluster } from '../../cluster/harness.js';

export async function ensureNamespace(kc: KubeConfig, name: string): Promise<void> {
  try {
    await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name } } });
  } catch (e) {
    if (!(e instanceof ApiException && e.code === 409)) throw e;
  }
}

export type Obj = KubernetesObject & { spec?: Record<string, unknown>; status?: Record<string, unknown>; data?: Record<string, string> };

export async function getObject(kc: KubeConfig, apiVersion: string, kind: string, namespace: string | undefined, name: string): Promise<Obj | undefined> {
  try {
    return (await KubernetesObjectApi.makeApiClient(kc).read({ apiVersion, kind, metadata: { name, ...(namespace ? { namespace } : {}) } })) as Obj;
  } catch (e) {
    if (e instanceof ApiException && e.code === 404) return undefined;
    throw e;
  }
}

/**
 * Names (`Kind ns/name`) of the live objects labelled as members of the
 * ApplySet, of every kind the cluster serves: an orphan of a kind no longer
 * desired must show up too.
 */
export async function liveMembers(kc: KubeConfig, applySetId: string): Promise<string[]> {
  const api = KubernetesObjectApi.makeApiClient(kc);
  const out: string[] = [];
  for (const k of await listableKinds(kc)) {
    const list = await retryTooManyRequests(() => api.list(k.apiVersion, k.kind, undefined, undefined, undefined, undefined, undefined, `applyset.kubernetes.io/part-of=${applySetId}`));
    for (const o of list.items) out.push(`${k.kind} ${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`);
  }
  return out.sort();
}

/** A CRD created a moment ago answers 429 ("storage is (re)initializing") until its cache is ready. */
async function retryTooManyRequests<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (!(e instanceof ApiException && e.code === 429) || attempt >= 40) throw e;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** Every kind served at its group's preferred version that can be listed. */
async function listableKinds(kc: KubeConfig): Promise<Array<{ apiVersion: string; kind: string }>> {
  const lists = [{ apiVersion: 'v1', list: await kc.makeApiClient(CoreV1Api).getAPIResources() }];
  const custom = kc.makeApiClient(CustomObjectsApi);
  for (const g of (await kc.makeApiClient(ApisApi).getAPIVersions()).groups) {
    const version = g.preferredVersion?.version ?? g.versions[0]?.version;
    if (version) lists.push({ apiVersion: `${g.name}/${version}`, list: await custom.getAPIResources({ group: g.name, version }) });
  }
  return lists.flatMap(({ apiVersion, list }) =>
    list.resources.filter((r) => !r.name.includes('/') && r.verbs.includes('list')).map((r) => ({ apiVersion, kind: r.kind })),
  );
}

/** A copy of the admin kubeconfig whose server is `127.0.0.1:<port>` (a proxy in front of the API server; TLS still verified). */
export async function kubeconfigVia(cluster: TestCluster, port: number, dir: string, name: string): Promise<string> {
  const text = await readFile(cluster.kubeconfigPath, 'utf8');
  const file = path.join(dir, name);
  await writeFile(file, text.split(cluster.server).join(`https://127.0.0.1:${port}`));
  return file;
}

export function serverPort(cluster: TestCluster): number {
  return Number(new URL(cluster.server).port);
}
