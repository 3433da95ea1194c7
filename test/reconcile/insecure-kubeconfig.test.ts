/**
 * A kubeconfig with insecure-skip-tls-verify is refused by every API client
 * the loop builds, as the cluster stage refuses it: the leader elector, the
 * Event recorder and the `--auth-secret` read. The same kubeconfig without
 * the flag works against the same real API server, so the refusal is the
 * flag's doing and nothing else.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { EventRecorder, LeaderElector, SyncSetupError } from '../../src/reconcile/index.js';
import { describeCluster } from '../cluster/require-cluster.js';
import type { TestCluster } from '../cluster/harness.js';
import { ensureNamespace } from './support/cluster.js';
import { syncRuntime } from './support/fleet.js';

const REFUSAL = 'kubeconfig cluster joch-test sets insecure-skip-tls-verify; refusing to connect without TLS verification';
let root: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'joch-sync-insecure-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** The admin kubeconfig of the test cluster, with the CA or, when `insecure`, with TLS verification turned off instead. */
async function adminKubeconfig(cluster: TestCluster, insecure: boolean): Promise<{ file: string; kc: KubeConfig }> {
  const server = insecure ? { server: cluster.server, 'insecure-skip-tls-verify': true } : { server: cluster.server, 'certificate-authority': cluster.caFile };
  const file = path.join(root, insecure ? 'insecure.kubeconfig' : 'verified.kubeconfig');
  await writeFile(
    file,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'joch-test', cluster: server }],
      users: [{ name: 'admin', user: { token: cluster.adminToken } }],
      contexts: [{ name: 'joch-test', context: { cluster: 'joch-test', user: 'admin' } }],
      'current-context': 'joch-test',
    }),
  );
  const kc = new KubeConfig();
  kc.loadFromFile(file);
  return { file, kc };
}

/** What `joch sync` setup threw for these flags. */
async function setupFailure(flags: Parameters<typeof syncRuntime>[0]): Promise<SyncSetupError> {
  try {
    await syncRuntime(flags, root);
  } catch (e) {
    expect(e).toBeInstanceOf(SyncSetupError);
    return e as SyncSetupError;
  }
  throw new Error('the setup was not refused');
}

function leaderOn(kc: KubeConfig): LeaderElector {
  return new LeaderElector({ kubeconfig: kc, namespace: 'joch-system', name: 'insecure', identity: 'replica-a', leaseDurationMs: 3000 });
}

describeCluster('API clients refuse insecure-skip-tls-verify', (cluster) => {
  it('the leader elector and the Event recorder refuse it', async () => {
    await ensureNamespace(cluster().kubeconfig, 'joch-system');
    const insecure = await adminKubeconfig(cluster(), true);
    expect(() => leaderOn(insecure.kc)).toThrow(REFUSAL);
    expect(() => new EventRecorder(insecure.kc, 'replica-a')).toThrow(REFUSAL);

    const verified = await adminKubeconfig(cluster(), false);
    const leader = leaderOn(verified.kc);
    leader.start();
    await leader.whenLeading();
    await leader.stop();
    const events = new EventRecorder(verified.kc, 'replica-a');
    await events.record([{ object: { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'joch-system', name: 'insecure' }, reason: 'Applied', message: 'written' }]);
    expect(events.written).toBe(1);
  });

  it('joch sync refuses it as a setup error: for --auth-secret, --leader-elect and the cluster target', async () => {
    await ensureNamespace(cluster().kubeconfig, 'joch-system');
    await cluster()
      .kubeconfig.makeApiClient(CoreV1Api)
      .createNamespacedSecret({ namespace: 'joch-system', body: { metadata: { name: 'git-auth' }, stringData: { token: 'not-a-real-token' } } });
    const insecure = await adminKubeconfig(cluster(), true);
    const verified = await adminKubeconfig(cluster(), false);
    const flags = { repo: 'http://127.0.0.1:9/fleet.git', 'cache-dir': path.join(root, 'cache'), once: true };
    const folder = { ...flags, target: 'folder', output: path.join(root, 'out') };

    const withSecret = await syncRuntime({ ...folder, kubeconfig: verified.file, 'auth-secret': 'joch-system/git-auth' }, root);
    expect(withSecret.info.target).toBe('folder');
    expect((await setupFailure({ ...folder, kubeconfig: insecure.file, 'auth-secret': 'joch-system/git-auth' })).message).toBe(`cannot read the Secret joch-system/git-auth: ${REFUSAL}`);
    expect((await setupFailure({ ...folder, kubeconfig: insecure.file, 'leader-elect': true })).message).toBe(`cannot use the kubeconfig: ${REFUSAL}`);
    expect((await setupFailure({ ...flags, kubeconfig: insecure.file })).message).toBe(`cannot use the kubeconfig: ${REFUSAL}`);
    // Without a cluster to talk to, the kubeconfig is not used and not judged.
    expect((await syncRuntime({ ...folder, kubeconfig: insecure.file }, root)).info.target).toBe('folder');
  });
});
