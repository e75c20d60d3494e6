import { MCPStore, MemoryCacheDriver, type JsonValue } from "@mcpstore/core";
import { startHttpFixture } from "@mcpstore/testing";
import { describe, expect, it } from "vitest";
import { createApp, serve } from "../src/index.js";
import { DetailedHealthResponse, HealthResponse } from "../src/schemas.js";
import { ADMIN_TOKEN, TOKENS, send, silentLogger } from "./helpers.js";

describe("health endpoints when something is wrong", () => {
  it("/health/detailed is a 200 with status unhealthy and the failing service when one does not answer, as the seed", async () => {
    const remote = await startHttpFixture();
    const store = await MCPStore.setupStore({ mcpConfigFile: false, logger: silentLogger, monitoring: { maxReconnectAttempts: 1 } });
    try {
      await using server = await serve(createApp(store, { tokens: TOKENS, logger: silentLogger }), { port: 0 });
      await store.forStore().addService({ name: "remote", url: remote.url });
      await store.forStore().waitService("remote");
      const healthy = await send(server.url, "/health/detailed", { token: ADMIN_TOKEN });
      expect(healthy.status).toBe(200);
      expect(DetailedHealthResponse.parse(healthy.json)).toMatchObject({ status: "healthy", details: { success: true } });

      await remote.close();
      const response = await send(server.url, "/health/detailed", { token: ADMIN_TOKEN });
      // The check ran: 200, and the body says what it found (the seed's {"status": "unhealthy", "timestamp", "details"}).
      expect(response.status).toBe(200);
      const body = DetailedHealthResponse.parse(response.json);
      expect(Object.keys(body).sort()).toEqual(["details", "status", "timestamp"]);
      expect(body.status).toBe("unhealthy");
      expect(Number.isNaN(Date.parse(body.timestamp))).toBe(false);
      expect(body.details?.success).toBe(false);
      expect(body.details?.services).toEqual([expect.objectContaining({ name: "remote", healthy: false })]);
      // The liveness probe still answers: the store itself is fine.
      expect((await send(server.url, "/health")).status).toBe(200);
    } finally {
      await store.close();
      await remote.close();
    }
  });

  it("/health/detailed is a 503 only when the check itself fails (here: the store is closed)", async () => {
    const store = await MCPStore.setupStore({ mcpConfigFile: false, logger: silentLogger });
    await using server = await serve(createApp(store, { tokens: TOKENS, logger: silentLogger }), { port: 0 });
    await store.close();
    const response = await send(server.url, "/health/detailed", { token: ADMIN_TOKEN });
    expect(response.status).toBe(503);
    const body = DetailedHealthResponse.parse(response.json);
    expect(body).toMatchObject({ status: "unhealthy", error: { code: "STORE_CLOSED" } });
    expect(body.details).toBeUndefined();
  });

  it("/health is a 503 when the store cannot read its catalogue", async () => {
    let failing = false;
    class FlakyCache extends MemoryCacheDriver {
      override async keys(prefix: string): Promise<string[]> {
        if (failing) throw new Error("cache is down (with an internal detail)");
        return super.keys(prefix);
      }
      override async getMany<T extends JsonValue>(keys: readonly string[]): Promise<Array<T | undefined>> {
        if (failing) throw new Error("cache is down (with an internal detail)");
        return super.getMany<T>(keys);
      }
    }
    const store = await MCPStore.setupStore({ mcpConfigFile: false, logger: silentLogger, cache: new FlakyCache() });
    try {
      await using server = await serve(createApp(store, { tokens: TOKENS, logger: silentLogger }), { port: 0 });
      expect((await send(server.url, "/health")).status).toBe(200);
      failing = true;
      const response = await send(server.url, "/health");
      expect(response.status).toBe(503);
      const body = HealthResponse.parse(response.json);
      // A failing cache is a typed CACHE_ERROR naming the driver and the operation, never the driver's own message.
      expect(body).toMatchObject({ status: "unhealthy", error: { code: "CACHE_ERROR", message: expect.stringMatching(/^Cache driver "memory" failed on \w+/) } });
      expect(response.text).not.toContain("internal detail");
    } finally {
      failing = false;
      await store.close();
    }
  });
});
