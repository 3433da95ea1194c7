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
