/**
 * How to reach a named cluster: joch.yaml `clusters` gives, for each name, a
 * context of the kubeconfig in use, a kubeconfig file (and its context), the
 * in-cluster service account, or a Kubernetes Secret holding a kubeconfig.
 * Each turns into its own KubeConfig, so two clusters never share a client.
 */
import path from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import type { ClusterAccess } from '../config/index.js';
import { errorMessage } from '../diagnostics/index.js';
import type { InventoryRef } from './types.js';

/** Why a cluster cannot be reached with what joch.yaml says: the run goes on with the others. */
export class ClusterAccessError extends Error {
  constructor(
    readonly cluster: string,
    message: string,
  ) {
    super(`cluster ${cluster}: ${message}`);
  }
}

export interface AccessEnvironment {
  /** Where a relative `kubeconfig` path starts. */
  readonly baseDir: string;
  /** The kubeconfig in use (`--kubeconfig`, KUBECONFIG, ~/.kube/config), for `context` entries. */
  readonly base?: (() => KubeConfig) | undefined;
  /**
   * The cluster holding the Secrets of `secretRef` entries: the one `joch
   * sync` runs against, or for the CLI the kubeconfig in use (loaded only
   * when an entry needs it).
   */
  readonly home?: KubeConfig | (() => KubeConfig) | undefined;
}

/** A KubeConfig for one cluster of joch.yaml `clusters`; throws ClusterAccessError. */
export async function kubeConfigForCluster(name: string, access: ClusterAccess, env: AccessEnvironment): Promise<KubeConfig> {
  const kc = new KubeConfig();
  try {
    if (access.kubeconfig !== undefined) kc.loadFromFile(path.resolve(env.baseDir, access.kubeconfig));
    else if (access.inCluster) kc.loadFromCluster();
    else if (access.secretRef) loadSecretKubeconfig(kc, name, access.secretRef, await readKubeconfigSecret(name, access.secretRef, env.home));
    else if (access.context !== undefined) {
      if (!env.base) throw new ClusterAccessError(name, `names context ${access.context}, but no kubeconfig is in use`);
      // A copy: setting the context must not move the kubeconfig other clusters start from.
      kc.loadFromString(env.base().exportConfig());
    }
  } catch (e) {
    if (e instanceof ClusterAccessError) throw e;
    throw new ClusterAccessError(name, `cannot load its kubeconfig: ${errorMessage(e)}`);
  }
  if (access.context !== undefined) {
    if (!kc.getContextObject(access.context)) {
      throw new ClusterAccessError(name, `no context "${access.context}" in the kubeconfig; it has ${kc.getContexts().map((c) => c.name).join(', ') || 'none'}`);
    }
    kc.setCurrentContext(access.context);
  }
  if (!kc.getCurrentCluster()) throw new ClusterAccessError(name, 'its kubeconfig names no current cluster');
  return kc;
}

type SecretRef = NonNullable<ClusterAccess['secretRef']>;

const secretKey = (ref: SecretRef) => `the Secret ${ref.namespace}/${ref.name} key ${ref.key}`;

async function readKubeconfigSecret(name: string, ref: SecretRef, home: AccessEnvironment['home']): Promise<string> {
  const where = `secretRef ${ref.namespace}/${ref.name}`;
  if (!home) throw new ClusterAccessError(name, `${where} is read through the cluster of the kubeconfig in use (joch sync's own cluster), and there is none`);
  let homeConfig: KubeConfig;
  try {
    homeConfig = typeof home === 'function' ? home() : home;
  } catch (e) {
    throw new ClusterAccessError(name, `${where} is read through the cluster of the kubeconfig in use: ${errorMessage(e)}`);
  }
  let data: Record<string, string>;
  try {
    data = (await homeConfig.makeApiClient(CoreV1Api).readNamespacedSecret({ namespace: ref.namespace, name: ref.name })).data ?? {};
  } catch (e) {
    const code = (e as { code?: number }).code;
    if (code === 404) throw new ClusterAccessError(name, `no Secret ${ref.namespace}/${ref.name} in the cluster that holds joch.yaml's secretRef kubeconfigs`);
    if (code === 403) throw new ClusterAccessError(name, `may not get the Secret ${ref.namespace}/${ref.name}: grant joch get on that Secret by name`);
    throw new ClusterAccessError(name, `cannot read the Secret ${ref.namespace}/${ref.name}: ${code ?? errorMessage(e)}`);
  }
  const value = data[ref.key];
  if (value === undefined) throw new ClusterAccessError(name, `the Secret ${ref.namespace}/${ref.name} has no key ${ref.key}`);
  return Buffer.from(value, 'base64').toString('utf8');
}

/**
 * Loads the kubeconfig a Secret holds. The parser's own message may quote
 * the text, which holds tokens and keys: only the Secret and key are named.
 */
function loadSecretKubeconfig(kc: KubeConfig, name: string, ref: SecretRef, text: string): void {
  try {
    kc.loadFromString(text);
  } catch {
    throw new ClusterAccessError(name, `${secretKey(ref)} does not hold a kubeconfig (it does not parse as one)`);
  }
  if (!kc.getCurrentCluster()) throw new ClusterAccessError(name, `${secretKey(ref)} holds no kubeconfig with a current cluster`);
}

/** `NAMESPACE/NAME` of joch.yaml to an inventory reference; the fallback when it is not given. */
export function clusterInventory(access: ClusterAccess | undefined, fallback: InventoryRef): InventoryRef {
  if (!access?.inventory) return fallback;
  const [namespace = '', name = ''] = access.inventory.split('/');
  return { ...fallback, namespace, name };
}

/**
 * Two cluster names that reach the same API server with the same inventory
 * would share one ApplySet, so a prune for one would delete the other's
 * share: the pairs that do, as messages.
 */
export function sharedInventories(targets: readonly { readonly cluster: string; readonly kubeconfig: KubeConfig; readonly inventory: InventoryRef }[]): string[] {
  const seen = new Map<string, string>();
  const out: string[] = [];
  for (const t of targets) {
    const key = `${t.kubeconfig.getCurrentCluster()?.server ?? ''} ${t.inventory.namespace}/${t.inventory.name}`;
    const other = seen.get(key);
    if (other !== undefined) {
      out.push(
        `clusters ${other} and ${t.cluster} reach the same API server with the same inventory ${t.inventory.namespace}/${t.inventory.name}: give one of them its own inventory in joch.yaml, or a prune for one would delete the other's objects`,
      );
    } else seen.set(key, t.cluster);
  }
  return out;
}
