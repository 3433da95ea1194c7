/**
 * Progress for long work, on stderr so stdout stays machine-readable: one
 * line redrawn in place at a terminal, plain lines in CI (where logs are
 * kept), and nothing when piped elsewhere or with --quiet.
 */
import type { CommandContext } from './context.js';

type Mode = 'redraw' | 'lines' | 'off';

export class Progress {
  private shown = false;
  private lastLine = '';

  private constructor(
    private readonly mode: Mode,
    private readonly write: (s: string) => void,
  ) {}

  static start(ctx: CommandContext, opts: Readonly<Record<string, unknown>>): Progress {
    const ci = ctx.env.CI !== undefined && ctx.env.CI !== '' && ctx.env.CI !== 'false';
    const mode: Mode = opts.quiet === true ? 'off' : ctx.stderrIsTTY ? 'redraw' : ci ? 'lines' : 'off';
    return new Progress(mode, ctx.stderr);
  }

  /** A stage begins: "loading and validating", "applying". */
  step(what: string): void {
    this.show(`${what}...`);
  }

  /** N of M done within a stage. */
  count(what: string, done: number, total: number): void {
    // In CI a line per item would flood the log: only the first and the last.
    if (this.mode === 'lines' && done !== 0 && done !== total) return;
    this.show(`${what} ${done}/${total}`);
  }

  /** Clears the redrawn line so that the command's own output starts clean. */
  done(): void {
    if (this.mode === 'redraw' && this.shown) this.write('\r\x1b[K');
    this.shown = false;
  }

  private show(line: string): void {
    if (this.mode === 'off' || line === this.lastLine) return;
    this.lastLine = line;
    if (this.mode === 'lines') this.write(`joch: ${line}\n`);
    else {
      this.write(`\r\x1b[K${line}`);
      this.shown = true;
    }
  }
}
