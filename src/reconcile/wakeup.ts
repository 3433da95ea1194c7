/** A sleep that a trigger cuts short; a trigger that arrives while nobody sleeps is kept for the next sleep. */
export class Wakeup {
  private pending = false;
  private resolve: ((triggered: boolean) => void) | undefined;
  private timer: NodeJS.Timeout | undefined;

  /** Resolves after `ms` with false, or at once / on `notify()` with true. */
  wait(ms: number): Promise<boolean> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      this.resolve = resolve;
      this.timer = setTimeout(() => this.settle(false), ms);
    });
  }

  notify(): void {
    if (this.resolve) this.settle(true);
    else this.pending = true;
  }

  private settle(triggered: boolean): void {
    const resolve = this.resolve;
    this.resolve = undefined;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (triggered) this.pending = false;
    resolve?.(triggered);
  }
}
