/**
 * Integration tests against the real MCP reference servers (`@modelcontextprotocol/server-everything` and
 * `@modelcontextprotocol/server-filesystem`), run from node_modules (never downloaded) through the store over stdio,
 * Streamable HTTP and legacy SSE.
 */
import { mkdtemp, readFile, realpath, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Progress } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AbortedError,
  ConnectionError,
  MCPStore,
  MCPStoreError,
  ServiceNotFoundError,
  StoreClosedError,
  TimeoutError,
  ToolExecutionError,
  ToolNotFoundError,
  ValidationError,
  type ServiceContext,
  ResourceNotFoundError,
} from "../src/index.js";
import {
  childServerPids,
  everythingEntry,
  filesystemEntry,
  quietLogger,
  startHttpEverything,
  textOf,
  type HttpEverything,
} from "./reference-helpers.js";

const TEST_TIMEOUT = 30_000;

/** The tools server-everything 2026.8.31 offers. */
const EVERYTHING_TOOLS = [
  "echo",
  "get-annotated-message",
  "get-env",
  "get-resource-links",
  "get-resource-reference",
  "get-structured-content",
  "get-sum",
  "get-tiny-image",
  "gzip-file-as-resource",
  "toggle-simulated-logging",
  "toggle-subscriber-updates",
  "trigger-long-running-operation",
  "simulate-research-query",
];

/** The tools server-filesystem 2026.8.31 offers. */
const FILESYSTEM_TOOLS = [
  "read_file",
  "read_text_file",
  "read_media_file",
  "read_multiple_files",
  "write_file",
  "edit_file",
  "create_directory",
  "list_directory",
  "list_directory_with_sizes",
  "directory_tree",
  "move_file",
  "search_files",
  "get_file_info",
  "list_allowed_directories",
];

