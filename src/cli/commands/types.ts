import type { Command } from 'commander';
import type { RunCommand } from '../context.js';

/** Loads a command's implementation: heavy modules (the cluster client, cdk8s) load only when their command runs. */
export type LoadCommand = () => Promise<{ readonly run: RunCommand }>;

/** Turns a loader into the action commander calls once the command line is parsed. */
export type Wire = (load: LoadCommand) => (...args: unknown[]) => Promise<void>;

/** A command's definition: its flags, operands, help text and examples, all in one place. */
export type DefineCommand = (cmd: Command, wire: Wire) => void;

/** The examples section of a command's help. */
export function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  ${l}`).join('\n')}\n`;
}
