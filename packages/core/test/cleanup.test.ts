import { afterEach, describe, expect, it } from "vitest";
import { Catalogue } from "../src/catalogue/catalogue.js";
import { MemoryCacheDriver, type CacheDriver, type ServiceInfo } from "../src/index.js";
import { pruneRemovedServices } from "../src/catalogue/prune-removed-services.js";
import { createTestStore } from "./helpers.js";

// cleanupHours: what the store keeps about removed services is pruned.

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** A memory driver that survives its store's close(), as a Redis cache shared by several stores does. */
function sharedDriver(): CacheDriver {
  const driver = new MemoryCacheDriver();
  return Object.assign(Object.create(driver) as CacheDriver, { close: async () => undefined });
}

const record = (name: string, state: ServiceInfo["state"], stateChangedAt: string) =>
  ({ name, state, stateChangedAt, addedAt: stateChangedAt, transport: "stdio", config: { name }, toolCount: 0, attempts: 0, toolNameCollisions: [] }) as ServiceInfo;

describe("pruneRemovedServices", () => {
  it("prunes old disconnected records of services the store does not have, with their lists, and nothing else", async () => {
    const catalogue = new Catalogue(new MemoryCacheDriver());
    const now = Date.parse("2026-01-02T00:00:00Z");
    const old = "2026-01-01T00:00:00Z";
    const recent = "2026-01-01T23:30:00Z";
    const lists = { tools: [], resources: [], prompts: [] };
    await catalogue.writeService("store", record("gone", "disconnected", old));
    await catalogue.writeCatalogue("store", "gone", lists);
    await catalogue.writeService("agent.a1", record("gone-too", "disconnected", old));
    await catalogue.writeService("store", record("just-gone", "disconnected", recent));
    await catalogue.writeService("store", record("elsewhere", "unreachable", old));
    await catalogue.writeService("store", record("mine", "disconnected", old));
    await catalogue.writeCatalogue("store", "orphan-lists", lists);
    const pruned = await pruneRemovedServices({
      catalogue,
      isRegistered: (scope, name) => scope === "store" && name === "mine",
      olderThanMs: 3_600_000,
      now,
    });
    expect(pruned.sort()).toEqual(["agent.a1/gone-too", "store/gone", "store/orphan-lists"]);
    expect((await catalogue.listServices("store")).map((service) => service.name).sort()).toEqual(["elsewhere", "just-gone", "mine"]);
    expect(await catalogue.driver.keys("tools/store/gone")).toEqual([]);
    expect(await catalogue.driver.keys("prompts/store/orphan-lists")).toEqual([]);
  });
});

describe("cleanupHours", () => {
  it("prunes, on its cycle, the records a closed store left in a shared cache", async () => {
    const cache = sharedDriver();
    const first = await createTestStore({ cache, monitoring: { enableReconnection: false } });
    await first.forStore().addService({ name: "left-behind", url: "http://127.0.0.1:9/mcp", transport: "streamable-http" });
    await first.forStore().waitService("left-behind", { state: "unreachable" });
    await first.close();

    // 0.0002 hours: 720 ms.
    const second = await createTestStore({ cache, monitoring: { cleanupHours: 0.0002, enableReconnection: false } });
    cleanups.push(() => second.close());
    await second.forStore().addService({ name: "current", url: "http://127.0.0.1:9/mcp", transport: "streamable-http" });
    expect((await second.forStore().listServices()).map((service) => [service.name, service.state])).toEqual([
      ["left-behind", "disconnected"],
      ["current", expect.any(String)],
    ]);
    const deadline = Date.now() + 5000;
    while ((await second.forStore().listServices()).length > 1 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await second.forStore().listServices()).map((service) => service.name)).toEqual(["current"]);
  });
});