const everythingStdio = (name: string, env?: Record<string, string>) => ({
  name,
  command: process.execPath,
  args: [everythingEntry, "stdio"],
  ...(env ? { env } : {}),
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `fn`, expecting it to reject; returns the error. */
async function rejection(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    await fn();
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection, got a result");
}

describe("server-everything over stdio", () => {
  let store: MCPStore;
  let ctx: ServiceContext;

  beforeAll(async () => {
    store = await MCPStore.setupStore({ mcpConfigFile: false, logger: quietLogger });
    ctx = store.forStore();
    // A variable of the test process that must not reach the child (the store passes a minimal environment).
    process.env.MCPSTORE_PARENT_ONLY = "parent-only-value";
    const [added] = await ctx.addService(everythingStdio("everything", { MCPSTORE_MARKER: "marker-4711" }));
    expect(added).toMatchObject({ name: "everything", transport: "stdio" });
    const info = await ctx.waitService("everything", { timeoutMs: 20_000 });
    expect(info.state).toBe("healthy");
  }, TEST_TIMEOUT);

  afterAll(async () => {
    delete process.env.MCPSTORE_PARENT_ONLY;
    await store?.close();
  });

  it("reports the service healthy with the server's info and tool count", async () => {
    const info = await ctx.getService("everything");
    expect(info.state).toBe("healthy");
    expect(info.transport).toBe("stdio");
    expect(info.toolCount).toBe(EVERYTHING_TOOLS.length);
    expect(info.serverInfo?.name).toBe("mcp-servers/everything");
    expect(info.toolNameCollisions).toEqual([]);
    // The env value is a secret: redacted in the info.
    expect(info.config.env).toEqual({ MCPSTORE_MARKER: "***" });

    const check = await ctx.checkServices();
    expect(check.success).toBe(true);
    expect(check.services).toHaveLength(1);
    expect(check.services[0]).toMatchObject({ name: "everything", healthy: true, state: "healthy" });
    expect(check.services[0]!.latencyMs).toBeGreaterThanOrEqual(0);
  });

  it("lists every tool under everything_{tool}", async () => {
    const tools = await ctx.listTools();
    expect(tools.map((tool) => tool.name).sort()).toEqual(EVERYTHING_TOOLS.map((name) => `everything_${name}`).sort());
    for (const tool of tools) {
      expect(tool.serviceName).toBe("everything");
      expect(tool.name).toBe(`everything_${tool.originalName}`);
      expect(tool.name).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
      expect(tool.inputSchema.type).toBe("object");
    }
    const sum = tools.find((tool) => tool.originalName === "get-sum")!;
    expect(sum.inputSchema.required).toEqual(["a", "b"]);
    // Filtering by service gives the same list; an unknown service is an error.
    expect((await ctx.listTools({ service: "everything" })).map((tool) => tool.name)).toEqual(tools.map((tool) => tool.name));
    await expect(ctx.listTools({ service: "nope" })).rejects.toBeInstanceOf(ServiceNotFoundError);
    expect((await ctx.getTool("everything_echo")).originalName).toBe("echo");
  });

  it("calls echo, get-sum, get-structured-content and get-tiny-image", async () => {
    const echo = await ctx.callTool("everything_echo", { message: "hello store" }, { timeoutMs: 10_000 });
    expect(echo.isError).toBeFalsy();
    expect(echo.content).toEqual([{ type: "text", text: "Echo: hello store" }]);

    // The bare name works too, as only one service has the tool.
    const bare = await ctx.callTool("echo", { message: "bare" });
    expect(textOf(bare)).toBe("Echo: bare");

    const sum = await ctx.callTool("everything_get-sum", { a: 19, b: 23 });
    expect(textOf(sum)).toBe("The sum of 19 and 23 is 42.");

    const weather = await ctx.callTool("everything_get-structured-content", { location: "Chicago" });
    expect(weather.structuredContent).toMatchObject({ temperature: expect.any(Number), conditions: expect.any(String), humidity: expect.any(Number) });
    expect(JSON.parse(textOf(weather))).toEqual(weather.structuredContent);

    const image = await ctx.callTool("everything_get-tiny-image", {});
    const picture = image.content.find((part) => part.type === "image");
    expect(picture).toMatchObject({ type: "image", mimeType: "image/png" });
    expect(Buffer.from((picture as { data: string }).data, "base64").subarray(1, 4).toString("latin1")).toBe("PNG");
  });

  it("passes the configured env, and only a minimal environment, to the process", async () => {
    const result = await ctx.callTool("everything_get-env", {});
    const env = JSON.parse(textOf(result)) as Record<string, string>;
    expect(env.MCPSTORE_MARKER).toBe("marker-4711");
    expect(env.PATH).toBeTruthy();
    expect(env).not.toHaveProperty("MCPSTORE_PARENT_ONLY");
  });

  it("checks arguments against the tool's schema before calling", async () => {
    const error = await rejection(() => ctx.callTool("everything_get-sum", { a: "one", b: 2 }));
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).details?.issues).toEqual([expect.objectContaining({ path: "a" })]);
    const missing = await rejection(() => ctx.callTool("everything_echo", {}));
    expect(missing).toBeInstanceOf(ValidationError);
    expect((missing as ValidationError).details?.issues).toEqual([expect.objectContaining({ path: "message" })]);
    await expect(ctx.callTool("everything_no-such-tool", {})).rejects.toBeInstanceOf(ToolNotFoundError);
  });

  it("delivers progress notifications to onProgress", async () => {
    const progress: Progress[] = [];
    const result = await ctx.callTool(
      "everything_trigger-long-running-operation",
      { duration: 1, steps: 4 },
      { timeoutMs: 10_000, onProgress: (update) => progress.push(update) },
    );
    expect(textOf(result)).toContain("Long running operation completed");
    expect(progress.length).toBeGreaterThanOrEqual(2);
    for (const [index, update] of progress.entries()) {
      expect(update.total).toBe(4);
      if (index > 0) expect(update.progress).toBeGreaterThan(progress[index - 1]!.progress);
    }
  });

  it("lists and reads resources, static and from a template", async () => {
    const resources = await ctx.listResources();
    expect(resources.length).toBeGreaterThan(0);
    const architecture = resources.find((resource) => resource.uri === "demo://resource/static/document/architecture.md");
    expect(architecture).toMatchObject({ serviceName: "everything", name: "architecture.md", mimeType: "text/markdown" });
    expect(await ctx.listResources({ service: "everything" })).toEqual(resources);

    // No `service` needed: only one service lists the URI.
    const read = await ctx.readResource("demo://resource/static/document/architecture.md");
    expect(read.contents).toHaveLength(1);
    expect(read.contents[0]).toMatchObject({ uri: "demo://resource/static/document/architecture.md", mimeType: "text/markdown" });
    expect((read.contents[0] as { text: string }).text).toContain("Architecture");

    // A template URI is not listed: without `service` it is not found, and the error says to pass one.
    await expect(ctx.readResource("demo://resource/dynamic/text/3")).rejects.toSatisfy(
      (error: unknown) => ResourceNotFoundError.isInstance(error) && /pass \{ service \}/.test((error as Error).message),
    );
    const dynamic = await ctx.readResource("demo://resource/dynamic/text/3", { service: "everything" });
    expect((dynamic.contents[0] as { text: string }).text).toMatch(/^Resource 3: /);
  });

  it("lists prompts and gets them, with and without arguments", async () => {
    const prompts = await ctx.listPrompts();
    const names = prompts.map((prompt) => prompt.name);
    expect(names).toEqual(expect.arrayContaining(["everything_simple-prompt", "everything_args-prompt"]));
    const argsPrompt = prompts.find((prompt) => prompt.originalName === "args-prompt")!;
    expect(argsPrompt.serviceName).toBe("everything");
    expect(argsPrompt.arguments).toEqual([
      expect.objectContaining({ name: "city", required: true }),
      expect.objectContaining({ name: "state", required: false }),
    ]);

    const simple = await ctx.getPrompt("everything_simple-prompt");
    expect(simple.messages).toEqual([{ role: "user", content: { type: "text", text: "This is a simple prompt without arguments." } }]);
    const weather = await ctx.getPrompt("everything_args-prompt", { city: "Paris" });
    expect(weather.messages[0]!.content).toMatchObject({ type: "text", text: expect.stringContaining("Paris") });
    // Bare prompt name, unique in the scope.
    const bare = await ctx.getPrompt("args-prompt", { city: "Oslo" });
    expect(weather.messages).toHaveLength(1);
    expect(bare.messages[0]!.content).toMatchObject({ text: expect.stringContaining("Oslo") });
    await expect(ctx.getPrompt("everything_no-such-prompt")).rejects.toBeInstanceOf(MCPStoreError);
  });

  it("answers 10 concurrent calls, each with its own result", async () => {
    const calls = Array.from({ length: 10 }, (_, index) =>
      index % 2 === 0
        ? ctx.callTool("everything_echo", { message: `message #${index}` }).then((result) => [index, textOf(result)] as const)
        : ctx.callTool("everything_get-sum", { a: index, b: index * 100 }).then((result) => [index, textOf(result)] as const),
    );
    const results = await Promise.all(calls);
    expect(results).toHaveLength(10);
    for (const [index, text] of results) {
      expect(text).toBe(index % 2 === 0 ? `Echo: message #${index}` : `The sum of ${index} and ${index * 100} is ${index * 101}.`);
    }
    expect((await ctx.getService("everything")).state).toBe("healthy");
  });

  it("aborts a running call with its signal, and the service stays usable", async () => {
    const controller = new AbortController();
    const started = performance.now();
    setTimeout(() => controller.abort(), 200);
    const error = await rejection(() =>
      ctx.callTool("everything_trigger-long-running-operation", { duration: 5, steps: 5 }, { signal: controller.signal }),
    );
    expect(error).toBeInstanceOf(AbortedError);
    expect(performance.now() - started).toBeLessThan(3_000);
    expect((await ctx.getService("everything")).state).toBe("healthy");
    expect(textOf(await ctx.callTool("everything_echo", { message: "after abort" }))).toBe("Echo: after abort");
  });

  it("resets the timeout on progress, caps the total time, and times out a silent call", async () => {
    // Steps of 200 ms, each with a progress notification: a 600 ms timeout keeps being reset.
    const done = await ctx.callTool(
      "everything_trigger-long-running-operation",
      { duration: 1.2, steps: 6 },
      { timeoutMs: 600, onProgress: () => undefined },
    );
    expect(textOf(done)).toContain("Long running operation completed");

    // The same call with a hard cap below its length.
    const capped = await rejection(() =>
      ctx.callTool("everything_trigger-long-running-operation", { duration: 1.2, steps: 6 }, { timeoutMs: 600, maxTotalTimeoutMs: 700, onProgress: () => undefined }),
    );
    expect(capped).toBeInstanceOf(TimeoutError);

    // Without onProgress no progress token is sent, so nothing resets the timeout.
    const silent = await rejection(() => ctx.callTool("everything_trigger-long-running-operation", { duration: 1, steps: 2 }, { timeoutMs: 300 }));
    expect(silent).toBeInstanceOf(TimeoutError);
    expect((silent as TimeoutError).toolName).toBe("trigger-long-running-operation");

    // A timed-out call degrades the service; the next successful call makes it healthy again.
    expect((await ctx.getService("everything")).state).toBe("degraded");
    expect(textOf(await ctx.callTool("everything_echo", { message: "recovered" }))).toBe("Echo: recovered");
    expect((await ctx.getService("everything")).state).toBe("healthy");
  });
});

