/**
 * Suite helper for tests that need a real kube-apiserver.
 *
 *   describeCluster('apply', (cluster) => {
 *     it('applies', async () => { const kc = cluster().kubeconfig; ... });
 *   }, { controllerManager: true });
 *
 * One cluster per describeCluster block: started in beforeAll, stopped in
 * afterAll. When the kube binaries are unavailable (no JOCH_KUBE_BIN, no
 * cached build, no Go to build one):
 * - with JOCH_REQUIRE_CLUSTER=1 (CI) the file fails at collection time;
 * - otherwise the block is skipped with a console.warn saying why and how to
 *   enable it.
 * A cluster that has binaries but fails to start always fails the suite.
 */
import { afterAll, beforeAll, describe } from 'vitest';
import { kubeBinaries, startTestCluster } from './harness.js';
import type { StartTestClusterOptions, TestCluster } from './harness.js';

export interface ClusterSuiteOptions extends StartTestClusterOptions {
  /** Per-test timeout inside the block (ms); default 60 000. */
  testTimeoutMs?: number;
  /** beforeAll budget for starting the cluster (ms); default 120 000. */
  startTimeoutMs?: number;
}

export function clusterRequired(): boolean {
  const v = process.env['JOCH_REQUIRE_CLUSTER'];
  return v === '1' || v === 'true';
}

const HOW_TO_ENABLE =
  'To run cluster tests: install Go (>= the version Kubernetes v1.34 needs) and run ' +
  'test/cluster/build-kube-binaries.sh once (it caches the binaries under ~/.cache/joch-kube-test), ' +
  'or point JOCH_KUBE_BIN at a folder with etcd, kube-apiserver and kube-controller-manager.';

export function describeCluster(
  name: string,
  fn: (cluster: () => TestCluster) => void,
  options: ClusterSuiteOptions = {},
): void {
  const { testTimeoutMs = 60_000, startTimeoutMs = 120_000, ...startOpts } = options;
  describe(name, { timeout: testTimeoutMs }, async () => {
    const bins = await kubeBinaries();
    if (!bins.ok) {
      const msg = `cluster suite "${name}" needs kube binaries: ${bins.reason}`;
      if (clusterRequired()) {
        throw new Error(`${msg}\nJOCH_REQUIRE_CLUSTER=1 forbids skipping. ${HOW_TO_ENABLE}`);
      }
      console.warn(
        `\n[joch cluster tests] SKIPPING ${msg}\n${HOW_TO_ENABLE}\n` +
          'Set JOCH_REQUIRE_CLUSTER=1 to make this a failure instead of a skip.\n',
      );
      describe.skip(`skipped: kube binaries unavailable (${bins.reason})`, () => {
        fn(() => {
          throw new Error('cluster suite skipped');
        });
      });
      return;
    }

    let cluster: TestCluster | undefined;
    beforeAll(async () => {
      cluster = await startTestCluster(startOpts);
    }, startTimeoutMs);
    afterAll(async () => {
      await cluster?.stop();
    }, 30_000);

    fn(() => {
      if (!cluster) throw new Error(`cluster for "${name}" is not running (did beforeAll fail?)`);
      return cluster;
    });
  });
}
