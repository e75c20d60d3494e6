import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redisDriver, SharedStateUnavailableError } from "../src/index.js";
import { freshNamespace, waitUntil } from "./helpers.js";
import { startRedisServer, type RedisServer } from "./redis-server.js";

let server: RedisServer;
beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  server?.resume();
  await server?.stop();
});

const remote = (name: string) => ({ name, url: `http://127.0.0.1:9/${name}` });

describe("circuit breaker", () => {
  it("after three operations without an answer, fails the next ones at once, unsent; one probe closes it when Redis is back", async () => {
    const shared = redisDriver({ url: server.url, namespace: freshNamespace("breaker"), operationTimeoutMs: 400, pollIntervalMs: 5_000 });
    try {
      const desired = shared.desiredState;
      await desired.apply([{ op: "put", config: remote("before") }]);
      server.pause();
      try {
        // Three in a row time out (each waits its 400 ms)...
        for (let i = 0; i < 3; i++) await expect(desired.version()).rejects.toSatisfy(SharedStateUnavailableError.isInstance);
        // ...then the circuit is open: the next write fails at once, is never sent, and says so.
        const started = performance.now();
        const error = await desired.apply([{ op: "put", config: remote("while-open") }]).catch((caught: unknown) => caught);
        const took = performance.now() - started;
        console.log(`a write while the circuit is open failed in ${took.toFixed(1)} ms`);
        expect(took).toBeLessThan(100);
        expect(SharedStateUnavailableError.isInstance(error)).toBe(true);
        expect((error as SharedStateUnavailableError).details).toMatchObject({ circuit: "open", outcome: "not-applied" });
      } finally {
        server.resume();
      }
      // Back: after the open time one probe goes through, and everything works again; the refused write never landed.
      await waitUntil(async () => desired.version().then(() => true, () => false), 5_000, "Redis answering again");
      const { services } = await desired.load();
      expect(services.map((service) => service.config.name)).toEqual(["before"]);
      await desired.apply([{ op: "put", config: remote("after") }]);
    } finally {
      await shared.close();
    }
  }, 30_000);
});
