/** `joch action`: the GitHub Action's entry point (action.yml runs it); reads INPUT_* and GITHUB_* variables. */
import { runAction } from '../action/index.js';
import { UsageError, type CommandContext } from './context.js';
import { version } from './main.js';

export async function run(argv: string[], ctx: CommandContext): Promise<number> {
  if (argv.length) throw new UsageError('joch action takes no arguments; it reads the INPUT_* and GITHUB_* variables of a workflow step');
  const result = await runAction({ env: ctx.env, stdout: ctx.stdout, toolVersion: version() });
  ctx.stdout(
    `joch: ${result.errors} error(s), ${result.warnings} warning(s), ${result.agbomChanges} AgBOM change(s) of which ${result.riskyChanges} risky; comment ${result.comment ?? 'skipped'}\n`,
  );
  return result.exitCode;
}
