/**
 * One tool call through its route: argument checks, the plugins' `tool:call-start` hooks, the wait for a service that
 * is connecting or restarting (within the call's own limits), the call, and the call events. When nothing observes
 * calls, the events are skipped altogether (the call path then costs what the SDK costs).
 */
import { randomUUID } from "node:crypto";
import { ToolExecutionError } from "../errors.js";
import type { StoreEventBus } from "../events/store-events.js";
import { assertArgumentsObject, type ArgumentValidator } from "../tools/argument-validator.js";
import type { CallToolOptions, ToolCallResult } from "../types.js";
import type { CallableLimits } from "./service-owner.js";
import type { ToolRoute } from "./tool-routes.js";

/** What a call needs from the registry. */
export interface CallContext {
  agentId: string | undefined;
  events: StoreEventBus;
  validator: ArgumentValidator;
}

export async function callRoutedTool(route: ToolRoute, args: unknown, options: CallToolOptions, context: CallContext): Promise<ToolCallResult> {
  let input = assertArgumentsObject(route.tool.name, args);
  const check = (route.check ??= context.validator.compile(route.tool.name, route.tool.inputSchema as Record<string, unknown>));
  check(input);
  const { owner, tool } = route;
  const { events } = context;
  const intercept = events.interceptCallStart;
  const observed = intercept !== undefined || events.has("tool:call-start") || events.has("tool:call-end") || events.has("tool:call-error");
  if (!observed) return callOnConnection(route, input, options, context);
  // Payloads are built as literals: on Node 20 a spread followed by more keys costs microseconds per call.
  const callId = randomUUID();
  const started = performance.now();
  const ref = owner.ref;
  try {
    // Plugins' tool:call-start hooks may rewrite (re-validated) or veto; observers then see what is sent.
    if (intercept) {
      input = await intercept(
        { serviceName: ref.serviceName, agentId: ref.agentId, callId, toolName: tool.name, originalName: tool.originalName, arguments: input },
        check,
      );
    }
    events.emit("tool:call-start", { serviceName: ref.serviceName, agentId: ref.agentId, callId, toolName: tool.name, originalName: tool.originalName, arguments: input });
    const result = await callOnConnection(route, input, options, context);
    events.emit("tool:call-end", {
      serviceName: ref.serviceName,
      agentId: ref.agentId,
      callId,
      toolName: tool.name,
      originalName: tool.originalName,
      arguments: input,
      durationMs: performance.now() - started,
      isError: result.isError === true,
    });
    return result;
  } catch (error) {
    if (!(ToolExecutionError.isInstance(error) && error.details?.result)) {
      events.emit("tool:call-error", {
        serviceName: ref.serviceName,
        agentId: ref.agentId,
        callId,
        toolName: tool.name,
        originalName: tool.originalName,
        arguments: input,
        durationMs: performance.now() - started,
        error: error as Error,
      });
    }
    throw error;
  }
}

async function callOnConnection(route: ToolRoute, input: Record<string, unknown>, options: CallToolOptions, context: CallContext): Promise<ToolCallResult> {
  const { owner, tool } = route;
  const limits = callLimits(owner.config?.timeout, options);
  const pending = owner.callable(limits);
  const connection = pending instanceof Promise ? await pending : pending;
  await connection.ready(limits);
  const result = await connection.callTool(tool.originalName, input, options);
  if (!result.isError || !options.throwOnError) return result;
  const text = result.content
    .filter((part) => part.type === "text")
    .map((part) => part.text)
    .join("\n");
  throw new ToolExecutionError({
    message: `Tool ${tool.name} returned an error: ${connection.scrub(text || "no message")}`,
    serviceName: owner.name,
    toolName: tool.name,
    ...(context.agentId !== undefined ? { agentId: context.agentId } : {}),
    details: { result },
  });
}

/** How long a call waits for its service to be connected: the call's own limits, not the connect timeout. */
export function callLimits(serviceTimeoutSeconds: number | undefined, options: { timeoutMs?: number; signal?: AbortSignal }): CallableLimits {
  const timeoutMs = options.timeoutMs ?? (serviceTimeoutSeconds !== undefined ? serviceTimeoutSeconds * 1000 : undefined);
  return { ...(timeoutMs !== undefined ? { timeoutMs } : {}), ...(options.signal ? { signal: options.signal } : {}) };
}
