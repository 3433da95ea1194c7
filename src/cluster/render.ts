/** Text and JSON renderings of plans and results for `joch diff` / `joch apply`. */
import { formatClusterError, summarizeErrors } from './errors.js';
import type { ApplyResult, FieldChange, ObjectRef, Origin, Plan, PlannedAction } from './types.js';

export interface ApplyTextOptions {
  /** Include the errors (summarised); default true. A CLI printing them on stderr leaves them out. */
  errors?: boolean;
}

export interface TextOptions {
  /** List unchanged objects too; default false. */
  showUnchanged?: boolean;
  /** Longest rendering of one value before it is cut; default 120. */
  maxValueLength?: number;
}

const ACTION_MARK: Record<PlannedAction, string> = { create: '+', update: '~', recreate: '!', unchanged: '=' };

export function formatPlanText(plan: Plan, opts: TextOptions = {}): string {
  const s = plan.summary;
  const lines = [
    `ApplySet ${plan.inventory.id} (${refText(plan.inventory.parent)}): ` +
      `${s.create} to create, ${s.update} to update, ${s.recreate} to recreate, ${s.delete} to delete, ${s.unchanged} unchanged` +
      (s.keep ? `, ${s.keep} kept` : ''),
  ];
  if (plan.inventory.createsNamespace) lines.push(`+ v1 Namespace ${plan.inventory.createsNamespace} [create]  (holds the ApplySet parent)`);
  for (const o of plan.objects) {
    if (o.action === 'unchanged' && !opts.showUnchanged) continue;
    const notes = [...o.reasons, ...(o.validation === 'deferred' ? [`validated during apply: ${o.deferredBecause ?? ''}`] : [])];
    lines.push(`${ACTION_MARK[o.action]} ${refText(o.ref)} [${o.action}]${originText(o.origin)}${notes.length ? `  (${notes.join('; ')})` : ''}`);
    for (const c of o.diff) lines.push(`    ${changeText(c, opts.maxValueLength ?? 120)}`);
  }
  for (const p of plan.prune) {
    lines.push(`${p.action === 'delete' ? '-' : '='} ${refText(p.ref)} [${p.action === 'delete' ? 'prune' : 'keep'}]${p.reason ? `  (${p.reason})` : ''}`);
  }
  if (plan.errors.length) {
    lines.push(`${plan.errors.length} error${plan.errors.length === 1 ? '' : 's'}:`);
    for (const e of plan.errors) lines.push(`  ${formatClusterError(e)}`);
  }
  return lines.join('\n') + '\n';
}

/** The plan as JSON text (stable key order, no functions). */
export function formatPlanJson(plan: Plan): string {
  return JSON.stringify(plan, null, 2) + '\n';
}

export function formatApplyResultText(result: ApplyResult, opts: ApplyTextOptions = {}): string {
  const count = (o: string): number => result.objects.filter((x) => x.outcome === o).length;
  const deleted = result.pruned.filter((p) => p.outcome === 'deleted').length;
  const c = result.counters;
  const lines = [
    `ApplySet ${result.inventory.id}: ${count('created')} created, ${count('configured')} configured, ${count('recreated')} recreated, ` +
      `${count('unchanged')} unchanged, ${deleted} pruned, ${count('failed')} failed, ${count('skipped')} skipped` +
      ` in ${result.durationMs} ms (${c.lists} lists, ${c.reads} reads, ${c.dryRuns} dry-runs, ${c.writes} writes, ${c.deletes} deletes)`,
  ];
  if (result.inventory.createsNamespace) lines.push(`  v1 Namespace ${result.inventory.createsNamespace}: created (holds the ApplySet parent)`);
  if (!result.complete && !wroteAnything(result)) lines.push('  refused: nothing was written to the cluster');
  for (const o of result.objects) {
    if (o.outcome === 'unchanged' && o.health?.status === 'Current') continue;
    // A refused run lists the objects it refused on in its errors, not every object it skipped.
    if (o.outcome === 'skipped' && !result.complete) continue;
    lines.push(`  ${refText(o.ref)}: ${o.outcome}${o.health ? `, ${o.health.status}: ${o.health.message}` : ''}`);
  }
  for (const p of result.pruned) lines.push(`  ${refText(p.ref)}: ${p.outcome === 'deleted' ? 'pruned' : p.outcome}${p.reason ? ` (${p.reason})` : ''}`);
  if (opts.errors ?? true) for (const line of summarizeErrors(result.errors)) lines.push(`  error: ${line}`);
  return lines.join('\n') + '\n';
}

/** Whether the run wrote any member or deleted any: a run that did neither was refused, and changed nothing a user sees. */
export function wroteAnything(result: ApplyResult): boolean {
  return (
    result.objects.some((o) => o.outcome === 'created' || o.outcome === 'configured' || o.outcome === 'recreated') ||
    result.pruned.some((p) => p.outcome === 'deleted')
  );
}

export function formatApplyResultJson(result: ApplyResult): string {
  return JSON.stringify(result, null, 2) + '\n';
}

function refText(ref: ObjectRef): string {
  return `${ref.apiVersion} ${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`;
}

function originText(o: Origin | undefined): string {
  return o ? `  ${o.file}:${o.line}:${o.column}` : '';
}

function changeText(c: FieldChange, max: number): string {
  if (c.sensitive) {
    const what = c.op === 'add' ? 'added' : c.op === 'remove' ? 'removed' : 'changed';
    return `${c.op === 'add' ? '+' : c.op === 'remove' ? '-' : '~'} ${c.path}: (sensitive value ${what})`;
  }
  switch (c.op) {
    case 'add':
      return `+ ${c.path}: ${valueText(c.after, max)}`;
    case 'remove':
      return `- ${c.path}: ${valueText(c.before, max)}`;
    default:
      return `~ ${c.path}: ${valueText(c.before, max)} -> ${valueText(c.after, max)}`;
  }
}

function valueText(v: unknown, max: number): string {
  const text = JSON.stringify(v) ?? 'null';
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
