import { MCPStoreError, type MCPStoreErrorOptions } from "@mcpstore/core";

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

/**
 * Redis, where the shared desired state lives, failed or did not answer within the operation timeout. The change was
 * not acknowledged; `details.outcome` says whether it can still land. HTTP 503 at the REST edge.
 *
 * Defined here until `@mcpstore/core` exports it: its name marker (`mcpstore.error.SharedStateUnavailableError`) is
 * what the core's `isInstance` convention gives a class of that name, so the two will recognise each other.
 */
export class SharedStateUnavailableError extends MCPStoreError {
  /** The code every `SharedStateUnavailableError` carries. */
  static readonly code = "SHARED_STATE_UNAVAILABLE";
  declare readonly details: SharedStateUnavailableDetails & Record<string, unknown>;
  constructor(options: MCPStoreErrorOptions & { details: SharedStateUnavailableDetails }) {
    super(SharedStateUnavailableError.code, { ...options, details: { ...options.details } }, "SharedStateUnavailableError");
  }
  /** True for a `SharedStateUnavailableError`, including one from another copy of this package (or the core's). */
  static override isInstance(error: unknown): error is SharedStateUnavailableError {
    return error != null && typeof error === "object" && (error as Record<symbol, unknown>)[Symbol.for("mcpstore.error.SharedStateUnavailableError")] === true;
  }
}
