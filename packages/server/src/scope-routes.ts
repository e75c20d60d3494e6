import { ValidationError, type ServiceContext, type ServiceInput, type WaitServiceOptions } from "@mcpstore/core";
import type { z } from "zod";
import * as schemas from "./schemas.js";

/** What a scope route's handler gets. */
export interface ScopeRouteRequest<Query, Body> {
  /** The scope: `store.forStore()` or `store.forAgent(agentId)`. */
  context: ServiceContext;
  /** Path parameters other than `agentId`. */
  params: Record<string, string>;
  query: Query;
  body: Body;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
  /**
   * Who asks: an admin token, or an agent's. What an agent may do is decided in core by the change's effect: no
   * command on the host, no `${VAR}` of the host's environment, no credentials moved, no refused destination, quotas.
   */
  principal: "admin" | "agent";
  /** Throws `STDIO_DISABLED` when this server takes no local (stdio) services from anyone (`allowStdioServices: false`). */
  assertMayRunCommands(): void;
}

/** One route of the API that exists in both the store and agent scopes (or the store scope only). */
export interface ScopeRoute {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** Path under `/for_store` and `/for_agent/:agentId`, in Hono's syntax (`/get_service/:name`). */
  path: string;
  /** Method of `ServiceContext` it calls; also the operation id, prefixed with the scope. */
  operation: string;
  summary: string;
  /** `store` for store-only routes (`list_agents`). */
  scopes: ReadonlyArray<"store" | "agent">;
  query?: z.ZodType;
  body?: z.ZodType;
  /** Whether the route needs a body (else an empty body is `undefined`). */
  bodyRequired?: boolean;
  response: z.ZodType;
  handle(request: ScopeRouteRequest<any, any>): Promise<unknown>;
}

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === "object" && !Array.isArray(value);

/** Whether an `add_service` body holds a local (stdio) service. */
function addsCommand(input: unknown): boolean {
  if (Array.isArray(input)) return input.some((config) => isObject(config) && config.command !== undefined);
  if (isObject(input) && isObject(input.mcpServers)) return Object.values(input.mcpServers).some((config) => isObject(config) && config.command !== undefined);
  return isObject(input) && input.command !== undefined;
}

function define<Query extends z.ZodType | undefined = undefined, Body extends z.ZodType | undefined = undefined>(
  route: Omit<ScopeRoute, "handle" | "query" | "body" | "scopes"> & {
    scopes?: ScopeRoute["scopes"];
    query?: Query;
    body?: Body;
    handle(request: ScopeRouteRequest<Query extends z.ZodType ? z.output<Query> : undefined, Body extends z.ZodType ? z.output<Body> : undefined>): Promise<unknown>;
  },
): ScopeRoute {
  return { scopes: ["store", "agent"], ...route } as ScopeRoute;
}

