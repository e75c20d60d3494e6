import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { cleanups, createTestStore, storeWith, until } from "./helpers.js";

// A service's `timeout` bounds the whole connection attempt, the transport's start included.

describe("connecting within the service's timeout", () => {
  it("gives up on an SSE server that never sends its endpoint event", async () => {
    const held: Array<() => void> = [];
    const server: Server = createServer((request, response) => {
      // Opens the event stream and then says nothing: the client waits for an `endpoint` event that never comes.
      response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
      response.write(": hello\n\n");
      held.push(() => response.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    cleanups.push(async () => {
      for (const release of held) release();
      await new Promise((resolve) => server.close(resolve));
    });
    const port = (server.address() as AddressInfo).port;
    const store = await storeWith({ connectTimeoutMs: 60_000, monitoring: { enableReconnection: false } });
    const context = store.forStore();
    const started = Date.now();
    await context.addService({ name: "mute-sse", url: `http://127.0.0.1:${port}/sse`, transport: "sse", timeout: 1 });
    expect(await until(async () => (await context.getService("mute-sse")).state !== "initializing", 8_000)).toBe(true);
    const info = await context.getService("mute-sse");
    expect(info.state).toBe("unreachable");
    expect(info.lastError).toMatch(/timed out/i);
    expect(Date.now() - started).toBeLessThan(6_000);
  });
});

describe("closing during a connection attempt", () => {
  it("never waits for the connect timeout, whatever stage the attempt is at (40 add/close cycles on a closed port)", async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const slow: Array<{ cycle: number; ms: number }> = [];
    for (let cycle = 0; cycle < 40; cycle++) {
      const store = await createTestStore({ connectTimeoutMs: 60_000, monitoring: { reconnectionSeconds: 0.2 } });
      // Automatic transport: Streamable HTTP, refused, then the SSE fallback, then reconnects: close lands anywhere.
      await store.forStore().addService({ name: "refused", url: `http://127.0.0.1:${port}/mcp` });
      await new Promise((resolve) => setTimeout(resolve, (cycle * 37) % 400));
      const started = Date.now();
      await store.close();
      if (Date.now() - started > 2_000) slow.push({ cycle, ms: Date.now() - started });
    }
    expect(slow).toEqual([]);
  }, 120_000);
});
