import { runCacheDriverConformance, runDesiredStateDriverConformance } from "@mcpstore/core/conformance";
import { afterAll, beforeAll } from "vitest";
import { redisDriver } from "../src/index.js";
import { freshNamespace } from "./helpers.js";
import { startRedisServer, type RedisServer } from "./redis-server.js";

let server: RedisServer;
beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  await server?.stop();
});

// Each test gets its own namespace (an empty key space); closing the part closes the driver's connections.
runCacheDriverConformance("redis", () => redisDriver({ url: server.url, namespace: freshNamespace("cache") }).cache);
runDesiredStateDriverConformance("redis", () => redisDriver({ url: server.url, namespace: freshNamespace("desired") }).desiredState);
