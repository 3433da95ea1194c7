/**
 * The apply stage against a real kube-apiserver:
 *
 *   node --import tsx bench/cluster.ts [AGENTS=1000]
 *
 * Compiles the generated fleet (every object it compiles to: CRDs, custom
 * resources, namespaces, RBAC, Deployments...), starts the test API server,
 * and reports the first apply, a no-op re-apply and a one-agent change: time
 * and API calls of each. Goals: first apply under 60 s, no-op under 3 s with
 * no write calls.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { applySet, type ApiCounters, type DesiredObject } from '../src/cluster/index.js';
import { runCompile } from '../src/pipeline/compile.js';
import { kubeBinaries, startTestCluster } from '../test/cluster/harness.js';
import { generateFleet } from './fleet.js';

const AGENTS = Number(process.argv[2] ?? 1000);

function calls(c: ApiCounters): string {
  return `${c.lists} lists, ${c.reads} reads, ${c.dryRuns} dry-runs, ${c.writes} writes, ${c.deletes} deletes`;
}

async function main(): Promise<void> {
  const bins = await kubeBinaries();
  if (!bins.ok) {
    process.stdout.write(`## apply (real kube-apiserver)\n\nskipped: ${bins.reason}\n\n`);
    return;
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'joch-bench-cluster-'));
  const cluster = await startTestCluster();
  try {
    generateFleet(dir, AGENTS);
    const run = await runCompile({ paths: [dir], cwd: dir });
    if (!run.output) throw new Error(`the fleet did not compile: ${run.summary.errors} errors`);
    const desired: DesiredObject[] = run.output.objects.map((o) => ({ object: o.object }));
    await cluster.kubeconfig.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: 'joch-system' } } });
    const options = {
      kubeconfig: cluster.kubeconfig,
      inventory: { name: 'joch-inventory', namespace: 'joch-system' },
      concurrency: 32,
    };

    const first = await applySet(desired, options);
    const noop = await applySet(desired, options);
    // One agent changes: its custom resource gets a new label, as an edit of its manifest would.
    const target = desired.findIndex((d) => d.object.kind === 'Agent');
    const changed = desired.map((d, i) =>
      i === target ? { object: { ...d.object, metadata: { ...d.object.metadata, labels: { ...d.object.metadata.labels, tier: 'changed' } } } } : d,
    );
    const one = await applySet(changed, options);

    const rows = [
      ['first apply', first],
      ['no-op re-apply', noop],
      ['one agent changed', one],
    ] as const;
    process.stdout.write(`## apply (real kube-apiserver, ${AGENTS} agents, ${desired.length} objects)\n\n`);
    process.stdout.write('| run | time | API calls | errors |\n|---|---:|---|---:|\n');
    for (const [name, r] of rows) {
      process.stdout.write(`| ${name} | ${(r.durationMs / 1000).toFixed(2)} s | ${calls(r.counters)} | ${r.errors.length} |\n`);
    }
    process.stdout.write('\n');
    if (first.errors.length) process.stdout.write(`first apply errors: ${first.errors.slice(0, 5).map((e) => e.message).join('; ')}\n\n`);
  } finally {
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
