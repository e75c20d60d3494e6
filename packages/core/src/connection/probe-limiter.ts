/**
 * Bounds how many health probes run at once across a store, so that a store with hundreds of services does not send
 * hundreds of pings (or spawn hundreds of `tools/list` answers) in the same instant. Probes past the bound wait their
 * turn, taken fairly between keys (a store's scopes: each agent, and the store): when a slot frees, it goes to the next
 * key in turn, so one agent's hundreds of hung services delay another's probe by at most one probe, not by all of theirs.
 */
export class ProbeLimiter {
  private running = 0;
  /** Waiting probes by key; the map's order is the turn order (a key served goes to the back). */
  private readonly waiting = new Map<string, Array<() => void>>();
  private waitingCount = 0;

  /** @param maxConcurrent How many probes may run at once (at least 1). */
  constructor(readonly maxConcurrent: number) {}

  /** Probes running now. */
  get active(): number {
    return this.running;
  }

  /** Probes waiting for a turn. */
  get queued(): number {
    return this.waitingCount;
  }

  /** Runs `probe` when a slot is free (`key`: whose turn it is, default one shared key); resolves with its outcome. */
  async run<T>(probe: () => Promise<T>, key = ""): Promise<T> {
    if (this.running >= Math.max(1, this.maxConcurrent)) {
      // The slot is handed over by the probe that finishes, so `running` stays the same.
      await new Promise<void>((resolve) => {
        const queue = this.waiting.get(key);
        if (queue) queue.push(resolve);
        else this.waiting.set(key, [resolve]);
        this.waitingCount++;
      });
    } else {
      this.running++;
    }
    try {
      return await probe();
    } finally {
      this.handOver();
    }
  }

  /** Gives the slot of a finished probe to the first probe of the key whose turn it is, or frees it. */
  private handOver(): void {
    const first = this.waiting.entries().next();
    if (first.done) {
      this.running--;
      return;
    }
    const [key, queue] = first.value;
    const next = queue.shift()!;
    this.waitingCount--;
    this.waiting.delete(key);
    if (queue.length > 0) this.waiting.set(key, queue);
    next();
  }
}
