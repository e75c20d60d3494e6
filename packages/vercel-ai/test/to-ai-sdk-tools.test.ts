import { resolveLocalRefs, ToolExecutionError, ToolNotFoundError } from "@mcpstore/core";
import {
  FIXTURE_PNG_BASE64,
  findStrictSchemaProblems,
  misbehavingFixtureConfig,
  startAwkwardSchemaFixture,
  startHttpFixture,
  stdioFixtureConfig,
} from "@mcpstore/testing";
import { asSchema, type ToolSet } from "ai";
import { afterEach, describe, expect, it } from "vitest";
import { toAiSdkTools } from "../src/index.js";
import { cleanups, createStore, everythingConfig, nextRefresh, warningLogger } from "./helpers.js";

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

const callOptions = (abortSignal?: AbortSignal) => ({ toolCallId: "call", messages: [], ...(abortSignal ? { abortSignal } : {}) });

/** Runs a tool's `execute` the way the SDK does. */
async function run(tools: ToolSet, name: string, input: Record<string, unknown>, abortSignal?: AbortSignal): Promise<unknown> {
  const tool = tools[name];
  if (!tool?.execute) throw new Error(`no tool ${name}`);
  return tool.execute(input, callOptions(abortSignal));
}

const modelOutput = (tools: ToolSet, name: string, output: unknown) => tools[name]!.toModelOutput!({ toolCallId: "call", input: {}, output });

describe("toAiSdkTools: schemas", () => {
  it("builds dynamic tools whose JSON Schema is the server's, passed through", async () => {
    const { context } = await fixtureStore("svc");
    const tools = await toAiSdkTools(context);
    const catalogue = await context.listTools();
    expect(Object.keys(tools)).toEqual(catalogue.map((tool) => tool.name));
    for (const info of catalogue) {
      const tool = tools[info.name]!;
      expect(tool.type).toBe("dynamic");
      expect(tool.description).toBe(info.description);
      expect(await asSchema(tool.inputSchema).jsonSchema).toEqual(info.inputSchema);
    }
  });

  it("carries outputSchema, and the output of such a tool is its structuredContent", async () => {
    const { context } = await fixtureStore("svc");
    const tools = await toAiSdkTools(context);
    const add = tools.svc_add!;
    expect(await asSchema(add.outputSchema).jsonSchema).toEqual(resolveLocalRefs((await context.getTool("svc_add")).outputSchema!));
    const output = await run(tools, "svc_add", { a: 2, b: 3 });
    expect(output).toEqual({ sum: 5 });
    expect(await modelOutput(tools, "svc_add", output)).toEqual({ type: "json", value: { sum: 5 } });
    expect(tools.svc_echo!.outputSchema).toBeUndefined();
  });

  it("resolves $ref locally and fixes schemas for strict providers when asked", async () => {
    const fixture = await startAwkwardSchemaFixture();
    cleanups.push(() => fixture.close());
    const store = await createStore();
    const context = store.forStore();
    await context.addService({ name: "odd", url: fixture.url, transport: "streamable-http" });
    await context.waitService("odd");
    const loose = await toAiSdkTools(context);
    const lookup = (await asSchema(loose.odd_lookup!.inputSchema).jsonSchema) as Record<string, unknown>;
    expect(JSON.stringify(lookup)).not.toMatch(/\$ref|\$defs/);
    expect(findStrictSchemaProblems(lookup)).toContain("/properties/tags: array without items");
    const strict = await toAiSdkTools(context, { strictSchemas: true });
    for (const tool of Object.values(strict)) expect(findStrictSchemaProblems(await asSchema(tool.inputSchema).jsonSchema)).toEqual([]);
    expect(await run(strict, "odd_tree", { root: { name: "a", children: [{ name: "b" }] } })).toMatchObject({ content: [{ text: "2 nodes" }] });
  });
});

describe("toAiSdkTools: calls", () => {
  it("maps text and images for the model with toModelOutput", async () => {
    const { context } = await fixtureStore("svc");
    const tools = await toAiSdkTools(context);
    const echoed = await run(tools, "svc_echo", { text: "hello" });
    expect(await modelOutput(tools, "svc_echo", echoed)).toEqual({ type: "text", value: "hello" });
    const image = await run(tools, "svc_image", {});
    expect(await modelOutput(tools, "svc_image", image)).toEqual({
      type: "content",
      value: [{ type: "image-data", data: FIXTURE_PNG_BASE64, mediaType: "image/png" }],
    });
  });

  it("passes abortSignal through: the call is cancelled on the server", async () => {
    const { store, context } = await fixtureStore("svc");
    const errors: string[] = [];
    store.on("tool:call-error", (event) => errors.push(event.error.name));
    const tools = await toAiSdkTools(context);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const started = Date.now();
    const error = await run(tools, "svc_sleep", { ms: 10_000 }, controller.signal).catch((caught: unknown) => caught);
    expect((error as Error).name).toBe("AbortedError");
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(errors).toEqual(["AbortedError"]);
    const limited = await toAiSdkTools(context, { include: ["sleep"], timeoutMs: 100 });
    await expect(run(limited, "svc_sleep", { ms: 10_000 })).rejects.toMatchObject({ code: "TIMEOUT" });
  });

  it("throws for an error result, so that the SDK reports a tool-error", async () => {
    const { context } = await fixtureStore("svc");
    const tools = await toAiSdkTools(context);
    const error = await run(tools, "svc_fail", { message: "no luck" }).catch((caught: unknown) => caught);
    expect(ToolExecutionError.isInstance(error)).toBe(true);
    expect((error as Error).message).toBe("Tool svc_fail returned an error: no luck");
  });
});