describe("server-everything over Streamable HTTP on 127.0.0.1", () => {
  let server: HttpEverything | undefined;
  let store: MCPStore | undefined;

  beforeAll(async () => {
    server = await startHttpEverything();
    store = await MCPStore.setupStore({ mcpConfigFile: false, logger: quietLogger });
  }, TEST_TIMEOUT);

  afterAll(async () => {
    try {
      await store?.close();
    } finally {
      await server?.stop();
    }
  });

  it("detects the transport from a bare url and calls tools", async () => {
    const ctx = store!.forStore();
    // No `transport`: Streamable HTTP is tried first and must be the one that works.
    const [added] = await ctx.addService({ name: "remote", url: server!.url });
    expect(added!.state).toBe("initializing");
    const info = await ctx.waitService("remote", { timeoutMs: 20_000 });
    expect(info.state).toBe("healthy");
    expect(info.transport).toBe("streamable-http");
    expect(info.serverInfo?.name).toBe("mcp-servers/everything");
    expect(info.config.url).toBe(server!.url);

    const tools = await ctx.listTools();
    expect(tools.map((tool) => tool.name).sort()).toEqual(EVERYTHING_TOOLS.map((name) => `remote_${name}`).sort());

    const echo = await ctx.callTool("remote_echo", { message: "over http" }, { timeoutMs: 10_000 });
    expect(echo.content).toEqual([{ type: "text", text: "Echo: over http" }]);
    const sum = await ctx.callTool("remote_get-sum", { a: 1.5, b: 2.25 });
    expect(textOf(sum)).toBe("The sum of 1.5 and 2.25 is 3.75.");

    // Progress arrives over HTTP too.
    const progress: Progress[] = [];
    await ctx.callTool("remote_trigger-long-running-operation", { duration: 0.5, steps: 3 }, { onProgress: (update) => progress.push(update) });
    expect(progress.length).toBeGreaterThanOrEqual(1);
    expect(progress.every((update) => update.total === 3)).toBe(true);

    const check = await ctx.checkServices();
    expect(check).toMatchObject({ success: true, services: [{ name: "remote", healthy: true }] });

    // 10 concurrent calls over one HTTP session.
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, index) => ctx.callTool("remote_get-sum", { a: index, b: 1000 }).then(textOf)),
    );
    expect(results).toEqual(Array.from({ length: 10 }, (_, index) => `The sum of ${index} and 1000 is ${index + 1000}.`));
  });

  it("fails a call with a ConnectionError once the server is gone, and no longer reports the service healthy", async () => {
    const ctx = store!.forStore();
    await server!.stop();
    const error = await rejection(() => ctx.callTool("remote_echo", { message: "anyone?" }, { timeoutMs: 5_000 }));
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as ConnectionError).serviceName).toBe("remote");
    // "degraded: connected, but the last probe or call failed" (types.ts): a call that could not reach the server at
    // all must not leave the service `healthy`.
    const { state } = await ctx.getService("remote");
    expect(state, "state of a service whose server refused the call's connection").not.toBe("healthy");
    expect(["degraded", "reconnecting", "unreachable"]).toContain(state);
  });

  it("reconnects with a new session when the server is back on the same port", async () => {
    const ctx = store!.forStore();
    if (server!.child.exitCode === null && server!.child.signalCode === null) await server!.stop();
    server = await startHttpEverything({ port: server!.port });
    // Probes (here forced with checkServices) notice that the old session is gone (the new server does not know it)
    // and make the store reconnect; an unreachable service is retried when a tool is called.
    const deadline = Date.now() + 15_000;
    for (;;) {
      const { state } = await ctx.getService("remote");
      if (state === "healthy" || state === "degraded") {
        if ((await ctx.checkServices()).success) break;
      } else if (state === "unreachable") {
        await ctx.callTool("remote_echo", { message: "wake up" }).catch(() => undefined);
      }
      if (Date.now() > deadline) throw new Error(`service "remote" did not recover; it is ${state}`);
      await sleep(100);
    }
    const info = await ctx.waitService("remote", { timeoutMs: 15_000 });
    expect(info).toMatchObject({ state: "healthy", transport: "streamable-http" });
    expect(textOf(await ctx.callTool("remote_echo", { message: "back again" }))).toBe("Echo: back again");
    expect((await ctx.checkServices()).success).toBe(true);
  });
});

