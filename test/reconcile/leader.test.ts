/**
 * Leader election and shutdown against a real API server. A leader whose
 * renewals hang (the API server stops answering) stops leading when the
 * renew deadline passes, before the hung renewal returns. On shutdown, a
 * cycle that finished lets the Lease go at once; a cycle still running past
 * the grace period keeps it, so another replica leads only once it expired.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CoordinationV1Api, KubeConfig, type V1Lease } from '@kubernetes/client-node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createLogger, LeaderElector } from '../../src/reconcile/index.js';
import { describeCluster } from '../cluster/require-cluster.js';
import type { TestCluster } from '../cluster/harness.js';
import { startGitHttpServer, type GitHttpServer } from '../support/git-http-server.js';
import { ensureNamespace, kubeconfigVia, serverPort } from './support/cluster.js';
import { eventually, fleetRepo, logSink, syncRuntime } from './support/fleet.js';
import { startProxy } from './support/proxy.js';

const NAMESPACE = 'joch-system';
let root: string;
let git: GitHttpServer;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'joch-sync-leader-'));
  git = await startGitHttpServer({ root });
});

afterAll(async () => {
  await git?.close();
  await rm(root, { recursive: true, force: true });
});

function readLease(cluster: TestCluster, name: string): Promise<V1Lease> {
  return cluster.kubeconfig.makeApiClient(CoordinationV1Api).readNamespacedLease({ name, namespace: NAMESPACE });
}

/** A Git server that accepts connections and never answers: a fetch hangs until its own timeout. */
async function silentGitServer(): Promise<{ url: string; connections: () => number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  let count = 0;
  const server: Server = createServer((s) => {
    count++;
    sockets.add(s);
    s.on('error', () => undefined).on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/fleet.git`,
    connections: () => count,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Another replica campaigning for the same Lease; resolves with the time it leads. */
async function otherReplicaLeads(cluster: TestCluster, name: string): Promise<{ at: number; stop: () => Promise<void> }> {
  const other = new LeaderElector({ kubeconfig: cluster.kubeconfig, namespace: NAMESPACE, name, identity: 'replica-b', leaseDurationMs: 3000, retryPeriodMs: 200 });
  other.start();
  await other.whenLeading();
  return { at: Date.now(), stop: () => other.stop() };
}

describeCluster(
  'leader election and shutdown on a real API server',
  (cluster) => {
    it('stopping while a renewal hangs past the deadline is not a loss: nothing is reported, nothing released', async () => {
      await ensureNamespace(cluster().kubeconfig, NAMESPACE);
      const proxy = await startProxy(serverPort(cluster()));
      const viaProxy = new KubeConfig();
      viaProxy.loadFromFile(await kubeconfigVia(cluster(), proxy.port, root, 'stop-hung.kubeconfig'));
      const logs = logSink();
      let lost = 0;
      const elector = new LeaderElector({
        kubeconfig: viaProxy,
        namespace: NAMESPACE,
        name: 'stop-hung',
        identity: 'replica-a',
        leaseDurationMs: 3000,
        renewDeadlineMs: 1000,
        retryPeriodMs: 500,
        logger: createLogger({ level: 'info', destination: logs.stream }),
        onStoppedLeading: () => lost++,
      });
      try {
        elector.start();
        await elector.whenLeading();
        proxy.stall();
        // A renewal starts within a retry period and hangs; the deadline passes while stop() waits for it.
        await new Promise((resolve) => setTimeout(resolve, 600));
        await elector.stop();
        expect(lost).toBe(0);
        expect(elector.isLeader).toBe(false);
        expect(logs.lines.map((l) => l.msg)).toContain('stopping: the renew deadline passed, so the leader Lease is left to expire');
        expect(logs.lines.map((l) => l.msg)).not.toContain('releasing the leader Lease');
        // Not released: the Lease still names us until it expires.
        proxy.restore();
        expect((await readLease(cluster(), 'stop-hung')).spec?.holderIdentity).toBe('replica-a');
      } finally {
        await proxy.close();
      }
    });

    it('stops leading when the renew deadline passes, before the hung renewal returns', async () => {
      await ensureNamespace(cluster().kubeconfig, NAMESPACE);
      const proxy = await startProxy(serverPort(cluster()));
      const viaProxy = new KubeConfig();
      viaProxy.loadFromFile(await kubeconfigVia(cluster(), proxy.port, root, 'deadline.kubeconfig'));
      const logs = logSink();
      const failedAttempts = () => logs.lines.filter((l) => l.msg === 'leader election attempt failed').length;
      // A hung request times out after two retry periods (1 s): the first renewal that hangs fails
      // at least 1.5 s after the last good one started, well after the 1 s deadline.
      const renewDeadlineMs = 1000;
      const stops: Array<{ at: number; isLeader: boolean; failedAttempts: number }> = [];
      let starts = 0;
      const elector: LeaderElector = new LeaderElector({
        kubeconfig: viaProxy,
        namespace: NAMESPACE,
        name: 'deadline',
        identity: 'replica-a',
        leaseDurationMs: 3000,
        renewDeadlineMs,
        retryPeriodMs: 500,
        logger: createLogger({ level: 'info', destination: logs.stream }),
        onStartedLeading: () => starts++,
        onStoppedLeading: () => stops.push({ at: Date.now(), isLeader: elector.isLeader, failedAttempts: failedAttempts() }),
      });
      try {
        elector.start();
        await elector.whenLeading();
        const renewals = new Set<string>();
        await eventually('two renewals', async () => {
          renewals.add(String((await readLease(cluster(), 'deadline')).spec?.renewTime));
          return renewals.size >= 3 || undefined;
        });
        expect(stops).toEqual([]);
        expect(elector.isLeader).toBe(true);

        proxy.stall();
        const stalledAt = Date.now();
        const stopped = await eventually('onStoppedLeading', () => stops[0], 5000);
        // The last renewal started before the stall: the deadline ran out within renewDeadlineMs of it (timer slack aside).
        expect(stopped.at - stalledAt).toBeLessThan(renewDeadlineMs + 250);
        expect(stopped.isLeader).toBe(false);
        expect(stopped.failedAttempts, 'stepped down by the clock, not when a renewal failed').toBe(0);
        expect(elector.isLeader).toBe(false);
        await eventually('the hung renewal to time out', () => failedAttempts() > 0 || undefined, 5000);
        expect(elector.isLeader).toBe(false);
        expect(stops).toHaveLength(1);
        // The Lease still names us: once the server answers again this candidate renews it and leads again.
        proxy.restore();
        await eventually('leading again', () => (starts === 2 && elector.isLeader) || undefined, 10_000);
      } finally {
        await elector.stop();
        await proxy.close();
      }
    });

    it('on shutdown after the cycle finished, releases the Lease: another replica leads at once', async () => {
      await ensureNamespace(cluster().kubeconfig, NAMESPACE);
      const { repo } = await fleetRepo(root, 'released.git', 1);
      const sync = await syncRuntime(
        {
          repo: git.url(repo.name),
          'cache-dir': path.join(root, 'cache-released'),
          kubeconfig: cluster().kubeconfigPath,
          target: 'folder',
          output: path.join(root, 'out-released'),
          'no-status': true,
          'leader-elect': true,
          'lease-namespace': NAMESPACE,
          'lease-name': 'released',
          'lease-duration': '3s',
          identity: 'replica-a',
          interval: '1h',
        },
        root,
      );
      await sync.start();
      await eventually('a cycle applied as leader', () => (sync.reconciler.lastCycle?.result === 'applied' ? true : undefined), 30_000);
      expect(await sync.shutdown(10_000)).toBe(true);
      const shutdownAt = Date.now();
      expect((await readLease(cluster(), 'released')).spec?.holderIdentity).toBeUndefined();
      const other = await otherReplicaLeads(cluster(), 'released');
      await other.stop();
      expect(other.at - shutdownAt).toBeLessThan(1500);
    });

    it('on shutdown while a cycle is still running past the grace period, keeps the Lease until it expires', async () => {
      await ensureNamespace(cluster().kubeconfig, NAMESPACE);
      const silent = await silentGitServer();
      try {
        const sync = await syncRuntime(
          {
            repo: silent.url,
            'cache-dir': path.join(root, 'cache-kept'),
            kubeconfig: cluster().kubeconfigPath,
            target: 'folder',
            output: path.join(root, 'out-kept'),
            'no-status': true,
            'leader-elect': true,
            'lease-namespace': NAMESPACE,
            'lease-name': 'kept',
            'lease-duration': '3s',
            identity: 'replica-a',
            interval: '1h',
          },
          root,
        );
        await sync.start();
        // Leading, and the cycle that followed is stuck fetching from the silent server.
        await eventually('a cycle in flight as leader', () => (sync.leader?.isLeader && silent.connections() > 0) || undefined, 30_000);

        expect(await sync.shutdown(200)).toBe(false);
        const shutdownAt = Date.now();
        const lease = await readLease(cluster(), 'kept');
        expect(lease.spec?.holderIdentity).toBe('replica-a');
        expect(sync.logs.lines.some((l) => l.msg === 'keeping the leader Lease: it expires on its own')).toBe(true);
        expect(sync.logs.lines.some((l) => l.msg === 'releasing the leader Lease')).toBe(false);

        // No longer renewed, and not given up: the other replica leads once a lease duration (3 s) has gone by.
        const other = await otherReplicaLeads(cluster(), 'kept');
        await other.stop();
        expect(other.at - shutdownAt).toBeGreaterThanOrEqual(2900);
      } finally {
        await silent.close();
      }
    });
  },
  { testTimeoutMs: 60_000 },
);
