import type { DesiredStateEvent } from "@mcpstore/core";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { redisDriver, type RedisDesiredStateEvent, type RedisDriver } from "../src/index.js";
import { freshNamespace, sleep, waitUntil } from "./helpers.js";
import { startRedisServer, type RedisServer } from "./redis-server.js";
import { startTcpProxy, type TcpProxy } from "./tcp-proxy.js";

let server: RedisServer;
let admin: Redis;
const opened: Array<RedisDriver | TcpProxy> = [];
beforeAll(async () => {
  server = await startRedisServer();
  admin = new Redis(server.url);
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((item) => item.close()));
});
afterAll(async () => {
  admin?.disconnect();
  await server?.stop();
});

const remote = (name: string, description?: string) => ({ name, url: `http://127.0.0.1:9/${name}`, ...(description ? { description } : {}) });

function driver(options: { url?: string; namespace: string; pollIntervalMs?: number; changeLogLength?: number }): RedisDriver {
  const created = redisDriver({ url: server.url, ...options });
  opened.push(created);
  return created;
}

/** A reader whose feed has its baseline and its subscription. */
async function reader(namespace: string, url = server.url, pollIntervalMs?: number) {
  const shared = driver({ url, namespace, ...(pollIntervalMs ? { pollIntervalMs } : {}) });
  const events: RedisDesiredStateEvent[] = [];
  shared.desiredState.subscribe((event) => events.push(event));
  await waitUntil(() => shared.desiredState.feedStatus().subscribed && shared.desiredState.feedStatus().version !== undefined, 5_000, "feed subscribed");
  return { shared, events, has: (version: number) => events.some((event) => event.version >= version) };
}

describe("the change feed", () => {
  it("delivers another instance's change within 500 ms with pub/sub healthy (polling only every 5 s)", async () => {
    const namespace = freshNamespace("hint");
    const { events } = await reader(namespace, server.url, 5_000);
    const writer = driver({ namespace }).desiredState;
    const latencies: number[] = [];
    for (let index = 0; index < 20; index += 1) {
      const startedAt = Date.now();
      const { version } = await writer.apply([{ op: "put", config: remote(`s${index}`) }], { origin: "writer" });
      latencies.push(await waitUntil(() => events.some((event) => event.version === version), 2_000, `version ${version}`).then(() => Date.now() - startedAt));
    }
    latencies.sort((a, b) => a - b);
    console.log(`hint latency over 20 changes: p50 ${latencies[10]} ms, max ${latencies[19]} ms`);
    expect(latencies[19]).toBeLessThan(500);
    expect(events.map((event) => event.version)).toEqual(Array.from({ length: 20 }, (_, index) => index + 1));
    expect(events.every((event) => event.origin === "writer")).toBe(true);
  });

  it("converges within 5 s after CLIENT KILL TYPE pubsub and a change by another connection", async () => {
    const namespace = freshNamespace("kill");
    const { shared, events } = await reader(namespace);
    const writer = driver({ namespace }).desiredState;
    const killed = Number(await admin.call("CLIENT", "KILL", "TYPE", "pubsub"));
    expect(killed).toBeGreaterThanOrEqual(1);
    const startedAt = Date.now();
    const { version } = await writer.apply([{ op: "put", config: remote("after-kill") }]);
    await waitUntil(() => events.some((event) => event.version === version), 5_000, "converged");
    console.log(`converged ${Date.now() - startedAt} ms after CLIENT KILL TYPE pubsub`);
    expect(events.at(-1)?.changes).toEqual([{ op: "put", config: remote("after-kill") }]);
    // It subscribed again by itself, and hints work again.
    await waitUntil(() => shared.desiredState.feedStatus().subscribed, 5_000, "subscribed again");
    const next = await writer.apply([{ op: "delete", name: "after-kill" }]);
    await waitUntil(() => events.some((event) => event.version === next.version), 1_000, "next change");
  });

  it("converges within 5 s when its subscription dies silently (the socket stalls, nothing is closed)", async () => {
    const namespace = freshNamespace("silent");
    const proxy = await startTcpProxy(server.port);
    opened.push(proxy);
    const { shared, events } = await reader(namespace, proxy.url);
    proxy.stall("subscribers");
    const writer = driver({ namespace }).desiredState;
    const startedAt = Date.now();
    const { version } = await writer.apply([{ op: "put", config: remote("unheard") }]);
    await waitUntil(() => events.some((event) => event.version === version), 5_000, "converged");
    console.log(`converged ${Date.now() - startedAt} ms after a silent loss of pub/sub`);
    // The subscriber noticed nothing: only the poll of the version brought the change.
    expect(shared.desiredState.feedStatus().subscribed).toBe(true);
    proxy.restore();
  });

  it("resyncs from a snapshot when the change log no longer reaches back (a version gap), delivering the net difference", async () => {
    const namespace = freshNamespace("gap");
    const writer = driver({ namespace, changeLogLength: 3 }).desiredState;
    await writer.apply([{ op: "put", config: remote("x") }, { op: "put", config: remote("y") }]);
    const proxy = await startTcpProxy(server.port);
    opened.push(proxy);
    const { events } = await reader(namespace, proxy.url);
    proxy.stall("all");
    await writer.apply([{ op: "delete", name: "x" }]);
    await writer.apply([{ op: "put", config: remote("y", "changed") }]);
    await writer.apply([{ op: "put", config: remote("z") }]);
    await writer.apply([{ op: "put", agentId: "alice", config: remote("w") }]);
    await writer.apply([{ op: "put", config: remote("v") }, { op: "delete", name: "v" }]);
    await sleep(300);
    proxy.restore();
    await waitUntil(() => events.some((event) => event.version === 6), 5_000, "resynced");
    expect(events).toHaveLength(1);
    const [event] = events as [RedisDesiredStateEvent];
    expect(event.resync).toBe(true);
    const byName = (change: DesiredStateEvent["changes"][number]) => (change.op === "put" ? change.config.name : change.name);
    expect([...event.changes].sort((a, b) => byName(a).localeCompare(byName(b)))).toEqual([
      { op: "put", agentId: "alice", config: remote("w") },
      { op: "delete", name: "x" },
      { op: "put", config: remote("y", "changed") },
      { op: "put", config: remote("z") },
    ]);
    // And it follows the log again afterwards.
    await writer.apply([{ op: "delete", name: "z" }]);
    await waitUntil(() => events.some((event) => event.version === 7), 5_000, "next change");
    expect(events.at(-1)).toEqual({ version: 7, changes: [{ op: "delete", name: "z" }] });
  });
});
