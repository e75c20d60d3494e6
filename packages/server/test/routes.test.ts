import { prometheusPlugin } from "@mcpstore/plugin-prometheus";
import { startHttpFixture, stdioFixtureConfig, type HttpFixture } from "@mcpstore/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { z } from "zod";
import * as schemas from "../src/schemas.js";
import { ADMIN_TOKEN, ALICE_TOKEN, registeredRoutes, startTestApi, type HttpResponse, type TestApi } from "./helpers.js";

// Every route, called over a real socket on 127.0.0.1, and each answer checked against the schema the OpenAPI
// document shows for it.

let api: TestApi;
let remote: HttpFixture;
const metricsPlugin = prometheusPlugin();
const called = new Set<string>();

/** Asserts a 200 whose body matches the documented schema; records the route as exercised. */
function ok<Schema extends z.ZodType>(route: string, response: HttpResponse, schema: Schema): z.output<Schema> {
  called.add(route);
  expect(response.status, `${route}: ${response.text}`).toBe(200);
  const parsed = schema.safeParse(response.json);
  expect(parsed.success, `${route} does not match its schema: ${JSON.stringify(parsed.error?.issues)}`).toBe(true);
  return parsed.data as z.output<Schema>;
}

beforeAll(async () => {
  remote = await startHttpFixture();
  api = await startTestApi({ plugins: [metricsPlugin], metrics: metricsPlugin });
});

afterAll(async () => {
  await api?.close();
  await remote?.close();
});

