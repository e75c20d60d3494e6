import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { redisDriver, type LeaseEvent, type RedisDriver } from "../src/index.js";
import { freshNamespace, sleep, waitUntil } from "./helpers.js";
import { startRedisServer, type RedisServer } from "./redis-server.js";

let server: RedisServer;
const opened: RedisDriver[] = [];
beforeAll(async () => {
  server = await startRedisServer();
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((shared) => shared.close()));
});
afterAll(async () => {
  await server?.stop();
});

/** Two instances on one namespace. */
function pair(): [RedisDriver, RedisDriver] {
  const namespace = freshNamespace("lease");
  const created = [redisDriver({ url: server.url, namespace }), redisDriver({ url: server.url, namespace })] as [RedisDriver, RedisDriver];
  opened.push(...created);
  return created;
}

describe("leases", () => {
  it("has one holder at a time, a greater fencing token per acquisition, and fences out the previous holder", async () => {
    const [a, b] = pair();
    const leaseA = a.lease({ role: "config" });
    const leaseB = b.lease({ role: "config" });
    const first = await leaseA.tryAcquire();
    expect(first?.fence).toBe(1);
    expect(await leaseB.tryAcquire()).toBeUndefined();
    expect(await leaseA.fencedWrite("state", "from a")).toBe(true);
    await leaseA.release();
    const second = await leaseB.tryAcquire();
    expect(second?.fence).toBe(2);
    // A holder that lost the lease but writes with its old token is refused; the new holder's write stands.
    expect(await a.fencedWrite({ role: "config", fence: 1, key: "state", value: "stale" })).toBe(false);
    expect(await leaseB.fencedWrite("state", "from b")).toBe(true);
    expect(await a.fencedWrite({ role: "config", fence: 3, key: "state", value: "forged" })).toBe(false);
    expect(await leaseB.fencedWrite("state", null)).toBe(true);
  });

  it("renews the lease past its TTL while the holder lives, and reports a takeover as lost", async () => {
    const [a, b] = pair();
    const leaseA = a.lease({ role: "probe/store/weather", ttlMs: 300, renewIntervalMs: 75 });
    const events: LeaseEvent[] = [];
    leaseA.subscribe((event) => events.push(event));
    const grant = await leaseA.tryAcquire();
    await sleep(900);
    expect(leaseA.held?.fence).toBe(grant?.fence);
    const leaseB = b.lease({ role: "probe/store/weather", ttlMs: 300, retryIntervalMs: 20 });
    expect(await leaseB.tryAcquire()).toBeUndefined();
    // The lease runs out behind A's back (as during a pause of A) and B takes it: A's next renewal finds B's token.
    const admin = new Redis(server.url);
    await admin.del(`mcpstore:{${a.namespace}}:lease:probe/store/weather`);
    admin.disconnect();
    const taken = await leaseB.acquire({ signal: AbortSignal.timeout(2_000) });
    expect(taken.fence).toBe(grant!.fence + 1);
    await waitUntil(() => events.length === 2, 1_000, "lost");
    expect(events).toEqual([
      { type: "lease:acquired", role: "probe/store/weather", fence: grant!.fence },
      { type: "lease:lost", role: "probe/store/weather", fence: grant!.fence, reason: "taken" },
    ]);
    expect(leaseA.held).toBeUndefined();
    expect(await leaseA.fencedWrite("state", "late")).toBe(false);
  });

  it("campaigns until it gets the lease, and stops on abort", async () => {
    const [a, b] = pair();
    const leaseA = a.lease({ role: "config", ttlMs: 400, renewIntervalMs: 100 });
    await leaseA.tryAcquire();
    const leaseB = b.lease({ role: "config", ttlMs: 400, retryIntervalMs: 20 });
    await expect(leaseB.acquire({ signal: AbortSignal.timeout(300) })).rejects.toThrow();
    const lost: LeaseEvent[] = [];
    leaseA.subscribe((event) => lost.push(event));
    const waiting = leaseB.acquire({ signal: AbortSignal.timeout(3_000) });
    await a.close(); // releases A's lease
    expect((await waiting).fence).toBe(2);
    expect(lost.map((event) => event.type)).toEqual(["lease:released"]);
  });

  it("validates its options", () => {
    const [a] = pair();
    expect(() => a.lease({ role: "bad role" })).toThrow(/role/);
    expect(() => a.lease({ role: "config", ttlMs: 1_000, renewIntervalMs: 1_000 })).toThrow(/shorter/);
    expect(() => a.lease({ role: "config", ttlMs: -1 })).toThrow(/ttlMs/);
  });
});
