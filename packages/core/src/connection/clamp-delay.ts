import { MAX_TIMER_DELAY_MS } from "./backoff.js";

/** `ms` as a delay `setTimeout` honours: not negative, and at most {@link MAX_TIMER_DELAY_MS} (longer ones fire at once). */
export function clampDelay(ms: number): number {
  return Math.min(Math.max(0, ms), MAX_TIMER_DELAY_MS);
}
