import { stdioFixtureConfig } from "@mcpstore/testing";
import { describe, expect, it } from "vitest";
import { runDesiredStateDriverConformance } from "../src/conformance.js";
import { MemoryDesiredState, type StoreEventRecord } from "../src/index.js";
import { storeWith } from "./helpers.js";

runDesiredStateDriverConformance("memory", () => new MemoryDesiredState());

const remote = (name: string) => ({ name, url: "http://127.0.0.1:9/mcp", transport: "streamable-http" as const });

describe("the store's desired state", () => {
  it("grows the version by one per accepted change, and not for refused ones", async () => {
    const store = await storeWith({ monitoring: { enableReconnection: false } });
    const context = store.forStore();
    expect(await store.getVersion()).toBe(0);
    await context.addService([remote("a"), remote("b")]);
    expect(await store.getVersion()).toBe(1);
    await expect(context.addService(remote("a"))).rejects.toMatchObject({ code: "SERVICE_EXISTS" });
    await expect(context.removeService("nope")).rejects.toMatchObject({ code: "SERVICE_NOT_FOUND" });
    await expect(context.patchService("a", { url: "not a url" })).rejects.toMatchObject({ code: "VALIDATION_ERROR" });
    expect(await store.getVersion()).toBe(1);
    await context.patchService("a", { description: "x" });
    await store.forAgent("alice").addService(remote("a"));
    await context.removeService("b");
    expect(await store.getVersion()).toBe(4);
  });

  it("follows changes another writer makes to a shared driver: adds, updates and removes them here", async () => {
    const shared = new MemoryDesiredState();
    const store = await storeWith({ desiredState: shared, monitoring: { enableReconnection: false } });
    await shared.apply([{ op: "put", config: remote("elsewhere") }], { origin: "another-instance" });
    const context = store.forStore();
    await expect.poll(async () => (await context.listServices()).map((service) => service.name)).toEqual(["elsewhere"]);
    await shared.apply([{ op: "put", config: { ...remote("elsewhere"), description: "changed" } }], { origin: "another-instance" });
    await expect.poll(async () => (await context.getService("elsewhere")).config.description).toBe("changed");
    await shared.apply([{ op: "delete", name: "elsewhere" }], { origin: "another-instance" });
    await expect.poll(async () => (await context.listServices()).length).toBe(0);
  });

  it("starts the services a shared driver already holds", async () => {
    const shared = new MemoryDesiredState();
    await shared.apply([{ op: "put", agentId: "alice", config: stdioFixtureConfig("fx") }]);
    const store = await storeWith({ desiredState: shared });
    const info = await store.forAgent("alice").waitService("fx", { timeoutMs: 15_000 });
    expect(info.state).toBe("healthy");
  });
});

describe("event seq and replay", () => {
  it("numbers every event in order, replays those after a seq, and says when the buffer no longer holds them", async () => {
    const store = await storeWith({ eventBufferSize: 8, monitoring: { enableReconnection: false } });
    const live: StoreEventRecord[] = [];
    store.subscribe((record) => live.push(record));
    const context = store.forStore();
    await context.addService(stdioFixtureConfig("fx"));
    await context.waitService("fx", { timeoutMs: 15_000 });
    await context.callTool("fx_echo", { text: "x" });
    const seqs = live.map((record) => record.event.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(live.map((record) => record.name)).toContain("tool:call-end");
    const added = live.find((record) => record.name === "service:added")!.event.seq;
    const replay = store.events({ since: added });
    expect(replay.complete).toBe(true);
    expect(replay.events.map((record) => record.name)).toEqual(
      live.filter((record) => record.event.seq > added && !record.name.startsWith("tool:")).map((record) => record.name),
    );
    // Resuming: a subscriber that saw up to `added` gets the rest, then live events, with nothing in between missed.
    const resumed: number[] = [];
    const off = store.subscribe((record) => resumed.push(record.event.seq), { since: added });
    await context.restartService("fx");
    await context.waitService("fx", { timeoutMs: 15_000 });
    off();
    expect(resumed[0]).toBeGreaterThan(added);
    expect(resumed).toEqual([...resumed].sort((a, b) => a - b));
    // More than eight events later, the first ones are gone from the buffer.
    for (let index = 0; index < 5; index++) await context.addService(remote(`r${index}`));
    expect(store.events({ since: added }).complete).toBe(false);
    const latest = store.events();
    expect(store.events({ since: latest.seq })).toEqual({ events: [], complete: true, seq: latest.seq });
  });
});
