/** Cluster helpers for the sync tests: raw reads through the admin identity, and a kubeconfig that goes through a proxy. */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ApiException, CoreV1Api, KubernetesObjectApi, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
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

/** Names (`Kind ns/name`) of the live objects labelled as members of the ApplySet, for the kinds given. */
export async function liveMembers(kc: KubeConfig, applySetId: string, kinds: ReadonlyArray<{ apiVersion: string; kind: string }>): Promise<string[]> {
  const api = KubernetesObjectApi.makeApiClient(kc);
  const out: string[] = [];
  for (const k of kinds) {
    const list = await api.list(k.apiVersion, k.kind, undefined, undefined, undefined, undefined, undefined, `applyset.kubernetes.io/part-of=${applySetId}`);
    for (const o of list.items) out.push(`${k.kind} ${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`);
  }
  return out.sort();
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
