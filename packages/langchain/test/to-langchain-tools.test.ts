import { ToolMessage } from "@langchain/core/messages";
import type { StructuredTool } from "@langchain/core/tools";
import { convertToOpenAITool } from "@langchain/core/utils/function_calling";
import { resolveLocalRefs, ToolExecutionError, ToolNotFoundError, type StoreEvents } from "@mcpstore/core";
import {
  FIXTURE_PNG_BASE64,
  findStrictSchemaProblems,
  misbehavingFixtureConfig,
  startAwkwardSchemaFixture,
  startHttpFixture,
  stdioFixtureConfig,
} from "@mcpstore/testing";
import { afterEach, describe, expect, it } from "vitest";
import { toLangChainTools, ToolException, type McpToolArtifact } from "../src/index.js";
import { cleanups, createStore, nextRefresh, warningLogger } from "./helpers.js";

afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function fixtureStore(...names: string[]) {
  const store = await createStore();
  const context = store.forStore();
  await context.addService(names.map((name) => stdioFixtureConfig(name)));
  await Promise.all(names.map((name) => context.waitService(name)));
  return { store, context };
}

const byName = (tools: StructuredTool[], name: string) => {
  const found = tools.find((tool) => tool.name === name);
  if (!found) throw new Error(`no tool ${name} in ${tools.map((tool) => tool.name).join(", ")}`);
  return found;
};

describe("toLangChainTools: schemas", () => {
  it("passes each tool's JSON Schema through as it is, to the tool and to the provider format", async () => {
    const { context } = await fixtureStore("svc");
    const tools = await toLangChainTools(context);
    const catalogue = await context.listTools();
    expect(tools.map((tool) => tool.name)).toEqual(catalogue.map((tool) => tool.name));
    for (const info of catalogue) {
      const tool = byName(tools, info.name);
      expect(tool.schema).toEqual(info.inputSchema);
      expect(convertToOpenAITool(tool).function).toEqual({ name: info.name, description: info.description, parameters: info.inputSchema });
      expect(tool.metadata).toMatchObject({ serviceName: "svc", originalName: info.originalName });
    }
    expect(byName(tools, "svc_add").metadata?.outputSchema).toMatchObject({ properties: { sum: { type: "number" } } });
  });

  it("resolves $ref and $defs locally (recursion included), and the calls still validate and run", async () => {
    const fixture = await startAwkwardSchemaFixture();
    cleanups.push(() => fixture.close());
    const store = await createStore();
    const context = store.forStore();
    await context.addService({ name: "odd", url: fixture.url, transport: "streamable-http" });
    await context.waitService("odd");
    const tools = await toLangChainTools(context);
    const lookup = byName(tools, "odd_lookup");
    expect(JSON.stringify(lookup.schema)).not.toMatch(/\$ref|\$defs|definitions/);
    expect(lookup.schema).toEqual(resolveLocalRefs((await context.getTool("odd_lookup")).inputSchema));
    expect(convertToOpenAITool(lookup).function.parameters).toMatchObject({
      properties: { address: { type: "object", properties: { city: { type: "string" } }, required: ["city"], description: "Where to look" } },
    });
    expect(await lookup.invoke({ address: { city: "Paris", zip: "75001" }, tags: ["a", "b"] })).toBe("Paris 75001 (2 tags)");
    const tree = byName(tools, "odd_tree");
    expect(await tree.invoke({ root: { name: "a", children: [{ name: "b" }, { name: "c", children: [{ name: "d" }] }] } })).toBe("4 nodes");
  });

  it("fixes schemas for strict providers when asked", async () => {
    const fixture = await startAwkwardSchemaFixture();
    cleanups.push(() => fixture.close());
    const { context } = await fixtureStore("svc");
    await context.addService({ name: "odd", url: fixture.url, transport: "streamable-http" });
    await context.waitService("odd");
    const loose = await toLangChainTools(context);
    expect(findStrictSchemaProblems(byName(loose, "odd_lookup").schema)).toContain("/properties/tags: array without items");
    const tools = await toLangChainTools(context, { strictSchemas: true });
    for (const tool of tools) expect(findStrictSchemaProblems(convertToOpenAITool(tool).function.parameters)).toEqual([]);
    expect(await byName(tools, "odd_lookup").invoke({ address: { city: "Oslo" } })).toBe("Oslo (0 tags)");
  });
});

