import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { RequestOptions } from "@modelcontextprotocol/sdk/shared/protocol.js";
import { ErrorCode, McpError, type CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import type { CallToolOptions } from "../types.js";
import { clampDelay } from "./clamp-delay.js";

/** Time limit of a request when neither the caller nor the service sets one, in milliseconds. */
export const DEFAULT_TIMEOUT_MS = 60_000;

/** One tool call for {@link callToolOnce}. */
export interface ToolCallRequest {
  toolName: string;
  /** The arguments, already validated. */
  args: Record<string, unknown>;
  options: CallToolOptions;
  /** The service's `timeout` setting, in seconds, if it has one. */
  serviceTimeoutSeconds: number | undefined;
}

/**
 * Sends one `tools/call` within its limits: `timeoutMs` (else the service's `timeout`, else 60 s), reset by progress
 * when `onProgress` is given, and `maxTotalTimeoutMs` (default 10 × the timeout) as a hard wall-clock cap. A limit
 * above the longest timer (Infinity included) is no limit: timers are clamped, as Node fires longer ones at once.
 * Rejects with the SDK's error; mapping it to a typed error is the caller's.
 */
export async function callToolOnce(client: Client, request: ToolCallRequest): Promise<CallToolResult> {
  const { toolName, args, options, serviceTimeoutSeconds } = request;
  const timeout = Math.min(
    options.timeoutMs ?? (serviceTimeoutSeconds ? serviceTimeoutSeconds * 1000 : DEFAULT_TIMEOUT_MS),
    options.maxTotalTimeoutMs ?? Number.POSITIVE_INFINITY,
  );
  // The SDK checks its total limit only when progress arrives; a timer of our own makes it a hard wall-clock cap.
  // Without onProgress the per-call timeout is never reset, so no cap timer is needed.
  let capTimer: NodeJS.Timeout | undefined;
  let signal = options.signal;
  let onAbort: (() => void) | undefined;
  if (options.onProgress) {
    const capMs = options.maxTotalTimeoutMs ?? timeout * 10;
    const controller = new AbortController();
    onAbort = () => controller.abort(options.signal?.reason);
    if (options.signal?.aborted) onAbort();
    options.signal?.addEventListener("abort", onAbort, { once: true });
    if (capMs !== Number.POSITIVE_INFINITY) {
      capTimer = setTimeout(
        () => controller.abort(new McpError(ErrorCode.RequestTimeout, `Maximum total timeout exceeded (${Math.round(capMs)} ms)`, { maxTotalTimeout: capMs })),
        clampDelay(capMs),
      );
    }
    signal = controller.signal;
  }
  try {
    // Built key by key: on Node 20 spreading into an object literal costs microseconds per call.
    const requestOptions: RequestOptions = { timeout: clampDelay(timeout) };
    if (signal) requestOptions.signal = signal;
    if (options.onProgress) {
      requestOptions.onprogress = options.onProgress;
      requestOptions.resetTimeoutOnProgress = true;
    }
    return (await client.callTool({ name: toolName, arguments: args }, undefined, requestOptions)) as CallToolResult;
  } finally {
    clearTimeout(capTimer);
    if (onAbort) options.signal?.removeEventListener("abort", onAbort);
  }
}
