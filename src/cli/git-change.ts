/**
 * What `joch promote` and `joch rollback` share: where the repository and
 * the project are, and how a change is shown (text, JSON or YAML).
 */
import { loadConfig } from '../config/index.js';
import { gitWorkTreeRoot } from '../source/revision.js';
import { PromoteUsageError, type ChangeResult, type FileChange, type RepositoryInput } from '../promote/index.js';
import { UsageError, useColor, type CommandContext, type CommandInput } from './context.js';
import { renderData, renderFindings } from './output.js';
import { version } from './version.js';
import { summarize } from '../diagnostics/index.js';

export function repositoryInput(input: CommandInput, ctx: CommandContext): RepositoryInput {
  const loaded = loadConfig(ctx.cwd, input.opts.config as string | undefined, ctx.cwd);
  const worktree = gitWorkTreeRoot(loaded.root);
  if (!worktree) throw new UsageError(`${loaded.root} is not inside a Git repository; promote and rollback write a Git change`);
  return {
    worktree,
    projectRoot: loaded.root,
    cwd: ctx.cwd,
    base: input.opts.base as string | undefined,
    branch: input.opts.branch as string | undefined,
    force: input.opts.force === true,
    dryRun: input.opts['dry-run'] === true,
    time: commitTime(ctx),
  };
}

/** SOURCE_DATE_EPOCH (reproducible-builds.org) fixes the commit time, so the same change is the same commit. */
function commitTime(ctx: CommandContext): number | undefined {
  const raw = ctx.env.SOURCE_DATE_EPOCH;
  if (raw === undefined || raw === '') return undefined;
  if (!/^[0-9]+$/.test(raw)) throw new UsageError(`SOURCE_DATE_EPOCH must be whole seconds since the epoch, not "${raw}"`);
  return Number(raw);
}

/** `agent/NAME`, `agent/NAMESPACE/NAME`, `deployment/NAME`: the kind and the name. */
export function parseTarget(operand: string, kinds: readonly string[]): { kind: string; name: string; namespace: string | undefined } {
  const parts = operand.split('/');
  const kind = kinds.find((k) => k.toLowerCase() === (parts[0] ?? '').toLowerCase());
  if (!kind || parts.length < 2 || parts.length > 3 || parts.some((p) => p === '')) {
    throw new UsageError(`"${operand}" is not ${kinds.map((k) => `${k.toLowerCase()}/NAME`).join(' or ')} (a namespace goes in between: ${kinds[0]?.toLowerCase()}/NAMESPACE/NAME)`);
  }
  return parts.length === 3 ? { kind, namespace: parts[1], name: parts[2] as string } : { kind, namespace: undefined, name: parts[1] as string };
}

export async function usageErrors<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    if (e instanceof PromoteUsageError) throw new UsageError(e.message);
    throw e;
  }
}

/**
 * A one-hunk diff of each changed file: a promotion or rollback edits one
 * document, so the lines between the common head and tail are the change.
 */
export function fileDiff(f: FileChange): string {
  const a = (f.before ?? '').split('\n');
  const b = f.after.split('\n');
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const ctxStart = Math.max(0, head - 3);
  const removed = a.slice(head, a.length - tail);
  const added = b.slice(head, b.length - tail);
  const after = a.slice(a.length - tail, Math.min(a.length, a.length - tail + 3));
  const lines = [
    `--- a/${f.path}`,
    `+++ b/${f.path}`,
    `@@ -${ctxStart + 1},${head - ctxStart + removed.length + after.length} +${ctxStart + 1},${head - ctxStart + added.length + after.length} @@`,
    ...a.slice(ctxStart, head).map((l) => ` ${l}`),
    ...removed.map((l) => `-${l}`),
    ...added.map((l) => `+${l}`),
    ...after.map((l) => ` ${l}`),
  ];
  return `${lines.join('\n')}\n`;
}

/** The result without file contents, for -o json|yaml. */
export function machineResult(result: ChangeResult): unknown {
  const { texts: _texts, ...rest } = result;
  return { ...rest, files: result.files.map((f) => ({ path: f.path, created: f.before === undefined })) };
}

export function printChange(result: ChangeResult, headline: string, input: CommandInput, ctx: CommandContext): number {
  const output = (input.opts.output as string | undefined) ?? 'text';
  if (output === 'json' || output === 'yaml') {
    ctx.stdout(renderData(output, machineResult(result)));
    return result.outcome === 'refused' ? 1 : 0;
  }
  if (result.diagnostics.length) {
    const summary = summarize(result.diagnostics, result.files.length, 0);
    ctx.stdout(renderFindings('text', result.diagnostics, summary, { color: useColor(input.opts, ctx), toolVersion: version(), sourceText: (file) => result.texts.get(file) }));
  }
  const lines: string[] = [];
  const verb = { refused: 'refused', planned: 'would write', written: 'wrote', unchanged: 'nothing to change' }[result.outcome];
  lines.push(`${verb}: ${headline}`);
  if (result.version) lines.push(`  version: ${result.version}`);
  for (const g of result.gates) lines.push(`  ${g.passed ? 'pass' : 'FAIL'} ${g.kind} ${g.name}: ${g.evidence}`);
  if (result.outcome === 'planned') {
    lines.push(`  branch ${result.branch ?? ''} (not created: --dry-run)`, '');
    for (const f of result.files) lines.push(fileDiff(f));
    lines.push(result.message);
  }
  if (result.outcome === 'written' && result.branch && result.commit) {
    lines.push(`  branch ${result.branch} at ${result.commit.slice(0, 12)} (${result.files.map((f) => f.path).join(', ')})`);
    lines.push('next:', `  git push origin ${result.branch}`, `  open a pull request from ${result.branch} (gh pr create --head ${result.branch} --fill)`);
  }
  ctx.stdout(`${lines.join('\n')}\n`);
  return result.outcome === 'refused' ? 1 : 0;
}
