import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { misbehavingFixtureConfig, stdioFixtureConfig } from "@mcpstore/testing";
import { describe, expect, it } from "vitest";
import { MCPStoreError, PromptNotFoundError, ResourceNotFoundError, ValidationError, type MCPStore, type ServiceState } from "../src/index.js";
import { cleanups, storeWith } from "./helpers.js";

// Errors that keep their cause: what a failed connection says about why (HTTP status, process exit), and the typed
// errors of unknown prompts and resources.

/** A plain HTTP server on 127.0.0.1 that answers every request with `status(method)`, and logs the methods. */
async function answeringServer(status: (method: string) => number) {
  const methods: string[] = [];
  const server = createServer((request, response) => {
    methods.push(request.method ?? "");
    request.resume();
    request.on("end", () => {
      const code = status(request.method ?? "");
      response.writeHead(code, { "content-type": "text/plain" }).end(`status ${code}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`, methods };
}

/** Resolves once the service reaches `state`. */
function reached(store: MCPStore, serviceName: string, state: ServiceState): Promise<void> {
  return new Promise((resolve) => {
    const off = store.on("service:state-changed", (event) => {
      if (event.serviceName === serviceName && event.state === state) {
        off();
        resolve();
      }
    });
  });
}

describe("a remote service without `transport`", () => {
  it.each([
    [401, "Unauthorized"],
    [403, "Forbidden"],
  ])("answered %i by Streamable HTTP: says so, and does not try SSE", async (status, statusText) => {
    const server = await answeringServer(() => status);
    const store = await storeWith({ monitoring: { enableReconnection: false } });
    const gaveUp = reached(store, "locked", "unreachable");
    await store.forStore().addService({ name: "locked", url: server.url });
    await gaveUp;
    const info = await store.forStore().getService("locked");
    expect(info.lastError).toMatch(new RegExp(`^Streamable HTTP answered HTTP ${status} ${statusText}\\b`));
    // The SSE attempt would have sent a GET (and its own 4xx would have replaced the real answer).
    expect(server.methods.length).toBeGreaterThan(0);
    expect(server.methods.every((method) => method === "POST")).toBe(true);
    const error = await store.forStore().readResource("x://y", { service: "locked" }).catch((caught: unknown) => caught);
    expect((error as Error).message).toMatch(`HTTP ${status} ${statusText}`);
  });

  it("answered 405 by Streamable HTTP: falls back to SSE, and reports SSE's answer", async () => {
    const server = await answeringServer((method) => (method === "POST" ? 405 : 404));
    const store = await storeWith({ monitoring: { enableReconnection: false } });
    const gaveUp = reached(store, "old", "unreachable");
    await store.forStore().addService({ name: "old", url: server.url });
    await gaveUp;
    expect(server.methods).toContain("GET");
    expect((await store.forStore().getService("old")).lastError).toMatch(/^SSE answered HTTP 404 Not Found\b/);
  });
});

describe("a stdio server that exits", () => {
  it("before answering initialize: its exit code and last stderr line are the reason", async () => {
    const store = await storeWith({ monitoring: { maxReconnectAttempts: 1 } });
    const gaveUp = reached(store, "quitter", "unreachable");
    await store.forStore().addService(misbehavingFixtureConfig("quitter", { mode: "exit-at-once" }));
    await gaveUp;
    expect((await store.forStore().getService("quitter")).lastError).toBe(
      "the process exited with code 1 before answering initialize (last stderr: fatal: exiting at once on purpose)",
    );
  });

  it("with code 0 after printing something else than MCP: quotes its first line, secrets scrubbed, and waits for the long cycle", async () => {
    const secret = "sk-live-0123456789abcdef";
    const store = await storeWith({ monitoring: { reconnectionSeconds: 30 } });
    const gaveUp = reached(store, "chatty", "unreachable");
    await store.forStore().addService({ name: "chatty", command: "sh", args: ["-c", 'echo "using key $API_KEY"; echo second line'], env: { API_KEY: secret } });
    await gaveUp;
    const info = await store.forStore().getService("chatty");
    expect(info).toMatchObject({
      state: "unreachable",
      attempts: 1,
      lastError: 'the process exited with code 0 before answering initialize; its stdout was not MCP (first line: "using key ***")',
      stdoutDroppedLines: 2,
    });
    expect(Date.parse(info.nextAttemptAt!) - Date.now()).toBeGreaterThan(20_000);
    expect(JSON.stringify(info)).not.toContain(secret);
  });

  it("in the middle of a call: its exit code and last stderr line are the reason", async () => {
    const store = await storeWith({ monitoring: { reconnectionSeconds: 30 } });
    const context = store.forStore();
    await context.addService(misbehavingFixtureConfig("crashy", { mode: "crash-mid-call" }));
    await context.waitService("crashy");
    const lost = reached(store, "crashy", "reconnecting");
    await context.callTool("crashy_sleep", { ms: 10_000 }).catch(() => undefined);
    await lost;
    expect((await context.getService("crashy")).lastError).toBe(
      "connection closed: the process exited with code 1 (last stderr: crashing in the middle of a call)",
    );
  });

  it("killed by SIGKILL: the signal is the reason, with a hint", async () => {
    const store = await storeWith({ monitoring: { reconnectionSeconds: 30 } });
    const context = store.forStore();
    await context.addService(stdioFixtureConfig("victim"));
    const { pid } = await context.waitService("victim");
    const lost = reached(store, "victim", "reconnecting");
    process.kill(pid!, "SIGKILL");
    await lost;
    expect((await context.getService("victim")).lastError).toMatch(/^connection closed: the process was killed by SIGKILL \(out of memory\?\)/);
  });
});

describe("unknown prompts and resources", () => {
  it("are a PromptNotFoundError and a ResourceNotFoundError; an ambiguous URI stays a ValidationError", async () => {
    const context = (await storeWith()).forStore();
    await context.addService(stdioFixtureConfig("one"));
    await context.waitService("one");

    const prompt = await context.getPrompt("no_such_prompt").catch((caught: unknown) => caught);
    expect(PromptNotFoundError.isInstance(prompt)).toBe(true);
    expect(prompt).toBeInstanceOf(PromptNotFoundError);
    expect(prompt).toMatchObject({ code: "PROMPT_NOT_FOUND", name: "PromptNotFoundError", message: 'No prompt "no_such_prompt" in the store scope' });

    const resource = await context.readResource("fixture://nothing-here").catch((caught: unknown) => caught);
    expect(ResourceNotFoundError.isInstance(resource)).toBe(true);
    expect(resource).toMatchObject({ code: "RESOURCE_NOT_FOUND", name: "ResourceNotFoundError", details: { uri: "fixture://nothing-here" } });
    expect(MCPStoreError.isInstance(resource)).toBe(true);

    await context.addService(stdioFixtureConfig("two"));
    await context.waitService("two");
    const ambiguous = await context.readResource("fixture://readme").catch((caught: unknown) => caught);
    expect(ValidationError.isInstance(ambiguous)).toBe(true);
    const bare = await context.getPrompt("greet").catch((caught: unknown) => caught);
    expect(bare).toMatchObject({ code: "PROMPT_NOT_FOUND", details: { candidates: ["one_greet", "two_greet"] } });
  });
});
