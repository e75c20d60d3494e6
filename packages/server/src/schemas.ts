import { z } from "zod";

// The request and response shapes of the API. Requests are validated with these schemas, and `/openapi.json` is
// generated from them; responses are documented (and checked by the tests) with them.

/** Every schema with a name in `components.schemas`. */
export const schemaRegistry = z.registry<{ id: string; description?: string }>();

function named<Schema extends z.ZodType>(id: string, schema: Schema, description?: string): Schema {
  schemaRegistry.add(schema, { id, ...(description ? { description } : {}) });
  return schema;
}

const serviceFields = {
  command: z.string().min(1).optional().describe("Executable of a local (stdio) server. Only an admin token may set it."),
  args: z.array(z.string()).optional(),
  env: z.record(z.string(), z.string()).optional().describe("Extra environment of the process; values are secrets."),
  working_dir: z.string().min(1).optional(),
  url: z.string().min(1).optional().describe("Endpoint of a remote server (http or https)."),
  transport: z.string().optional().describe("`streamable-http` or `sse`; absent: Streamable HTTP, falling back to SSE."),
  headers: z.record(z.string(), z.string()).optional().describe("Headers sent to a remote server; values are secrets."),
  timeout: z.number().positive().optional().describe("Per-request timeout, in seconds."),
  description: z.string().optional(),
  tags: z.array(z.string()).optional(),
  contact: z.string().optional(),
};

const serviceName = z.string().min(1).max(64).describe("Letters, digits, `_`, `-` and `.`, 1 to 64 characters.");

/** One service config, as in `mcp.json` (unknown fields are kept). Deep rules are checked by the store. */
export const ServiceConfigSchema = named(
  "ServiceConfig",
  z.looseObject({ name: serviceName, ...serviceFields }),
  "A local (`command`) or remote (`url`) MCP server. Unknown fields are kept.",
);

/** A config in a `mcpServers` map or an update, where the name comes from elsewhere. */
export const ServiceEntrySchema = named("ServiceEntry", z.looseObject({ name: serviceName.optional(), ...serviceFields }));

/** What `add_service` accepts: a `{ mcpServers }` map, a list of configs, or one config. */
export const AddServiceBody = named(
  "AddServiceBody",
  z.union([
    z.looseObject({ mcpServers: z.record(z.string(), ServiceEntrySchema) }),
    z.array(ServiceConfigSchema).min(1),
    ServiceConfigSchema,
  ]),
);

/** A partial config: given fields replace the old ones, `null` removes one. */
export const PatchServiceBody = named(
  "PatchServiceBody",
  z.looseObject(Object.fromEntries(Object.entries(serviceFields).map(([key, schema]) => [key, schema.unwrap().nullable().optional()]))),
  "Fields to change; `null` removes a field.",
);

const serviceState = z.enum(["initializing", "healthy", "degraded", "reconnecting", "unreachable", "disconnected"]);

/** Body of `wait_service`. */
export const WaitServiceBody = named(
  "WaitServiceBody",
  z.strictObject({
    state: z.union([serviceState, z.array(serviceState).min(1)]).optional().describe("State(s) to wait for. Default `healthy`."),
    timeoutMs: z.number().int().positive().max(300_000).optional().describe("Milliseconds to wait, at most 300,000. Default 10,000."),
  }),
);

/** Body of `call_tool`. */
export const CallToolBody = named(
  "CallToolBody",
  z.strictObject({
    tool: z.string().min(1).max(256).describe("The tool's name in the scope (`{service}_{tool}`), or its bare name when unique."),
    args: z.record(z.string(), z.unknown()).optional().describe("Arguments, checked against the tool's input schema."),
    timeoutMs: z.number().int().positive().max(300_000).optional().describe("Time limit in milliseconds. Default: the service's `timeout`, else 60 s."),
  }),
);

/** Body of `get_prompt`. */
export const GetPromptBody = named(
  "GetPromptBody",
  z.strictObject({
    name: z.string().min(1).max(256).describe("The prompt's name in the scope (`{service}_{prompt}`)."),
    args: z.record(z.string(), z.string()).optional(),
  }),
);

/** Query of the list routes. */
export const ListQuery = z.strictObject({ service: z.string().min(1).max(64).optional().describe("Only this service's entries.") });

/** Query of `read_resource`. */
export const ReadResourceQuery = z.strictObject({
  uri: z.string().min(1).max(4096).describe("The resource's URI."),
  service: z.string().min(1).max(64).optional().describe("Needed when several services list the URI."),
});

// Responses.

const toolNameCollision = z.object({ tool: z.string(), wanted: z.string(), name: z.string() });

