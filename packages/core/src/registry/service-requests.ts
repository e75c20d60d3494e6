/** Requests to a scope's services other than tool calls: probes, resources and prompts. */
import type { GetPromptResult, ReadResourceResult } from "@modelcontextprotocol/sdk/types.js";
import { scopeKeyOf, type Catalogue } from "../catalogue/catalogue.js";
import { DEFAULT_TIMEOUT_MS } from "../connection/call-tool-once.js";
import { checkTimeLimit, clampDelay } from "../connection/clamp-delay.js";
import type { ServiceLink } from "../connection/service-link.js";
import { PromptNotFoundError, ResourceNotFoundError, TimeoutError, ValidationError } from "../errors.js";
import type { CheckServicesResult } from "../types.js";
import { linkSignal } from "./call-tool.js";
import type { ServiceOwner } from "./service-owner.js";

/** The scope a request goes to: its read model and its owners. */
export interface RequestTarget {
  agentId: string | undefined;
  catalogue: Catalogue;
  /** The owner of an existing service, or a `ServiceNotFoundError`. */
  owner(serviceName: string): ServiceOwner;
}

const where = (agentId: string | undefined) => (agentId === undefined ? "the store scope" : `agent "${agentId}"`);

/** Probes every given service now; `success` is true when all of them answered. */
export async function checkServices(owners: ServiceOwner[]): Promise<CheckServicesResult> {
  const services = await Promise.all(
    owners.map(async (owner) => {
      const probe = owner.connection ? await owner.connection.probe() : { ok: false, error: `service is ${owner.state}` };
      return {
        name: owner.name,
        state: owner.state,
        healthy: probe.ok,
        ...(probe.latencyMs !== undefined ? { latencyMs: Math.round(probe.latencyMs * 1000) / 1000 } : {}),
        ...(probe.error !== undefined ? { error: probe.error } : {}),
      };
    }),
  );
  return { success: services.every((service) => service.healthy), services };
}

/** The limits of a resource read or a prompt request. */
export interface RequestLimits {
  /** Time limit in milliseconds, waiting for the service included. Default: the service's `timeout`, else 60 s. */
  timeoutMs?: number;
  /** Cancels the request; the server is sent `notifications/cancelled`. */
  signal?: AbortSignal;
}

/**
 * Runs `run` with a signal of its own that aborts when the caller's does (with its reason) or when `timeoutMs` has
 * passed (with the `TimeoutError` of `timedOut`), unlinked from the caller's when `run` settles (see `linkSignal`):
 * one deadline for the wait for the service and the request, and no listener left on a long-lived signal.
 */
async function withDeadline<Result>(
  limits: { timeoutMs: number; signal?: AbortSignal | undefined },
  timedOut: () => TimeoutError,
  run: (signal: AbortSignal) => Promise<Result>,
): Promise<Result> {
  const { timeoutMs, signal } = limits;
  const { controller, unlink } = signal ? linkSignal(signal) : { controller: new AbortController(), unlink: undefined };
  const timer = timeoutMs === Number.POSITIVE_INFINITY ? undefined : setTimeout(() => controller.abort(timedOut()), clampDelay(timeoutMs));
  try {
    return await run(controller.signal);
  } finally {
    clearTimeout(timer);
    unlink?.();
  }
}

/**
 * Sends a request to a service once it is connected; `what` names it in errors. The wait for the service and the
 * request share one deadline: `timeoutMs`, else the service's `timeout`, else 60 s.
 */
function sendWithin<Result>(
  target: RequestTarget,
  serviceName: string,
  limits: RequestLimits,
  what: string,
  send: (connection: ServiceLink, signal: AbortSignal) => Promise<Result>,
): Promise<Result> {
  const owner = target.owner(serviceName);
  const serviceTimeout = owner.config?.timeout;
  const timeoutMs = limits.timeoutMs ?? (serviceTimeout !== undefined ? serviceTimeout * 1000 : DEFAULT_TIMEOUT_MS);
  const { agentId } = owner.ref;
  const timedOut = () =>
    new TimeoutError({
      message: `${what} on "${serviceName}" timed out after ${timeoutMs} ms`,
      serviceName,
      ...(agentId !== undefined ? { agentId } : {}),
      details: { timeoutMs, state: owner.state },
    });
  return withDeadline({ timeoutMs, signal: limits.signal }, timedOut, async (signal) => {
    const pending = owner.callable({ signal });
    const connection = pending instanceof Promise ? await pending : pending;
    if (connection.state === "initializing") await connection.ready({ signal });
    return send(connection, signal);
  });
}

