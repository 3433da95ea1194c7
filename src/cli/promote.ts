/**
 * `joch promote agent/NAME --from ENV --to ENV`: the Git change that moves
 * the agent's version to another Environment, on a new branch, when every
 * release gate passes. Exit 0 written or planned, 1 refused by a gate, 2 usage.
 */
import { promote } from '../promote/index.js';
import type { CommandContext, CommandInput } from './context.js';
import { parseTarget, printChange, repositoryInput, usageErrors } from './git-change.js';

export async function run(input: CommandInput, ctx: CommandContext): Promise<number> {
  const target = parseTarget(String(input.args[0] ?? ''), ['Agent']);
  const result = await usageErrors(() =>
    promote({
      ...repositoryInput(input, ctx),
      agent: target.name,
      namespace: (input.opts.namespace as string | undefined) ?? target.namespace,
      from: String(input.opts.from),
      to: String(input.opts.to),
      statusBranch: input.opts['status-branch'] as string | undefined,
    }),
  );
  return printChange(result, `promote ${result.agent} from ${result.from} to ${result.to} (Deployment ${result.deployment}${result.created ? ', new' : ''})`, input, ctx);
}
