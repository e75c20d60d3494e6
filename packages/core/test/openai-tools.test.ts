import { FIXTURE_PNG_BASE64, findStrictSchemaProblems, startHttpFixture, stdioFixtureConfig } from "@mcpstore/testing";
import { afterEach, describe, expect, it } from "vitest";
import {
  AbortedError,
  createOpenAIToolkit,
  executeOpenAIToolCall,
  resolveLocalRefs,
  selectTools,
  ServiceNotFoundError,
  splitToolResult,
  toOpenAITools,
  ToolExecutionError,
  ToolNotFoundError,
  type MCPStore,
  type StoreEvents,
} from "../src/index.js";
import { captureLogger, createTestStore } from "./helpers.js";

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function storeWith(...names: string[]): Promise<MCPStore> {
  const store = await createTestStore();
  cleanups.push(() => store.close());
  const context = store.forStore();
  await context.addService(names.map((name) => stdioFixtureConfig(name)));
  await Promise.all(names.map((name) => context.waitService(name)));
  return store;
}

/** A service whose command does not exist: it ends `unreachable`. */
async function addDeadService(store: MCPStore, name = "dead"): Promise<void> {
  const context = store.forStore();
  await context.addService({ name, command: "/nonexistent/mcp-server-binary" });
  await context.waitService(name, { state: "unreachable", timeoutMs: 15_000 });
}

describe("selectTools", () => {
  it("picks tools by service, by name (scoped or bare), with include, exclude and a filter", async () => {
    const context = (await storeWith("alpha", "beta")).forStore();
    const names = async (options: Parameters<typeof selectTools>[1]) => (await selectTools(context, options)).map((tool) => tool.name);
    expect(await names({})).toHaveLength(20);
    expect(await names({ services: ["beta"] })).toEqual((await context.listTools({ service: "beta" })).map((tool) => tool.name));
    expect(await names({ include: ["alpha_echo", "add"] })).toEqual(["alpha_echo", "alpha_add", "beta_add"]);
    expect(await names({ services: ["alpha"], exclude: ["echo", "alpha_add"], filter: (tool) => tool.originalName.startsWith("e") })).toEqual(["alpha_env"]);
    await expect(selectTools(context, { services: ["gamma"] })).rejects.toBeInstanceOf(ServiceNotFoundError);
  });

  it("leaves out a service that cannot take calls, with a warning, and still loads the others", async () => {
    const store = await storeWith("alpha");
    await addDeadService(store);
    const logger = captureLogger();
    const tools = await selectTools(store.forStore(), { logger });
    expect(tools.map((tool) => tool.serviceName)).toEqual(Array(10).fill("alpha"));
    const warnings = logger.entries.filter((entry) => entry.level === "warn");
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ message: "service dead is unreachable; its tools are left out", fields: { service: "dead", state: "unreachable" } });
    expect(String(warnings[0]!.fields.reason)).not.toBe("");
  });
});

describe("toOpenAITools", () => {
  it("lists the scope's tools in the function-calling format, schemas passed through", async () => {
    const context = (await storeWith("svc")).forStore();
    const tools = await toOpenAITools(context);
    const catalogue = await context.listTools();
    expect(tools).toHaveLength(catalogue.length);
    const add = tools.find((tool) => tool.function.name === "svc_add")!;
    expect(add).toEqual({
      type: "function",
      function: { name: "svc_add", description: "Add two numbers.", parameters: resolveLocalRefs(catalogue.find((tool) => tool.name === "svc_add")!.inputSchema) },
    });
    expect(add.function.parameters).toMatchObject({ type: "object", properties: { a: { type: "number" }, b: { type: "number" } }, required: ["a", "b"] });
    for (const tool of tools) expect(tool.function.name).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
  });

  it("fixes schemas for strict providers when asked, and honours the selection", async () => {
    const context = (await storeWith("svc")).forStore();
    const tools = await toOpenAITools(context, { strictSchemas: true, exclude: ["image", "cwd"] });
    expect(tools.map((tool) => tool.function.name)).not.toContain("svc_image");
    for (const tool of tools) expect(findStrictSchemaProblems(tool.function.parameters)).toEqual([]);
  });
});

