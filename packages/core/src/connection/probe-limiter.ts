/**
 * Bounds how many health probes run at once across a store, so that a store with hundreds of services does not send
 * hundreds of pings (or spawn hundreds of `tools/list` answers) in the same instant. Probes past the bound wait their
 * turn in order.
 */
export class ProbeLimiter {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  /** @param maxConcurrent How many probes may run at once (at least 1). */
  constructor(readonly maxConcurrent: number) {}

  /** Probes running now. */
  get active(): number {
    return this.running;
  }

  /** Probes waiting for a turn. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Runs `probe` when a slot is free; resolves or rejects with its outcome. */
  async run<T>(probe: () => Promise<T>): Promise<T> {
    if (this.running >= Math.max(1, this.maxConcurrent)) {
      // The slot is handed over by the probe that finishes, so `running` stays the same.
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    try {
      return await probe();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}
