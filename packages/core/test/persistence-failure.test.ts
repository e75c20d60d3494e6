import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { misbehavingFixtureConfig, processesMatching, quietLogger } from "@mcpstore/testing";
import { describe, expect, it } from "vitest";
import { MCPStore, type RegistryChange, type RegistryPersistence } from "../src/index.js";
import { cleanups } from "./helpers.js";

// A change that cannot be made durable changes nothing: no process starts, no read lists it, close() has nothing left.

describe("a change whose persistence fails", () => {
  it("starts no process and leaves nothing behind, while a remove and an add of the same name are in flight", async () => {
    let failAdds = false;
    const persistence: RegistryPersistence = {
      async apply(change: RegistryChange) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        if (failAdds && change.kind === "add") throw new Error("disk full (on purpose)");
      },
    };
    const store = await MCPStore.setupStore({ mcpConfigFile: false, persistence, logger: quietLogger });
    cleanups.push(() => store.close());
    const context = store.forStore();
    const oldMarker = `persist-old-${randomUUID()}`;
    const newMarker = `persist-new-${randomUUID()}`;
    await context.addService(misbehavingFixtureConfig("svc", { mode: "slow-exit", exitDelayMs: 300, marker: oldMarker }));
    await context.waitService("svc", { timeoutMs: 15_000 });
    failAdds = true;
    const [removed, added] = await Promise.allSettled([
      context.removeService("svc"),
      context.addService(misbehavingFixtureConfig("svc", { mode: "normal", marker: newMarker })),
    ]);
    expect(removed.status).toBe("fulfilled");
    expect(added.status).toBe("rejected");
    expect(String((added as PromiseRejectedResult).reason)).toMatch(/disk full/);
    expect(await context.listServices()).toEqual([]);
    expect(await store.getVersion()).toBe(2);
    // Nothing was started for the refused add, and the removed one is gone.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(processesMatching(newMarker)).toEqual([]);
    expect(processesMatching(oldMarker)).toEqual([]);
    await store.close();
    expect(processesMatching(newMarker)).toEqual([]);
  });

  it("a remove refused by persistence keeps the service whole; an add of the name meanwhile fails and starts nothing", async () => {
    let failRemoves = false;
    const persistence: RegistryPersistence = {
      async apply(change: RegistryChange) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        if (failRemoves && change.kind === "remove") throw new Error("read-only file system (on purpose)");
      },
    };
    const store = await MCPStore.setupStore({ mcpConfigFile: false, persistence, logger: quietLogger });
    cleanups.push(() => store.close());
    const context = store.forStore();
    const oldMarker = `persist-kept-${randomUUID()}`;
    const newMarker = `persist-leak-${randomUUID()}`;
    await context.addService(misbehavingFixtureConfig("svc", { marker: oldMarker }));
    await context.waitService("svc", { timeoutMs: 15_000 });
    failRemoves = true;
    const [removed, added] = await Promise.allSettled([
      context.removeService("svc"),
      context.addService(misbehavingFixtureConfig("svc", { marker: newMarker })),
    ]);
    expect(removed.status).toBe("rejected");
    expect(added).toMatchObject({ status: "rejected", reason: { code: "SERVICE_EXISTS" } });
    expect((await context.listServices()).map((service) => service.state)).toEqual(["healthy"]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(processesMatching(oldMarker)).toHaveLength(1);
    expect(processesMatching(newMarker)).toEqual([]);
    await store.close();
    // close() reaches every process the store started.
    expect(processesMatching(oldMarker)).toEqual([]);
    expect(processesMatching(newMarker)).toEqual([]);
  });

  it("an add refused by an unparseable config file starts nothing and keeps the file as it is", async () => {
    const directory = mkdtempSync(join(tmpdir(), "mcpstore-persist-"));
    cleanups.push(async () => rmSync(directory, { recursive: true, force: true }));
    const file = join(directory, "mcp.json");
    writeFileSync(file, '{ "mcpServers": {} }\n');
    const store = await MCPStore.setupStore({ mcpConfigFile: file, logger: quietLogger });
    cleanups.push(() => store.close());
    writeFileSync(file, "{ this is not json");
    const marker = `persist-broken-${randomUUID()}`;
    await expect(store.forStore().addService(misbehavingFixtureConfig("svc", { marker }))).rejects.toMatchObject({ code: "CONFIG_FILE_ERROR" });
    expect(await store.forStore().listServices()).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(processesMatching(marker)).toEqual([]);
  });
});
