/** `joch sync` as a real child process (bin/joch.js over the dist/ the test setup builds), with its JSON log lines parsed. */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

const BIN = path.resolve(import.meta.dirname, '../../../bin/joch.js');

export interface JochProcess {
  readonly child: ChildProcess;
  /** JSON log lines from stdout, each with the time it was read. */
  readonly lines: Array<Record<string, unknown> & { readonly seenAt: number }>;
  stderr(): string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  /** Whether a log line whose message starts with `prefix` was seen. */
  saw(prefix: string): boolean;
}

export function spawnJoch(args: readonly string[], env: NodeJS.ProcessEnv = {}): JochProcess {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: JochProcess['lines'] = [];
  let err = '';
  let partial = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    const text = partial + chunk.toString();
    const parts = text.split('\n');
    partial = parts.pop() ?? '';
    for (const p of parts.filter(Boolean)) {
      try {
        lines.push({ ...(JSON.parse(p) as Record<string, unknown>), seenAt: Date.now() });
      } catch {
        lines.push({ msg: p, seenAt: Date.now() });
      }
    }
  });
  child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    // 'close', not 'exit': every line the child wrote has been read by then.
    child.on('close', (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  return {
    child,
    lines,
    stderr: () => err,
    exited,
    saw: (prefix) => lines.some((l) => typeof l.msg === 'string' && l.msg.startsWith(prefix)),
  };
}

/** Kills by the child's own pid (never by name); resolves when it is gone. */
export async function kill(p: JochProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill(signal);
  await p.exited;
}
