import { MCPStore, PluginError, type Logger, type SetupStoreOptions } from "@mcpstore/core";
import { startHttpFixture, stdioFixtureConfig } from "@mcpstore/testing";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { prometheusPlugin } from "../src/index.js";

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function storeWith(options: SetupStoreOptions) {
  const store = await MCPStore.setupStore({ mcpConfigFile: false, logger: quiet, ...options });
  cleanups.push(() => store.close());
  return store;
}

/** The value of one sample line, `name{labels} value`, or undefined when it is absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("prometheusPlugin", () => {
  it("counts real calls to fixture servers by tool and status, and times them", async () => {
    const http = await startHttpFixture({ transports: "streamable-http" });
    cleanups.push(() => http.close());
    const prometheus = prometheusPlugin();
    const store = await storeWith({ plugins: [prometheus] });
    const context = store.forStore();
    const agent = store.forAgent("agent-1");
    await context.addService({ name: "web", url: http.url });
    await agent.addService(stdioFixtureConfig("local"));
    await context.waitService("web");
    await agent.waitService("local");

    for (const text of ["a", "b", "c"]) await context.callTool("web_echo", { text });
    await context.callTool("web_fail", { message: "no" });
    await context.callTool("web_fail", {});
    await expect(context.callTool("web_sleep", { ms: 5_000 }, { timeoutMs: 50 })).rejects.toThrow();
    await agent.callTool("local_add", { a: 1, b: 2 });
    // Arguments that fail validation never start a call: not counted.
    await expect(context.callTool("web_echo", { text: 1 })).rejects.toThrow();

    const text = await prometheus.metrics();
    expect(prometheus.contentType).toContain("text/plain");
    for (const [name, type] of [
      ["mcpstore_active_services", "gauge"],
      ["mcpstore_tool_calls_total", "counter"],
      ["mcpstore_response_time_seconds", "histogram"],
      ["mcpstore_memory_usage_bytes", "gauge"],
      ["mcpstore_cpu_usage_percent", "gauge"],
      ["mcpstore_service_state", "gauge"],
    ]) {
      expect(text).toContain(`# TYPE ${name} ${type}`);
    }
    expect(sample(text, 'mcpstore_tool_calls_total{tool_name="web_echo",status="success"}')).toBe(3);
    expect(sample(text, 'mcpstore_tool_calls_total{tool_name="web_fail",status="error"}')).toBe(2);
    expect(sample(text, 'mcpstore_tool_calls_total{tool_name="web_sleep",status="error"}')).toBe(1);
    expect(sample(text, 'mcpstore_tool_calls_total{tool_name="local_add",status="success"}')).toBe(1);
    expect(sample(text, 'mcpstore_tool_calls_total{tool_name="web_echo",status="error"}')).toBeUndefined();
    expect(sample(text, 'mcpstore_response_time_seconds_count{operation="tool_call"}')).toBe(7);
    expect(sample(text, 'mcpstore_response_time_seconds_bucket{le="+Inf",operation="tool_call"}')).toBe(7);
    expect(sample(text, 'mcpstore_response_time_seconds_sum{operation="tool_call"}')).toBeGreaterThan(0.05);
    expect(sample(text, "mcpstore_active_services")).toBe(2);
    // One series per state, 1 for the current one (the timed-out call may have left "web" degraded: still active).
    const webState = (await context.getService("web")).state;
    const webStates = ["initializing", "healthy", "degraded", "reconnecting", "unreachable", "disconnected"].map((state) =>
      sample(text, `mcpstore_service_state{service_name="web",agent_id="",state="${state}"}`),
    );
    expect(webStates.reduce((sum, value) => sum! + value!, 0)).toBe(1);
    expect(sample(text, `mcpstore_service_state{service_name="web",agent_id="",state="${webState}"}`)).toBe(1);
    expect(sample(text, 'mcpstore_service_state{service_name="local",agent_id="agent-1",state="healthy"}')).toBe(1);
    expect(sample(text, "mcpstore_memory_usage_bytes")).toBeGreaterThan(1_000_000);
    expect(sample(text, "mcpstore_cpu_usage_percent")).toBeGreaterThanOrEqual(0);

    await agent.removeService("local");
    const after = await prometheus.metrics();
    expect(sample(after, "mcpstore_active_services")).toBe(1);
    expect(sample(after, 'mcpstore_service_state{service_name="local",agent_id="agent-1",state="healthy"}')).toBeUndefined();
    expect(sample(after, 'mcpstore_tool_calls_total{tool_name="local_add",status="success"}')).toBe(1);
  });

  it("reports services added before the plugin, and unreachable ones", async () => {
    const store = await storeWith({ monitoring: { maxReconnectAttempts: 1 } });
    await store.forStore().addService(stdioFixtureConfig("early"));
    await store.forStore().addService({ name: "broken", command: "/nonexistent/mcp-server" });
    await store.forStore().waitService("early");
    await store.forStore().waitService("broken", { state: "unreachable" });
    const prometheus = prometheusPlugin();
    await store.use(prometheus);
    const text = await prometheus.metrics();
    expect(sample(text, "mcpstore_active_services")).toBe(1);
    expect(sample(text, 'mcpstore_service_state{service_name="early",agent_id="",state="healthy"}')).toBe(1);
    expect(sample(text, 'mcpstore_service_state{service_name="broken",agent_id="",state="unreachable"}')).toBe(1);
  });

  it("keeps every call between scrapes, however many", async () => {
    const prometheus = prometheusPlugin();
    await storeWith({ plugins: [prometheus] });
    const callEnd = prometheus.hooks!["tool:call-end"]!;
    const event = { seq: 1, serviceName: "svc", callId: "c", toolName: "svc_echo", originalName: "echo", arguments: {}, durationMs: 2, isError: false };
    for (let index = 0; index < 2_500; index++) callEnd({ ...event, isError: index % 5 === 0 });
    const text = await prometheus.metrics();
    expect(sample(text, 'mcpstore_tool_calls_total{tool_name="svc_echo",status="success"}')).toBe(2_000);
    expect(sample(text, 'mcpstore_tool_calls_total{tool_name="svc_echo",status="error"}')).toBe(500);
    expect(sample(text, 'mcpstore_response_time_seconds_count{operation="tool_call"}')).toBe(2_500);
    expect(sample(text, 'mcpstore_response_time_seconds_bucket{le="0.005",operation="tool_call"}')).toBe(2_500);
    expect(sample(text, 'mcpstore_response_time_seconds_sum{operation="tool_call"}')).toBeCloseTo(5, 6);
    callEnd(event);
    expect(sample(await prometheus.metrics(), 'mcpstore_tool_calls_total{tool_name="svc_echo",status="success"}')).toBe(2_001);
  });

  it("uses a given registry, refuses to share it with a second store, and leaves it on close", async () => {
    const registry = new Registry();
    const store = await storeWith({ plugins: [prometheusPlugin({ registry, buckets: [0.001, 1] })] });
    expect(registry.getSingleMetric("mcpstore_tool_calls_total")).toBeDefined();
    const error = await MCPStore.setupStore({ mcpConfigFile: false, logger: quiet, plugins: [prometheusPlugin({ registry })] }).catch((caught: unknown) => caught);
    expect(PluginError.isInstance(error)).toBe(true);
    expect((error as Error).message).toContain("already has mcpstore_active_services");
    await store.close();
    expect(registry.getSingleMetric("mcpstore_tool_calls_total")).toBeUndefined();
    const next = await storeWith({ plugins: [prometheusPlugin({ registry })] });
    expect(await registry.metrics()).toContain("mcpstore_active_services 0");
    await next.close();
  });
});
