import { MCPStore, ToolExecutionError, definePlugin, type Logger, type SetupStoreOptions } from "@mcpstore/core";
import { startHttpFixture, stdioFixtureConfig } from "@mcpstore/testing";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { loggerPlugin } from "../src/index.js";

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const cleanups: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function storeWith(options: SetupStoreOptions) {
  const store = await MCPStore.setupStore({ mcpConfigFile: false, logger: quiet, ...options });
  cleanups.push(() => store.close());
  return store;
}

/** A pino destination that keeps every line. */
function captureLines() {
  const lines: string[] = [];
  return { lines, destination: { write: (line: string) => void lines.push(line) }, records: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

function setEnv(name: string, value: string | undefined) {
  const previous = process.env[name];
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
  cleanups.push(() => {
    if (previous === undefined) delete process.env[name];
    else process.env[name] = previous;
  });
}

describe("loggerPlugin", () => {
  it("writes one JSON line per service event and tool call, with the seed's fields", async () => {
    const capture = captureLines();
    const store = await storeWith({ plugins: [loggerPlugin({ destination: capture.destination, level: "info" })] });
    const agent = store.forAgent("agent-7");
    await agent.addService(stdioFixtureConfig("fx"));
    await agent.waitService("fx");
    await agent.callTool("fx_add", { a: 1, b: 2 });
    await agent.callTool("fx_fail", {});
    await agent.removeService("fx");

    const records = capture.records();
    expect(capture.lines.every((line) => line.endsWith("\n") && !line.slice(0, -1).includes("\n"))).toBe(true);
    expect(records.map((record) => record.event_type)).toEqual([
      "service_added",
      "tools_refreshed",
      "service_state_changed",
      "tool_call",
      "tool_call",
      "service_state_changed",
      "service_removed",
    ]);
    for (const record of records) {
      expect(record).toMatchObject({ level: expect.any(String), name: "mcpstore", service_name: "fx", agent_id: "agent-7", msg: expect.any(String) });
      expect(new Date(record.timestamp as string).toISOString()).toBe(record.timestamp);
    }
    expect(records[0]).toMatchObject({ details: { transport: "stdio", state: "initializing" } });
    expect(records[2]).toMatchObject({ level: "info", details: { previous: "initializing", state: "healthy" } });
    expect(records[3]).toMatchObject({ level: "info", tool_name: "fx_add", args_count: 2, success: true, duration_ms: expect.any(Number) });
    expect(records[4]).toMatchObject({ level: "warn", tool_name: "fx_fail", args_count: 0, success: false });
    expect(Object.keys(records[3]!).sort()).toEqual(
      ["agent_id", "args_count", "call_id", "duration_ms", "event_type", "level", "msg", "name", "service_name", "success", "timestamp", "tool_name"].sort(),
    );
  });

  it("never logs a secret set through headers or env, nor argument values, during add, calls, failures and removal", async () => {
    const secret = "sk-live-7f3a9c1e5b2d4-logger-secret";
    setEnv("MCPSTORE_LOGGER_TEST_TOKEN", secret);
    const http = await startHttpFixture({ transports: "streamable-http", requireHeaders: { authorization: `Bearer ${secret}` } });
    cleanups.push(() => http.close());
    const capture = captureLines();
    const vetoes = definePlugin({
      name: "no-cwd",
      hooks: {
        "tool:call-start": (event) => {
          if (event.originalName === "cwd") return { veto: "cwd is off limits" };
          // A careless policy that quotes the argument in its reason: the logger masks it.
          if (event.originalName === "echo" && String(event.arguments.text).startsWith("forbidden")) return { veto: `"${String(event.arguments.text)}" is forbidden` };
          return undefined;
        },
      },
    });
    const store = await storeWith({
      monitoring: { maxReconnectAttempts: 1 },
      plugins: [loggerPlugin({ destination: capture.destination, level: "trace" }), vetoes],
    });
    const context = store.forStore();
    await context.addService({ name: "web", url: http.url, headers: { Authorization: "Bearer ${MCPSTORE_LOGGER_TEST_TOKEN}" } });
    await context.addService({ name: "wrong", url: http.url, transport: "streamable-http", headers: { Authorization: `Bearer ${secret}-revoked` } });
    await context.addService({ ...stdioFixtureConfig("local"), env: { API_KEY: secret } });
    await context.waitService("web");
    await context.waitService("local");
    await context.waitService("wrong", { state: "unreachable", timeoutMs: 20_000 });

    expect(JSON.stringify((await context.callTool("local_env", { name: "API_KEY" })).content)).toContain(secret);
    await context.callTool("web_echo", { text: `argument-marker ${secret}` });
    await context.callTool("local_fail", { message: `failing with ${secret}` });
    await expect(context.callTool("local_fail", { message: `thrown with ${secret}` }, { throwOnError: true })).rejects.toSatisfy(ToolExecutionError.isInstance);
    await expect(context.callTool("web_sleep", { ms: 5_000 }, { timeoutMs: 50 })).rejects.toThrow();
    await expect(context.callTool("local_cwd", {})).rejects.toThrow(/cwd is off limits/);
    await expect(context.callTool("local_echo", { text: `forbidden ${secret}` })).rejects.toThrow(/is forbidden/);
    await context.removeService("web");
    await context.removeService("wrong");
    await context.removeService("local");
    await store.close();

    const records = capture.records();
    const calls = records.filter((record) => record.event_type === "tool_call");
    expect(calls.map((call) => [call.tool_name, call.success])).toEqual([
      ["local_env", true],
      ["web_echo", true],
      ["local_fail", false],
      ["local_fail", false],
      ["web_sleep", false],
      ["local_cwd", false],
      ["local_echo", false],
    ]);
    expect(records.every((record) => !("agent_id" in record))).toBe(true);
    expect(calls.find((call) => call.tool_name === "local_cwd")).toMatchObject({ error_code: "PLUGIN_VETO", plugin: "no-cwd" });
    expect(calls.find((call) => call.tool_name === "web_sleep")).toMatchObject({ error_code: "TIMEOUT" });
    expect(calls.at(-1)).toMatchObject({ error_code: "PLUGIN_VETO", error: 'Plugin "no-cwd" vetoed the call of local_echo: "***" is forbidden' });
    for (const name of ["web", "wrong", "local"]) {
      expect(records.some((record) => record.event_type === "service_added" && record.service_name === name)).toBe(true);
      expect(records.some((record) => record.event_type === "service_removed" && record.service_name === name)).toBe(true);
    }
    expect(records.some((record) => record.service_name === "wrong" && (record.details as { state?: string }).state === "unreachable")).toBe(true);
    const all = capture.lines.join("");
    expect(all).not.toContain(secret);
    expect(all).not.toContain("7f3a9c1e5b2d4");
    expect(all).not.toContain("argument-marker");
    expect(all).not.toContain("failing with");
    expect(all).not.toContain("thrown with");
    expect(all).not.toContain("API_KEY");
  });

  it("takes its level from LOG_LEVEL, and writes to a given pino logger", async () => {
    setEnv("LOG_LEVEL", "WARN");
    const capture = captureLines();
    const store = await storeWith({ plugins: [loggerPlugin({ destination: capture.destination })] });
    const context = store.forStore();
    await context.addService(stdioFixtureConfig("fx"));
    await context.waitService("fx");
    await context.callTool("fx_echo", { text: "quiet" });
    await context.callTool("fx_fail", {});
    expect(capture.records().map((record) => [record.level, record.event_type, record.tool_name])).toEqual([["warn", "tool_call", "fx_fail"]]);

    const own = captureLines();
    const logger = pino({ level: "info" }, own.destination);
    const second = await storeWith({ plugins: [loggerPlugin({ logger, name: "audit-log" })] });
    await second.forStore().addService(stdioFixtureConfig("fy"));
    expect(own.records()[0]).toMatchObject({ event_type: "service_added", service_name: "fy", timestamp: expect.any(String), level: 30 });
  });
});
