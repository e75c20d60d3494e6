import { getEventListeners } from "node:events";
import { mkdtemp, realpath, rm } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FIXTURE_PNG_BASE64, startHttpFixture, stdioFixtureConfig } from "@mcpstore/testing";
import type { FetchLike } from "@modelcontextprotocol/sdk/shared/transport.js";
import { describe, expect, it } from "vitest";
import { createTransport, isolateAbortSignals } from "../src/connection/transports.js";
import type { TransportKind } from "../src/types.js";
import { captureLogger, cleanups, storeWith, text } from "./helpers.js";

const basic = (credentials: string) => `Basic ${Buffer.from(credentials).toString("base64")}`;

describe("stdio", () => {
  it("passes env and working_dir to the process, and not the store's own environment", async () => {
    const directory = await realpath(await mkdtemp(join(tmpdir(), "mcpstore-cwd-")));
    cleanups.push(() => rm(directory, { recursive: true, force: true }));
    process.env.MCPSTORE_TEST_STORE_SECRET = "store-only";
    cleanups.push(async () => delete process.env.MCPSTORE_TEST_STORE_SECRET);
    const context = (await storeWith()).forStore();
    await context.addService(stdioFixtureConfig("local", { env: { GREETING: "ni hao" }, working_dir: directory }));
    const info = await context.waitService("local");
    expect(info.transport).toBe("stdio");
    expect(info.serverInfo).toEqual({ name: "fixture", version: "1.0.0" });
    expect(text(await context.callTool("local_env", { name: "GREETING" }))).toBe("ni hao");
    expect(text(await context.callTool("local_env", { name: "MCPSTORE_TEST_STORE_SECRET" }))).toBe("");
    expect(text(await context.callTool("local_cwd"))).toBe(directory);
    expect(info.config.env).toEqual({ GREETING: "***" });
  });
});

describe("Streamable HTTP and SSE", () => {
  it("sends the configured headers over Streamable HTTP", async () => {
    const http = await startHttpFixture({ transports: "streamable-http", requireHeaders: { authorization: "Bearer s3cret-token" } });
    cleanups.push(() => http.close());
    const context = (await storeWith()).forStore();
    await context.addService({ name: "remote", url: http.url, transport: "streamable-http", headers: { Authorization: "Bearer s3cret-token" } });
    const info = await context.waitService("remote");
    expect(info.transport).toBe("streamable-http");
    expect(info.config.headers).toEqual({ Authorization: "***" });
    expect(JSON.stringify(await context.listServices())).not.toContain("s3cret-token");
    expect((await context.callTool("remote_add", { a: 20, b: 22 })).structuredContent).toEqual({ sum: 42 });
  });

  it("sends the configured headers over SSE", async () => {
    const http = await startHttpFixture({ transports: "sse", requireHeaders: { "x-api-key": "k-123456" } });
    cleanups.push(() => http.close());
    const context = (await storeWith()).forStore();
    await context.addService({ name: "legacy", url: http.sseUrl, transport: "sse", headers: { "X-Api-Key": "k-123456" } });
    expect((await context.waitService("legacy")).transport).toBe("sse");
    expect(text(await context.callTool("legacy_echo", { text: "over sse" }))).toBe("over sse");
  });

  it("with no transport, uses Streamable HTTP when the server has it", async () => {
    const http = await startHttpFixture({ transports: "both" });
    cleanups.push(() => http.close());
    const context = (await storeWith()).forStore();
    await context.addService({ name: "auto", url: http.url });
    expect((await context.waitService("auto")).transport).toBe("streamable-http");
  });

  it("with no transport, falls back to SSE and logs why", async () => {
    const http = await startHttpFixture({ transports: "sse" });
    cleanups.push(() => http.close());
    const logger = captureLogger();
    const context = (await storeWith({ logger })).forStore();
    await context.addService({ name: "auto", url: http.sseUrl });
    expect((await context.waitService("auto")).transport).toBe("sse");
    const fallback = logger.entries.find((entry) => entry.message.includes("falling back to sse"));
    expect(fallback?.fields).toMatchObject({ service: "auto", transport: "streamable-http", fallback: "sse" });
    expect(String(fallback?.fields.reason)).toMatch(/\S/);
    expect(text(await context.callTool("auto_echo", { text: "fallback" }))).toBe("fallback");
  });

  it("a rejected credential leaves the service failed with a reason that holds no secret", async () => {
    const http = await startHttpFixture({ transports: "streamable-http", requireHeaders: { authorization: "Bearer right" } });
    cleanups.push(() => http.close());
    const context = (await storeWith({ monitoring: { enableReconnection: false } })).forStore();
    await context.addService({ name: "denied", url: http.url, transport: "streamable-http", headers: { Authorization: "Bearer wrong-secret-value" } });
    await expect(context.waitService("denied", { timeoutMs: 5000 })).rejects.toThrow(/unreachable/);
    const info = await context.getService("denied");
    expect(info.lastError).toMatch(/401|unauthorized/i);
    expect(JSON.stringify(info)).not.toContain("wrong-secret-value");
  });
});

