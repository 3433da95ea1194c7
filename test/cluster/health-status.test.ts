/**
 * Health (kstatus-style, with a timeout) and writeStatus for Joch custom
 * resources, against a real kube-apiserver + controller manager. There is no
 * kubelet: pods never run, and the engine must say so rather than pretend.
 */
import { expect, it } from 'vitest';
import { BatchV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { applySet, writeStatus } from '../../src/cluster/index.js';
import type { ApplyOptions, DesiredObject, JochStatus, KubeObject, StatusOptions } from '../../src/cluster/index.js';
import { describeCluster } from './require-cluster.js';
import { configMap, deployment, desired, job, namespace, readLive, widget, widgetCrd } from './engine-fixtures.js';

describeCluster(
  'cluster engine: health and status',
  (cluster) => {
    const opts = (extra: Partial<ApplyOptions> = {}): ApplyOptions => ({
      kubeconfig: cluster().kubeconfig,
      inventory: { name: 'health-suite', namespace: 'health-a' },
      ...extra,
    });
    const statusOpts = (): StatusOptions => ({ kubeconfig: cluster().kubeconfig, now: () => new Date('2030-01-01T00:00:00Z') });
    const widgetRef = { apiVersion: 'test.joch.dev/v1', kind: 'Widget', namespace: 'health-a', name: 'agent-1' };
    const ready = (status: 'True' | 'False', generation = 1): JochStatus => ({
      phase: status === 'True' ? 'Ready' : 'Pending',
      observedGeneration: generation,
      sourceRevision: 'git:0123abcd',
      compiledHash: 'sha256:feed',
      agbomRef: 'agbom/agent-1@sha256:beef',
      conditions: [{ type: 'Ready', status, reason: status === 'True' ? 'Reconciled' : 'Waiting', message: 'from the test' }],
    });
    const base = (): DesiredObject[] => [
      desired(namespace('health-a')),
      desired(widgetCrd()),
      desired(widget('health-a', 'agent-1', { size: 1 }), 12),
      desired(configMap('health-a', 'cfg', { a: '1' })),
    ];

    it('a custom resource nothing reports on is Current once applied; one a controller reports on is waited for', async () => {
      // kstatus: no controller has written a condition, so there is nothing to wait for.
      const first = await applySet(base(), opts({ wait: { timeoutMs: 20_000, pollIntervalMs: 200 } }));
      expect(first.errors).toEqual([]);
      expect(first.complete).toBe(true);
      expect(first.healthy).toBe(true);
      expect(first.objects.find((o) => o.ref.kind === 'Widget')?.health).toEqual({ status: 'Current', message: 'applied; no controller reports a Ready condition' });

      // A controller (here: the test) reports Ready=False: the wait times out, once, saying why.
      await writeStatus([{ ref: widgetRef, status: ready('False') }], statusOpts());
      const notReady = await applySet(base(), opts({ wait: { timeoutMs: 1_500, pollIntervalMs: 200 } }));
      expect(notReady.complete).toBe(true);
      expect(notReady.healthy).toBe(false);
      expect(notReady.errors).toEqual([
        expect.objectContaining({
          code: 'timeout',
          phase: 'health',
          ref: expect.objectContaining({ kind: 'Widget', name: 'agent-1' }),
          origin: expect.objectContaining({ file: 'manifests/widget-agent-1.yaml', line: 12 }),
          message: expect.stringMatching(/not ready: Waiting: from the test/),
        }),
      ]);

      // It reports Ready=True while applySet waits.
      const waiting = applySet(base(), opts({ wait: { timeoutMs: 20_000, pollIntervalMs: 100 } }));
      const notYet = await readLive(cluster().kubeconfig, widget('health-a', 'agent-1', {}));
      expect((notYet?.['status'] as JochStatus).phase).toBe('Pending');
      await writeStatus([{ ref: widgetRef, status: ready('True') }], statusOpts());
      const result = await waiting;
      expect(result.errors).toEqual([]);
      expect(result.healthy).toBe(true);
      expect(result.objects.find((o) => o.ref.kind === 'Widget')?.health).toEqual({ status: 'Current', message: 'from the test' });
    });

    it('a long wait backs off: reads per pending object stay few', async () => {
      await writeStatus([{ ref: widgetRef, status: ready('False') }], statusOpts());
      const waited = await applySet(base(), opts({ wait: { timeoutMs: 6_000, pollIntervalMs: 100 } }));
      expect(waited.healthy).toBe(false);
      // At a fixed 100 ms that would be ~60 reads; backing off (100, 200, 400 ... ms) it is under 10.
      expect(waited.counters.reads).toBeLessThan(12);
      expect(waited.errors).toHaveLength(1);
      await writeStatus([{ ref: widgetRef, status: ready('True') }], statusOpts());
    });

    it('writes status only when it changed, keeping transition times stable', async () => {
      const same = await writeStatus([{ ref: widgetRef, status: ready('True') }], statusOpts());
      expect(same.results).toEqual([{ ref: widgetRef, outcome: 'unchanged' }]);
      expect(same.counters.writes).toBe(0);

      const later: StatusOptions = { ...statusOpts(), now: () => new Date('2030-06-01T00:00:00Z') };
      const phaseOnly = await writeStatus([{ ref: widgetRef, status: { ...ready('True'), compiledHash: 'sha256:cafe' } }], later);
      expect(phaseOnly.results[0]?.outcome).toBe('written');
      let live = (await readLive(cluster().kubeconfig, widget('health-a', 'agent-1', {}))) as KubeObject;
      let status = live['status'] as JochStatus;
      expect(status).toMatchObject({ compiledHash: 'sha256:cafe', sourceRevision: 'git:0123abcd', agbomRef: 'agbom/agent-1@sha256:beef', observedGeneration: 1 });
      // Ready stayed True: its lastTransitionTime is the one from the first write.
      expect(status.conditions?.[0]?.lastTransitionTime).toBe('2030-01-01T00:00:00Z');

      await writeStatus([{ ref: widgetRef, status: { ...ready('False'), compiledHash: 'sha256:cafe' } }], later);
      live = (await readLive(cluster().kubeconfig, widget('health-a', 'agent-1', {}))) as KubeObject;
      status = live['status'] as JochStatus;
      expect(status.conditions?.[0]).toMatchObject({ status: 'False', reason: 'Waiting', lastTransitionTime: '2030-06-01T00:00:00Z' });
      // The spec was not touched by status writes (generation unchanged).
      expect(live.metadata['generation']).toBe(1);
      await writeStatus([{ ref: widgetRef, status: ready('True') }], later);

      const missing = await writeStatus([{ ref: { ...widgetRef, name: 'nope' }, status: ready('True'), origin: { file: 'agents/nope.yaml', line: 3, column: 1 } }], statusOpts());
      expect(missing.errors).toEqual([expect.objectContaining({ code: 'not-found', httpStatus: 404, origin: { file: 'agents/nope.yaml', line: 3, column: 1 } })]);
    });

    it('reports a Deployment honestly: the controller runs, but no scheduler places its pod', async () => {
      const set = [...base(), desired(deployment('health-a', 'web'), 20)];
      const snapshot = await applySet(set, opts());
      expect(snapshot.errors).toEqual([]);
      // Right after apply the controller has not observed it yet.
      expect(snapshot.objects.find((o) => o.ref.kind === 'Deployment')?.health?.status).toBe('InProgress');

      const waited = await applySet(set, opts({ wait: { timeoutMs: 2_000, pollIntervalMs: 200 } }));
      const dep = waited.objects.find((o) => o.ref.kind === 'Deployment');
      expect(dep?.health).toEqual({
        status: 'InProgress',
        message: expect.stringMatching(/^0 of 1 replicas available: pod web-[a-z0-9]+-[a-z0-9]+: not scheduled: no scheduler has assigned it a node$/),
      });
      expect(waited.healthy).toBe(false);
      expect(waited.errors).toEqual([
        expect.objectContaining({
          code: 'timeout',
          ref: expect.objectContaining({ kind: 'Deployment' }),
          origin: expect.objectContaining({ line: 20 }),
          message: expect.stringContaining('no scheduler has assigned it a node'),
        }),
      ]);
      // Waiting polled only what was not healthy: no write, no dry-run.
      expect(waited.counters).toMatchObject({ writes: 0, dryRuns: 0 });
    });

    it('says why a Deployment gets no pods: its ReplicaSet was refused them', async () => {
      const set = [
        desired(namespace('health-psa', { 'pod-security.kubernetes.io/enforce': 'restricted' })),
        desired(deployment('health-psa', 'locked'), 7),
      ];
      const waited = await applySet(set, { kubeconfig: cluster().kubeconfig, inventory: { name: 'health-psa', namespace: 'health-psa' }, wait: { timeoutMs: 4_000, pollIntervalMs: 200 } });
      expect(waited.complete).toBe(true);
      const error = waited.errors.find((e) => e.ref?.kind === 'Deployment');
      expect(error).toMatchObject({ code: 'timeout', phase: 'health', origin: expect.objectContaining({ line: 7 }) });
      expect(error?.message).toMatch(/ReplicaSet locked-[a-z0-9]+: FailedCreate: .*violates PodSecurity "restricted/);
      expect(waited.errors).toHaveLength(1);
    });

    it('a suspended Job is Current: it waits for nobody', async () => {
      const suspended = job('health-a', 'later', ['true']);
      (suspended['spec'] as Record<string, unknown>)['suspend'] = true;
      const result = await applySet([...base(), desired(suspended)], opts({ wait: { timeoutMs: 10_000, pollIntervalMs: 100 } }));
      expect(result.errors).toEqual([]);
      expect(result.objects.find((o) => o.ref.name === 'later')?.health).toEqual({ status: 'Current', message: 'job suspended' });
    });

    it('a Job is healthy once complete, and failed when it failed', async () => {
      const set = [...base(), desired(job('health-a', 'once', ['true'])), desired(job('health-a', 'broken', ['false']), 30)];
      const applied = await applySet(set, opts());
      expect(applied.objects.filter((o) => o.ref.kind === 'Job').map((o) => o.health?.message)).toEqual([
        'job not started (waiting for the job controller)',
        'job not started (waiting for the job controller)',
      ]);
      // No job controller runs in the test cluster: write the status it would write.
      const batch = cluster().kubeconfig.makeApiClient(BatchV1Api);
      const now = new Date().toISOString();
      const statusPatch = (name: string, status: Record<string, unknown>): Promise<unknown> =>
        batch.patchNamespacedJobStatus({ name, namespace: 'health-a', body: { status } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
      await statusPatch('once', {
        startTime: now,
        completionTime: now,
        succeeded: 1,
        conditions: [
          { type: 'SuccessCriteriaMet', status: 'True', reason: 'CompletionsReached', lastTransitionTime: now },
          { type: 'Complete', status: 'True', reason: 'CompletionsReached', lastTransitionTime: now },
        ],
      });
      await statusPatch('broken', {
        startTime: now,
        failed: 1,
        conditions: [
          { type: 'FailureTarget', status: 'True', reason: 'BackoffLimitExceeded', lastTransitionTime: now },
          { type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit', lastTransitionTime: now },
        ],
      });
      const result = await applySet(set, opts({ wait: { timeoutMs: 5_000, pollIntervalMs: 100 } }));
      const health = Object.fromEntries(result.objects.filter((o) => o.ref.kind === 'Job').map((o) => [o.ref.name, o.health]));
      expect(health['once']).toEqual({ status: 'Current', message: 'job complete (1 succeeded)' });
      expect(health['broken']).toEqual({ status: 'Failed', message: 'job failed: BackoffLimitExceeded Job has reached the specified backoff limit' });
      expect(result.errors).toEqual([
        expect.objectContaining({ code: 'unhealthy', ref: expect.objectContaining({ name: 'broken' }), origin: expect.objectContaining({ line: 30 }) }),
      ]);
    });
  },
  { controllerManager: true, testTimeoutMs: 60_000 },
);