/** Reads a resource; `service` is needed only when several services list the URI, or for a template URI. */
export async function readResource(target: RequestTarget, uri: string, options: RequestLimits & { service?: string }): Promise<ReadResourceResult> {
  const timeoutMs = checkTimeLimit(options.timeoutMs, "timeoutMs");
  let serviceName = options.service;
  if (serviceName === undefined) {
    const owners = (await target.catalogue.listResources(scopeKeyOf(target.agentId))).filter((resource) => resource.uri === uri);
    const names = [...new Set(owners.map((owner) => owner.serviceName))];
    if (names.length === 0) {
      throw new ResourceNotFoundError({
        message: `No service in ${where(target.agentId)} lists resource ${uri} (to read it from a template, pass { service })`,
        ...(target.agentId !== undefined ? { agentId: target.agentId } : {}),
        details: { uri },
      });
    }
    if (names.length > 1) {
      throw new ValidationError({
        message: `Resource ${uri} is offered by several services (${names.join(", ")}): pass { service }`,
        details: { issues: [{ path: "service", message: "ambiguous" }] },
      });
    }
    serviceName = names[0]!;
  }
  const limits = { ...(timeoutMs !== undefined ? { timeoutMs } : {}), ...(options.signal ? { signal: options.signal } : {}) };
  return sendWithin(target, serviceName, limits, `Reading ${uri}`, (connection, signal) => connection.readResource(uri, signal));
}

/** Gets a prompt by its name in the scope (`{service}_{prompt}`, or the bare name when unique). */
export async function getPrompt(target: RequestTarget, name: string, args: Record<string, string>, options: RequestLimits = {}): Promise<GetPromptResult> {
  const timeoutMs = checkTimeLimit(options.timeoutMs, "timeoutMs");
  const prompts = await target.catalogue.listPrompts(scopeKeyOf(target.agentId));
  const matching = prompts.filter((candidate) => candidate.originalName === name);
  const prompt = prompts.find((candidate) => candidate.name === name) ?? (matching.length === 1 ? matching[0] : undefined);
  if (!prompt) {
    const candidates = matching.map((candidate) => candidate.name);
    throw new PromptNotFoundError({
      message: candidates.length
        ? `Prompt name "${name}" is ambiguous in ${where(target.agentId)}: use one of ${candidates.join(", ")}`
        : `No prompt "${name}" in ${where(target.agentId)}`,
      ...(target.agentId !== undefined ? { agentId: target.agentId } : {}),
      ...(candidates.length ? { details: { candidates } } : {}),
    });
  }
  // Required arguments are the caller's to give: checked here, like a tool's, instead of an upstream -32602 (a 502).
  const missing = (prompt.arguments ?? []).filter((argument) => argument.required && typeof args[argument.name] !== "string").map((argument) => argument.name);
  if (missing.length > 0) {
    throw new ValidationError({
      message: `Prompt ${name} needs the argument${missing.length > 1 ? "s" : ""} ${missing.join(", ")}`,
      ...(target.agentId !== undefined ? { agentId: target.agentId } : {}),
      details: { issues: missing.map((argument) => ({ path: `arguments.${argument}`, message: "required" })) },
    });
  }
  const limits = { ...(timeoutMs !== undefined ? { timeoutMs } : {}), ...(options.signal ? { signal: options.signal } : {}) };
  return sendWithin(target, prompt.serviceName, limits, `Getting prompt ${name}`, (connection, requestSignal) => connection.getPrompt(prompt.originalName, args, requestSignal));
}
