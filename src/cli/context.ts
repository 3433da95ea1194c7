import type { z } from 'zod';

/** What a command gets from its driver: the tests pass their own. */
export interface CommandContext {
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: (s: string) => void;
  readonly stderr: (s: string) => void;
  /** Whether stdout is a terminal: colour, tables and progress depend on it. */
  readonly isTTY: boolean;
  /** Whether stderr is a terminal: progress lines are redrawn in place only there. */
  readonly stderrIsTTY?: boolean;
  /** The whole of standard input, for `-f -`. */
  readonly readStdin?: () => Promise<string>;
}

/**
 * A command's operands and option values after parsing: options are keyed by
 * their long flag (`single-file`, `no-prune`), and include the global flags.
 */
export interface CommandInput {
  readonly args: readonly string[];
  readonly opts: Readonly<Record<string, unknown>>;
}

/** The implementation of a command, loaded only when the command runs. */
export type RunCommand = (input: CommandInput, ctx: CommandContext) => Promise<number>;

/** A mistake in the command line: exit code 2, one line, and where to read the usage. */
export class UsageError extends Error {}

/**
 * A command's option values checked against its schema: `--no-color` reads
 * as `color: false`, and each problem is a usage error naming its option.
 */
export function checkOptions<S extends z.ZodType>(values: Readonly<Record<string, unknown>>, schema: S): z.output<S> {
  const { 'no-color': noColor, ...rest } = values;
  const parsed = schema.safeParse({ ...rest, ...(noColor ? { color: false } : {}) });
  if (!parsed.success) throw new UsageError(parsed.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('; '));
  return parsed.data;
}

/**
 * Colour as the conventions ask: --no-color wins, then FORCE_COLOR
 * (https://force-color.org), then NO_COLOR (https://no-color.org), then
 * whether the stream is a terminal.
 */
export function useColor(opts: Readonly<Record<string, unknown>>, ctx: CommandContext, stream: 'stdout' | 'stderr' = 'stdout'): boolean {
  if (opts['no-color'] === true || opts.color === false) return false;
  if (opts.color === true) return true;
  const force = ctx.env.FORCE_COLOR;
  if (force !== undefined && force !== '' && force !== '0' && force !== 'false') return true;
  if (ctx.env.NO_COLOR !== undefined && ctx.env.NO_COLOR !== '') return false;
  return stream === 'stdout' ? ctx.isTTY : Boolean(ctx.stderrIsTTY);
}
