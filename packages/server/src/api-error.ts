import { MCPStoreError, type MCPStoreErrorOptions } from "@mcpstore/core";

/** Codes of the errors the REST layer raises itself (the store's own errors keep their codes). */
export type ApiErrorCode =
  | "UNAUTHORIZED"
  | "FORBIDDEN"
  | "HOST_NOT_ALLOWED"
  | "ORIGIN_NOT_ALLOWED"
  | "STDIO_DISABLED"
  | "NOT_FOUND"
  | "INVALID_JSON"
  | "UNSUPPORTED_MEDIA_TYPE"
  | "PAYLOAD_TOO_LARGE"
  | "BAD_REQUEST"
  | "INTERNAL_ERROR";

/**
 * An error of the REST layer (authentication, a bad request line, limits). It is an `MCPStoreError`, so that one table
 * maps every code, the store's and these, to an HTTP status.
 */
export class ApiError extends MCPStoreError {
  declare readonly code: ApiErrorCode;

  constructor(code: ApiErrorCode, options: MCPStoreErrorOptions) {
    super(code, options, "ApiError");
  }

  /** True for an `ApiError`, including one from another copy of this package. */
  static override isInstance(error: unknown): error is ApiError {
    return error != null && typeof error === "object" && (error as Record<symbol, unknown>)[Symbol.for("mcpstore.error.ApiError")] === true;
  }
}
