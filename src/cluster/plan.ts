/** planApply: what applySet would do, with diffs and every preflight error; writes nothing. */
import { analyze } from './analyze.js';
import type { Analysis } from './analyze.js';
import { withRun } from './context.js';
import type { RunContext } from './context.js';
import { applySetId, parentRef } from './inventory.js';
import type { DesiredObject, Plan, PlanOptions, PlannedObject, PlannedPrune, PlanSummary } from './types.js';

export async function planApply(desired: readonly DesiredObject[], options: PlanOptions): Promise<Plan> {
  return withRun(
    options,
    async (ctx) => toPlan(ctx, await analyze(ctx, desired)),
    (error, counters, startedAt) => ({
      inventory: { id: applySetId(options.inventory), parent: parentRef(options.inventory), liveMembers: 0 },
      objects: [],
      prune: [],
      summary: summarize([], []),
      errors: [error],
      counters,
      durationMs: Date.now() - startedAt,
    }),
  );
}

export function toPlan(ctx: RunContext, a: Analysis): Plan {
  const objects: PlannedObject[] = a.entries.map((e) => ({
    ref: e.ref,
    ...(e.origin ? { origin: e.origin } : {}),
    stage: e.stage,
    action: e.action,
    reasons: e.reasons,
    diff: e.diff,
    validation: e.validation,
    ...(e.deferredBecause ? { deferredBecause: e.deferredBecause } : {}),
  }));
  const prune: PlannedPrune[] = a.prune.map((c) => ({ ref: c.ref, action: c.action, ...(c.reason ? { reason: c.reason } : {}) }));
  return {
    inventory: {
      id: ctx.applySetId,
      parent: ctx.parent,
      liveMembers: a.inventorySize,
      ...(a.createInventoryNamespace ? { createsNamespace: ctx.options.inventory.namespace } : {}),
    },
    objects,
    prune,
    summary: summarize(objects, prune),
    errors: a.errors,
    counters: { ...ctx.client.counters },
    durationMs: Date.now() - ctx.startedAt,
  };
}

function summarize(objects: PlannedObject[], prune: PlannedPrune[]): PlanSummary {
  const s: PlanSummary = { create: 0, update: 0, recreate: 0, unchanged: 0, delete: 0, keep: 0 };
  for (const o of objects) s[o.action]++;
  for (const p of prune) s[p.action]++;
  return s;
}
