/** `joch action`: the GitHub Action's entry point (action.yml runs it); reads INPUT_* and GITHUB_* variables. */
import { runAction } from '../action/index.js';
import type { CommandContext, CommandInput } from './context.js';
import { version } from './version.js';

export async function run(_input: CommandInput, ctx: CommandContext): Promise<number> {
  const result = await runAction({ env: ctx.env, stdout: ctx.stdout, toolVersion: version() });
  ctx.stdout(
    `joch: ${result.errors} error(s), ${result.warnings} warning(s), ${result.agbomChanges} AgBOM change(s) of which ${result.riskyChanges} risky; comment ${result.comment ?? 'skipped'}\n`,
  );
  return result.exitCode;
}
