import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { z } from 'zod';
/** What a command gets from its driver: the tests pass their own. */
export interface CommandContext {
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: (s: string) => void;
  readonly stderr: (s: string) => void;
  readonly isTTY: boolean;
}

/** A mistake in the command line: exit code 2 with the usage. */
export class UsageError extends Error {}

type OptionSpecs = NonNullable<ParseArgsConfig['options']>;

/** Parses a command's arguments; a mistake in them is a usage error (exit 2), not a crash. */
export function parseCommandLine<O extends OptionSpecs>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, allowPositionals: true, options });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

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
