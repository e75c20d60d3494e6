import { performance } from "node:perf_hooks";

/** How long a clock sample is trusted before a newer one replaces it whatever its round trip, in milliseconds. */
const SAMPLE_LIFETIME_MS = 30_000;

/**
 * This process's estimate of Redis's clock (`TIME`), from the round trips that asked for it. It lets a write carry a
 * deadline in Redis's own time, so that a write that timed out here is refused by Redis if it arrives later (after a
 * pause, a slow network): a timeout then means "not applied", never "applied after all".
 */
export class ServerClock {
  private offsetMs: number | undefined;
  private uncertaintyMs = Number.POSITIVE_INFINITY;
  private sampledAt = Number.NEGATIVE_INFINITY;

  /** The local monotonic clock, in milliseconds. */
  static now(): number {
    return performance.now();
  }

  /**
   * Records one sample: a request sent at `sentAt`, answered at `receivedAt` (both {@link ServerClock.now}), whose
   * answer holds Redis's `TIME` reply. A sample with a shorter round trip (a tighter bound) wins over older ones.
   */
  observe(sentAt: number, receivedAt: number, time: readonly [string | number, string | number]): void {
    const serverMs = Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000);
    if (!Number.isFinite(serverMs)) return;
    const uncertaintyMs = (receivedAt - sentAt) / 2;
    if (uncertaintyMs <= this.uncertaintyMs || receivedAt - this.sampledAt > SAMPLE_LIFETIME_MS) {
      this.offsetMs = serverMs - (sentAt + uncertaintyMs);
      this.uncertaintyMs = uncertaintyMs;
      this.sampledAt = receivedAt;
    }
  }

  /** True once a sample has been recorded. */
  get known(): boolean {
    return this.offsetMs !== undefined;
  }

  /**
   * The latest Redis time (Unix milliseconds) at which something sent now may still run for it to have finished within
   * `budgetMs` from now; `undefined` before any sample. Errs early by the sample's uncertainty.
   */
  deadline(budgetMs: number): number | undefined {
    if (this.offsetMs === undefined) return undefined;
    return Math.floor(ServerClock.now() + this.offsetMs - this.uncertaintyMs + budgetMs);
  }
}
