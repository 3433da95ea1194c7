/**
 * The `joch` command line. Each command's flags, operands, help and examples
 * are defined once, in src/cli/commands/<name>.ts, with commander: that one
 * definition feeds the help, the "did you mean" suggestions, the shell
 * completion scripts and docs/CLI.md. A command's implementation (the sibling
 * src/cli/<name>.ts) is loaded only when it runs, so `joch validate` never
 * loads the cluster client.
 */
import { Command, CommanderError } from 'commander';
import { describeError } from './errors.js';
import { type CommandContext } from './context.js';
import { COMMANDS } from './commands/index.js';
import type { Wire } from './commands/types.js';
import { version } from './version.js';

export { version } from './version.js';

/** The exit codes of every command, in one table (docs/CLI.md prints it). */
export const EXIT_CODES: readonly { readonly code: number; readonly meaning: string }[] = [
  { code: 0, meaning: 'success: no errors; for `diff`, no changes; for `agbom diff`, no AgBOM changes' },
  { code: 1, meaning: 'the command ran and found something: errors in the repository, changes (`diff`, `agbom diff`), a denied capability (`explain`), a failed policy test case, a failed apply or sync cycle, high-risk agents (`agbom ls --high-risk`), a release gate that refuses a promotion (`promote`) or a refused rollback' },
  { code: 2, meaning: 'the command could not run: a usage error (unknown flag, bad value, missing file), no cluster configured or reachable, an internal error; `diff` also exits 2 when the plan failed' },
];

/** The exit code the last action set, per program. */
interface RunState {
  code: number;
  current: Command | undefined;
}

/**
 * The whole command tree, with its output going to `ctx`; with `only`, the
 * root and that one command (what running it needs: each definition costs
 * start-up time, and a run parses only its own command's flags).
 */
export function buildProgram(ctx: CommandContext, state: RunState = { code: 0, current: undefined }, only?: string): Command {
  const program = new Command('joch')
    .description('GitOps reconciler and manifest compiler for Joch agent fleets')
    .usage('<command> [options]')
    .option('-q, --quiet', 'print less: no notes, no progress')
    .option('--color', 'colour even when the output is not a terminal')
    .option('--no-color', 'no colour (NO_COLOR and FORCE_COLOR are honoured too)')
    .option('--debug', 'print stack traces and debug detail on errors')
    .version(version(), '--version', 'print the version of joch')
    .configureOutput({
      writeOut: ctx.stdout,
      writeErr: ctx.stderr,
      // Errors are printed once, as one line, by runCli.
      outputError: () => undefined,
      getOutHelpWidth: () => 100,
      getErrHelpWidth: () => 100,
    })
    .configureHelp({ showGlobalOptions: true })
    .showSuggestionAfterError(true)
    .addHelpText('after', `\nExit codes: ${EXIT_CODES.map((e) => `${e.code} ${e.meaning.split(':')[0] ?? ''}`).join(', ')}.\nRun \`joch <command> --help\` for a command's flags and examples.\n`)
    .exitOverride();
  program.hook('preSubcommand', (_parent, sub) => {
    state.current = sub;
  });
  const wire: Wire = (load) => async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    state.current = cmd;
    const mod = await load();
    state.code = await mod.run({ args: cmd.args, opts: optionValues(cmd) }, ctx);
  };
  for (const c of COMMANDS) {
    if (only !== undefined && c.name !== only) continue;
    const cmd = program.command(c.name).summary(c.summary).description(c.description ?? c.summary);
    c.define(cmd, wire);
  }
  return program;
}

/**
 * The option values of a command and its parents, keyed by long flag as
 * written (`single-file`, `no-prune`). A negated flag appears only when given,
 * so `--no-color` left out does not read as "colour on".
 */
function optionValues(cmd: Command): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let c: Command | null = cmd; c; c = c.parent) {
    for (const o of c.options) {
      const attribute = o.attributeName();
      const value: unknown = c.getOptionValue(attribute);
      const key = (o.long ?? o.short ?? attribute).replace(/^--?/, '');
      if (value === undefined || key in out) continue;
      if (o.negate) {
        if (c.getOptionValueSource(attribute) !== 'default') out[key] = value === false;
      } else out[key] = value;
    }
  }
  return out;
}

export async function runCli(argv: string[], ctx: CommandContext = defaultContext()): Promise<number> {
  const state: RunState = { code: 0, current: undefined };
  const program = buildProgram(ctx, state, commandNamed(argv));
  const debug = argv.includes('--debug') || ctx.env.JOCH_DEBUG === '1';
  try {
    await program.parseAsync(argv, { from: 'user' });
    return state.code;
  } catch (e) {
    const where = commandPath(state.current);
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return 0;
      // `joch help CMD` printed the help (0); `joch` alone printed it on stderr (2).
      if (e.code === 'commander.help') return e.exitCode === 0 ? 0 : 2;
      ctx.stderr(`${where}: ${oneLine(e.message)}; see \`${where} --help\`\n`);
      return 2;
    }
    const described = describeError(e, where);
    ctx.stderr(`${where}: ${described.message}${described.hint ? `; ${described.hint}` : ''}\n`);
    if (debug && e instanceof Error && e.stack) ctx.stderr(`${e.stack}\n`);
    return 2;
  }
}

/**
 * The command an argument list runs, when it names one: the first operand
 * (the global flags take no value). Anything else (help, a typo that needs
 * suggestions, no command) gets the whole tree.
 */
function commandNamed(argv: readonly string[]): string | undefined {
  const first = argv.find((a) => !a.startsWith('-'));
  return COMMANDS.some((c) => c.name === first) ? first : undefined;
}

/** `joch agbom`, `joch policy test`: the command as the user typed it. */
function commandPath(cmd: Command | undefined): string {
  const names: string[] = [];
  for (let c = cmd; c; c = c.parent ?? undefined) names.unshift(c.name());
  return names.length ? names.join(' ') : 'joch';
}

/** commander's message ("error: unknown option '--x'\n(Did you mean --y?)") as one line. */
function oneLine(message: string): string {
  return message
    .replace(/^error: /, '')
    .replace(/\n\(Did you mean (.*)\?\)/, ' (did you mean $1?)')
    .replace(/\s*\n\s*/g, ' ')
    .trim()
    .replace(/\.$/, '');
}

function defaultContext(): CommandContext {
  return {
    cwd: process.cwd(),
    env: process.env,
    stdout: (s) => void process.stdout.write(s),
    stderr: (s) => void process.stderr.write(s),
    isTTY: Boolean(process.stdout.isTTY),
    stderrIsTTY: Boolean(process.stderr.isTTY),
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
  };
}