describe("executeOpenAIToolCall", () => {
  it("runs a tool call in the OpenAI SDK's shape through the store and returns the tool message", async () => {
    const store = await storeWith("svc");
    const context = store.forStore();
    const seen: Array<StoreEvents["tool:call-start"]> = [];
    store.on("tool:call-start", (event) => seen.push(event));
    const call = { id: "call_1", type: "function" as const, function: { name: "svc_add", arguments: '{"a": 20, "b": 22}' } };
    expect(await executeOpenAIToolCall(context, call)).toEqual({ role: "tool", tool_call_id: "call_1", content: "42" });
    expect(seen).toMatchObject([{ toolName: "svc_add", arguments: { a: 20, b: 22 } }]);
    expect(await executeOpenAIToolCall(context, { id: "c2", function: { name: "echo", arguments: { text: "parsed" } } })).toMatchObject({ content: "parsed" });
    expect(await executeOpenAIToolCall(context, { id: "c3", function: { name: "svc_cwd", arguments: "" } })).toMatchObject({ content: expect.any(String) });
    expect(await executeOpenAIToolCall(context, { id: "c4", function: { name: "svc_image", arguments: "{}" } })).toEqual({
      role: "tool",
      tool_call_id: "c4",
      content: "[image image/png omitted]",
    });
  });

  it("turns error results, bad arguments, unknown tools and a dead service into Error: content", async () => {
    const store = await storeWith("svc");
    const remote = await startHttpFixture();
    cleanups.push(() => remote.close());
    const context = store.forStore();
    await context.addService({ name: "remote", url: remote.url, transport: "streamable-http" });
    await context.waitService("remote");
    const run = (name: string, args: string) => executeOpenAIToolCall(context, { id: "x", function: { name, arguments: args } });
    expect((await run("svc_fail", '{"message":"no luck"}')).content).toBe("Error: no luck");
    expect((await run("svc_add", '{"a": 1')).content).toMatch(/^Error: Arguments for tool svc_add are not valid JSON/);
    expect((await run("svc_add", '{"a": "one", "b": 2}')).content).toMatch(/^Error: Invalid arguments for tool svc_add: a must be number/);
    expect((await run("svc_nope", "{}")).content).toBe('Error: No tool "svc_nope" in the store scope');
    await remote.close();
    expect((await run("remote_echo", '{"text":"hi"}')).content).toMatch(/^Error: /);
    // The loop goes on: the other service still answers.
    expect((await run("svc_echo", '{"text":"still here"}')).content).toBe("still here");
  });

  it("throws when the call is cancelled, and with throwOnError", async () => {
    const context = (await storeWith("svc")).forStore();
    const controller = new AbortController();
    const pending = executeOpenAIToolCall(context, { id: "s", function: { name: "svc_sleep", arguments: '{"ms": 5000}' } }, { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await expect(pending).rejects.toBeInstanceOf(AbortedError);
    await expect(executeOpenAIToolCall(context, { function: { name: "svc_fail", arguments: "{}" } }, { throwOnError: true })).rejects.toBeInstanceOf(ToolExecutionError);
  });
});

/** Resolves at the next `tools:refreshed` event of `serviceName`. */
function nextRefresh(store: MCPStore, serviceName: string): Promise<unknown> {
  return new Promise((resolve) => {
    const off = store.on("tools:refreshed", (event) => {
      if (event.serviceName !== serviceName) return;
      off();
      resolve(event);
    });
  });
}

describe("tools outside the offered set", () => {
  it("are refused as Error: content (excluded, bare or unknown) and never reach the server", async () => {
    const store = await storeWith("svc");
    const context = store.forStore();
    const started: string[] = [];
    store.on("tool:call-start", (event) => started.push(event.toolName));
    const tools = await toOpenAITools(context, { exclude: ["add_tool", "svc_fail"] });
    const run = (name: string, args: string) => executeOpenAIToolCall(context, { id: "x", function: { name, arguments: args } }, { tools });
    expect(await run("svc_add_tool", '{"name":"pwned"}')).toEqual({ role: "tool", tool_call_id: "x", content: 'Error: No tool "svc_add_tool" among the tools offered' });
    expect((await run("add_tool", '{"name":"pwned"}')).content).toBe('Error: No tool "add_tool" among the tools offered');
    expect((await run("svc_nope", "{}")).content).toBe('Error: No tool "svc_nope" among the tools offered');
    await expect(executeOpenAIToolCall(context, { function: { name: "svc_fail" } }, { tools, throwOnError: true })).rejects.toBeInstanceOf(ToolNotFoundError);
    expect((await run("svc_echo", '{"text":"offered"}')).content).toBe("offered");
    expect(started).toEqual(["svc_echo"]);
    // The server's own list proves add_tool never ran: after a real add_tool call it lists "legit" and no "pwned".
    const refreshed = nextRefresh(store, "svc");
    await context.callTool("svc_add_tool", { name: "legit" });
    await refreshed;
    const names = (await context.listTools()).map((tool) => tool.name);
    expect(names).toContain("svc_legit");
    expect(names).not.toContain("svc_pwned");
  });

  it("createOpenAIToolkit: the tools and an executor bound to them", async () => {
    const store = await storeWith("svc");
    const context = store.forStore();
    const started: string[] = [];
    store.on("tool:call-start", (event) => started.push(event.toolName));
    const toolkit = await createOpenAIToolkit(context, { include: ["echo", "add"], strictSchemas: true });
    expect(toolkit.tools).toEqual(await toOpenAITools(context, { include: ["echo", "add"], strictSchemas: true }));
    expect(await toolkit.execute({ id: "a", function: { name: "svc_add", arguments: '{"a":1,"b":2}' } })).toEqual({ role: "tool", tool_call_id: "a", content: "3" });
    expect((await toolkit.execute({ id: "b", function: { name: "svc_env", arguments: '{"name":"HOME"}' } })).content).toBe('Error: No tool "svc_env" among the tools offered');
    expect((await toolkit.execute({ id: "c", function: { name: "echo", arguments: '{"text":"bare"}' } })).content).toBe('Error: No tool "echo" among the tools offered');
    await expect(toolkit.execute({ function: { name: "svc_fail" } }, { throwOnError: true })).rejects.toBeInstanceOf(ToolNotFoundError);
    expect(started).toEqual(["svc_add"]);
  });

  it("an offered name that the store now routes to another tool (its bare name) is refused", async () => {
    const store = await storeWith("svc", "other");
    const context = store.forStore();
    const refreshed = nextRefresh(store, "other");
    // "other" gets a tool whose own name is "svc_echo": once svc is gone, the bare name "svc_echo" leads to it.
    await context.callTool("other_add_tool", { name: "svc_echo" });
    await refreshed;
    const toolkit = await createOpenAIToolkit(context, { services: ["svc"] });
    const tools = await toOpenAITools(context, { services: ["svc"] });
    await context.removeService("svc");
    const started: string[] = [];
    store.on("tool:call-start", (event) => started.push(event.toolName));
    const call = { id: "e", function: { name: "svc_echo", arguments: '{"text":"hi"}' } };
    expect((await toolkit.execute(call)).content).toBe('Error: Tool "svc_echo" is no longer in the store scope');
    expect((await executeOpenAIToolCall(context, call, { tools })).content).toBe('Error: Tool "svc_echo" is no longer in the store scope');
    expect(started).toEqual([]);
    // Without a list, any tool of the scope may be called, as before.
    expect((await executeOpenAIToolCall(context, call)).content).toBe("svc_echo: hi");
  });
});

describe("splitToolResult", () => {
  it("sorts text, media, resources and structured content", () => {
    const parts = splitToolResult({
      content: [
        { type: "text", text: "one" },
        { type: "image", data: FIXTURE_PNG_BASE64, mimeType: "image/png" },
        { type: "resource", resource: { uri: "file:///a.txt", text: "two" } },
        { type: "resource_link", uri: "file:///b.bin", name: "b" },
        { type: "audio", data: "AAAA", mimeType: "audio/wav" },
      ],
      structuredContent: { sum: 3 },
    });
    expect(parts.text).toBe("one\ntwo");
    expect(parts.images).toHaveLength(1);
    expect(parts.audio).toHaveLength(1);
    expect(parts.resources.map((part) => part.type)).toEqual(["resource", "resource_link"]);
    expect(parts.structuredContent).toEqual({ sum: 3 });
    expect(splitToolResult({ content: [], structuredContent: { sum: 3 } }).text).toBe('{"sum":3}');
    expect(splitToolResult({ content: [{ type: "text", text: "bad" }], isError: true }).isError).toBe(true);
  });
});