describe("server-everything over legacy SSE", () => {
  let server: HttpEverything | undefined;
  let store: MCPStore | undefined;

  beforeAll(async () => {
    server = await startHttpEverything({ mode: "sse" });
    store = await MCPStore.setupStore({ mcpConfigFile: false, logger: quietLogger });
  }, TEST_TIMEOUT);

  afterAll(async () => {
    try {
      await store?.close();
    } finally {
      await server?.stop();
    }
  });

  it("falls back from Streamable HTTP to SSE when no transport is given", async () => {
    const ctx = store!.forStore();
    await ctx.addService({ name: "legacy", url: server!.url });
    const info = await ctx.waitService("legacy", { timeoutMs: 20_000 });
    expect(info).toMatchObject({ state: "healthy", transport: "sse", toolCount: EVERYTHING_TOOLS.length });
    expect(textOf(await ctx.callTool("legacy_echo", { message: "over sse" }))).toBe("Echo: over sse");
    const sums = await Promise.all(Array.from({ length: 10 }, (_, index) => ctx.callTool("legacy_get-sum", { a: index, b: -index }).then(textOf)));
    expect(sums).toEqual(Array.from({ length: 10 }, (_, index) => `The sum of ${index} and ${-index} is 0.`));
  });
});

describe("server-filesystem over stdio on a temp dir", () => {
  let store: MCPStore;
  let ctx: ServiceContext;
  let root: string;
  let outside: string;

  beforeAll(async () => {
    // realpath: the server compares resolved paths, and tmpdir() may be a symlink.
    root = await realpath(await mkdtemp(join(tmpdir(), "mcpstore-fs-")));
    outside = await realpath(await mkdtemp(join(tmpdir(), "mcpstore-outside-")));
    await writeFile(join(outside, "secret.txt"), "not for the server");
    store = await MCPStore.setupStore({ mcpConfigFile: false, logger: quietLogger });
    ctx = store.forStore();
    await ctx.addService({ name: "fs", command: process.execPath, args: [filesystemEntry, root] });
    const info = await ctx.waitService("fs", { timeoutMs: 20_000 });
    expect(info.state).toBe("healthy");
  }, TEST_TIMEOUT);

  afterAll(async () => {
    await store?.close();
    if (root) await rm(root, { recursive: true, force: true });
    if (outside) await rm(outside, { recursive: true, force: true });
  });

  it("lists its tools under fs_{tool}", async () => {
    const tools = await ctx.listTools({ service: "fs" });
    expect(tools.map((tool) => tool.name).sort()).toEqual(FILESYSTEM_TOOLS.map((name) => `fs_${name}`).sort());
    expect(tools.every((tool) => tool.serviceName === "fs" && tool.name === `fs_${tool.originalName}`)).toBe(true);
    const allowed = await ctx.callTool("fs_list_allowed_directories", {});
    expect(textOf(allowed)).toContain(root);
  });

  it("writes a file, reads it back and lists the directory", async () => {
    const file = join(root, "note.txt");
    const content = "first line\nsecond line — ünïcödé\n";
    const written = await ctx.callTool("fs_write_file", { path: file, content });
    expect(written.isError).toBeFalsy();
    expect(await readFile(file, "utf8")).toBe(content);

    const read = await ctx.callTool("fs_read_text_file", { path: file });
    expect(read.isError).toBeFalsy();
    expect(textOf(read)).toBe(content);
    const head = await ctx.callTool("fs_read_text_file", { path: file, head: 1 });
    expect(textOf(head)).toBe("first line");

    const created = await ctx.callTool("fs_create_directory", { path: join(root, "sub") });
    expect(created.isError).toBeFalsy();
    const listing = await ctx.callTool("fs_list_directory", { path: root });
    expect(listing.isError).toBeFalsy();
    expect(textOf(listing).split("\n").sort()).toEqual(["[DIR] sub", "[FILE] note.txt"]);
  });

  it("returns an error result for a path outside the allowed directory", async () => {
    const secret = join(outside, "secret.txt");
    const result = await ctx.callTool("fs_read_text_file", { path: secret });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/access denied|outside allowed/i);
    expect(textOf(result)).not.toContain("not for the server");

    const write = await ctx.callTool("fs_write_file", { path: join(outside, "planted.txt"), content: "x" });
    expect(write.isError).toBe(true);
    await expect(readFile(join(outside, "planted.txt"), "utf8")).rejects.toMatchObject({ code: "ENOENT" });

    // With throwOnError the same result is a ToolExecutionError carrying the result.
    const error = await rejection(() => ctx.callTool("fs_read_text_file", { path: secret }, { throwOnError: true }));
    expect(error).toBeInstanceOf(ToolExecutionError);
    expect((error as ToolExecutionError).message).toMatch(/access denied|outside allowed/i);
    expect((error as ToolExecutionError).details?.result).toMatchObject({ isError: true });

    // The service stays healthy after tool errors.
    expect((await ctx.getService("fs")).state).toBe("healthy");
  });
});

