import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { startHttpFixture, stdioFixtureConfig } from "@mcpstore/testing";
import { describe, expect, it } from "vitest";
import { AbortedError, TimeoutError, ToolNotFoundError, type ServiceContext, type StoreEvents } from "../src/index.js";
import { cleanups, createTestStore, storeWith, text } from "./helpers.js";


async function readyFixture(context: ServiceContext, name: string, options: Parameters<typeof stdioFixtureConfig>[1] = {}) {
  await context.addService(stdioFixtureConfig(name, options));
  return context.waitService(name);
}


/** Pids of processes whose command line holds `marker`. */
function processesWith(marker: string): string[] {
  try {
    return execFileSync("pgrep", ["-f", marker], { encoding: "utf8" }).trim().split("\n").filter(Boolean);
  } catch {
    return [];
  }
}

async function until<T>(read: () => Promise<T>, accept: (value: T) => boolean, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (accept(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("adding services", () => {
  it("accepts one config, a list, and { mcpServers }, keeping unknown fields", async () => {
    const context = (await storeWith()).forStore();
    const base = stdioFixtureConfig("x");
    await context.addService({ ...base, name: "one", description: "the first", tags: ["a"], contact: "team@example.com", custom: { deep: 1 } });
    await context.addService([{ ...base, name: "two" }, { ...base, name: "three" }]);
    await context.addService({ mcpServers: { four: { command: base.command, args: base.args } } });
    expect((await context.listServices()).map((service) => service.name)).toEqual(["one", "two", "three", "four"]);
    const one = await context.getService("one");
    expect(one.config).toMatchObject({ description: "the first", tags: ["a"], contact: "team@example.com", custom: { deep: 1 } });
    for (const name of ["one", "two", "three", "four"]) await context.waitService(name);
    expect(await context.listTools({ service: "four" })).toHaveLength(10);
  });

  it("announces additions, state changes and catalogue refreshes as events", async () => {
    const store = await storeWith();
    const seen: Array<{ name: keyof StoreEvents; payload: unknown }> = [];
    for (const name of ["service:added", "service:state-changed", "tools:refreshed", "service:removed"] as const) {
      store.on(name, (payload) => seen.push({ name, payload }));
    }
    const context = store.forStore();
    await readyFixture(context, "fx");
    await context.removeService("fx");
    expect(seen.map((event) => event.name)).toEqual(["service:added", "tools:refreshed", "service:state-changed", "service:state-changed", "service:removed"]);
    expect(seen[2]?.payload).toEqual({ serviceName: "fx", previous: "initializing", state: "healthy", reason: "connected", seq: expect.any(Number) });
    expect(seen[3]?.payload).toEqual({ serviceName: "fx", previous: "healthy", state: "disconnected", reason: "removed", seq: expect.any(Number) });
    expect(seen[1]?.payload).toMatchObject({ serviceName: "fx", toolCount: 10, removed: [] });
  });
});

describe("calls", () => {
  it("times out a slow call at its timeoutMs, and the service keeps answering", async () => {
    const context = (await storeWith()).forStore();
    await readyFixture(context, "fx");
    const started = Date.now();
    const error = await context.callTool("fx_sleep", { ms: 10_000 }, { timeoutMs: 200 }).catch((caught: unknown) => caught);
    expect(TimeoutError.isInstance(error)).toBe(true);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(text(await context.callTool("fx_echo", { text: "alive" }))).toBe("alive");
  });

  it("uses the service's timeout (seconds) when the call gives none", async () => {
    const context = (await storeWith()).forStore();
    // One second: the service's timeout also bounds starting the process and initialize (about 0.3 s here under load).
    await context.addService({ ...stdioFixtureConfig("fx"), timeout: 1 });
    await context.waitService("fx");
    await expect(context.callTool("fx_sleep", { ms: 10_000 })).rejects.toSatisfy(TimeoutError.isInstance);
  });

  it("cancels a call through its AbortSignal", async () => {
    const context = (await storeWith()).forStore();
    await readyFixture(context, "fx");
    const controller = new AbortController();
    const started = Date.now();
    const pending = context.callTool("fx_sleep", { ms: 10_000 }, { signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    const error = await pending.catch((caught: unknown) => caught);
    expect(AbortedError.isInstance(error)).toBe(true);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("delivers progress, and progress keeps a long call alive past its timeout", async () => {
    const context = (await storeWith()).forStore();
    await readyFixture(context, "fx");
    const progress: number[] = [];
    const result = await context.callTool(
      "fx_progress",
      { steps: 6, delayMs: 100 },
      { timeoutMs: 350, onProgress: (update) => progress.push(update.progress) },
    );
    expect(text(result)).toBe("done 6");
    expect(progress).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("calls a tool by its bare name when only one service has it", async () => {
    const context = (await storeWith()).forStore();
    await readyFixture(context, "fx");
    expect((await context.callTool("add", { a: 1, b: 2 })).structuredContent).toEqual({ sum: 3 });
    expect((await context.getTool("add")).name).toBe("fx_add");
  });

  it("runs 50 concurrent calls on one process without spawning a second", async () => {
    const marker = `conc-${randomUUID()}`;
    const context = (await storeWith()).forStore();
    await context.addService(stdioFixtureConfig("fx", { serverName: marker }));
    // Calls made while the service is still connecting wait for that one connection.
    const results = await Promise.all(Array.from({ length: 50 }, async (_, index) => {
      await context.waitService("fx");
      return context.callTool("fx_add", { a: index, b: 1 });
    }));
    expect(results.map((result) => (result.structuredContent as { sum: number }).sum)).toEqual(Array.from({ length: 50 }, (_, index) => index + 1));
    expect(processesWith(marker)).toHaveLength(1);
  });
});

describe("the catalogue", () => {
  it("answers reads from the cache without touching the network", async () => {
    const http = await startHttpFixture({ transports: "streamable-http" });
    cleanups.push(() => http.close());
    const context = (await storeWith()).forStore();
    await context.addService({ name: "remote", url: http.url, transport: "streamable-http" });
    await context.waitService("remote");
    const requests = http.receivedHeaders.length;
    for (let round = 0; round < 50; round++) {
      await context.listTools();
      await context.listServices();
      await context.getService("remote");
      await context.listResources();
      await context.listPrompts();
    }
    expect(http.receivedHeaders.length).toBe(requests);
    expect((await context.listTools()).map((tool) => tool.name)).toContain("remote_echo");
  });

  it("refreshes on notifications/tools/list_changed", async () => {
    const store = await storeWith();
    const context = store.forStore();
    await readyFixture(context, "fx");
    const refreshed = new Promise<StoreEvents["tools:refreshed"]>((resolve) => {
      const off = store.on("tools:refreshed", (event) => {
        if (event.added.length) {
          off();
          resolve(event);
        }
      });
    });
    await context.callTool("fx_add_tool", { name: "late" });
    expect((await refreshed).added).toEqual(["fx_late"]);
    const tools = await context.listTools();
    expect(tools.map((tool) => tool.name)).toContain("fx_late");
    expect(text(await context.callTool("fx_late", { text: "hi" }))).toBe("late: hi");
    await context.callTool("fx_remove_tool", { name: "late" });
    const after = await until(() => context.listTools(), (list) => !list.some((tool) => tool.name === "fx_late"));
    expect(after.map((tool) => tool.name)).not.toContain("fx_late");
    await expect(context.callTool("fx_late", { text: "hi" })).rejects.toSatisfy(ToolNotFoundError.isInstance);
  });

  it("reports a name collision and keeps both tools callable", async () => {
    const context = (await storeWith()).forStore();
    // "a" + "b_c" and "a_b" + "c" both want the name "a_b_c".
    await readyFixture(context, "a");
    await context.callTool("a_add_tool", { name: "b_c" });
    await until(() => context.listTools({ service: "a" }), (tools) => tools.some((tool) => tool.name === "a_b_c"));
    await readyFixture(context, "a_b");
    await context.callTool("a_b_add_tool", { name: "c" });
    const info = await until(() => context.getService("a_b"), (service) => service.toolNameCollisions.length > 0);
    expect(info.toolNameCollisions).toHaveLength(1);
    const collision = info.toolNameCollisions[0]!;
    expect(collision).toMatchObject({ tool: "c", wanted: "a_b_c" });
    expect(collision.name).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
    expect(text(await context.callTool("a_b_c", { text: "x" }))).toBe("b_c: x");
    expect(text(await context.callTool(collision.name, { text: "x" }))).toBe("c: x");
    const names = (await context.listTools()).map((tool) => tool.name);
    expect(new Set(names).size).toBe(names.length);
  });
});

describe("scopes", () => {
  it("isolates agents: each sees only its own services, under local names", async () => {
    const store = await storeWith();
    const research = store.forAgent("research_agent");
    const analysis = store.forAgent("analysis_agent");
    await readyFixture(store.forStore(), "global");
    await readyFixture(research, "tools");
    await readyFixture(analysis, "tools", { env: { ROLE: "analysis" } });
    expect((await research.listServices()).map((service) => service.name)).toEqual(["tools"]);
    expect((await research.listTools()).every((tool) => tool.name.startsWith("tools_"))).toBe(true);
    expect((await store.forStore().listTools()).every((tool) => tool.name.startsWith("global_"))).toBe(true);
    expect(text(await analysis.callTool("tools_env", { name: "ROLE" }))).toBe("analysis");
    expect(text(await research.callTool("tools_env", { name: "ROLE" }))).toBe("");
    await expect(research.callTool("global_echo", { text: "x" })).rejects.toSatisfy(ToolNotFoundError.isInstance);
    await expect(store.forStore().getService("tools")).rejects.toThrow(/No service "tools"/);
    expect(await store.forStore().listAgents()).toEqual([
      { agentId: "research_agent", serviceCount: 1, toolCount: 10 },
      { agentId: "analysis_agent", serviceCount: 1, toolCount: 10 },
    ]);
    await expect(research.listAgents()).rejects.toThrow(/store-scope/);
    expect(store.forAgent("research_agent")).toBe(research);
  });
});

describe("changing services", () => {
  it("updateService replaces the config and restarts; patchService merges and null removes", async () => {
    const context = (await storeWith()).forStore();
    await readyFixture(context, "fx", { env: { MODE: "one" } });
    const base = stdioFixtureConfig("fx");
    await context.updateService("fx", { command: base.command, args: base.args, env: { MODE: "two" } });
    await context.waitService("fx");
    expect(text(await context.callTool("fx_env", { name: "MODE" }))).toBe("two");
    await context.patchService("fx", { env: { MODE: "three" }, description: "patched" });
    await context.waitService("fx");
    expect(text(await context.callTool("fx_env", { name: "MODE" }))).toBe("three");
    expect((await context.getService("fx")).config.description).toBe("patched");
    await context.patchService("fx", { description: null });
    expect((await context.getService("fx")).config.description).toBeUndefined();
    await expect(context.patchService("fx", { url: "http://127.0.0.1:1/mcp" })).rejects.toThrow(/both `command` and `url`/);
    await context.waitService("fx");
    expect(text(await context.callTool("fx_env", { name: "MODE" }))).toBe("three");
  });

  it("restartService starts a fresh process; removeService stops it and forgets its tools", async () => {
    const marker = `restart-${randomUUID()}`;
    const context = (await storeWith()).forStore();
    await readyFixture(context, "fx", { serverName: marker });
    const [before] = processesWith(marker);
    await context.restartService("fx");
    await context.waitService("fx");
    const after = processesWith(marker);
    expect(after).toHaveLength(1);
    expect(after[0]).not.toBe(before);
    await context.removeService("fx");
    expect(await context.listTools()).toEqual([]);
    expect(await context.listServices()).toEqual([]);
    expect(processesWith(marker)).toEqual([]);
  });
});

describe("closing", () => {
  it("close() leaves no child process, and using the store afterwards is a clear error", async () => {
    const marker = `close-${randomUUID()}`;
    const store = await createTestStore();
    const context = store.forStore();
    await Promise.all(["a", "b", "c"].map((name) => readyFixture(context, name, { serverName: marker })));
    expect(processesWith(marker)).toHaveLength(3);
    await store.close();
    expect(processesWith(marker)).toEqual([]);
    await expect(context.callTool("a_echo", { text: "x" })).rejects.toMatchObject({ code: "STORE_CLOSED" });
    await store.close();
  });

  it("supports await using", async () => {
    const marker = `dispose-${randomUUID()}`;
    {
      await using store = await createTestStore();
      await readyFixture(store.forStore(), "fx", { serverName: marker });
      expect(processesWith(marker)).toHaveLength(1);
    }
    expect(processesWith(marker)).toEqual([]);
  });
});