describe("abort signals", () => {
  // The SDK passes one transport-wide signal to every request and undici leaves a listener on it per request until
  // garbage collection: 1,500 calls used to print MaxListenersExceededWarning on stderr.
  it.each(["streamable-http", "sse"] as const)("leave no listener behind on the transport's signal over %s (1,600 calls, no warning)", async (transport) => {
    const http = await startHttpFixture({ transports: transport });
    cleanups.push(() => http.close());
    const warnings: string[] = [];
    const onWarning = (warning: Error) => void (warning.name === "MaxListenersExceededWarning" && warnings.push(warning.message));
    process.on("warning", onWarning);
    cleanups.push(async () => void process.off("warning", onWarning));
    const context = (await storeWith()).forStore();
    await context.addService({ name: "remote", url: transport === "sse" ? http.sseUrl : http.url, transport });
    await context.waitService("remote");
    for (let call = 0; call < 1_600; call++) await context.callTool("remote_echo", { text: "hi" });
    await new Promise((resolve) => setImmediate(resolve));
    expect(warnings).toEqual([]);
  }, 60_000);

  it("requests get signals of their own: the caller's holds one listener however many requests ran; its abort still reaches a body being read", async () => {
    const server = createServer((_request, response) => {
      response.write("part one ");
      setTimeout(() => response.end("part two"), 20);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const isolated = isolateAbortSignals((input, init) => fetch(input, init));
    const transportWide = new AbortController();
    for (let request = 0; request < 50; request++) {
      const response = await isolated(url, { signal: transportWide.signal });
      expect(await response.text()).toBe("part one part two");
    }
    const concurrent = await Promise.all(Array.from({ length: 20 }, () => isolated(url, { signal: transportWide.signal })));
    expect(getEventListeners(transportWide.signal, "abort")).toHaveLength(1);
    transportWide.abort(new Error("transport closed"));
    const outcomes = await Promise.allSettled(concurrent.map((response) => response.text()));
    expect(outcomes.map((outcome) => outcome.status)).toEqual(Array(20).fill("rejected"));
  });
});

describe("credentials in the URL", () => {
  /** What the transport handed to fetch for its first request (which the recording fetch fails with a 500). */
  async function firstRequest(url: string, kind: TransportKind, headers?: Record<string, string>) {
    const seen: Array<{ url: string; authorization: string | null }> = [];
    const recording: FetchLike = async (input, init) => {
      seen.push({ url: String(input), authorization: new Headers(init?.headers).get("authorization") });
      return new Response("no", { status: 500 });
    };
    const transport = createTransport({ name: "r", url, ...(headers ? { headers } : {}) }, kind, { fetch: recording });
    await transport.start().catch(() => undefined);
    await transport.send({ jsonrpc: "2.0", id: 1, method: "ping" }).catch(() => undefined);
    await transport.close();
    return seen[0];
  }

  it("go as an Authorization: Basic header (percent-escapes decoded), never inside the URL given to fetch", async () => {
    for (const kind of ["streamable-http", "sse"] as const) {
      expect(await firstRequest("http://us%40er:p%3Ass%20w@127.0.0.1:1/mcp?x=1", kind)).toEqual({ url: "http://127.0.0.1:1/mcp?x=1", authorization: basic("us@er:p:ss w") });
      expect(await firstRequest("http://token-only@127.0.0.1:1/mcp", kind)).toEqual({ url: "http://127.0.0.1:1/mcp", authorization: basic("token-only:") });
    }
  });

  it("yield to an explicit Authorization header, whatever its case", async () => {
    expect(await firstRequest("http://u:p@127.0.0.1:1/mcp", "streamable-http", { authorization: "Bearer explicit" })).toEqual({
      url: "http://127.0.0.1:1/mcp",
      authorization: "Bearer explicit",
    });
  });

  it("reach a real server over Streamable HTTP and SSE", async () => {
    const http = await startHttpFixture({ requireHeaders: { authorization: basic("svc:pa ss") } });
    cleanups.push(() => http.close());
    const context = (await storeWith()).forStore();
    await context.addService({ name: "basic", url: http.url.replace("//", "//svc:pa%20ss@"), transport: "streamable-http" });
    await context.addService({ name: "legacy", url: http.sseUrl.replace("//", "//svc:pa%20ss@"), transport: "sse" });
    await Promise.all([context.waitService("basic"), context.waitService("legacy")]);
    expect(text(await context.callTool("basic_echo", { text: "in" }))).toBe("in");
    expect(text(await context.callTool("legacy_echo", { text: "in" }))).toBe("in");
    expect(http.receivedUrls.every((url) => url.startsWith("/"))).toBe(true);
    expect((await context.getService("basic")).config.url).toBe(http.url.replace("//", "//svc:***@"));
  });
});

describe("results", () => {
  it("returns images, error results, and throws on error results when asked", async () => {
    const context = (await storeWith()).forStore();
    await context.addService(stdioFixtureConfig("fx"));
    await context.waitService("fx");
    expect((await context.callTool("fx_image")).content).toEqual([{ type: "image", data: FIXTURE_PNG_BASE64, mimeType: "image/png" }]);
    const failed = await context.callTool("fx_fail", { message: "nope" });
    expect(failed.isError).toBe(true);
    expect(text(failed)).toBe("nope");
    await expect(context.callTool("fx_fail", { message: "nope" }, { throwOnError: true })).rejects.toMatchObject({
      code: "TOOL_EXECUTION_ERROR",
      toolName: "fx_fail",
      message: expect.stringContaining("nope"),
    });
  });

  it("lists and reads resources, lists and gets prompts", async () => {
    const context = (await storeWith()).forStore();
    await context.addService(stdioFixtureConfig("fx"));
    await context.waitService("fx");
    expect(await context.listResources()).toEqual([
      { uri: "fixture://readme", name: "readme", serviceName: "fx", description: "A short text resource.", mimeType: "text/plain" },
    ]);
    expect((await context.readResource("fixture://readme")).contents).toEqual([{ uri: "fixture://readme", mimeType: "text/plain", text: "fixture readme" }]);
    const prompts = await context.listPrompts();
    expect(prompts.map((prompt) => prompt.name)).toEqual(["fx_greet"]);
    const prompt = await context.getPrompt("fx_greet", { name: "Ada" });
    expect(prompt.messages[0]?.content).toEqual({ type: "text", text: "Hello, Ada!" });
  });
});
