import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshNamespace, waitUntil } from "./helpers.js";
import { LeaseWorkerProcess } from "./lease-worker-process.js";
import { startRedisServer, type RedisServer } from "./redis-server.js";

let server: RedisServer;
let redis: Redis;
const workers: LeaseWorkerProcess[] = [];
beforeAll(async () => {
  server = await startRedisServer();
  redis = new Redis(server.url);
});
afterAll(async () => {
  await Promise.all(workers.map((worker) => worker.stop()));
  redis?.disconnect();
  await server?.stop();
});

function startWorkers(namespace: string, environment: Record<string, string> = {}): [LeaseWorkerProcess, LeaseWorkerProcess] {
  const started = [0, 1].map(() => new LeaseWorkerProcess({ REDIS_URL: server.url, NAMESPACE: namespace, ...environment }));
  workers.push(...started);
  return started as [LeaseWorkerProcess, LeaseWorkerProcess];
}

/** Whoever acquires first, from message index `from` on of each worker. */
async function firstOwner(pair: readonly LeaseWorkerProcess[], timeoutMs: number) {
  return Promise.any(pair.map(async (worker) => ({ worker, ...(await worker.next((message) => message.type === "lease:acquired", 0, timeoutMs)) })));
}

describe("leases between processes", () => {
  it("200 forced handovers with the owner paused: no write with a stale fencing token is ever accepted", { timeout: 90_000 }, async () => {
    const namespace = freshNamespace("handover");
    const leaseKey = `mcpstore:{${namespace}}:lease:writer`;
    const fenceKey = `mcpstore:{${namespace}}:fence:writer`;
    const targetKey = `mcpstore:{${namespace}}:fenced:writer:target`;
    // Ground truth from Redis itself: MONITOR lists what ran, scripts' commands included, in execution order. Every SET
    // of the target must carry the fencing token of the last INCR of the counter before it.
    const monitor = await redis.monitor();
    let issued = 0;
    let accepted = 0;
    const violations: string[] = [];
    monitor.on("monitor", (_time: string, args: string[]) => {
      const [command, key, value] = [String(args[0]).toLowerCase(), args[1], args[2]];
      if (command === "incr" && key === fenceKey) issued += 1;
      if (command === "set" && key === targetKey) {
        accepted += 1;
        const fence = (JSON.parse(String(value)) as { fence: number }).fence;
        if (fence !== issued) violations.push(`write with fence ${fence} accepted while the newest was ${issued}`);
      }
    });
    const pair = startWorkers(namespace, { TTL_MS: "2000", RENEW_MS: "500", RETRY_MS: "5" });
    let { worker: owner, message } = await firstOwner(pair, 10_000);
    let fence = message.fence!;
    const staleOutcomes: boolean[] = [];
    const startedAt = Date.now();
    for (let handover = 0; handover < 200; handover += 1) {
      const next = owner === pair[0] ? pair[1] : pair[0];
      const ownerFrom = owner.messages.length;
      const nextFrom = next.messages.length;
      owner.signal("SIGSTOP");
      await redis.pexpire(leaseKey, 1); // the paused owner's lease runs out (at once, instead of after its TTL)
      const taken = await next.next((m) => m.type === "lease:acquired" && m.fence! > fence, nextFrom, 5_000);
      owner.signal("SIGCONT");
      const stale = await owner.next((m) => m.type === "stale-write", ownerFrom, 5_000);
      expect(stale.message.error).toBeUndefined();
      expect(stale.message.fence).toBe(fence);
      staleOutcomes.push(stale.message.accepted!);
      fence = taken.message.fence!;
      owner = next;
      // The new owner writes before the next handover, so that every owner's writes are in the check.
      const acceptedBefore = accepted;
      await waitUntil(() => accepted > acceptedBefore, 5_000, "a write by the new owner");
    }
    const elapsedMs = Date.now() - startedAt;
    await new Promise((resolve) => setTimeout(resolve, 100));
    monitor.disconnect();
    console.log(`200 handovers in ${elapsedMs} ms; ${accepted} fenced writes accepted, ${issued} fencing tokens issued`);
    expect(staleOutcomes).toHaveLength(200);
    expect(staleOutcomes.filter(Boolean)).toEqual([]);
    expect(violations).toEqual([]);
    expect(issued).toBe(201);
    expect(accepted).toBeGreaterThanOrEqual(200);
  });

  it("another process takes over within 10 s after the owner is killed -9 (default TTL 8 s, renewal every 2 s)", { timeout: 30_000 }, async () => {
    const namespace = freshNamespace("takeover");
    const pair = startWorkers(namespace);
    const { worker: owner, message } = await firstOwner(pair, 10_000);
    const other = owner === pair[0] ? pair[1] : pair[0];
    // Let it renew a few times first: the TTL counts from its last renewal, not from the acquisition.
    await new Promise((resolve) => setTimeout(resolve, 4_500));
    const from = other.messages.length;
    const killedAt = Date.now();
    owner.signal("SIGKILL");
    const taken = await other.next((m) => m.type === "lease:acquired", from, 12_000);
    const takeoverMs = Date.now() - killedAt;
    console.log(`takeover ${takeoverMs} ms after kill -9`);
    expect(taken.message.fence).toBe(message.fence! + 1);
    expect(takeoverMs).toBeLessThan(10_000);
  });
});
