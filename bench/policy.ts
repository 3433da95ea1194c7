/**
 * The policy stage on the generated fleet (1,000 agents by default):
 *
 *   node --import tsx bench/policy.ts [AGENTS] [ROUNDS]
 *
 * Prints the time of one decision (one capability of one agent against its
 * bound policies and the baseline: p50, p99, max over every decision of the
 * fleet, ROUNDS times) and of the whole stage (compile policies, bind, decide,
 * bundles with hashes, findings) over the fleet. The bars: a decision under
 * 10 microseconds at p99, the whole fleet under 200 ms.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runValidate } from '../src/pipeline/index.js';
import { createPolicyEngine, evaluatePolicy, type PolicyInput } from '../src/policy/index.js';
import { generateFleet } from './fleet.js';

const AGENTS = Number(process.argv[2] ?? 1000);
const ROUNDS = Number(process.argv[3] ?? 20);

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

function fmt(ms: number): string {
  return ms < 1 ? `${(ms * 1000).toFixed(2)} µs` : `${ms.toFixed(1)} ms`;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'joch-policy-bench-'));
  try {
    const fleet = generateFleet(dir, AGENTS);
    const run = await runValidate({ paths: [dir], cwd: dir });
    const input: PolicyInput = {
      resources: run.set.resources,
      graphs: run.graphs,
      references: run.validation.references,
      options: run.project.config.config.policy,
    };
    const first = evaluatePolicy(input);
    const errors = first.findings.filter((f) => f.severity === 'error').length;
    process.stdout.write(
      `fleet: ${fleet.agents} agents, ${fleet.documents} documents; policy: ${first.stats.policies} policies, ${first.stats.rules} rules, ` +
        `${first.stats.decisions} decisions, ${first.stats.runtimeRules} runtime rules, ${errors} errors, ${first.deferred.length} deferred rules\n`,
    );
    process.stdout.write(`in joch validate (first run, cold): policy stage ${fmt(run.timings.policy ?? NaN)} of ${fmt(Object.values(run.timings).reduce((a, b) => a + b, 0))}\n`);

    // Whole stage, warm.
    for (let i = 0; i < 3; i++) evaluatePolicy(input);
    const stage: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const t = performance.now();
      evaluatePolicy(input);
      stage.push(performance.now() - t);
    }
    stage.sort((a, b) => a - b);

    // One decision at a time: the engine compiled and every agent prepared once, as the stage does.
    const engine = createPolicyEngine(input);
    const prepared = input.graphs.map((g) => engine.prepare(g));
    const work = prepared.flatMap((p) => [...p.surface.capabilities, p.surface.self].map((c) => [p, c] as const));
    for (let i = 0; i < 3; i++) for (const [p, c] of work) engine.decide(p, c);
    const samples: number[] = [];
    let total = 0n;
    for (let r = 0; r < ROUNDS; r++) {
      const round = process.hrtime.bigint();
      for (const [p, c] of work) {
        const t = process.hrtime.bigint();
        engine.decide(p, c);
        samples.push(Number(process.hrtime.bigint() - t) / 1e6);
      }
      total += process.hrtime.bigint() - round;
    }
    samples.sort((a, b) => a - b);
    let overhead = 0n;
    for (let i = 0; i < 100_000; i++) {
      const t = process.hrtime.bigint();
      overhead += process.hrtime.bigint() - t;
    }

    const rows = [
      ['decision p50', fmt(quantile(samples, 0.5))],
      ['decision p99', fmt(quantile(samples, 0.99))],
      ['decision max', fmt(samples[samples.length - 1] ?? NaN)],
      ['decisions/s (batch)', `${Math.round((work.length * ROUNDS) / (Number(total) / 1e9)).toLocaleString('en-US')}`],
      ['timer overhead (included above)', fmt(Number(overhead) / 100_000 / 1e6)],
      [`whole stage, ${AGENTS} agents: min`, fmt(stage[0] ?? NaN)],
      [`whole stage, ${AGENTS} agents: median`, fmt(quantile(stage, 0.5))],
      [`whole stage, ${AGENTS} agents: p95`, fmt(quantile(stage, 0.95))],
    ];
    const width = Math.max(...rows.map(([k]) => (k as string).length));
    process.stdout.write(`${work.length} decisions x ${ROUNDS} rounds; stage x ${ROUNDS} rounds\n`);
    for (const [k, v] of rows) process.stdout.write(`  ${(k as string).padEnd(width)}  ${v}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
