/**
 * The Action's entry as the runner starts it (`runs.main` in action.yml,
 * bundled into action/lib/index.js): reads the step's environment, runs the
 * review and sets the exit code. A misconfigured input is one `::error::`
 * line, never a stack trace.
 */
import { readFileSync } from 'node:fs';
import { runAction } from './index.js';
import { InputError } from './inputs.js';

/** package.json sits two folders above both src/action and the bundle in action/lib. */
function toolVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

async function main(): Promise<number> {
  try {
    const result = await runAction({ env: process.env, stdout: (s) => process.stdout.write(s), toolVersion: toolVersion() });
    return result.exitCode;
  } catch (e) {
    const message = e instanceof InputError ? e.message : `joch failed: ${e instanceof Error ? e.message : String(e)}`;
    process.stdout.write(`::error title=joch::${escapeCommand(message)}\n`);
    return e instanceof InputError ? 2 : 1;
  }
}

/** Workflow commands end at a newline; GitHub's escaping keeps a message on one line. */
function escapeCommand(s: string): string {
  return s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

process.exitCode = await main();
