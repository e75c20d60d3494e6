/** Longest delay `setTimeout` takes (about 24.8 days); longer ones fire at once, so every timer is clamped to it. */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/** Options of {@link fullJitterBackoffMs}. */
export interface BackoffOptions {
  /** Bound of the first delay, in milliseconds. */
  baseMs: number;
  /** Largest bound, in milliseconds (`reconnectionSeconds` × 1000). */
  capMs: number;
  /** A number in [0, 1). Default `Math.random`. */
  random?: () => number;
}

/**
 * The delay before reconnection attempt number `attempt` (1 for the first): a random duration between 0 and
 * min(`capMs`, `baseMs` × 2^(attempt − 1)). This "full jitter" keeps services that lost one server together from
 * retrying in step, and the exponential bound keeps a dead server from being hammered.
 */
export function fullJitterBackoffMs(attempt: number, options: BackoffOptions): number {
  const exponent = Math.min(Math.max(attempt, 1) - 1, 52);
  const bound = Math.min(options.capMs, options.baseMs * 2 ** exponent, MAX_TIMER_DELAY_MS);
  return (options.random ?? Math.random)() * bound;
}
