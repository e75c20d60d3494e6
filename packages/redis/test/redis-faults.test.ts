import { CacheError } from "@mcpstore/core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { redisDriver, SharedStateUnavailableError, type LeaseEvent, type RedisDriver } from "../src/index.js";
import { freshNamespace, sleep, waitUntil } from "./helpers.js";
import { startRedisServer, type RedisServer } from "./redis-server.js";

let server: RedisServer;
const opened: RedisDriver[] = [];
beforeAll(async () => {
  server = await startRedisServer();
});
afterEach(async () => {
  server.resume();
  await Promise.all(opened.splice(0).map((shared) => shared.close()));
});
afterAll(async () => {
  await server?.stop();
});

const remote = (name: string) => ({ name, url: `http://127.0.0.1:9/${name}` });
const TIMEOUT_MS = 500;
// What a rejection may take past the timeout on a loaded 2-core machine.
const SLACK_MS = 300;

function driver(namespace = freshNamespace("faults"), url = server.url): RedisDriver {
  const shared = redisDriver({ url, namespace, operationTimeoutMs: TIMEOUT_MS });
  opened.push(shared);
  return shared;
}

/** How `work` settled and how long it took. */
async function timed(work: () => Promise<unknown>): Promise<{ error: unknown; ms: number }> {
  const startedAt = Date.now();
  try {
    await work();
    return { error: undefined, ms: Date.now() - startedAt };
  } catch (error) {
    return { error, ms: Date.now() - startedAt };
  }
}

describe("Redis faults", () => {
  it("Redis paused for 2 s: every operation but a cache read fails with its typed error within its timeout, then the same driver works again", async () => {
    const shared = driver();
    const { desiredState, cache } = shared;
    const events: number[] = [];
    desiredState.subscribe((event) => events.push(event.version));
    await desiredState.apply([{ op: "put", config: remote("before") }]);
    await cache.set("tools/a", { name: "a" });
    await waitUntil(() => events.includes(1), 2_000, "first event");

    server.pause();
    const pausedAt = Date.now();
    const desired = await Promise.all([
      timed(() => desiredState.apply([{ op: "put", config: remote("during") }])),
      timed(() => desiredState.load()),
      timed(() => desiredState.get(undefined, "before")),
      timed(() => desiredState.version()),
      timed(() => shared.ready()),
    ]);
    const cached = await Promise.all([timed(() => cache.set("tools/b", 1)), timed(() => cache.deletePrefix("nothing/"))]);
    for (const outcome of desired) {
      expect(SharedStateUnavailableError.isInstance(outcome.error), String(outcome.error)).toBe(true);
      expect(outcome.error).toMatchObject({ code: "SHARED_STATE_UNAVAILABLE", details: { timeoutMs: TIMEOUT_MS, target: `127.0.0.1:${server.port}` } });
      expect(outcome.ms).toBeLessThan(TIMEOUT_MS + SLACK_MS);
    }
    expect((desired[0]!.error as SharedStateUnavailableError).details?.outcome).toBe("not-applied");
    for (const outcome of cached) {
      expect(CacheError.isInstance(outcome.error), String(outcome.error)).toBe(true);
      expect(SharedStateUnavailableError.isInstance((outcome.error as CacheError).cause)).toBe(true);
      expect(outcome.ms).toBeLessThan(TIMEOUT_MS + SLACK_MS);
    }
    // Reads are answered from the local copy: what was last synced, at once.
    const read = await timed(async () => expect(await cache.getMany(["tools/a", "tools/b"])).toEqual([{ name: "a" }, undefined]));
    expect(read).toMatchObject({ error: undefined });
    expect(read.ms).toBeLessThan(50);
    await sleep(2_000 - (Date.now() - pausedAt));
    server.resume();

    // The same driver, no re-creation: it answers again at once, and the apply that timed out never landed.
    await waitUntil(async () => (await desiredState.version().catch(() => -1)) >= 0, 2_000, "answers again");
    expect(await desiredState.get(undefined, "during")).toBeUndefined();
    expect(await desiredState.version()).toBe(1);
    expect((await desiredState.apply([{ op: "put", config: remote("after") }])).version).toBe(2);
    expect(await cache.get("tools/a")).toEqual({ name: "a" });
    // The five operations above left the circuit open (see circuit-breaker.ts): the set was refused unsent, so it
    // never lands; a set sent before the circuit opened would have outcome "unknown" and land when Redis went on.
    expect(((cached[0]!.error as CacheError).cause as SharedStateUnavailableError).details).toMatchObject({ circuit: "open", outcome: "not-applied" });
    await sleep(1_500);
    expect(await cache.get("tools/b")).toBeUndefined();
    expect((await cache.keys("tools/")).sort()).toEqual(["tools/a"]);
    await waitUntil(() => events.includes(2), 5_000, "the feed goes on");
    expect(events).toEqual([1, 2]);
  });

  it("Redis down at start-up: ready() and every operation fail with the typed error naming where Redis was expected", async () => {
    const down = await startRedisServer();
    const url = down.url;
    await down.stop();
    const shared = driver(freshNamespace("down"), url);
    const ready = await timed(() => shared.ready());
    expect(ready.error).toMatchObject({ code: "SHARED_STATE_UNAVAILABLE", message: expect.stringContaining(`127.0.0.1:${down.port}`) });
    expect(ready.ms).toBeLessThan(TIMEOUT_MS + SLACK_MS);
    const apply = await timed(() => shared.desiredState.apply([{ op: "put", config: remote("a") }]));
    expect(apply.error).toMatchObject({ code: "SHARED_STATE_UNAVAILABLE" });
    expect(apply.ms).toBeLessThan(TIMEOUT_MS + SLACK_MS);
    // No local copy of the cache to answer from yet: a read fails like a write.
    const read = await timed(() => shared.cache.get("tools/a"));
    expect(CacheError.isInstance(read.error), String(read.error)).toBe(true);
    expect(SharedStateUnavailableError.isInstance((read.error as CacheError).cause)).toBe(true);
    expect(read.ms).toBeLessThan(TIMEOUT_MS + SLACK_MS);
    expect(shared.cache.status().stale).toBe(true);
  });

  it("a lease holder whose Redis stops answering for longer than the TTL counts the lease lost, then gets it back", async () => {
    const shared = driver();
    const lease = shared.lease({ role: "config", ttlMs: 1_000, renewIntervalMs: 250, retryIntervalMs: 100 });
    const events: LeaseEvent[] = [];
    lease.subscribe((event) => events.push(event));
    const first = await lease.acquire();
    server.pause();
    const pausedAt = Date.now();
    await waitUntil(() => events.some((event) => event.type === "lease:lost"), 3_000, "lost");
    const lostAfterMs = Date.now() - pausedAt;
    expect(events.find((event) => event.type === "lease:lost")).toMatchObject({ reason: "expired", fence: first.fence });
    expect(lease.held).toBeUndefined();
    expect(lostAfterMs).toBeLessThan(1_000 + TIMEOUT_MS + SLACK_MS);
    await sleep(Math.max(0, 2_000 - (Date.now() - pausedAt)));
    server.resume();
    const again = await waitUntil(() => lease.held !== undefined, 3_000, "reacquired").then(() => lease.held!);
    expect(again.fence).toBe(first.fence + 1);
  });
});