describe.each([
  { scope: "store", prefix: "/for_store", token: ADMIN_TOKEN, service: "demo", pattern: "/for_store" },
  { scope: "agent", prefix: "/for_agent/alice", token: ALICE_TOKEN, service: "notes", pattern: "/for_agent/:agentId" },
])("the $scope scope", ({ prefix, token, service, pattern }) => {
  const get = (path: string) => api.send(`${prefix}${path}`, { token });
  const post = (path: string, body?: unknown, method = "POST") => api.send(`${prefix}${path}`, { token, method, ...(body !== undefined ? { body } : {}) });

  it("lists, gets and checks services", async () => {
    const { services } = ok(`GET ${pattern}/list_services`, await get("/list_services"), schemas.ServicesResponse);
    expect(services.map((entry) => entry.name)).toContain(service);
    const { service: info } = ok(`GET ${pattern}/get_service/:name`, await get(`/get_service/${service}`), schemas.ServiceResponse);
    expect(info).toMatchObject({ name: service, state: "healthy", transport: "stdio" });
    const check = ok(`GET ${pattern}/check_services`, await get("/check_services"), schemas.CheckServicesResponse);
    expect(check.success).toBe(true);
  });

  it("lists, gets and calls tools", async () => {
    const { tools } = ok(`GET ${pattern}/list_tools`, await get("/list_tools"), schemas.ToolsResponse);
    expect(tools.map((tool) => tool.name)).toContain(`${service}_echo`);
    const filtered = ok(`GET ${pattern}/list_tools`, await get(`/list_tools?service=${service}`), schemas.ToolsResponse);
    expect(filtered.tools.every((tool) => tool.serviceName === service)).toBe(true);
    const { tool } = ok(`GET ${pattern}/get_tool/:name`, await get(`/get_tool/${service}_add`), schemas.ToolResponse);
    expect(tool.originalName).toBe("add");

    const echoed = ok(`POST ${pattern}/call_tool`, await post("/call_tool", { tool: `${service}_echo`, args: { text: "hi" } }), schemas.ToolCallResponse);
    expect(echoed.content).toEqual([{ type: "text", text: "hi" }]);
    const added = ok(`POST ${pattern}/call_tool`, await post("/call_tool", { tool: "add", args: { a: 2, b: 3 }, timeoutMs: 5_000 }), schemas.ToolCallResponse);
    expect(added.structuredContent).toEqual({ sum: 5 });
    const failed = ok(`POST ${pattern}/call_tool`, await post("/call_tool", { tool: `${service}_fail`, args: {} }), schemas.ToolCallResponse);
    expect(failed.isError).toBe(true);
  });

  it("lists and reads resources and prompts", async () => {
    const { resources } = ok(`GET ${pattern}/list_resources`, await get("/list_resources"), schemas.ResourcesResponse);
    expect(resources.map((resource) => resource.uri)).toContain("fixture://readme");
    const read = ok(`GET ${pattern}/read_resource`, await get(`/read_resource?uri=${encodeURIComponent("fixture://readme")}`), schemas.ReadResourceResponse);
    expect(JSON.stringify(read.contents)).toContain("fixture readme");
    const { prompts } = ok(`GET ${pattern}/list_prompts`, await get(`/list_prompts?service=${service}`), schemas.PromptsResponse);
    expect(prompts.map((prompt) => prompt.name)).toContain(`${service}_greet`);
    const prompt = ok(`POST ${pattern}/get_prompt`, await post("/get_prompt", { name: `${service}_greet`, args: { name: "Ada" } }), schemas.GetPromptResponse);
    expect(JSON.stringify(prompt.messages)).toContain("Hello, Ada!");
  });

  it("adds, waits for, updates, patches, restarts and deletes a service", async () => {
    const added = ok(`POST ${pattern}/add_service`, await post("/add_service", { name: "extra", url: remote.url, description: "remote fixture" }), schemas.ServicesResponse);
    expect(added.services[0]).toMatchObject({ name: "extra", state: "initializing" });
    const waited = ok(`POST ${pattern}/wait_service/:name`, await post("/wait_service/extra", { state: "healthy", timeoutMs: 20_000 }), schemas.ServiceResponse);
    expect(waited.service.state).toBe("healthy");

    const updated = ok(
      `PUT ${pattern}/update_service/:name`,
      await post("/update_service/extra", { url: remote.url, headers: { Authorization: "Bearer upstream-secret" } }, "PUT"),
      schemas.ServiceResponse,
    );
    expect(updated.service.config.headers).toEqual({ Authorization: "***" });
    expect(JSON.stringify(updated)).not.toContain("upstream-secret");

    const patched = ok(`PATCH ${pattern}/patch_service/:name`, await post("/patch_service/extra", { description: "patched", headers: null }, "PATCH"), schemas.ServiceResponse);
    expect(patched.service.config).toMatchObject({ description: "patched" });
    expect(patched.service.config.headers).toBeUndefined();

    ok(`POST ${pattern}/wait_service/:name`, await post("/wait_service/extra"), schemas.ServiceResponse);
    const restarted = ok(`POST ${pattern}/restart_service/:name`, await post("/restart_service/extra"), schemas.ServiceResponse);
    expect(restarted.service.name).toBe("extra");

    const removed = ok(`DELETE ${pattern}/delete_service/:name`, await api.send(`${prefix}/delete_service/extra`, { token, method: "DELETE" }), schemas.RemovedResponse);
    expect(removed).toEqual({ removed: "extra" });
    const gone = await get("/get_service/extra");
    expect(gone.status).toBe(404);
    expect(gone.json.error.code).toBe("SERVICE_NOT_FOUND");
  });

  it("adds services in a batch, reporting each", async () => {
    const result = ok(
      `POST ${pattern}/batch_add_services`,
      await post("/batch_add_services", { mcpServers: { "batch-ok": { url: remote.url }, "batch-bad": { url: "ftp://nowhere" } } }),
      schemas.BatchAddResponse,
    );
    expect(result.success).toBe(false);
    expect(result.results.map((entry) => [entry.name, entry.success])).toEqual([
      ["batch-ok", true],
      ["batch-bad", false],
    ]);
    expect((await api.send(`${prefix}/delete_service/batch-ok`, { token, method: "DELETE" })).status).toBe(200);
  });
});