/** Every scope route: one per `ServiceContext` method. */
export const SCOPE_ROUTES: readonly ScopeRoute[] = [
  define({
    method: "GET",
    path: "/list_services",
    operation: "listServices",
    summary: "Every service of the scope, from the cache.",
    response: schemas.ServicesResponse,
    handle: async ({ context }) => ({ services: await context.listServices() }),
  }),
  define({
    method: "POST",
    path: "/add_service",
    operation: "addService",
    summary: "Add one service, a list, or { mcpServers }: all are validated first; they connect in the background. Local (command) services need an admin token.",
    body: schemas.AddServiceBody,
    bodyRequired: true,
    response: schemas.ServicesResponse,
    handle: async ({ context, body, principal, assertMayRunCommands }) => {
      if (addsCommand(body)) assertMayRunCommands();
      return { services: await context.addService(body as ServiceInput, { principal }) };
    },
  }),
  define({
    method: "POST",
    path: "/batch_add_services",
    operation: "batchAddServices",
    summary: "Add several services, each on its own; the result says per service whether it was added.",
    body: schemas.AddServiceBody,
    bodyRequired: true,
    response: schemas.BatchAddResponse,
    handle: async ({ context, body, principal, assertMayRunCommands }) => {
      if (addsCommand(body)) assertMayRunCommands();
      return context.batchAddServices(body as ServiceInput, { principal });
    },
  }),
  define({
    method: "GET",
    path: "/get_service/:name",
    operation: "getService",
    summary: "One service, from the cache.",
    response: schemas.ServiceResponse,
    handle: async ({ context, params }) => ({ service: await context.getService(params.name!) }),
  }),
  define({
    method: "PUT",
    path: "/update_service/:name",
    operation: "updateService",
    summary: "Replace a service's config (the name stays) and restart it. Local (command) services need an admin token.",
    body: schemas.ServiceEntrySchema,
    bodyRequired: true,
    response: schemas.ServiceResponse,
    handle: async ({ context, params, body, principal, assertMayRunCommands }) => {
      const name = params.name!;
      if (body.name !== undefined && body.name !== name) {
        throw new ValidationError({
          message: `Invalid request body: body.name: "${body.name}" differs from the service in the path ("${name}"); a service cannot be renamed`,
          details: { issues: [{ path: "body.name", message: "must be the service's name or absent" }] },
        });
      }
      // Checked in the service's turn, against the config the change applies to.
      const check = () => {
        if (body.command !== undefined) assertMayRunCommands();
      };
      return { service: await context.updateService(name, body as Parameters<ServiceContext["updateService"]>[1], { check, principal }) };
    },
  }),
  define({
    method: "PATCH",
    path: "/patch_service/:name",
    operation: "patchService",
    summary: "Change some fields of a service's config (null removes one) and restart it. Local (command) services need an admin token.",
    body: schemas.PatchServiceBody,
    bodyRequired: true,
    response: schemas.ServiceResponse,
    handle: async ({ context, params, body, principal, assertMayRunCommands }) => {
      // Checked in the service's turn, against the config the patch applies to (not a read made before it).
      const check = ({ current }: { current: { command?: string } }) => {
        // Changing anything of a local service changes what runs on the host (its env, its arguments).
        if ((body.command !== undefined && body.command !== null) || (body.command === undefined && current.command !== undefined)) {
          assertMayRunCommands();
        }
      };
      return { service: await context.patchService(params.name!, body, { check, principal }) };
    },
  }),
  define({
    method: "DELETE",
    path: "/delete_service/:name",
    operation: "removeService",
    summary: "Stop and forget a service; its tools leave the catalogue.",
    response: schemas.RemovedResponse,
    handle: async ({ context, params }) => {
      await context.removeService(params.name!);
      return { removed: params.name! };
    },
  }),
  define({
    method: "POST",
    path: "/restart_service/:name",
    operation: "restartService",
    summary: "Stop a service and start it again with the same config.",
    response: schemas.ServiceResponse,
    handle: async ({ context, params }) => ({ service: await context.restartService(params.name!) }),
  }),
  define({
    method: "POST",
    path: "/wait_service/:name",
    operation: "waitService",
    summary: "Wait until a service reaches a state (default healthy); 504 after timeoutMs, 502 at once when it becomes unreachable.",
    body: schemas.WaitServiceBody,
    response: schemas.ServiceResponse,
    handle: async ({ context, params, body, signal }) => {
      const options: WaitServiceOptions = { signal };
      if (body?.state !== undefined) options.state = body.state;
      if (body?.timeoutMs !== undefined) options.timeoutMs = body.timeoutMs;
      return { service: await context.waitService(params.name!, options) };
    },
  }),
  define({
    method: "GET",
    path: "/check_services",
    operation: "checkServices",
    summary: "Probe every service of the scope now; success is true when all answered.",
    response: schemas.CheckServicesResponse,
    handle: ({ context }) => context.checkServices(),
  }),
  define({
    method: "GET",
    path: "/list_tools",
    operation: "listTools",
    summary: "Tools of the scope (or of one service), from the cache.",
    query: schemas.ListQuery,
    response: schemas.ToolsResponse,
    handle: async ({ context, query }) => ({ tools: await context.listTools(query.service !== undefined ? { service: query.service } : {}) }),
  }),
  define({
    method: "GET",
    path: "/get_tool/:name",
    operation: "getTool",
    summary: "One tool by its name in the scope (or its bare name when unique).",
    response: schemas.ToolResponse,
    handle: async ({ context, params }) => ({ tool: await context.getTool(params.name!) }),
  }),
  define({
    method: "POST",
    path: "/call_tool",
    operation: "callTool",
    summary: "Call a tool; the arguments are checked against its input schema first. A tool's error result is a 200 with isError: true.",
    body: schemas.CallToolBody,
    bodyRequired: true,
    response: schemas.ToolCallResponse,
    handle: ({ context, body, signal, principal }) =>
      context.callTool(body.tool, body.args ?? {}, { signal, principal, ...(body.timeoutMs !== undefined ? { timeoutMs: body.timeoutMs } : {}) }),
  }),
  define({
    method: "GET",
    path: "/list_resources",
    operation: "listResources",
    summary: "Resources of the scope (or of one service), from the cache.",
    query: schemas.ListQuery,
    response: schemas.ResourcesResponse,
    handle: async ({ context, query }) => ({ resources: await context.listResources(query.service !== undefined ? { service: query.service } : {}) }),
  }),
  define({
    method: "GET",
    path: "/read_resource",
    operation: "readResource",
    summary: "Read a resource by URI.",
    query: schemas.ReadResourceQuery,
    response: schemas.ReadResourceResponse,
    handle: ({ context, query, signal }) => context.readResource(query.uri, { signal, ...(query.service !== undefined ? { service: query.service } : {}) }),
  }),
  define({
    method: "GET",
    path: "/list_prompts",
    operation: "listPrompts",
    summary: "Prompts of the scope (or of one service), from the cache.",
    query: schemas.ListQuery,
    response: schemas.PromptsResponse,
    handle: async ({ context, query }) => ({ prompts: await context.listPrompts(query.service !== undefined ? { service: query.service } : {}) }),
  }),
  define({
    method: "POST",
    path: "/get_prompt",
    operation: "getPrompt",
    summary: "Get a prompt by its name in the scope, with its arguments.",
    body: schemas.GetPromptBody,
    bodyRequired: true,
    response: schemas.GetPromptResponse,
    handle: ({ context, body, signal }) => context.getPrompt(body.name, body.args ?? {}, { signal }),
  }),
  define({
    method: "GET",
    path: "/list_agents",
    operation: "listAgents",
    summary: "Agents that own services, with their service and tool counts.",
    scopes: ["store"],
    response: schemas.AgentsResponse,
    handle: async ({ context }) => ({ agents: await context.listAgents() }),
  }),
];
