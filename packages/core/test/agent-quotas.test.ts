/**
 * Agents' quotas against real servers: services per agent (parallel adds cannot pass the limit together), calls in
 * flight per agent (the next call waits within its time limit), and health probes shared fairly between scopes.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { startHttpFixture } from "@mcpstore/testing";
import { describe, expect, it } from "vitest";
import { QuotaExceededError } from "../src/index.js";
import { ProbeLimiter } from "../src/connection/probe-limiter.js";
import { cleanups, storeWith, text, until } from "./helpers.js";

async function fixture() {
  const server = await startHttpFixture({ transports: "streamable-http" });
  cleanups.push(() => server.close());
  return server;
}

describe("services per agent", () => {
  it("lets exactly the limit through when an agent adds many services at the same time", async () => {
    const server = await fixture();
    const store = await storeWith({ agentPolicy: { allowEgress: ["127.0.0.1:*"], maxServicesPerAgent: 5 } });
    const alice = store.forAgent("alice");
    const outcomes = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => alice.addService({ name: `s${i}`, url: server.url }, { principal: "agent" })));
    const refused = outcomes.filter((outcome) => outcome.status === "rejected").map((outcome) => (outcome as PromiseRejectedResult).reason);
    expect(outcomes.filter((outcome) => outcome.status === "fulfilled")).toHaveLength(5);
    expect(refused).toHaveLength(7);
    for (const error of refused) expect(QuotaExceededError.isInstance(error) && error.details).toMatchObject({ quota: "servicesPerAgent", limit: 5 });
    expect(await alice.listServices()).toHaveLength(5);
    // Another agent has its own count; the admin is not counted against anyone.
    await store.forAgent("bob").addService({ name: "b", url: server.url }, { principal: "agent" });
    await alice.addService({ name: "by-admin", url: server.url });
    // A removal frees room.
    await alice.removeService("s0");
    const full = await alice.addService({ name: "again", url: server.url }, { principal: "agent" }).catch((error: unknown) => error);
    expect(QuotaExceededError.isInstance(full)).toBe(true);
    await alice.removeService("by-admin");
    await alice.addService({ name: "again", url: server.url }, { principal: "agent" });
  });

  it("counts a batch as a whole and refuses it past the limit", async () => {
    const server = await fixture();
    const store = await storeWith({ agentPolicy: { allowEgress: ["127.0.0.1:*"], maxServicesPerAgent: 2 } });
    const alice = store.forAgent("alice");
    const error = await alice.addService([1, 2, 3].map((i) => ({ name: `b${i}`, url: server.url })), { principal: "agent" }).catch((caught: unknown) => caught);
    expect(QuotaExceededError.isInstance(error)).toBe(true);
    expect(await alice.listServices()).toEqual([]);
  });
});

describe("calls in flight per agent", () => {
  it("makes the next call wait for a slot within its time limit, then refuses it with a retry hint", async () => {
    const server = await fixture();
    const store = await storeWith({ agentPolicy: { allowEgress: ["127.0.0.1:*"], maxConcurrentCallsPerAgent: 2 } });
    const alice = store.forAgent("alice");
    await alice.addService({ name: "svc", url: server.url }, { principal: "agent", wait: true });
    const slow = [1, 2].map(() => alice.callTool("svc_sleep", { ms: 800 }, { principal: "agent" }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = performance.now();
    const refused = await alice.callTool("svc_echo", { text: "late" }, { principal: "agent", timeoutMs: 250 }).catch((error: unknown) => error);
    expect(performance.now() - started).toBeGreaterThanOrEqual(200);
    expect(QuotaExceededError.isInstance(refused) && refused.details).toMatchObject({ quota: "concurrentCallsPerAgent", limit: 2, retryAfterSeconds: 1 });
    // One that may wait long enough gets the slot of a finished call.
    const waited = alice.callTool("svc_echo", { text: "patient" }, { principal: "agent", timeoutMs: 10_000 });
    // The admin's calls (and another agent's) are not held up meanwhile.
    expect(text(await alice.callTool("svc_echo", { text: "admin" }, { timeoutMs: 2_000 }))).toBe("admin");
    expect(text(await waited)).toBe("patient");
    await Promise.all(slow);
  });

  it("ends a waiting call when its caller aborts, and frees nothing it did not take", async () => {
    const server = await fixture();
    const store = await storeWith({ agentPolicy: { allowEgress: ["127.0.0.1:*"], maxConcurrentCallsPerAgent: 1 } });
    const alice = store.forAgent("alice");
    await alice.addService({ name: "svc", url: server.url }, { principal: "agent", wait: true });
    const running = alice.callTool("svc_sleep", { ms: 400 }, { principal: "agent" });
    const controller = new AbortController();
    const aborted = alice.callTool("svc_echo", { text: "x" }, { principal: "agent", signal: controller.signal }).catch((error: unknown) => error);
    setTimeout(() => controller.abort(), 50);
    expect((await aborted as Error).name).toBe("AbortedError");
    await running;
    // The limit still holds: two at once, one waits for the other.
    const [a, b] = await Promise.all([
      alice.callTool("svc_sleep", { ms: 200 }, { principal: "agent" }).then(() => performance.now()),
      alice.callTool("svc_sleep", { ms: 200 }, { principal: "agent" }).then(() => performance.now()),
    ]);
    expect(Math.abs(a - b)).toBeGreaterThanOrEqual(150);
  });
});

/**
 * A minimal Streamable HTTP MCP server on 127.0.0.1 that answers `initialize` and `tools/list` but never a `ping`
 * while `hang` is set: a server that looks alive and is not, whose probes each take the whole probe timeout.
 */
