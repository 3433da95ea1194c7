/**
 * `joch rollback deployment/NAME --to-version N` (or `agent/NAME --env ENV`):
 * the Git change that restores revision N of the Deployment record (and,
 * when that revision pins no version, the agent record it ran). Exit 0
 * written or planned, 1 refused, 2 usage.
 */
import { rollback } from '../promote/index.js';
import { UsageError, type CommandContext, type CommandInput } from './context.js';
import { parseTarget, printChange, repositoryInput, usageErrors } from './git-change.js';

export async function run(input: CommandInput, ctx: CommandContext): Promise<number> {
  const target = parseTarget(String(input.args[0] ?? ''), ['Deployment', 'Agent']);
  const raw = String(input.opts['to-version']);
  if (!/^[1-9][0-9]*$/.test(raw)) throw new UsageError(`--to-version: "${raw}" is not a revision number (1, 2, ...)`);
  const result = await usageErrors(() =>
    rollback({
      ...repositoryInput(input, ctx),
      kind: target.kind as 'Agent' | 'Deployment',
      name: target.name,
      namespace: (input.opts.namespace as string | undefined) ?? target.namespace,
      environment: input.opts.env as string | undefined,
      toVersion: Number(raw),
      statusBranch: input.opts['status-branch'] as string | undefined,
    }),
  );
  const history = result.revisions.map((r) => `  ${r.revision === result.restored ? '->' : '  '} ${r.revision} ${r.commit.slice(0, 12)} ${r.version ?? '(no version)'}${r.ran === undefined ? '' : r.ran ? ' ran' : ' (never recorded running)'} ${r.subject}`);
  if ((input.opts.output ?? 'text') === 'text') ctx.stdout(`revisions of Deployment ${result.deployment}:\n${history.join('\n')}\n`);
  const note = result.version && result.compiledVersion && result.version !== result.compiledVersion ? `; the agent now compiles to ${result.compiledVersion}, not ${result.version}: records it reaches changed since` : '';
  return printChange(result, `roll back ${result.deployment} to revision ${result.restored ?? '?'}${note}`, input, ctx);
}
