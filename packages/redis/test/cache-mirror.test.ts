import { performance } from "node:perf_hooks";
import { CacheError, type JsonValue } from "@mcpstore/core";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { redisDriver, type RedisCacheDriver, type RedisDriver } from "../src/index.js";
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
  server.resume();
  await Promise.all(opened.splice(0).map((item) => item.close()));
});
afterAll(async () => {
  admin?.disconnect();
  await server?.stop();
});

function cache(namespace: string, options: { url?: string; pollIntervalMs?: number; changeLogLength?: number } = {}): RedisCacheDriver {
  const shared = redisDriver({ url: server.url, namespace, ...options });
  opened.push(shared);
  return shared.cache;
}

/** A reader whose local copy is loaded and whose hint channel is subscribed. */
async function reader(namespace: string, options: { url?: string; pollIntervalMs?: number } = {}): Promise<RedisCacheDriver> {
  const driver = cache(namespace, options);
  await driver.keys("");
  await waitUntil(() => driver.status().subscribed && !driver.status().stale, 5_000, "copy loaded and subscribed");
  return driver;
}

/** The cache hash of a namespace as Redis holds it. */
async function inRedis(namespace: string): Promise<Record<string, JsonValue>> {
  const flat = await admin.hgetall(`mcpstore:{${namespace}}:cache`);
  const keys = Object.keys(flat).sort();
  return Object.fromEntries(keys.map((key) => [key, JSON.parse(flat[key]!) as JsonValue]));
}

/** Everything a driver's local copy holds. */
async function inCopy(driver: RedisCacheDriver): Promise<Record<string, JsonValue>> {
  const keys = (await driver.keys("")).sort();
  const values = await driver.getMany(keys);
  return Object.fromEntries(keys.map((key, index) => [key, values[index]!]));
}

const sameAs = async (driver: RedisCacheDriver, namespace: string) => JSON.stringify(await inCopy(driver)) === JSON.stringify(await inRedis(namespace));

