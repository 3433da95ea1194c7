/**
 * Scale: a first apply and a no-op of N ConfigMaps across 10 namespaces
 * (N = 2,000 by default; JOCH_SCALE_OBJECTS=10000 for the big run). The
 * no-op must make zero writes and zero dry-runs: one LIST per type and
 * namespace, then an in-memory comparison against managedFields.
 */
import { expect, it } from 'vitest';
import { applySet, planApply } from '../../src/cluster/index.js';
import type { ApplyOptions, DesiredObject } from '../../src/cluster/index.js';
import { describeCluster } from './require-cluster.js';
import { configMap, desired, namespace } from './engine-fixtures.js';

const TOTAL = Number(process.env['JOCH_SCALE_OBJECTS'] ?? 2000);
const NAMESPACES = 10;

describeCluster(
  'cluster engine: scale',
  (cluster) => {
    const opts = (): ApplyOptions => ({
      kubeconfig: cluster().kubeconfig,
      inventory: { name: 'scale', namespace: 'scale-0' },
      concurrency: 32,
    });
    const set = (revision: string): DesiredObject[] => {
      const out: DesiredObject[] = [];
      for (let n = 0; n < NAMESPACES; n++) out.push(desired(namespace(`scale-${n}`)));
      for (let i = 0; i < TOTAL; i++) {
        const ns = `scale-${i % NAMESPACES}`;
        out.push(desired(configMap(ns, `cm-${i}`, { index: String(i), revision: i === 0 ? revision : 'r1', payload: 'x'.repeat(200) }, { labels: { 'app.kubernetes.io/part-of': 'scale' } }), i + 1));
      }
      return out;
    };

    it(`applies ${TOTAL} ConfigMaps, then re-applies them as a no-op with zero writes`, async () => {
      const t0 = Date.now();
      const first = await applySet(set('r1'), opts());
      const firstMs = Date.now() - t0;
      expect(first.errors).toEqual([]);
      expect(first.counters.writes).toBe(TOTAL + NAMESPACES + 1);

      const t1 = Date.now();
      const noop = await applySet(set('r1'), opts());
      const noopMs = Date.now() - t1;
      expect(noop.errors).toEqual([]);
      expect(noop.counters).toMatchObject({ writes: 0, dryRuns: 0, deletes: 0, reads: 1 });
      // One LIST of ConfigMaps across every namespace (pages of 1,000) and one of Namespaces.
      expect(noop.counters.lists).toBe(Math.ceil(TOTAL / 1000) + 1);

      const t2 = Date.now();
      const one = await applySet(set('r2'), opts());
      const oneMs = Date.now() - t2;
      expect(one.counters).toMatchObject({ writes: 1, dryRuns: 1 });

      const plan = await planApply(set('r2'), opts());
      expect(plan.summary.unchanged).toBe(TOTAL + NAMESPACES);
      console.log(
        `[scale] ${TOTAL} ConfigMaps / ${NAMESPACES} namespaces: first apply ${firstMs} ms ${JSON.stringify(first.counters)}; ` +
          `no-op ${noopMs} ms ${JSON.stringify(noop.counters)}; one change ${oneMs} ms ${JSON.stringify(one.counters)}; ` +
          `plan ${plan.durationMs} ms`,
      );
    });
  },
  { testTimeoutMs: 300_000 },
);