describe("an agent scope with server-everything", () => {
  let store: MCPStore;

  beforeAll(async () => {
    store = await MCPStore.setupStore({ mcpConfigFile: false, logger: quietLogger });
  });

  afterAll(async () => {
    await store?.close();
  });

  it("sees its service's tools under the local name; the store scope does not", async () => {
    const agent = store.forAgent("research_agent");
    expect(agent.agentId).toBe("research_agent");
    expect(store.forAgent("research_agent")).toBe(agent);

    const [added] = await agent.addService(everythingStdio("demo"));
    expect(added).toMatchObject({ name: "demo", agentId: "research_agent" });
    const info = await agent.waitService("demo", { timeoutMs: 20_000 });
    expect(info).toMatchObject({ name: "demo", agentId: "research_agent", state: "healthy", toolCount: EVERYTHING_TOOLS.length });

    const tools = await agent.listTools();
    expect(tools.map((tool) => tool.name).sort()).toEqual(EVERYTHING_TOOLS.map((name) => `demo_${name}`).sort());
    expect(tools.every((tool) => tool.serviceName === "demo")).toBe(true);
    const echo = await agent.callTool("demo_echo", { message: "from the agent" });
    expect(textOf(echo)).toBe("Echo: from the agent");
    expect((await agent.listServices()).map((service) => service.name)).toEqual(["demo"]);
    expect((await agent.listPrompts()).map((prompt) => prompt.name)).toContain("demo_simple-prompt");

    const storeScope = store.forStore();
    expect(await storeScope.listTools()).toEqual([]);
    expect(await storeScope.listServices()).toEqual([]);
    expect(await storeScope.listResources()).toEqual([]);
    expect(await storeScope.listPrompts()).toEqual([]);
    await expect(storeScope.getService("demo")).rejects.toBeInstanceOf(ServiceNotFoundError);
    await expect(storeScope.callTool("demo_echo", { message: "x" })).rejects.toBeInstanceOf(ToolNotFoundError);
    await expect(storeScope.callTool("echo", { message: "x" })).rejects.toBeInstanceOf(ToolNotFoundError);

    // Another agent sees nothing either.
    const other = store.forAgent("other_agent");
    expect(await other.listTools()).toEqual([]);
    await expect(other.callTool("demo_echo", { message: "x" })).rejects.toBeInstanceOf(ToolNotFoundError);

    expect(await storeScope.listAgents()).toEqual([{ agentId: "research_agent", serviceCount: 1, toolCount: EVERYTHING_TOOLS.length }]);
    await expect(agent.listAgents()).rejects.toBeInstanceOf(ValidationError);
    expect(() => store.forAgent("bad id!")).toThrow(ValidationError);
  });

  it("keeps a same-named store service apart from the agent's, and routes each scope to its own process", async () => {
    const agent = store.forAgent("research_agent");
    const storeScope = store.forStore();
    await storeScope.addService(everythingStdio("demo", { SCOPE_MARK: "store-process" }));
    await storeScope.waitService("demo", { timeoutMs: 20_000 });

    const storeEnv = JSON.parse(textOf(await storeScope.callTool("demo_get-env", {}))) as Record<string, string>;
    const agentEnv = JSON.parse(textOf(await agent.callTool("demo_get-env", {}))) as Record<string, string>;
    expect(storeEnv.SCOPE_MARK).toBe("store-process");
    expect(agentEnv).not.toHaveProperty("SCOPE_MARK");

    const [storeService] = await storeScope.listServices();
    expect(storeService).toMatchObject({ name: "demo", state: "healthy" });
    expect(storeService).not.toHaveProperty("agentId");
    expect((await agent.getService("demo")).agentId).toBe("research_agent");
    expect(await storeScope.listAgents()).toEqual([{ agentId: "research_agent", serviceCount: 1, toolCount: EVERYTHING_TOOLS.length }]);
  });

  it("asks for the full name when a bare tool, prompt or resource is offered by two services", async () => {
    const storeScope = store.forStore();
    await storeScope.addService(everythingStdio("twin"));
    await storeScope.waitService("twin", { timeoutMs: 20_000 });
    expect(await storeScope.listTools()).toHaveLength(2 * EVERYTHING_TOOLS.length);

    const ambiguous = await rejection(() => storeScope.callTool("echo", { message: "which one?" }));
    expect(ambiguous).toBeInstanceOf(ToolNotFoundError);
    expect((ambiguous as ToolNotFoundError).details?.candidates).toEqual(expect.arrayContaining(["demo_echo", "twin_echo"]));
    expect(textOf(await storeScope.callTool("twin_echo", { message: "twin" }))).toBe("Echo: twin");
    // The agent has one service, so the bare name still works there.
    expect(textOf(await store.forAgent("research_agent").callTool("echo", { message: "agent" }))).toBe("Echo: agent");

    await expect(storeScope.getPrompt("simple-prompt")).rejects.toBeInstanceOf(MCPStoreError);
    expect((await storeScope.getPrompt("twin_simple-prompt")).messages).toHaveLength(1);

    const uri = "demo://resource/static/document/architecture.md";
    await expect(storeScope.readResource(uri)).rejects.toBeInstanceOf(ValidationError);
    expect((await storeScope.readResource(uri, { service: "twin" })).contents[0]).toMatchObject({ uri });
  });

  it("drops the agent from listAgents once its last service is removed", async () => {
    const agent = store.forAgent("research_agent");
    await agent.removeService("demo");
    expect(await agent.listTools()).toEqual([]);
    await expect(agent.callTool("demo_echo", { message: "x" })).rejects.toBeInstanceOf(ToolNotFoundError);
    expect(await store.forStore().listAgents()).toEqual([]);
    // The store's own "demo" is untouched.
    expect(textOf(await store.forStore().callTool("demo_echo", { message: "still here" }))).toBe("Echo: still here");
  });
});

