import { ValidationError } from "../errors.js";
import { MAX_TIMER_DELAY_MS } from "./backoff.js";

/** `ms` as a delay `setTimeout` honours: not negative, and at most {@link MAX_TIMER_DELAY_MS} (longer ones fire at once). */
export function clampDelay(ms: number): number {
  return Math.min(Math.max(0, ms), MAX_TIMER_DELAY_MS);
}

/**
 * A time limit a caller gave, checked before anything is sent: `undefined` stays unset; anything above
 * {@link MAX_TIMER_DELAY_MS} (Infinity included) means no limit and is `Infinity`; 0, a negative number, NaN or a
 * non-number is a `ValidationError` naming the option (`path`).
 */
export function checkTimeLimit(value: unknown, path: string): number | undefined {
  if (value === undefined) return undefined;
  // `!(value > 0)` also refuses NaN.
  if (typeof value !== "number" || !(value > 0)) {
    const message = `${path} must be a positive number of milliseconds (Infinity for no limit), got ${String(value)}`;
    throw new ValidationError({ message, details: { issues: [{ path, message }] } });
  }
  return value > MAX_TIMER_DELAY_MS ? Number.POSITIVE_INFINITY : value;
}
