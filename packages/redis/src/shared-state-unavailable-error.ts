/** What a {@link SharedStateUnavailableError} is about. */
export interface SharedStateUnavailableDetails {
  /** The driver operation that failed: `apply`, `load`, `get`, `version`, `lease:acquire`, `fencedWrite`, ... */
  operation: string;
  /** Where Redis was expected: `host:port` (never a password). */
  target: string;
  /** The bound every Redis operation has, in milliseconds. */
  timeoutMs: number;
  /**
   * For a write: `not-applied` when Redis will never apply it (it was refused, not sent, or sent with a deadline that
   * has passed), `unknown` when the connection broke after it was sent. Absent for reads.
   */
  outcome?: "not-applied" | "unknown";
}

/** The core's error for a shared state that failed or did not answer in time (HTTP 503). */
export { SharedStateUnavailableError } from "@mcpstore/core";
