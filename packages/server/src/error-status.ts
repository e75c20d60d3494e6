import { MCPStoreError } from "@mcpstore/core";

/**
 * The HTTP status of every error code: the one place where codes meet statuses. A code that is not here is a 500 (and
 * the server's tests fail when `@mcpstore/core` exports an error whose code is missing).
 */
export const ERROR_STATUS: Readonly<Record<string, number>> = {
  // The request is wrong.
  VALIDATION_ERROR: 400,
  INVALID_JSON: 400,
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  HOST_NOT_ALLOWED: 403,
  ORIGIN_NOT_ALLOWED: 403,
  STDIO_DISABLED: 403,
  PLUGIN_VETO: 403,
  NOT_FOUND: 404,
  SERVICE_NOT_FOUND: 404,
  TOOL_NOT_FOUND: 404,
  PROMPT_NOT_FOUND: 404,
  RESOURCE_NOT_FOUND: 404,
  SERVICE_EXISTS: 409,
  // An agent's limit: services (retrying will not help until one is removed) or calls in flight (Retry-After says when).
  QUOTA_EXCEEDED: 429,
  // Too many bad tokens from one address (auth-throttle.ts answers it itself, before any route).
  TOO_MANY_REQUESTS: 429,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  // The caller went away (nginx's convention); nobody reads this one.
  ABORTED: 499,
  // The store or an upstream server failed.
  INTERNAL_ERROR: 500,
  CONFIG_FILE_ERROR: 500,
  PLUGIN_ERROR: 500,
  CONNECTION_ERROR: 502,
  TOOL_EXECUTION_ERROR: 502,
  SERVICE_UNAVAILABLE: 503,
  // The cache behind the catalogue failed or timed out; the store itself is fine and calls still work.
  CACHE_ERROR: 503,
  // The shared state of several instances (Redis) failed: the change was not acknowledged.
  SHARED_STATE_UNAVAILABLE: 503,
  STORE_CLOSED: 503,
  TIMEOUT: 504,
};

/** The body of every error response. */
export interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

/**
 * The status and body of an error. An `MCPStoreError` keeps its code and message (they never hold secrets) and its
 * `details`; anything else is a 500 that says nothing about its cause (the caller logs it). Never a stack trace.
 */
export function errorResponse(error: unknown): { status: number; body: ErrorBody; expected: boolean } {
  if (MCPStoreError.isInstance(error)) {
    const status = ERROR_STATUS[error.code] ?? 500;
    const body: ErrorBody = { error: { code: error.code, message: error.message, ...(error.details ? { details: error.details } : {}) } };
    return { status, body, expected: status < 500 || error.code in ERROR_STATUS };
  }
  return { status: 500, body: { error: { code: "INTERNAL_ERROR", message: "Internal server error" } }, expected: false };
}
