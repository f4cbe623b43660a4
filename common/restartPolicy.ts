// When to restart a crashed language server: at most `maxRestarts` within `windowMs`, so a
// server that crashes on start-up does not restart forever.

export class RestartPolicy {
  private crashes: number[] = [];

  constructor(
    readonly maxRestarts = 4,
    readonly windowMs = 3 * 60 * 1000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records a crash; true when the server should be restarted. */
  crashed(): boolean {
    const t = this.now();
    this.crashes = this.crashes.filter((c) => t - c < this.windowMs);
    this.crashes.push(t);
    return this.crashes.length <= this.maxRestarts;
  }

  /** Forget earlier crashes (after a manual restart). */
  reset(): void {
    this.crashes = [];
  }
}