describe.skipIf(process.platform === "win32")("stdio process lifecycle", () => {
  let store: MCPStore;
  let ctx: ServiceContext;
  let baseline: Set<number>;
  const ours = () => childServerPids(everythingEntry).filter((pid) => !baseline.has(pid));

  beforeAll(async () => {
    baseline = new Set(childServerPids(everythingEntry));
    store = await MCPStore.setupStore({ mcpConfigFile: false, logger: quietLogger });
    ctx = store.forStore();
  });

  afterAll(async () => {
    await store?.close();
  });

  it("starts one process per service, replaces it on restart and after a crash, and stops it on remove", async () => {
    await ctx.addService(everythingStdio("life"));
    await ctx.waitService("life", { timeoutMs: 20_000 });
    const [first, ...extra] = ours();
    expect(first).toBeDefined();
    expect(extra).toEqual([]);

    await ctx.restartService("life");
    await ctx.waitService("life", { timeoutMs: 20_000 });
    const afterRestart = ours();
    expect(afterRestart).toHaveLength(1);
    expect(afterRestart[0]).not.toBe(first);

    // The process dies under the store: it notices, reconnects with a new process, and calls work again.
    const states: string[] = [];
    const lost = new Promise<void>((resolve) => {
      const off = store.on("service:state-changed", (event) => {
        if (event.serviceName !== "life") return;
        states.push(event.state);
        if (event.state === "reconnecting") {
          off();
          resolve();
        }
      });
    });
    process.kill(afterRestart[0]!, "SIGKILL");
    await lost;
    const info = await ctx.waitService("life", { timeoutMs: 20_000 });
    expect(info.state).toBe("healthy");
    expect(states[0]).toBe("reconnecting");
    const afterCrash = ours();
    expect(afterCrash).toHaveLength(1);
    expect(afterCrash[0]).not.toBe(afterRestart[0]);
    expect(textOf(await ctx.callTool("life_echo", { message: "alive" }))).toBe("Echo: alive");

    await ctx.removeService("life");
    expect(ours()).toEqual([]);
    await expect(ctx.getService("life")).rejects.toBeInstanceOf(ServiceNotFoundError);
  });

  it("stops every process on close and refuses work afterwards", async () => {
    await ctx.addService([everythingStdio("one"), everythingStdio("two")]);
    await Promise.all([ctx.waitService("one", { timeoutMs: 20_000 }), ctx.waitService("two", { timeoutMs: 20_000 })]);
    expect(ours()).toHaveLength(2);
    await store.close();
    expect(ours()).toEqual([]);
    await expect(ctx.callTool("one_echo", { message: "x" })).rejects.toBeInstanceOf(StoreClosedError);
    await expect(ctx.addService(everythingStdio("three"))).rejects.toBeInstanceOf(StoreClosedError);
    await store.close();
  });
});
