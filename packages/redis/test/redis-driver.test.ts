import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { redisDriver, type RedisDriver } from "../src/index.js";
import { freshNamespace, sleep } from "./helpers.js";
import { startRedisServer, type RedisServer } from "./redis-server.js";

let server: RedisServer;
let admin: Redis;
const opened: RedisDriver[] = [];
beforeAll(async () => {
  server = await startRedisServer();
  admin = new Redis(server.url);
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((shared) => shared.close()));
});
afterAll(async () => {
  admin?.disconnect();
  await server?.stop();
});

const remote = (name: string) => ({ name, url: `http://127.0.0.1:9/${name}` });

function driver(namespace: string, options: { redis?: Redis } = {}): RedisDriver {
  const shared = redisDriver({ namespace, ...(options.redis ? { redis: options.redis } : { url: server.url }) });
  opened.push(shared);
  return shared;
}

describe("redisDriver", () => {
  it("keeps two namespaces on one Redis apart: they share no key, no change, no cache entry, no lease", async () => {
    const [nameA, nameB] = [freshNamespace("a"), freshNamespace("b")];
    const [a, b] = [driver(nameA), driver(nameB)];
    const eventsB: number[] = [];
    b.desiredState.subscribe((event) => eventsB.push(event.version));
    await a.desiredState.apply([{ op: "put", config: remote("only-a") }]);
    await a.desiredState.apply([{ op: "put", agentId: "alice", config: remote("only-a") }]);
    await a.cache.set("tools/store/x", { a: true });
    const leaseA = a.lease({ role: "config" });
    expect((await leaseA.tryAcquire())?.fence).toBe(1);
    expect(await leaseA.fencedWrite("state", "a")).toBe(true);

    const leaseB = b.lease({ role: "config" });
    expect((await leaseB.tryAcquire())?.fence).toBe(1);
    expect(await b.desiredState.load()).toEqual({ version: 0, services: [] });
    expect(await b.desiredState.get(undefined, "only-a")).toBeUndefined();
    expect(await b.cache.keys("")).toEqual([]);
    await b.cache.set("tools/store/x", { b: true });
    await b.cache.deletePrefix("");
    expect(await a.cache.get("tools/store/x")).toEqual({ a: true });
    await sleep(1_200); // more than one poll interval
    expect(eventsB).toEqual([]);

    const keys = await admin.keys("*");
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.filter((key) => !key.startsWith(`mcpstore:{${nameA}}:`) && !key.startsWith(`mcpstore:{${nameB}}:`))).toEqual([]);
    // B's cache is empty again; its version and change log stay (a cache version never goes back).
    expect(keys.filter((key) => key.startsWith(`mcpstore:{${nameB}}:`)).sort()).toEqual(
      ["cache-changes", "cache-version", "fence:config", "lease:config"].map((name) => `mcpstore:{${nameB}}:${name}`),
    );
  });

  it("refuses a namespace that could run into another's keys", () => {
    for (const namespace of ["", "a}b", "a:b", "a b", "x".repeat(101)]) {
      expect(() => redisDriver({ url: server.url, namespace })).toThrow(expect.objectContaining({ code: "VALIDATION_ERROR" }));
    }
    expect(() => redisDriver({ url: server.url, namespace: "ok", pollIntervalMs: 6_000 })).toThrow(/pollIntervalMs/);
  });

  it("copies an existing connection's settings and leaves that connection alone", async () => {
    const mine = new Redis(server.url);
    try {
      const shared = driver(freshNamespace("copy"), { redis: mine });
      await shared.desiredState.apply([{ op: "put", config: remote("a") }]);
      await shared.close();
      expect(mine.status).toBe("ready");
      expect(await mine.ping()).toBe("PONG");
    } finally {
      mine.disconnect();
    }
  });

  it("closes its connections when every part taken is closed (as the store closes them)", async () => {
    const before = await clientCount();
    const shared = driver(freshNamespace("parts"));
    const { desiredState, cache } = shared;
    desiredState.subscribe(() => undefined);
    await desiredState.apply([{ op: "put", config: remote("a") }]);
    await cache.set("k", 1);
    await sleep(100);
    expect(await clientCount()).toBeGreaterThanOrEqual(before + 2);
    await cache.close();
    expect(await cache.get("k").catch((error: unknown) => error)).toMatchObject({ code: "CACHE_ERROR" });
    await desiredState.close();
    await sleep(100);
    expect(await clientCount()).toBe(before);
  });
});

/** The connections to the suite's Redis, less the admin connection itself. */
async function clientCount(): Promise<number> {
  const own = `id=${String(await admin.call("CLIENT", "ID"))} `;
  const list = String(await admin.call("CLIENT", "LIST"));
  return list.split("\n").filter((line) => line.startsWith("id=") && !line.startsWith(own)).length;
}
