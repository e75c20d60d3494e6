/**
 * What an error from the MCP SDK or a transport means for a connection (no answer, session gone, slow down, cannot
 * start), and how it becomes one of our typed errors. The connection decides what to do about it.
 */
import { STATUS_CODES } from "node:http";
import { SseError } from "@modelcontextprotocol/sdk/client/sse.js";
import { StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js";
import { AbortedError, ConnectionError, MCPStoreError, ServiceUnavailableError, TimeoutError, ToolExecutionError } from "../errors.js";
import type { ServiceState, TransportKind } from "../types.js";
import type { ServerRun } from "./server-output-recorder.js";
import type { ProcessExit } from "./stdio-transport.js";

/** The stdio command could not be started at all (missing, not executable): retrying soon will not fix it. */
export function isSpawnFailure(error: unknown): boolean {
  return error instanceof Error && ["ENOENT", "EACCES", "ENOTDIR"].includes((error as NodeJS.ErrnoException).code ?? "");
}

/**
 * The HTTP status a transport error carries, if any (Streamable HTTP and SSE stream errors have `code`; failed SSE
 * posts and our own errors say `HTTP nnn`).
 */
export function httpStatusOf(error: unknown): number | undefined {
  if ((error instanceof StreamableHTTPError || error instanceof SseError) && typeof error.code === "number" && error.code >= 100) return error.code;
  const match = error instanceof Error ? /\bHTTP (\d{3})\b/.exec(error.message) : null;
  return match ? Number(match[1]) : undefined;
}

/** Statuses of a Streamable HTTP `initialize` that, per the spec, mark a server of the old HTTP+SSE transport. */
const OLD_SERVER_STATUSES = new Set([400, 404, 405]);

/**
 * Whether a failed Streamable HTTP attempt is tried again over SSE: when the server answered a status the spec names
 * for an old server (400, 404, 405), or did not answer over HTTP at all (refused, timed out, not MCP). Any other
 * status (401, 403, 500, ...) is the server's real answer, which an SSE attempt would only hide.
 */
export function fallsBackToSse(error: unknown): boolean {
  const status = httpStatusOf(error);
  return status === undefined || OLD_SERVER_STATUSES.has(status);
}

const TRANSPORT_NAMES: Record<TransportKind, string> = { stdio: "stdio", "streamable-http": "Streamable HTTP", sse: "SSE" };

/**
 * A failed connection attempt that got an HTTP status, as a {@link ConnectionError} saying it in words
 * (`Streamable HTTP answered HTTP 401 Unauthorized`) with the SDK's error as its cause; any other failure as it is.
 */
export function toConnectError(error: unknown, kind: TransportKind): unknown {
  const status = httpStatusOf(error);
  if (status === undefined || MCPStoreError.isInstance(error)) return error;
  const statusText = STATUS_CODES[status];
  return new ConnectionError({
    message: `${TRANSPORT_NAMES[kind]} answered HTTP ${status}${statusText ? ` ${statusText}` : ""}`,
    cause: error,
    details: { httpStatus: status, transport: kind },
  });
}

/** How a process ended, in words: `exited with code 1`, `was killed by SIGKILL (out of memory?)`. */
export function describeExit(exit: ProcessExit): string {
  if (exit.signal === null) return `exited with code ${exit.code ?? "unknown"}`;
  // Nothing here sent it (the connection was not closing): the kernel's OOM killer is the usual sender.
  return `was killed by ${exit.signal}${exit.signal === "SIGKILL" ? " (out of memory?)" : ""}`;
}

/** A failed connection attempt, in words for `lastError`, and whether it is a fault of the service's configuration. */
export interface ConnectFailure {
  reason: string;
  /** Retrying soon will not help (a command that cannot start, or is no MCP server): straight to `unreachable`. */
  configurationFault: boolean;
}

/**
 * What a failed connection attempt means. A stdio command that cannot be started, or that exits with code 0 before
 * answering `initialize` (`echo`, a CLI that is no MCP server), is a configuration fault. When the process exited,
 * the reason says how, quotes the first stdout line that was not MCP, and the last stderr line.
 */
export function classifyConnectFailure(error: unknown, context: { describe(error: unknown): string; run: ServerRun | undefined }): ConnectFailure {
  const spawnFailure = isSpawnFailure(error);
  if (spawnFailure || !context.run) return { reason: context.describe(error), configurationFault: spawnFailure };
  const { exit, firstDroppedLine, lastStderrLine } = context.run;
  const stderr = lastStderrLine ? ` (last stderr: ${lastStderrLine})` : "";
  // Only a lost connection is the process's doing; after a timeout, the exit is ours (the attempt closed it).
  if (!exit || !isDeadConnection(error)) return { reason: `${context.describe(error)}${stderr}`, configurationFault: false };
  const stdout = firstDroppedLine !== undefined ? `; its stdout was not MCP (first line: ${JSON.stringify(firstDroppedLine)})` : "";
  return { reason: `the process ${describeExit(exit)} before answering initialize${stdout}${stderr}`, configurationFault: exit.code === 0 };
}

/** Why a connection that was up closed under us, saying how its process ended (stdio) and its last stderr line. */
export function lostConnectionReason(run: ServerRun | undefined): string {
  const exit = run?.exit ? `: the process ${describeExit(run.exit)}` : "";
  return `connection closed${exit}${run?.lastStderrLine ? ` (last stderr: ${run.lastStderrLine})` : ""}`;
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