describe("toLangChainTools: calls", () => {
  it("calls through the store and returns text, or text and image blocks", async () => {
    const { store, context } = await fixtureStore("svc");
    const events: Array<StoreEvents["tool:call-end"]> = [];
    store.on("tool:call-end", (event) => events.push(event));
    const tools = await toLangChainTools(context);
    expect(await byName(tools, "svc_echo").invoke({ text: "hello" })).toBe("hello");
    expect(await byName(tools, "svc_add").invoke({ a: 2, b: 3 })).toBe("5");
    expect(await byName(tools, "svc_image").invoke({})).toEqual([{ type: "image", mimeType: "image/png", data: FIXTURE_PNG_BASE64 }]);
    expect(events.map((event) => event.toolName)).toEqual(["svc_echo", "svc_add", "svc_image"]);
  });

  it("puts images, resources and structuredContent in the artifact with content_and_artifact", async () => {
    const { context } = await fixtureStore("svc");
    const tools = await toLangChainTools(context, { responseFormat: "content_and_artifact" });
    const add = (await byName(tools, "svc_add").invoke({ type: "tool_call", id: "call_add", name: "svc_add", args: { a: 2, b: 3 } })) as ToolMessage;
    expect(ToolMessage.isInstance(add)).toBe(true);
    expect(add.content).toBe("5");
    expect(add.tool_call_id).toBe("call_add");
    expect(add.artifact as McpToolArtifact).toEqual({ structuredContent: { sum: 5 }, images: [], audio: [], resources: [] });
    const image = (await byName(tools, "svc_image").invoke({ type: "tool_call", id: "call_image", name: "svc_image", args: {} })) as ToolMessage;
    expect(image.content).toBe("");
    expect((image.artifact as McpToolArtifact).images).toEqual([{ type: "image", data: FIXTURE_PNG_BASE64, mimeType: "image/png" }]);
  });

  it("throws a ToolException for an error result and for a server that went down", async () => {
    const remote = await startHttpFixture();
    cleanups.push(() => remote.close());
    const { context } = await fixtureStore("svc");
    await context.addService({ name: "remote", url: remote.url, transport: "streamable-http" });
    await context.waitService("remote");
    const tools = await toLangChainTools(context);
    const failed = await byName(tools, "svc_fail").invoke({ message: "no luck" }).catch((error: unknown) => error);
    expect(ToolException.isInstance(failed)).toBe(true);
    expect((failed as Error).message).toBe("Tool svc_fail returned an error: no luck");
    expect(ToolExecutionError.isInstance((failed as Error).cause)).toBe(true);
    await remote.close();
    const down = await byName(tools, "remote_echo").invoke({ text: "hi" }).catch((error: unknown) => error);
    expect(ToolException.isInstance(down)).toBe(true);
    expect((down as Error).cause).toBeInstanceOf(Error);
    expect(await byName(tools, "svc_echo").invoke({ text: "still here" })).toBe("still here");
  });

  it("cancels the call with the run's signal and rejects with the signal's reason", async () => {
    const { store, context } = await fixtureStore("svc");
    const errors: Array<StoreEvents["tool:call-error"]> = [];
    store.on("tool:call-error", (event) => errors.push(event));
    const [sleep] = await toLangChainTools(context, { include: ["sleep"] });
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(), 100);
    const error = await sleep!.invoke({ ms: 10_000 }, { signal: controller.signal }).catch((caught: unknown) => caught);
    expect((error as Error).name).toBe("AbortError");
    expect(Date.now() - started).toBeLessThan(5_000);
    await expect.poll(() => errors.map((event) => event.error.name)).toEqual(["AbortedError"]);
    const timedOut = await sleep!.invoke({ ms: 10_000 }, { timeout: 100 }).catch((caught: unknown) => caught);
    expect((timedOut as Error).name).toBe("TimeoutError");
    const [limited] = await toLangChainTools(context, { include: ["sleep"], timeoutMs: 100 });
    const storeTimeout = await limited!.invoke({ ms: 10_000 }).catch((caught: unknown) => caught);
    expect(ToolException.isInstance(storeTimeout)).toBe(true);
    expect((storeTimeout as Error & { cause: { code: string } }).cause.code).toBe("TIMEOUT");
  });
});