/** A service as the store knows it (secrets shown as `***`). */
export const ServiceInfoSchema = named(
  "ServiceInfo",
  z.looseObject({
    name: z.string(),
    agentId: z.string().optional(),
    state: serviceState,
    transport: z.enum(["stdio", "streamable-http", "sse"]),
    config: ServiceConfigSchema,
    toolCount: z.number().int(),
    lastError: z.string().optional(),
    attempts: z.number().int(),
    nextAttemptAt: z.string().optional(),
    lastProbeAt: z.string().optional(),
    lastProbeLatencyMs: z.number().optional(),
    stateChangedAt: z.string(),
    addedAt: z.string(),
    serverInfo: z.object({ name: z.string(), version: z.string() }).optional(),
    toolNameCollisions: z.array(toolNameCollision),
    stderrTail: z.array(z.string()).optional(),
    stdoutDroppedLines: z.number().int().optional(),
    pid: z.number().int().optional(),
    placement: z
      .object({ runsOn: z.string().optional(), tools: z.string().optional() })
      .optional()
      .describe("A stdio service run on one instance of several: runsOn names that instance (host:pid:id), tools is a digest of its tool list"),
    stale: z.literal(true).optional().describe("The last synced info of a shared cache (several instances) that could not sync lately"),
  }),
);

/** A tool in the catalogue. */
export const ToolInfoSchema = named(
  "ToolInfo",
  z.looseObject({
    name: z.string(),
    originalName: z.string(),
    serviceName: z.string(),
    title: z.string().optional(),
    description: z.string().optional(),
    inputSchema: z.looseObject({}),
    outputSchema: z.looseObject({}).optional(),
    annotations: z.looseObject({}).optional(),
  }),
);

const resourceInfo = named(
  "ResourceInfo",
  z.looseObject({ uri: z.string(), name: z.string(), serviceName: z.string(), title: z.string().optional(), description: z.string().optional(), mimeType: z.string().optional() }),
);
const promptInfo = named(
  "PromptInfo",
  z.looseObject({
    name: z.string(),
    originalName: z.string(),
    serviceName: z.string(),
    description: z.string().optional(),
    arguments: z.array(z.looseObject({ name: z.string(), description: z.string().optional(), required: z.boolean().optional() })).optional(),
  }),
);
const serviceHealth = z.looseObject({
  name: z.string(),
  state: serviceState,
  healthy: z.boolean(),
  latencyMs: z.number().optional(),
  error: z.string().optional(),
});
const errorDetail = z.object({ code: z.string(), message: z.string(), details: z.record(z.string(), z.unknown()).optional() });

/** The body of every error. */
export const ErrorBodySchema = named("Error", z.object({ error: errorDetail }), "Every error: a stable `code` and a message without secrets.");

export const ServicesResponse = named("ServicesResponse", z.object({ services: z.array(ServiceInfoSchema) }));
export const ServiceResponse = named("ServiceResponse", z.object({ service: ServiceInfoSchema }));
export const RemovedResponse = named("RemovedResponse", z.object({ removed: z.string() }));
export const ToolsResponse = named("ToolsResponse", z.object({ tools: z.array(ToolInfoSchema) }));
export const ToolResponse = named("ToolResponse", z.object({ tool: ToolInfoSchema }));
export const ResourcesResponse = named("ResourcesResponse", z.object({ resources: z.array(resourceInfo) }));
export const PromptsResponse = named("PromptsResponse", z.object({ prompts: z.array(promptInfo) }));
export const AgentsResponse = named(
  "AgentsResponse",
  z.object({ agents: z.array(z.object({ agentId: z.string(), serviceCount: z.number().int(), toolCount: z.number().int() })) }),
);
export const CheckServicesResponse = named("CheckServicesResult", z.object({ success: z.boolean(), services: z.array(serviceHealth) }));
export const BatchAddResponse = named(
  "BatchAddResult",
  z.object({
    success: z.boolean(),
    results: z.array(
      z.union([
        z.object({ name: z.string(), success: z.literal(true), service: ServiceInfoSchema }),
        z.object({ name: z.string(), success: z.literal(false), error: errorDetail }),
      ]),
    ),
  }),
);
export const ToolCallResponse = named(
  "ToolCallResult",
  z.looseObject({
    content: z.array(z.looseObject({ type: z.string() })),
    structuredContent: z.record(z.string(), z.unknown()).optional(),
    isError: z.boolean().optional(),
  }),
  "The server's result. A tool's error result has `isError: true` and is still a 200.",
);
export const ReadResourceResponse = named("ReadResourceResult", z.looseObject({ contents: z.array(z.looseObject({ uri: z.string() })) }));
export const GetPromptResponse = named(
  "GetPromptResult",
  z.looseObject({ description: z.string().optional(), messages: z.array(z.looseObject({ role: z.string() })) }),
);

/** `GET /health`: the seed's shape. */
export const HealthResponse = named(
  "Health",
  z.object({
    status: z.enum(["healthy", "unhealthy"]),
    timestamp: z.string(),
    services_count: z.number().int().optional(),
    tools_count: z.number().int().optional(),
    error: errorDetail.optional(),
  }),
);

/** `GET /health/detailed`: the seed's shape; `details` is `checkServices()` of the store scope. */
export const DetailedHealthResponse = named(
  "DetailedHealth",
  z.object({
    status: z.enum(["healthy", "unhealthy"]),
    timestamp: z.string(),
    details: CheckServicesResponse.optional(),
    error: errorDetail.optional(),
  }),
);
