import { MCPStore } from "@mcpstore/core";
import { compileErrors, validate } from "@readme/openapi-parser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp, serve, type McpStoreApp, type RunningServer } from "../src/index.js";
import { ADMIN_TOKEN, ALICE_TOKEN, TOKENS, registeredRoutes, send, silentLogger } from "./helpers.js";

let store: MCPStore;
let app: McpStoreApp;
let server: RunningServer;
let document: any;

beforeAll(async () => {
  store = await MCPStore.setupStore({ mcpConfigFile: false, logger: silentLogger });
  app = createApp(store, { tokens: TOKENS, logger: silentLogger, metrics: { metrics: () => "" } });
  server = await serve(app, { port: 0 });
  document = (await send(server.url, "/openapi.json", { token: ADMIN_TOKEN })).json;
});
afterAll(async () => {
  await server?.close();
  await store?.close();
});

describe("/openapi.json", () => {
  it("is a valid OpenAPI 3.1 document", async () => {
    expect(document.openapi).toBe("3.1.0");
    const result = await validate(structuredClone(document));
    expect(result.valid, result.valid ? "" : compileErrors(result)).toBe(true);
  });

  it("documents every registered route, and only those", () => {
    const documented = Object.entries(document.paths as Record<string, Record<string, unknown>>)
      .flatMap(([path, methods]) => Object.keys(methods).map((method) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ":$1")}`))
      .sort();
    expect(documented).toEqual(registeredRoutes(app));
  });

  it("comes from the schemas that validate requests", () => {
    const callTool = document.paths["/for_store/call_tool"].post;
    expect(callTool.requestBody.content["application/json"].schema).toEqual({ $ref: "#/components/schemas/CallToolBody" });
    const body = document.components.schemas.CallToolBody;
    expect(body).toMatchObject({ type: "object", required: ["tool"], additionalProperties: false });
    expect(Object.keys(body.properties)).toEqual(["tool", "args", "timeoutMs"]);
    const listTools = document.paths["/for_agent/{agentId}/list_tools"].get;
    expect(listTools.parameters.map((parameter: { name: string; in: string }) => `${parameter.in}:${parameter.name}`)).toEqual(["path:agentId", "query:service"]);
    expect(document.components.schemas.AddServiceBody.anyOf).toHaveLength(3);
  });

  it("marks /health and /docs as open and the rest as needing a bearer token", () => {
    expect(document.components.securitySchemes.bearerAuth).toEqual({ type: "http", scheme: "bearer" });
    expect(document.security).toEqual([{ bearerAuth: [] }]);
    expect(document.paths["/health"].get.security).toEqual([]);
    expect(document.paths["/docs"].get.security).toEqual([]);
    expect(document.paths["/for_store/list_services"].get.security).toBeUndefined();
  });

  it("is served to agent tokens too", async () => {
    expect((await send(server.url, "/openapi.json", { token: ALICE_TOKEN })).status).toBe(200);
  });

  it("leaves /metrics out when there are no metrics", async () => {
    const bare = createApp(store, { tokens: TOKENS, logger: silentLogger });
    await using other = await serve(bare, { port: 0 });
    const { json } = await send(other.url, "/openapi.json", { token: ADMIN_TOKEN });
    expect(json.paths["/metrics"]).toBeUndefined();
    expect((await send(other.url, "/metrics", { token: ADMIN_TOKEN })).status).toBe(404);
  });
});
