/**
 * One tool call through its route: argument checks, the plugins' `tool:call-start` hooks, the wait for a service that
 * is connecting or restarting, the call, and the call events. One deadline, fixed when the call starts, bounds all of
 * it: each stage gets what is left of `timeoutMs`. When nothing observes calls, the events are skipped altogether (the
 * call path then costs what the SDK costs).
 */
import { randomUUID } from "node:crypto";
import { DEFAULT_TIMEOUT_MS } from "../connection/call-tool-once.js";
import { checkTimeLimit, clampDelay } from "../connection/clamp-delay.js";
import type { ServiceLink } from "../connection/service-link.js";
import { AbortedError, TimeoutError, ToolExecutionError } from "../errors.js";
import type { CallStartInterceptor, EventPayload, ServiceRef, StoreEventBus } from "../events/store-events.js";
import { assertArgumentsObject, type ArgumentCheck, type ArgumentValidator } from "../tools/argument-validator.js";
import type { CallToolOptions, ToolCallResult } from "../types.js";
import type { ToolRoute } from "./tool-routes.js";

/** What a call needs from the registry. */
export interface CallContext {
  agentId: string | undefined;
  events: StoreEventBus;
  validator: ArgumentValidator;
}

/** A call's time limits, fixed when it starts; every stage gets what is left of them. */
export interface CallDeadline {
  /** The call's time limit in milliseconds (`Infinity`: none). */
  timeoutMs: number;
  /** When it runs out, on the `performance.now()` clock. */
  endsAt: number;
  /** When the `maxTotalTimeoutMs` cap runs out, if the caller set one. */
  capEndsAt: number | undefined;
}

/**
 * The deadline of a call starting now: `timeoutMs`, else the service's `timeout`, else 60 s. Throws a
 * `ValidationError` naming the option for a time limit that is not a positive number.
 */
export function callDeadline(serviceTimeoutSeconds: number | undefined, options: { timeoutMs?: number; maxTotalTimeoutMs?: number }): CallDeadline {
  const timeoutMs = checkTimeLimit(options.timeoutMs, "timeoutMs") ?? (serviceTimeoutSeconds !== undefined ? serviceTimeoutSeconds * 1000 : DEFAULT_TIMEOUT_MS);
  const capMs = checkTimeLimit(options.maxTotalTimeoutMs, "maxTotalTimeoutMs");
  const now = performance.now();
  return { timeoutMs, endsAt: now + timeoutMs, capEndsAt: capMs === undefined ? undefined : now + capMs };
}

/** The calls running on each caller's signal, and the one listener they share on it. */
const linkedCalls = new WeakMap<AbortSignal, { controllers: Set<AbortController>; onAbort: () => void }>();

/**
 * A controller of one call's (or request's) own, aborted with `signal` while it runs; `unlink` when it settles. The
 * SDK never removes the listener it adds to a request's signal, so a long-lived signal handed to it would gain one per
 * call and, aborted later, send `notifications/cancelled` for requests long finished. Linked through here, the
 * caller's signal holds one listener of ours while any of its calls runs, and none afterwards.
 */
export function linkSignal(signal: AbortSignal): { controller: AbortController; unlink: () => void } {
  const controller = new AbortController();
  if (signal.aborted) {
    controller.abort(signal.reason);
    return { controller, unlink: () => undefined };
  }
  let link = linkedCalls.get(signal);
  if (!link) {
    const controllers = new Set<AbortController>();
    const onAbort = () => {
      linkedCalls.delete(signal);
      for (const linked of controllers) linked.abort(signal.reason);
    };
    link = { controllers, onAbort };
    linkedCalls.set(signal, link);
    signal.addEventListener("abort", onAbort, { once: true });
  }
  const current = link;
  current.controllers.add(controller);
  const unlink = () => {
    current.controllers.delete(controller);
    if (current.controllers.size > 0 || linkedCalls.get(signal) !== current) return;
    linkedCalls.delete(signal);
    signal.removeEventListener("abort", current.onAbort);
  };
  return { controller, unlink };
}

export async function callRoutedTool(route: ToolRoute, args: unknown, options: CallToolOptions, context: CallContext): Promise<ToolCallResult> {
  const deadline = callDeadline(route.owner.config?.timeout, options);
  const input = assertArgumentsObject(route.tool.name, args);
  const check = (route.check ??= context.validator.compile(route.tool.name, route.tool.inputSchema as Record<string, unknown>));
  check(input);
  if (!options.signal) return observedCall(route, input, check, options, deadline, context);
  // The call's own signal, linked to the caller's only while the call runs (see linkSignal).
  const { controller, unlink } = linkSignal(options.signal);
  try {
    return await observedCall(route, input, check, { ...options, signal: controller.signal }, deadline, context);
  } finally {
    unlink();
  }
}