describe("the cache's local copy", () => {
  it("answers from memory with deeply frozen values, shared between reads, and sees its own writes at once", async () => {
    const namespace = freshNamespace("copy");
    const driver = cache(namespace);
    await driver.set("tools/store/a", { list: [{ name: "x" }], inner: { a: 1 } });
    const [first, second] = await Promise.all([driver.get<{ list: Array<{ name: string }> }>("tools/store/a"), driver.get("tools/store/a")]);
    expect(first).toBe(second);
    expect(Object.isFrozen(first) && Object.isFrozen(first!.list) && Object.isFrozen(first!.list[0])).toBe(true);
    // Once loaded, a read makes no round trip: Redis paused, it answers all the same.
    server.pause();
    const startedAt = performance.now();
    for (let index = 0; index < 1_000; index += 1) await driver.getMany(await driver.keys("tools/store/"));
    expect(performance.now() - startedAt).toBeLessThan(200);
    server.resume();
  });

  it("shows a write on A to B within 1 s through the hint (B polls only every 5 s): set, delete, deletePrefix", async () => {
    const namespace = freshNamespace("hint");
    const a = cache(namespace);
    const b = await reader(namespace, { pollIntervalMs: 5_000 });
    const latencies: number[] = [];
    const timeUntil = async (check: () => Promise<boolean>) => {
      const startedAt = performance.now();
      await waitUntil(check, 1_000, "seen on B");
      latencies.push(performance.now() - startedAt);
    };
    for (let index = 0; index < 20; index += 1) {
      await a.set(`tools/store/s${index}`, [{ name: `t${index}` }]);
      await timeUntil(async () => JSON.stringify(await b.get(`tools/store/s${index}`)) === JSON.stringify([{ name: `t${index}` }]));
    }
    await a.delete("tools/store/s0");
    await timeUntil(async () => (await b.get("tools/store/s0")) === undefined);
    await a.deletePrefix("tools/store/s1");
    await timeUntil(async () => (await b.keys("tools/store/")).length === 8);
    latencies.sort((x, y) => x - y);
    console.log(`A → B through the hint over ${latencies.length} writes: p50 ${latencies[11]!.toFixed(1)} ms, max ${latencies.at(-1)!.toFixed(1)} ms`);
    expect(await sameAs(b, namespace)).toBe(true);
  });

  it("converges within 5 s when B's subscription dies silently (the socket stalls, nothing is closed)", async () => {
    const namespace = freshNamespace("silent");
    const proxy = await startTcpProxy(server.port);
    opened.push(proxy);
    const b = await reader(namespace, { url: proxy.url });
    proxy.stall("subscribers");
    const a = cache(namespace);
    const startedAt = Date.now();
    await a.set("service/store/unheard", { name: "unheard" });
    await waitUntil(async () => (await b.get("service/store/unheard")) !== undefined, 5_000, "converged");
    console.log(`B converged ${Date.now() - startedAt} ms after a write, its pub/sub silently dead`);
    // Nothing told B its subscription was gone: the poll of the cache version found the change.
    expect(b.status()).toMatchObject({ subscribed: true, stale: false });
    proxy.restore();
  });

  it("reloads in full after CLIENT KILL TYPE pubsub, and hints work again once it re-subscribed", async () => {
    const namespace = freshNamespace("kill");
    const b = await reader(namespace);
    const a = cache(namespace);
    expect(Number(await admin.call("CLIENT", "KILL", "TYPE", "pubsub"))).toBeGreaterThanOrEqual(1);
    await a.set("k1", 1);
    await waitUntil(async () => (await b.get("k1")) === 1, 5_000, "converged after the kill");
    await waitUntil(() => b.status().subscribed, 5_000, "subscribed again");
    await a.set("k2", 2);
    await waitUntil(async () => (await b.get("k2")) === 2, 1_000, "hint after re-subscribing");
  });

  it("reloads the whole cache when the change log no longer reaches back (a gap), and follows the log again after", async () => {
    const namespace = freshNamespace("gap");
    const a = cache(namespace, { changeLogLength: 3 });
    await a.set("x", 1);
    await a.set("svc/1", 1);
    const proxy = await startTcpProxy(server.port);
    opened.push(proxy);
    const b = await reader(namespace, { url: proxy.url });
    proxy.stall("all");
    await a.delete("x");
    await a.set("svc/2", 2);
    await a.deletePrefix("svc/");
    await a.set("y", { changed: true });
    await a.set("z", [1]);
    await sleep(300);
    expect(await b.get("x")).toBe(1);
    proxy.restore();
    await waitUntil(() => sameAs(b, namespace), 5_000, "reloaded");
    expect(await inCopy(b)).toEqual({ y: { changed: true }, z: [1] });
    await a.set("after", "gap");
    await waitUntil(async () => (await b.get("after")) === "gap", 2_000, "follows the log again");
  });

  it("two instances writing the same keys at once both converge to what Redis holds", async () => {
    const namespace = freshNamespace("race");
    const [a, b] = [cache(namespace), cache(namespace)];
    let seed = 42;
    const random = (below: number) => ((seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648), seed % below);
    const writes = (driver: RedisCacheDriver, name: string) =>
      Array.from({ length: 150 }, (_, index) => {
        const key = `tools/${random(3)}/${random(5)}`;
        const roll = random(10);
        if (roll < 7) return driver.set(key, { by: name, index });
        if (roll < 9) return driver.delete(key);
        return driver.deletePrefix(`tools/${random(3)}/`);
      });
    await Promise.all([...writes(a, "a"), ...writes(b, "b")]);
    await waitUntil(async () => (await sameAs(a, namespace)) && (await sameAs(b, namespace)), 3_000, "both copies equal Redis");
  });

  it("Redis stopped (SIGSTOP): B answers from its copy within a few ms and says stale; Redis back: fresh again", async () => {
    const namespace = freshNamespace("stop");
    const a = cache(namespace);
    const b = await reader(namespace);
    const tools = Array.from({ length: 100 }, (_, index) => ({ name: `tool_${index}`, description: "d", inputSchema: { type: "object" } }));
    await a.set("tools/store/big", tools);
    await waitUntil(async () => (await b.get("tools/store/big")) !== undefined, 1_000, "B has it");

    server.pause();
    const pausedAt = Date.now();
    let slowestMs = 0;
    while (!b.status().stale) {
      if (Date.now() - pausedAt > 3_000) throw new Error(`not stale 3 s after SIGSTOP: ${JSON.stringify(b.status())}`);
      const startedAt = performance.now();
      const values = await b.getMany(await b.keys("tools/store/"));
      slowestMs = Math.max(slowestMs, performance.now() - startedAt);
      expect(values).toEqual([tools]);
      await sleep(5);
    }
    console.log(`stale ${Date.now() - pausedAt} ms after SIGSTOP (${JSON.stringify(b.status())}); slowest read meanwhile ${slowestMs.toFixed(2)} ms`);
    const staleRead = performance.now();
    expect(await b.get("tools/store/big")).toEqual(tools);
    slowestMs = Math.max(slowestMs, performance.now() - staleRead);
    expect(slowestMs).toBeLessThan(20);
    // Writes still fail as the contract says, and are not in the copy.
    const failed = await a.set("tools/store/during", []).catch((error: unknown) => error);
    expect(CacheError.isInstance(failed)).toBe(true);
    expect(await a.get("tools/store/during")).toBeUndefined();

    server.resume();
    await waitUntil(() => !b.status().stale, 3_000, "fresh again");
    await a.set("tools/store/after", [{ name: "after" }]);
    await waitUntil(async () => (await b.get("tools/store/after")) !== undefined, 1_000, "B follows again");
    // The set that timed out while Redis was paused ran when it went on: both copies learn it from the log.
    await waitUntil(async () => (await sameAs(a, namespace)) && (await sameAs(b, namespace)), 3_000, "both equal Redis");
  });
});