describe("toLangChainTools: which tools", () => {
  it("picks tools by service, by name, include and exclude", async () => {
    const { context } = await fixtureStore("alpha", "beta");
    const names = async (options: Parameters<typeof toLangChainTools>[1]) => (await toLangChainTools(context, options)).map((tool) => tool.name);
    expect(await names({ services: ["beta"], include: ["echo", "beta_add"] })).toEqual(["beta_echo", "beta_add"]);
    expect((await names({ exclude: ["fail", "image"] })).filter((name) => /_(fail|image)$/.test(name))).toEqual([]);
  });

  it("leaves out a dead service with a warning and loads the rest", async () => {
    const { context } = await fixtureStore("svc");
    await context.addService({ name: "dead", command: "/nonexistent/mcp-server" });
    await context.waitService("dead", { state: "unreachable", timeoutMs: 15_000 });
    const logger = warningLogger();
    const tools = await toLangChainTools(context, { logger });
    expect(tools).toHaveLength(10);
    expect(logger.warnings).toEqual(["service dead is unreachable; its tools are left out"]);
  });

  it("shows a tool added by the server (list_changed) when the list is read again", async () => {
    const { store, context } = await fixtureStore("svc");
    const before = await toLangChainTools(context);
    expect(before.map((tool) => tool.name)).not.toContain("svc_fresh");
    const refreshed = nextRefresh(store, "svc");
    await byName(before, "svc_add_tool").invoke({ name: "fresh" });
    expect((await refreshed).added).toEqual(["svc_fresh"]);
    const after = await toLangChainTools(context);
    expect(await byName(after, "svc_fresh").invoke({ text: "new" })).toBe("fresh: new");
    const removed = nextRefresh(store, "svc");
    await byName(after, "svc_remove_tool").invoke({ name: "fresh" });
    await removed;
    expect((await toLangChainTools(context)).map((tool) => tool.name)).not.toContain("svc_fresh");
  });
});

describe("tools outside the selection", () => {
  it("refuses a built tool whose name the store now routes to another service's tool, without calling it", async () => {
    const { store, context } = await fixtureStore("svc", "other");
    const refreshed = nextRefresh(store, "other");
    // "other" gets a tool whose own name is "svc_echo": once svc is gone, the bare name "svc_echo" leads to it.
    await context.callTool("other_add_tool", { name: "svc_echo" });
    await refreshed;
    const tools = await toLangChainTools(context, { services: ["svc"] });
    await context.removeService("svc");
    const started: string[] = [];
    store.on("tool:call-start", (event) => started.push(event.toolName));
    const error = await byName(tools, "svc_echo").invoke({ text: "hi" }).catch((caught: unknown) => caught);
    expect(ToolException.isInstance(error)).toBe(true);
    expect((error as Error).message).toBe('Tool "svc_echo" is no longer in the store scope');
    expect(ToolNotFoundError.isInstance((error as Error).cause)).toBe(true);
    expect(started).toEqual([]);
  });
});

describe("services still connecting", () => {
  it("leaves out a service that never finishes connecting, with a warning", async () => {
    const { context } = await fixtureStore("svc");
    await context.addService(misbehavingFixtureConfig("stuck", { mode: "no-initialize" }));
    const logger = warningLogger();
    const tools = await toLangChainTools(context, { logger });
    expect(tools.map((tool) => tool.name).every((name) => name.startsWith("svc_"))).toBe(true);
    expect(logger.warnings).toEqual(["service stuck is initializing; its tools are left out"]);
  });
});