async function observedCall(
  route: ToolRoute,
  checked: Record<string, unknown>,
  check: ArgumentCheck,
  options: CallToolOptions,
  deadline: CallDeadline,
  context: CallContext,
): Promise<ToolCallResult> {
  let input = checked;
  const { owner, tool } = route;
  const { events } = context;
  const intercept = events.interceptCallStart;
  const observed = intercept !== undefined || events.has("tool:call-start") || events.has("tool:call-end") || events.has("tool:call-error");
  if (!observed) return checkResult(route, await callOnConnection(route, input, options, deadline), options, context);
  // Payloads are built as literals: on Node 20 a spread followed by more keys costs microseconds per call.
  const callId = randomUUID();
  const started = performance.now();
  const ref = owner.ref;
  try {
    // Plugins' tool:call-start hooks may rewrite (re-validated) or veto; observers then see what is sent.
    if (intercept) {
      const payload = { serviceName: ref.serviceName, agentId: ref.agentId, callId, toolName: tool.name, originalName: tool.originalName, arguments: input };
      input = await interceptWithin(intercept, payload, check, options.signal, deadline, ref);
    }
    events.emit("tool:call-start", { serviceName: ref.serviceName, agentId: ref.agentId, callId, toolName: tool.name, originalName: tool.originalName, arguments: input });
    const sent = await callOnConnection(route, input, options, deadline);
    const result = sent.result;
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
    // After the call-end event: an error result is a call that ended, whatever the caller makes of it.
    return checkResult(route, sent, options, context);
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

/**
 * Runs the plugins' `tool:call-start` hooks within the call's deadline. They get a signal that aborts when the caller
 * aborts or the time is up; a hook still running then is left behind, and the call fails with a `TimeoutError` (or
 * an `AbortedError`).
 */
async function interceptWithin(
  intercept: CallStartInterceptor,
  payload: EventPayload<"tool:call-start">,
  check: ArgumentCheck,
  signal: AbortSignal | undefined,
  deadline: CallDeadline,
  ref: ServiceRef,
): Promise<Record<string, unknown>> {
  const context = { serviceName: ref.serviceName, toolName: payload.toolName, ...(ref.agentId !== undefined ? { agentId: ref.agentId } : {}) };
  const controller = new AbortController();
  const left = deadline.endsAt - performance.now();
  const timer =
    left === Number.POSITIVE_INFINITY
      ? undefined
      : setTimeout(() => {
          const message = `Call to ${payload.toolName} on "${ref.serviceName}" timed out after ${deadline.timeoutMs} ms in its tool:call-start hooks`;
          controller.abort(new TimeoutError({ ...context, message, details: { timeoutMs: deadline.timeoutMs } }));
        }, clampDelay(left));
  const abort = () => controller.abort(new AbortedError({ ...context, message: `Call to ${payload.toolName} on "${ref.serviceName}" was aborted`, cause: signal?.reason }));
  if (signal?.aborted) abort();
  else signal?.addEventListener("abort", abort, { once: true });
  const stopped = new Promise<never>((_resolve, reject) => {
    if (controller.signal.aborted) reject(controller.signal.reason);
    else controller.signal.addEventListener("abort", () => reject(controller.signal.reason), { once: true });
  });
  try {
    // The plugin host takes the call's signal from the payload (the interceptor's type has no place for it yet).
    const request = { ...payload, signal: controller.signal };
    return await Promise.race([intercept(request, check), stopped]);
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", abort);
  }
}

/** A call's result and the connection it came from (whose secrets an error message must not show). */
interface SentCall {
  result: ToolCallResult;
  connection: ServiceLink;
}

async function callOnConnection(route: ToolRoute, input: Record<string, unknown>, options: CallToolOptions, deadline: CallDeadline): Promise<SentCall> {
  const { owner, tool } = route;
  // The common case costs no wait and no limits object: the service is not restarting.
  const connection: ServiceLink = owner.connectionNow() ?? (await owner.callable(waitLimits(deadline, options.signal)));
  if (connection.state === "initializing") await connection.ready(waitLimits(deadline, options.signal));
  return { result: await connection.callTool(tool.originalName, input, requestOptions(route, options, deadline)), connection };
}

/** The result as is, or (the caller asked for it with `throwOnError`) a `ToolExecutionError` for an error result. */
function checkResult(route: ToolRoute, sent: SentCall, options: CallToolOptions, context: CallContext): ToolCallResult {
  const { result, connection } = sent;
  const { owner, tool } = route;
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

/** How long a wait for the service may take: what is left of the call's time, and its signal. */
function waitLimits(deadline: CallDeadline, signal: AbortSignal | undefined): { timeoutMs: number; signal?: AbortSignal } {
  const timeoutMs = deadline.endsAt - performance.now();
  return signal ? { timeoutMs, signal } : { timeoutMs };
}

/** The options the request is sent with: what is left of the call's time (a wait may have taken some). */
function requestOptions(route: ToolRoute, options: CallToolOptions, deadline: CallDeadline): CallToolOptions {
  const now = performance.now();
  const timeoutMs = deadline.endsAt - now;
  const capMs = deadline.capEndsAt === undefined ? undefined : deadline.capEndsAt - now;
  if (timeoutMs <= 0 || (capMs !== undefined && capMs <= 0)) {
    const { serviceName, agentId } = route.owner.ref;
    throw new TimeoutError({
      message: `Call to ${route.tool.name} on "${serviceName}" timed out after ${deadline.timeoutMs} ms before it was sent`,
      serviceName,
      toolName: route.tool.name,
      ...(agentId !== undefined ? { agentId } : {}),
      details: { timeoutMs: deadline.timeoutMs },
    });
  }
  // Built key by key: a spread followed by more keys costs microseconds per call on Node 20.
  const sent: CallToolOptions = { timeoutMs };
  if (capMs !== undefined) sent.maxTotalTimeoutMs = capMs;
  if (options.signal) sent.signal = options.signal;
  if (options.onProgress) sent.onProgress = options.onProgress;
  return sent;
}
