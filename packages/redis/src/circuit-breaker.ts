/**
 * In front of Redis: after `threshold` operations in a row that got no answer (timeouts, broken connections), the
 * circuit opens for `openMs`, and operations fail at once instead of each waiting out the timeout; then one operation
 * goes through as a probe (half-open), and its answer closes the circuit again. Errors Redis answered with (a script's
 * refusal) are answers: they count as successes here.
 */
export class CircuitBreaker {
  private failures = 0;
  private openUntil = 0;
  private probing = false;

  constructor(
    readonly threshold = 3,
    readonly openMs = 500,
  ) {}

  /** Whether an operation may be sent now; a `false` means it fails at once, unsent. */
  admit(): boolean {
    if (this.failures < this.threshold) return true;
    if (Date.now() < this.openUntil || this.probing) return false;
    this.probing = true;
    return true;
  }

  /** Redis answered. */
  success(): void {
    this.failures = 0;
    this.probing = false;
  }

  /** Redis did not answer. */
  failure(): void {
    this.failures++;
    this.probing = false;
    if (this.failures >= this.threshold) this.openUntil = Date.now() + this.openMs;
  }

  /** Whether operations are refused unsent now. */
  get open(): boolean {
    return this.failures >= this.threshold && (Date.now() < this.openUntil || this.probing);
  }

  /** Consecutive operations without an answer. */
  get consecutiveFailures(): number {
    return this.failures;
  }
}
