/**
 * `joch sync` on the 1,000-agent fleet, against the real Git server (git
 * http-backend on 127.0.0.1) and the test API server:
 *   - push -> applied: one agent changed, pushed, a signed webhook sent; time
 *     until the revision is applied (best and median of a few rounds), with
 *     where the time goes;
 *   - a no-op cycle (same revision): duration, Git requests, API calls;
 *   - a no-op drift check (same revision, cluster compared): duration and API
 *     calls by kind;
 *   - drift to correction: a ConfigMap edited by hand (another field manager)
 *     until the loop has put it back, found by the member watch;
 *   - an idle window: the API requests the loop and its member watch make,
 *     and what an hour of that costs.
 * Figures, not assertions. Also runnable alone: node --import tsx bench/sync.ts [agents] [rounds]
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CoreV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { ClusterTarget, createSyncRuntime, parseSyncOptions, signGithubPayload, type CycleReport, type SyncRuntime } from '../src/reconcile/index.js';
import { kubeBinaries, startTestCluster, type TestCluster } from '../test/cluster/harness.js';
import { RepoFixture, startGitHttpServer, type GitHttpServer } from '../test/support/git-http-server.js';
import { generateFleet } from './fleet.js';
import type { BenchContext } from './run.js';

const SECRET = 'bench-webhook-secret';

interface Round {
  readonly pushMs: number;
  /** Until the cluster has the revision (the apply returned). */
  readonly webhookToAppliedMs: number;
  /** Until the cycle ended: AgBOMs, Events, CR status and the status commit included. */
  readonly webhookToCycleDoneMs: number;
  readonly cycle: CycleReport;
}

export async function benchSync(ctx: BenchContext): Promise<void> {
  const agents = ctx.sizes.includes(1000) ? 1000 : Math.min(...ctx.sizes);
  ctx.report(`## sync (joch sync, ${agents}-agent fleet, git http-backend + test kube-apiserver on 127.0.0.1)`);
  const bins = await kubeBinaries();
  if (!bins.ok) {
    ctx.report(`skipped: no kube binaries (${bins.reason})`);
    ctx.report('');
    return;
  }
  const root = mkdtempSync(path.join(tmpdir(), 'joch-bench-sync-'));
  let git: GitHttpServer | undefined;
  let cluster: TestCluster | undefined;
  let runtime: SyncRuntime | undefined;
  try {
    git = await startGitHttpServer({ root });
    cluster = await startTestCluster();
    await cluster.kubeconfig.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: 'joch-system' } } });
    const repo = await RepoFixture.create(root, 'fleet.git');
    cpSync(ctx.fleet(agents).dir, repo.work, { recursive: true });
    rmSync(path.join(repo.work, '.stats.json'), { force: true });
    await repo.commit('fleet');
    await repo.push('HEAD:refs/heads/main');

    const parsed = parseSyncOptions(
      {
        repo: git.url(repo.name),
        kubeconfig: cluster.kubeconfigPath,
        'cache-dir': path.join(root, 'cache'),
        interval: '1h',
        'drift-interval': '1h',
        'webhook-port': '0',
        'webhook-secret-env': 'BENCH_WEBHOOK_SECRET',
        'log-level': 'warn',
      },
      {},
    );
    if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
    const devNull = { write: () => true } as unknown as NodeJS.WritableStream;
    runtime = await createSyncRuntime(parsed.options, {
      cwd: root,
      env: { BENCH_WEBHOOK_SECRET: SECRET },
      toolVersion: 'bench',
      logDestination: devNull as never,
    });
    const sync = runtime;

    // The first cycle (cold caches, every object created) runs from the loop's start.
    let t = performance.now();
    await sync.start();
    await until(() => sync.reconciler.lastCycle?.result === 'applied', 600_000);
    const cold = sync.reconciler.lastCycle as CycleReport;
    ctx.report(`first sync (clone, pipeline, create every object, AgBOMs, status): ${fmtMs(performance.now() - t)}; ${cold.changed} objects; ${timings(cold)}`);

    const rounds: Round[] = [];
    for (let i = 0; i < ctx.runs; i++) rounds.push(await pushRound(sync, repo, git, i));
    const best = [...rounds].sort((a, b) => a.webhookToAppliedMs - b.webhookToAppliedMs)[0] as Round;
    const median = [...rounds].sort((a, b) => a.webhookToAppliedMs - b.webhookToAppliedMs)[Math.floor(rounds.length / 2)] as Round;
    ctx.report('');
    ctx.report('| measurement | best | median | goal |');
    ctx.report('|---|---:|---:|---:|');
    ctx.report(`| git push of one agent change | ${fmtMs(Math.min(...rounds.map((r) => r.pushMs)))} | ${fmtMs(rounds.map((r) => r.pushMs).sort((a, b) => a - b)[Math.floor(rounds.length / 2)] as number)} | |`);
    ctx.report(`| webhook -> applied in the cluster (one agent) | ${fmtMs(best.webhookToAppliedMs)} | ${fmtMs(median.webhookToAppliedMs)} | < 2 s |`);
    const done = rounds.map((r) => r.webhookToCycleDoneMs).sort((a, b) => a - b);
    ctx.report(`| webhook -> cycle done (AgBOMs, Events, CR status, status commit) | ${fmtMs(done[0] as number)} | ${fmtMs(done[Math.floor(done.length / 2)] as number)} | |`);
    const c = best.cycle.counters;
    ctx.report('');
    ctx.report(`best round: ${best.cycle.changed} objects changed; cycle ${fmtMs(best.cycle.durationMs)}: ${timings(best.cycle)}; API: ${c ? counters(c) : 'n/a'}`);

    // A poll with nothing new: one ref listing on the Git server, nothing else.
    const before = git.requests.length;
    t = performance.now();
    const noop = await sync.reconciler.runCycle({ reason: 'bench-noop' });
    const noopMs = performance.now() - t;
    ctx.report(`no-op cycle (same revision): ${fmtMs(noopMs)}, result ${noop.result}, Git requests ${git.requests.length - before}, API calls ${noop.counters ? counters(noop.counters) : '0'}`);

    // A drift check with nothing drifted: the cluster is read and compared.
    t = performance.now();
    const drift = await sync.reconciler.runCycle({ force: true, reason: 'bench-drift' });
    const driftMs = performance.now() - t;
    ctx.report(`no-op drift check (same revision, cluster compared): ${fmtMs(driftMs)}, result ${drift.result}, ${drift.drifted} drifted, API ${drift.counters ? counters(drift.counters) : 'n/a'}`);
    await benchDrift(ctx, sync, cluster, drift);
    ctx.report('');
  } finally {
    await runtime?.shutdown(5_000);
    await cluster?.stop();
    await git?.close();
    rmSync(root, { recursive: true, force: true });
  }
}

