/**
 * What an error from the MCP SDK or a transport means for a connection (no answer, session gone, slow down, cannot
 * start), and how it becomes one of our typed errors. The connection decides what to do about it.
 */
import { StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js";
import { AbortedError, ConnectionError, MCPStoreError, ServiceUnavailableError, TimeoutError, ToolExecutionError } from "../errors.js";
import type { ServiceState } from "../types.js";

/** The stdio command could not be started at all (missing, not executable): retrying soon will not fix it. */
export function isSpawnFailure(error: unknown): boolean {
  return error instanceof Error && ["ENOENT", "EACCES", "ENOTDIR"].includes((error as NodeJS.ErrnoException).code ?? "");
}

/** The HTTP status a transport error carries, if any (Streamable HTTP errors have `code`; SSE ones say `HTTP nnn`). */
export function httpStatusOf(error: unknown): number | undefined {
  if (error instanceof StreamableHTTPError && typeof error.code === "number" && error.code >= 100) return error.code;
  const match = error instanceof Error ? /\bHTTP (\d{3})\b/.exec(error.message) : null;
  return match ? Number(match[1]) : undefined;
}

/** The server answered, but the session this client had is gone (it restarted): re-initialising fixes it. */
export function isSessionGone(error: unknown): boolean {
  return httpStatusOf(error) === 404;
}

/** The server is alive but asks to slow down: not a health failure. */
export function isRateLimited(error: unknown): boolean {
  return httpStatusOf(error) === 429;
}

/**
 * The error says nothing answers at the other end (closed, refused, reset, session gone): reconnect at once rather
 * than wait for a second failed probe.
 */
export function isDeadConnection(error: unknown): boolean {
  if (error instanceof McpError) return error.code === ErrorCode.ConnectionClosed;
  if (isSessionGone(error)) return true;
  if (!(error instanceof Error)) return false;
  if (error.message === "Not connected" || error.message === "fetch failed") return true;
  const code = (error as NodeJS.ErrnoException).code ?? ((error.cause as NodeJS.ErrnoException | undefined)?.code ?? "");
  return ["ECONNREFUSED", "ECONNRESET", "EPIPE", "ENOTFOUND", "EHOSTUNREACH", "UND_ERR_SOCKET"].includes(code);
}

/** What {@link toRequestError} needs to know about the service. */
export interface RequestErrorContext {
  serviceName: string;
  /** A one-line, secret-free description of an error (see `SecretScrubber.describe`). */
  describe(error: unknown): string;
}

/** What {@link toCallError} needs to know about the call and the service. */
export interface CallErrorContext extends RequestErrorContext {
  toolName: string;
  /** The agent scope of the service; `undefined` (or empty) for the store scope. */
  agentId: string | undefined;
  /** The service's state when the call failed. */
  state: ServiceState;
  /** The caller's signal: when it aborted, the failure is an {@link AbortedError} whatever the SDK said. */
  signal: AbortSignal | undefined;
}

/** The typed error a failed tool call rejects with: aborted, timed out, connection closed, tool failed, or connection. */
export function toCallError(error: unknown, context: CallErrorContext): MCPStoreError {
  if (MCPStoreError.isInstance(error)) return error;
  const { serviceName, toolName, agentId, state, signal } = context;
  const errorContext = { serviceName, toolName, ...(agentId ? { agentId } : {}), cause: error };
  const message = context.describe(error);
  if (signal?.aborted) return new AbortedError({ ...errorContext, message: `Call to ${toolName} on "${serviceName}" was aborted` });
  if (error instanceof McpError && error.code === ErrorCode.RequestTimeout) {
    return new TimeoutError({ ...errorContext, message: `Call to ${toolName} on "${serviceName}" timed out: ${message}` });
  }
  if (error instanceof McpError && error.code === ErrorCode.ConnectionClosed) {
    return new ServiceUnavailableError({
      ...errorContext,
      message: `Service "${serviceName}" closed the connection during ${toolName}`,
      details: { state },
    });
  }
  if (error instanceof McpError) {
    return new ToolExecutionError({ ...errorContext, message: `Tool ${toolName} on "${serviceName}" failed: ${message}`, details: { mcpCode: error.code } });
  }
  const status = httpStatusOf(error);
  return new ConnectionError({
    ...errorContext,
    message: `Call to ${toolName} on "${serviceName}" failed: ${message}`,
    ...(status !== undefined ? { details: { httpStatus: status } } : {}),
  });
}

/**
 * The typed error a failed resource read or prompt request rejects with: the server's own answer is a
 * {@link ToolExecutionError}, anything else (closed, refused, ...) a {@link ConnectionError}. `what` names the
 * request, e.g. `reading file:///a`.
 */
export function toRequestError(error: unknown, what: string, context: RequestErrorContext): MCPStoreError {
  const message = `${what} on "${context.serviceName}" failed: ${context.describe(error)}`;
  const errorContext = { serviceName: context.serviceName, cause: error, message };
  return error instanceof McpError && error.code !== ErrorCode.ConnectionClosed ? new ToolExecutionError(errorContext) : new ConnectionError(errorContext);
}

/** What {@link unavailableError} says about the service. */
export interface UnavailableContext {
  serviceName: string;
  state: ServiceState;
  /** Why the service last failed, if it did (never a secret). */
  lastError: string | undefined;
  /** The agent scope of the service; `undefined` (or empty) for the store scope. */
  agentId: string | undefined;
  /** When the next connection attempt is due (ms since epoch), while one is scheduled. */
  nextAttemptAt: number | undefined;
  /** The tool a call was for, when it was a call. */
  toolName?: string | undefined;
}

/** The fast failure of a request while the service has no usable connection, saying its state and why. */
export function unavailableError(context: UnavailableContext): ServiceUnavailableError {
  const { serviceName, state, lastError, agentId, nextAttemptAt, toolName } = context;
  return new ServiceUnavailableError({
    message: `Service "${serviceName}" is ${state}${lastError ? `: ${lastError}` : ""}`,
    serviceName,
    ...(toolName ? { toolName } : {}),
    ...(agentId ? { agentId } : {}),
    details: { state, ...(nextAttemptAt !== undefined ? { nextAttemptAt: new Date(nextAttemptAt).toISOString() } : {}) },
  });
}