describe("store-only and other routes", () => {
  it("lists agents in the store scope", async () => {
    const { agents } = ok("GET /for_store/list_agents", await api.send("/for_store/list_agents", { token: ADMIN_TOKEN }), schemas.AgentsResponse);
    expect(agents).toContainEqual({ agentId: "alice", serviceCount: 1, toolCount: expect.any(Number) });
  });

  it("answers /health with the seed's shape, without a token", async () => {
    const health = ok("GET /health", await api.send("/health"), schemas.HealthResponse);
    expect(health).toMatchObject({ status: "healthy", services_count: 1 });
    expect(health.tools_count).toBeGreaterThan(5);
    expect(Number.isNaN(Date.parse(health.timestamp))).toBe(false);
  });

  it("answers /health/detailed with checkServices() of the store scope", async () => {
    const detailed = ok("GET /health/detailed", await api.send("/health/detailed", { token: ADMIN_TOKEN }), schemas.DetailedHealthResponse);
    expect(detailed.status).toBe("healthy");
    expect(detailed.details?.services).toEqual([expect.objectContaining({ name: "demo", healthy: true })]);
  });

  it("serves Prometheus metrics from the plugin", async () => {
    await api.send("/for_store/call_tool", { token: ADMIN_TOKEN, body: { tool: "demo_echo", args: { text: "counted" } } });
    const response = await api.send("/metrics", { token: ADMIN_TOKEN });
    called.add("GET /metrics");
    expect(response.status).toBe(200);
    expect(response.headers["content-type"]).toContain("text/plain");
    expect(response.text).toMatch(/mcpstore_tool_calls_total\{tool_name="demo_echo",status="success"\} \d+/);
    expect(response.text).toContain("mcpstore_active_services 2");
  });

  it("serves the OpenAPI document and the page that renders it", async () => {
    const document = await api.send("/openapi.json", { token: ADMIN_TOKEN });
    called.add("GET /openapi.json");
    expect(document.status).toBe(200);
    expect(document.json.openapi).toBe("3.1.0");
    const page = await api.send("/docs");
    called.add("GET /docs");
    expect(page.status).toBe(200);
    expect(page.headers["content-type"]).toContain("text/html");
    expect(page.headers["content-security-policy"]).toContain("default-src 'none'");
    expect(page.text).toContain("openapi.json");
  });

  it("exercised every registered route", () => {
    expect(registeredRoutes(api.app).filter((route) => !called.has(route))).toEqual([]);
  });
});

describe("with a service that needs a local command", () => {
  it("lets an admin add a stdio service to an agent's scope", async () => {
    const response = await api.send("/for_agent/alice/add_service", { token: ADMIN_TOKEN, body: stdioFixtureConfig("admin-added") });
    expect(response.status).toBe(200);
    expect((await api.send("/for_agent/alice/delete_service/admin-added", { token: ADMIN_TOKEN, method: "DELETE" })).status).toBe(200);
  });
});

describe("a client that goes away", () => {
  it("cancels its tool call", async () => {
    const errors: Array<{ toolName: string; error: Error; durationMs: number }> = [];
    const unsubscribe = api.store.on("tool:call-error", (event) => void errors.push(event));
    try {
      const controller = new AbortController();
      const call = fetch(`${api.url}/for_store/call_tool`, {
        method: "POST",
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify({ tool: "demo_sleep", args: { ms: 20_000 } }),
        signal: controller.signal,
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      controller.abort();
      await expect(call).rejects.toThrow();
      await expect.poll(() => errors.length, { timeout: 5_000 }).toBe(1);
      expect(errors[0]).toMatchObject({ toolName: "demo_sleep", error: expect.objectContaining({ code: "ABORTED" }) });
      expect(errors[0]!.durationMs).toBeLessThan(10_000);
    } finally {
      unsubscribe();
    }
  });
});
