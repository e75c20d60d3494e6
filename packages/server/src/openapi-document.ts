import { z } from "zod";
import { ErrorBodySchema, schemaRegistry } from "./schemas.js";
import type { ScopeRoute } from "./scope-routes.js";

/** A route of the API outside the scopes (health, metrics, the document itself), as the document shows it. */
export interface DocumentedRoute {
  method: "GET";
  path: string;
  operationId: string;
  summary: string;
  tag: string;
  /** Whether a bearer token is needed. */
  secured: boolean;
  /** `application/json` schema of the 200 (and 503) response; `undefined` for a non-JSON body. */
  response?: z.ZodType;
  /** Content type of a non-JSON body. */
  contentType?: string;
  /** Extra statuses with the same schema as the 200. */
  alsoStatus?: number;
}

type JsonObject = Record<string, unknown>;

const URI_PREFIX = "#/components/schemas/";

function reference(schema: z.ZodType): JsonObject {
  const id = schemaRegistry.get(schema)?.id;
  if (id !== undefined) return { $ref: `${URI_PREFIX}${id}` };
  const { $schema: _schema, ...inline } = z.toJSONSchema(schema, { target: "draft-2020-12", io: "input" }) as JsonObject;
  return inline;
}

const errorResponse = (description: string) => ({ description, content: { "application/json": { schema: { $ref: `${URI_PREFIX}Error` } } } });

/** `/for_agent/:agentId/get_service/:name` → `/for_agent/{agentId}/get_service/{name}` and its parameter names. */
function openApiPath(path: string): { path: string; parameters: string[] } {
  const parameters: string[] = [];
  const converted = path.replace(/:([A-Za-z]+)/g, (_match, name: string) => {
    parameters.push(name);
    return `{${name}}`;
  });
  return { path: converted, parameters };
}

function scopeOperation(route: ScopeRoute, scope: "store" | "agent"): { path: string; operation: JsonObject } {
  const prefix = scope === "store" ? "/for_store" : "/for_agent/:agentId";
  const { path, parameters } = openApiPath(`${prefix}${route.path}`);
  const parameterObjects: JsonObject[] = parameters.map((name) => ({
    name,
    in: "path",
    required: true,
    schema: { type: "string", pattern: name === "agentId" ? "^[A-Za-z0-9_-]{1,64}$" : undefined },
    description: name === "agentId" ? "The agent whose scope this is." : name === "name" ? "A service (or, for get_tool, a tool) of the scope." : undefined,
  }));
  if (route.query instanceof z.ZodObject) {
    for (const [name, field] of Object.entries(route.query.shape as Record<string, z.ZodType>)) {
      const { $schema: _schema, description, ...schema } = z.toJSONSchema(field, { target: "draft-2020-12", io: "input" }) as JsonObject;
      parameterObjects.push({ name, in: "query", required: !field.safeParse(undefined).success, schema, ...(description ? { description } : {}) });
    }
  }
  const operationId = `${scope}${route.operation[0]!.toUpperCase()}${route.operation.slice(1)}`;
  const operation: JsonObject = {
    operationId,
    summary: route.summary,
    tags: [scope === "store" ? "store scope" : "agent scope"],
    parameters: JSON.parse(JSON.stringify(parameterObjects)) as JsonObject[],
    responses: {
      200: { description: "OK", content: { "application/json": { schema: reference(route.response) } } },
      400: errorResponse("A bad body, query or name; `details.issues` names each field (code VALIDATION_ERROR or INVALID_JSON)"),
      401: errorResponse("No token, or an unknown one (UNAUTHORIZED)"),
      403: errorResponse("The token may not use this route, or a bad Host or Origin"),
      404: errorResponse("No such service or tool (SERVICE_NOT_FOUND, TOOL_NOT_FOUND)"),
      default: errorResponse("Any other error; the status comes from the code"),
    },
  };
  if (route.body) {
    operation.requestBody = { required: route.bodyRequired === true, content: { "application/json": { schema: reference(route.body) } } };
  }
  return { path, operation };
}

/** Options of {@link createOpenApiDocument}. */
export interface OpenApiDocumentOptions {
  scopeRoutes: readonly ScopeRoute[];
  otherRoutes: readonly DocumentedRoute[];
  version: string;
}

/** The OpenAPI 3.1 document of the API, generated from the same zod schemas that validate requests. */
export function createOpenApiDocument(options: OpenApiDocumentOptions): JsonObject {
  const paths: Record<string, Record<string, JsonObject>> = {};
  const add = (path: string, method: string, operation: JsonObject) => {
    (paths[path] ??= {})[method.toLowerCase()] = operation;
  };
  for (const route of options.otherRoutes) {
    const content = route.response
      ? { "application/json": { schema: reference(route.response) } }
      : { [route.contentType ?? "text/plain"]: { schema: { type: "string" } } };
    add(route.path, route.method, {
      operationId: route.operationId,
      summary: route.summary,
      tags: [route.tag],
      ...(route.secured ? {} : { security: [] }),
      responses: {
        200: { description: "OK", content },
        ...(route.alsoStatus ? { [route.alsoStatus]: { description: "Unhealthy", content } } : {}),
        ...(route.secured ? { 401: errorResponse("No token, or an unknown one"), 403: errorResponse("The token may not use this route") } : {}),
      },
    });
  }
  for (const route of options.scopeRoutes) {
    for (const scope of route.scopes) {
      const { path, operation } = scopeOperation(route, scope);
      add(path, route.method, operation);
    }
  }

  const { schemas } = z.toJSONSchema(schemaRegistry, { target: "draft-2020-12", io: "input", uri: (id) => `${URI_PREFIX}${id}` }) as {
    schemas: Record<string, JsonObject>;
  };
  for (const schema of Object.values(schemas)) {
    delete schema.$schema;
    delete schema.$id;
  }
  schemas.Error ??= reference(ErrorBodySchema);

  return {
    openapi: "3.1.0",
    info: {
      title: "MCPStore API",
      version: options.version,
      description:
        "Manage MCP services and call their tools, in the store scope (`/for_store/...`, admin tokens) or an agent's scope " +
        "(`/for_agent/{agentId}/...`, admin tokens or that agent's). Every error is `{ error: { code, message, details? } }`.",
    },
    security: [{ bearerAuth: [] }],
    tags: [
      { name: "store scope", description: "The store's own services; admin tokens only." },
      { name: "agent scope", description: "One agent's services; admin tokens or that agent's tokens." },
      { name: "health", description: "Health and metrics." },
      { name: "meta", description: "This document." },
    ],
    paths,
    components: { schemas, securitySchemes: { bearerAuth: { type: "http", scheme: "bearer" } } },
  };
}