/** Hand edits put back by the loop (the member watch asks for a drift check), then an idle window. */
async function benchDrift(ctx: BenchContext, sync: SyncRuntime, cluster: TestCluster, driftCheck: CycleReport): Promise<void> {
  const target = sync.target;
  const watch = target instanceof ClusterTarget ? target.memberWatch : undefined;
  if (!watch) {
    ctx.report('drift to correction: no member watch (not a cluster target)');
    return;
  }
  await watch.established();
  const core = cluster.kubeconfig.makeApiClient(CoreV1Api);
  const cms = await core.listNamespacedConfigMap({ namespace: 'team-000', labelSelector: 'app.kubernetes.io/managed-by=joch' });
  const cm = cms.items[0];
  if (!cm?.metadata?.name || !cm.data) throw new Error('no ConfigMap of ours in team-000');
  const name = cm.metadata.name;
  const key = Object.keys(cm.data)[0] as string;
  const latencies: number[] = [];
  for (let i = 0; i < Math.max(3, ctx.runs); i++) {
    const cycles = sync.reconciler.lastCycle;
    await core.patchNamespacedConfigMap({ name, namespace: 'team-000', body: { data: { [key]: `edited by hand ${i}` } }, fieldManager: 'kubectl-edit' }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    const edited = performance.now();
    // The loop's own record of the correction: no reads of ours while we wait.
    await until(() => sync.reconciler.lastCycle !== cycles && sync.reconciler.lastCycle?.result === 'drift-checked' && (sync.reconciler.lastCycle?.drifted ?? 0) > 0, 120_000);
    latencies.push(performance.now() - edited);
  }
  latencies.sort((a, b) => a - b);
  ctx.report(
    `drift to correction (ConfigMap edited by another field manager until put back; drift interval 1 h): best ${fmtMs(latencies[0] as number)}, median ${fmtMs(latencies[Math.floor(latencies.length / 2)] as number)} over ${latencies.length} edits`,
  );

  const windowMs = Number(process.env['JOCH_BENCH_IDLE_MS'] ?? 120_000);
  const before = { ...watch.stats };
  const cyclesBefore = sync.reconciler.lastCycle;
  await new Promise((r) => setTimeout(r, windowMs));
  const after = watch.stats;
  const requests = after.lists - before.lists + (after.watches - before.watches);
  const kinds = (target as ClusterTarget).appliedKinds().length;
  const watchSeconds = 300;
  const perHourWatches = Math.round((kinds * 3600) / watchSeconds);
  const c = driftCheck.counters;
  const driftCalls = c ? c.discovery + c.reads + c.lists + c.dryRuns + c.writes + c.deletes : 0;
  ctx.report(
    `idle ${fmtMs(windowMs)}: ${requests} API requests by the member watch (${after.watches - before.watches} watch renewals, ${after.lists - before.lists} lists, ${after.events - before.events} events received), ` +
      `${sync.reconciler.lastCycle === cyclesBefore ? 'no' : 'some'} reconcile cycle with API calls; ${kinds} member kinds watched`,
  );
  ctx.report(
    `an idle hour, extrapolated (one watch per kind renewed every ${watchSeconds} s, plus the safety-net drift check every hour): ` +
      `${perHourWatches} watch requests + ${driftCalls} calls of one drift check = ${perHourWatches + driftCalls} API calls (before the watch: a drift check every 5 min, ${12 * driftCalls} calls)`,
  );
}

/** One agent's image bumped, pushed, webhook sent; waits for that revision to be applied. */
async function pushRound(sync: SyncRuntime, repo: RepoFixture, git: GitHttpServer, i: number): Promise<Round> {
  const file = path.join(repo.work, 'team-000/agents/agent-00001.yaml');
  writeFileSync(file, readFileSync(file, 'utf8').replace(/(image: ghcr\.io\/example\/agent-00001:)\S+/, `$1bench.${i}`));
  const oid = await repo.commit(`bench ${i}`);
  let t = performance.now();
  await repo.push('HEAD:refs/heads/main');
  const pushMs = performance.now() - t;
  const body = JSON.stringify({ ref: 'refs/heads/main', after: oid, head_commit: { message: `bench ${i}`, author: { name: 'b', email: 'b@example.com' } } });
  t = performance.now();
  const res = await fetch(`http://127.0.0.1:${sync.ports.webhook as number}/webhook`, {
    method: 'POST',
    headers: { 'X-GitHub-Event': 'push', 'X-Hub-Signature-256': signGithubPayload(SECRET, body) },
    body,
  });
  if (res.status !== 202) throw new Error(`webhook answered ${res.status}`);
  // The loop records when the apply completed: polling alone would also count
  // the synchronous work that follows it in this process (AgBOMs).
  await until(() => sync.reconciler.appliedRevision === oid, 120_000);
  const webhookToAppliedMs = (sync.reconciler.appliedAtMs as number) - t;
  await until(() => sync.reconciler.lastCycle?.revision === oid, 120_000);
  const webhookToCycleDoneMs = performance.now() - t;
  void git;
  return { pushMs, webhookToAppliedMs, webhookToCycleDoneMs, cycle: sync.reconciler.lastCycle as CycleReport };
}

async function until(check: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

function fmtMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`;
}

function timings(r: CycleReport): string {
  const keys = ['fetch', 'config', 'select', 'load', 'validate', 'graph', 'policy', 'report', 'compile', 'origins', 'apply', 'agbom', 'events', 'status'];
  return keys.filter((k) => r.timings[k] !== undefined).map((k) => `${k} ${fmtMs(r.timings[k] as number)}`).join(', ');
}

function counters(c: NonNullable<CycleReport['counters']>): string {
  return `${c.discovery} discovery, ${c.reads} reads, ${c.lists} lists, ${c.dryRuns} dry-runs, ${c.writes} writes, ${c.deletes} deletes`;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  const agents = Number(process.argv[2] ?? 1000);
  const runs = Number(process.argv[3] ?? 3);
  const fleetDir = path.join(tmpdir(), 'joch-bench', `fleet-${agents}`);
  await benchSync({
    sizes: [agents],
    runs,
    fleet: () => ({ dir: fleetDir, stats: generateFleet(fleetDir, agents) }),
    joch: () => {
      throw new Error('not used');
    },
    report: (line) => process.stdout.write(`${line}\n`),
  });
}
