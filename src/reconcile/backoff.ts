/**
 * Delays between cycles: exponential backoff with a ceiling after failures,
 * and a jittered poll interval, so replicas and many installations do not
 * hit a Git server in lockstep.
 */

export interface BackoffOptions {
  /** First delay after a failure (ms). */
  readonly initialMs: number;
  /** Ceiling (ms). */
  readonly maxMs: number;
  /** Multiplier per consecutive failure; default 2. */
  readonly factor?: number | undefined;
  /** Random source in [0, 1); tests pass their own. */
  readonly random?: (() => number) | undefined;
}

export class Backoff {
  private failures = 0;

  constructor(private readonly options: BackoffOptions) {}

  /** Consecutive failures so far. */
  get attempts(): number {
    return this.failures;
  }

  /** Records a failure and returns how long to wait before the next try: full delay minus up to half of it. */
  fail(): number {
    this.failures++;
    const factor = this.options.factor ?? 2;
    const delay = Math.min(this.options.maxMs, this.options.initialMs * factor ** (this.failures - 1));
    const random = this.options.random ?? Math.random;
    return Math.round(delay / 2 + random() * (delay / 2));
  }

  reset(): void {
    this.failures = 0;
  }
}

/** The poll interval moved by up to ±`fraction` of itself. */
export function jittered(intervalMs: number, fraction: number, random: () => number = Math.random): number {
  const spread = intervalMs * fraction;
  return Math.max(0, Math.round(intervalMs - spread + random() * 2 * spread));
}
