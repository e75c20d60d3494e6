import { startFaultProxy, startHttpFixture, type HttpFixture } from "@mcpstore/testing";
import { describe, expect, it } from "vitest";
import { ConnectionError, ServiceUnavailableError, type MCPStore, type ServiceState } from "../src/index.js";
import { cleanups, storeWith, text } from "./helpers.js";

// Remote servers that go away, restart, forget sessions and rate-limit; all on 127.0.0.1.


async function httpFixture(port?: number): Promise<HttpFixture> {
  const fixture = await startHttpFixture({ transports: "streamable-http", ...(port ? { port } : {}) });
  cleanups.push(() => fixture.close());
  return fixture;
}


function reached(store: MCPStore, serviceName: string, state: ServiceState): Promise<number> {
  return new Promise((resolve) => {
    const off = store.on("service:state-changed", (event) => {
      if (event.serviceName === serviceName && event.state === state) {
        off();
        resolve(Date.now());
      }
    });
  });
}

describe("a Streamable HTTP server", () => {
  it("stopped and restarted on the same port: calls fail fast meanwhile, and the service recovers", async () => {
    const first = await httpFixture();
    const store = await storeWith({ monitoring: { healthCheckSeconds: 0.2, probeTimeoutSeconds: 0.5, reconnectionSeconds: 0.5 } });
    const context = store.forStore();
    await context.addService({ name: "remote", url: first.url, transport: "streamable-http" });
    await context.waitService("remote");
    const lost = reached(store, "remote", "reconnecting");
    await first.close();
    await lost;
    const started = Date.now();
    const error = await context.callTool("remote_echo", { text: "x" }).catch((caught: unknown) => caught);
    expect(ServiceUnavailableError.isInstance(error)).toBe(true);
    expect(Date.now() - started).toBeLessThan(100);
    await httpFixture(first.port);
    const info = await context.waitService("remote", { timeoutMs: 10_000 });
    expect(info.state).toBe("healthy");
    expect(info.lastError).toMatch(/fetch failed|ECONNREFUSED/);
    expect(text(await context.callTool("remote_echo", { text: "back" }))).toBe("back");
  });

  it("a call in flight when the server goes away rejects soon, not at its timeout", async () => {
    const fixture = await httpFixture();
    const store = await storeWith({ monitoring: { healthCheckSeconds: 30, probeTimeoutSeconds: 1 } });
    const context = store.forStore();
    await context.addService({ name: "remote", url: fixture.url, transport: "streamable-http" });
    await context.waitService("remote");
    const pending = context.callTool("remote_sleep", { ms: 20_000 }, { timeoutMs: 20_000 }).catch((caught: unknown) => caught);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const closedAt = Date.now();
    await fixture.close();
    const error = await pending;
    // The broken response stream is a transport error: the store probes at once, finds the server gone, and drops the
    // connection, which settles the call.
    expect(Date.now() - closedAt).toBeLessThan(1000);
    expect(ServiceUnavailableError.isInstance(error)).toBe(true);
  });

  it("a 404 for our session (the server restarted) initialises a new session once and sends the call again", async () => {
    const first = await httpFixture();
    // Without a standing event stream, nothing but the call itself can notice the restart.
    const proxy = await startFaultProxy({ target: first.url, refuseEventStreams: true });
    cleanups.push(() => proxy.close());
    const store = await storeWith({ monitoring: { healthCheckSeconds: 600 } });
    const context = store.forStore();
    await context.addService({ name: "remote", url: proxy.url, transport: "streamable-http" });
    await context.waitService("remote");
    await first.close();
    await httpFixture(first.port);
    expect(text(await context.callTool("remote_echo", { text: "same call" }))).toBe("same call");
    const methods = proxy.forwarded.map((request) => request.method);
    expect(methods.filter((method) => method === "initialize")).toHaveLength(2);
    expect(methods.filter((method) => method === "tools/call")).toHaveLength(2);
    expect((await context.getService("remote")).state).toBe("healthy");
    expect(text(await context.callTool("remote_echo", { text: "next" }))).toBe("next");
  });

  it("a probe that finds our session gone initialises a new one at once, without backoff", async () => {
    const first = await httpFixture();
    const proxy = await startFaultProxy({ target: first.url, refuseEventStreams: true });
    cleanups.push(() => proxy.close());
    const store = await storeWith({ monitoring: { healthCheckSeconds: 600, reconnectionSeconds: 600 } });
    const states: string[] = [];
    store.on("service:state-changed", (event) => states.push(event.state));
    const context = store.forStore();
    await context.addService({ name: "remote", url: proxy.url, transport: "streamable-http" });
    await context.waitService("remote");
    await first.close();
    await httpFixture(first.port);
    const check = await context.checkServices();
    expect(check.services[0]).toMatchObject({ healthy: false, error: expect.stringMatching(/404/) });
    expect((await context.getService("remote")).state).toBe("healthy");
    expect(states).toEqual(["healthy"]);
    expect(proxy.forwarded.filter((request) => request.method === "initialize")).toHaveLength(2);
    expect(text(await context.callTool("remote_echo", { text: "fresh session" }))).toBe("fresh session");
  });

  it("honours 429 Retry-After: waits, sends again, and the service stays healthy", async () => {
    const fixture = await httpFixture();
    const proxy = await startFaultProxy({ target: fixture.url });
    cleanups.push(() => proxy.close());
    const store = await storeWith();
    const context = store.forStore();
    await context.addService({ name: "remote", url: proxy.url, transport: "streamable-http" });
    await context.waitService("remote");
    proxy.rateLimit(1, "1");
    const started = Date.now();
    expect(text(await context.callTool("remote_echo", { text: "patient" }))).toBe("patient");
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(proxy.rateLimited).toHaveLength(1);
    // A Retry-After longer than the store waits: the 429 comes back as a ConnectionError, the service stays healthy.
    proxy.rateLimit(1, "3600");
    const error = await context.callTool("remote_echo", { text: "impatient" }).catch((caught: unknown) => caught);
    expect(ConnectionError.isInstance(error)).toBe(true);
    expect((error as ConnectionError).details).toMatchObject({ httpStatus: 429 });
    expect((await context.getService("remote")).state).toBe("healthy");
  });
});
