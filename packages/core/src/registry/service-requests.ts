/** Requests to a scope's services other than tool calls: probes, resources and prompts. */
import type { GetPromptResult, ReadResourceResult } from "@modelcontextprotocol/sdk/types.js";
import { scopeKeyOf, type Catalogue } from "../catalogue/catalogue.js";
import type { ServiceConnection } from "../connection/service-connection.js";
import { MCPStoreError, ValidationError } from "../errors.js";
import type { CheckServicesResult } from "../types.js";
import { callLimits } from "./call-tool.js";
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

/** The connection of a service once it is connected, waiting within the request's limits. */
async function connected(target: RequestTarget, serviceName: string, signal: AbortSignal | undefined): Promise<ServiceConnection> {
  const owner = target.owner(serviceName);
  const limits = callLimits(owner.config?.timeout, signal ? { signal } : {});
  const connection = await owner.callable(limits);
  await connection.ready(limits);
  return connection;
}

/** Reads a resource; `service` is needed only when several services list the URI, or for a template URI. */
export async function readResource(target: RequestTarget, uri: string, options: { service?: string; signal?: AbortSignal }): Promise<ReadResourceResult> {
  let serviceName = options.service;
  if (serviceName === undefined) {
    const owners = (await target.catalogue.listResources(scopeKeyOf(target.agentId))).filter((resource) => resource.uri === uri);
    const names = [...new Set(owners.map((owner) => owner.serviceName))];
    if (names.length !== 1) {
      throw new ValidationError({
        message: names.length
          ? `Resource ${uri} is offered by several services (${names.join(", ")}): pass { service }`
          : `No service lists resource ${uri}: pass { service } to read it from a template`,
        details: { issues: [{ path: "service", message: names.length ? "ambiguous" : "required" }] },
      });
    }
    serviceName = names[0]!;
  }
  return (await connected(target, serviceName, options.signal)).readResource(uri, options.signal);
}

/** Gets a prompt by its name in the scope (`{service}_{prompt}`, or the bare name when unique). */
export async function getPrompt(target: RequestTarget, name: string, args: Record<string, string>, signal?: AbortSignal): Promise<GetPromptResult> {
  const prompts = await target.catalogue.listPrompts(scopeKeyOf(target.agentId));
  const matching = prompts.filter((candidate) => candidate.originalName === name);
  const prompt = prompts.find((candidate) => candidate.name === name) ?? (matching.length === 1 ? matching[0] : undefined);
  if (!prompt) throw new MCPStoreError("PROMPT_NOT_FOUND", { message: `No prompt "${name}" in ${where(target.agentId)}` });
  return (await connected(target, prompt.serviceName, signal)).getPrompt(prompt.originalName, args, signal);
}