async function hangingServer() {
  const held = new Set<ServerResponse>();
  const server = createServer(async (request: IncomingMessage, response: ServerResponse) => {
    if (request.method !== "POST") return response.writeHead(405).end();
    let body = "";
    for await (const chunk of request) body += chunk;
    const message = JSON.parse(body) as { id?: number; method: string };
    const reply = (result: unknown) => response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ jsonrpc: "2.0", id: message.id, result }));
    if (message.id === undefined) return response.writeHead(202).end();
    if (message.method === "initialize") return reply({ protocolVersion: "2025-06-18", capabilities: { tools: {} }, serverInfo: { name: "hanging", version: "1" } });
    if (message.method === "tools/list") return reply({ tools: [] });
    held.add(response);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const response of held) response.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return url;
}

describe("fair probing", () => {
  it("hands waiting probe slots to each key in turn", async () => {
    const limiter = new ProbeLimiter(1);
    const order: string[] = [];
    let release!: () => void;
    const first = limiter.run(() => new Promise<void>((resolve) => (release = resolve)), "a");
    const queued = [
      ...Array.from({ length: 5 }, (_, i) => limiter.run(async () => void order.push(`a${i}`), "a")),
      limiter.run(async () => void order.push("b0"), "b"),
      limiter.run(async () => void order.push("c0"), "c"),
    ];
    release();
    await Promise.all([first, ...queued]);
    expect(order.slice(0, 3)).toEqual(["a0", "b0", "c0"]);
    expect(limiter.active).toBe(0);
    expect(limiter.queued).toBe(0);
  });

  it("keeps one agent's hung services from delaying another agent's health checks by more than one probe", async () => {
    const hanging = await hangingServer();
    const server = await fixture();
    const store = await storeWith({ monitoring: { healthCheckSeconds: 1, probeTimeoutSeconds: 1, maxConcurrentProbes: 2, reconnectionSeconds: 1 } });
    const alice = store.forAgent("alice");
    await alice.addService(Array.from({ length: 16 }, (_, i) => ({ name: `hung${i}`, url: hanging, transport: "streamable-http" as const })));
    const bob = store.forAgent("bob");
    await bob.addService({ name: "fine", url: server.url }, { wait: true });
    expect(await until(async () => (await alice.listServices()).filter((service) => service.state !== "initializing").length === 16, 15_000)).toBe(true);
    // Watch bob's probes for a while: with probes taken first come, first served, each of his waited for 8 rounds
    // of alice's (16 probes of 1 s on 2 slots); taken in turn, he waits for at most one.
    const probes: number[] = [];
    const deadline = Date.now() + 7_000;
    while (Date.now() < deadline) {
      const seen = (await bob.getService("fine")).lastProbeAt;
      const at = seen === undefined ? undefined : Date.parse(seen);
      if (at !== undefined && at !== probes.at(-1)) probes.push(at);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const gaps = probes.slice(1).map((at, i) => at - probes[i]!);
    console.log(`bob's probe gaps (ms): ${gaps.join(", ")}`);
    expect(gaps.length).toBeGreaterThanOrEqual(2);
    // One health interval (1 s) plus one probe's wait (1 s) and a generous margin for a loaded machine.
    expect(Math.max(...gaps)).toBeLessThan(3_500);
  }, 40_000);
});