describe("toAiSdkTools: which tools", () => {
  it("picks tools by service, by name, include and exclude", async () => {
    const { context } = await fixtureStore("alpha", "beta");
    expect(Object.keys(await toAiSdkTools(context, { services: ["beta"], include: ["echo", "beta_add"] }))).toEqual(["beta_echo", "beta_add"]);
    expect(Object.keys(await toAiSdkTools(context, { exclude: ["alpha_fail", "image"] }))).toHaveLength(17);
  });

  it("leaves out services that cannot take calls, with a warning, and loads the rest", async () => {
    const { context } = await fixtureStore("svc");
    await context.addService([{ name: "dead", command: "/nonexistent/mcp-server" }, misbehavingFixtureConfig("stuck", { mode: "no-initialize" })]);
    await context.waitService("dead", { state: "unreachable", timeoutMs: 15_000 });
    const logger = warningLogger();
    expect(Object.keys(await toAiSdkTools(context, { logger }))).toHaveLength(10);
    expect(logger.warnings.sort()).toEqual(["service dead is unreachable; its tools are left out", "service stuck is initializing; its tools are left out"]);
  });

  it("shows a tool added by the server (list_changed) when the set is read again", async () => {
    const { store, context } = await fixtureStore("svc");
    const before = await toAiSdkTools(context);
    expect(before.svc_fresh).toBeUndefined();
    const refreshed = nextRefresh(store, "svc");
    await run(before, "svc_add_tool", { name: "fresh" });
    expect((await refreshed).added).toEqual(["svc_fresh"]);
    const after = await toAiSdkTools(context);
    expect(await run(after, "svc_fresh", { text: "new" })).toMatchObject({ content: [{ type: "text", text: "fresh: new" }] });
  });
});

describe("tools outside the selection", () => {
  it("refuses a built tool whose name the store now routes to another service's tool, without calling it", async () => {
    const { store, context } = await fixtureStore("svc", "other");
    const refreshed = nextRefresh(store, "other");
    // "other" gets a tool whose own name is "svc_echo": once svc is gone, the bare name "svc_echo" leads to it.
    await context.callTool("other_add_tool", { name: "svc_echo" });
    await refreshed;
    const tools = await toAiSdkTools(context, { services: ["svc"] });
    await context.removeService("svc");
    const started: string[] = [];
    store.on("tool:call-start", (event) => started.push(event.toolName));
    const error = await run(tools, "svc_echo", { text: "hi" }).catch((caught: unknown) => caught);
    expect(ToolNotFoundError.isInstance(error)).toBe(true);
    expect((error as Error).message).toBe('Tool "svc_echo" is no longer in the store scope');
    expect(started).toEqual([]);
  });
});

describe("server-everything", () => {
  it("converts every tool, and the schemas pass the strict fix", async () => {
    const store = await createStore();
    const context = store.forStore();
    await context.addService(everythingConfig("everything"));
    await context.waitService("everything", { timeoutMs: 20_000 });
    const catalogue = await context.listTools();
    expect(catalogue.length).toBeGreaterThanOrEqual(10);
    for (const strictSchemas of [false, true]) {
      const tools = await toAiSdkTools(context, { strictSchemas });
      expect(Object.keys(tools)).toEqual(catalogue.map((tool) => tool.name));
      for (const [name, tool] of Object.entries(tools)) {
        const schema = await asSchema(tool.inputSchema).jsonSchema;
        if (strictSchemas) expect(findStrictSchemaProblems(schema), name).toEqual([]);
        else expect(schema).toEqual(catalogue.find((info) => info.name === name)!.inputSchema);
      }
    }
    const tools = await toAiSdkTools(context);
    expect(await run(tools, "everything_get-structured-content", { location: "Chicago" })).toMatchObject({ temperature: expect.any(Number) });
    const image = await run(tools, "everything_get-tiny-image", {});
    const output = (await modelOutput(tools, "everything_get-tiny-image", image)) as { type: string; value: Array<{ type: string }> };
    expect(output.type).toBe("content");
    expect(output.value.map((part) => part.type)).toContain("image-data");
  });
});

describe("a dead server", () => {
  it("throws from execute when the server went away after the tools were built", async () => {
    const remote = await startHttpFixture();
    cleanups.push(() => remote.close());
    const store = await createStore();
    const context = store.forStore();
    await context.addService({ name: "remote", url: remote.url, transport: "streamable-http" });
    await context.waitService("remote");
    const tools = await toAiSdkTools(context);
    await remote.close();
    await expect(run(tools, "remote_echo", { text: "hi" })).rejects.toMatchObject({ name: expect.stringMatching(/Error$/) });
  });
});
