import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { misbehavingFixtureConfig, processesMatching, stdioFixtureConfig } from "@mcpstore/testing";
import { describe, expect, it } from "vitest";
import { MCPStoreError, type MCPStore, type ServiceState, type StoreEvents } from "../src/index.js";
import { captureLogger, cleanups, storeWith, text, until } from "./helpers.js";

// The guarantees of "one owner per service", each run with the operations at the same time against real processes.

function tempDir(): string {
  const directory = mkdtempSync(join(tmpdir(), "mcpstore-races-"));
  cleanups.push(async () => rmSync(directory, { recursive: true, force: true }));
  return directory;
}

/** Samples how many live processes carry `marker` every 5 ms until stopped; resolves with the maximum seen. */
function watchProcessCount(marker: string): { stop(): Promise<number> } {
  let max = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      max = Math.max(max, processesMatching(marker).length);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return Math.max(max, processesMatching(marker).length);
    },
  };
}


describe("one process per stdio service", () => {
  // A server that holds a lock file while alive and is slow to exit: a second copy started before the first is gone
  // prints "LOCK HELD" and exits 3, and the process sampler sees two.
  for (const operation of ["restart", "update", "patch"] as const) {
    it(`${operation} while calls are in flight never runs two copies, and the calls that arrive meanwhile succeed`, async () => {
      const store = await storeWith({ monitoring: { reconnectionSeconds: 0.2 } });
      const context = store.forStore();
      const marker = `lock-${operation}-${randomUUID()}`;
      const lockFile = join(tempDir(), "server.lock");
      const config = misbehavingFixtureConfig("locked", { mode: "lock-holder", lockFile, exitDelayMs: 600, marker });
      await context.addService(config);
      await context.waitService("locked", { timeoutMs: 15_000 });
      const sampler = watchProcessCount(marker);
      const inFlight = Array.from({ length: 5 }, () => context.callTool("locked_sleep", { ms: 300 }).then(() => "ok", (error: unknown) => error));
      const change =
        operation === "restart"
          ? context.restartService("locked")
          : operation === "update"
            ? context.updateService("locked", { ...config, env: { GENERATION: "2" } })
            : context.patchService("locked", { env: { GENERATION: "3" } });
      // Calls issued during the change: they wait for the new process instead of starting one of their own.
      const during = Array.from({ length: 10 }, (_, index) => context.callTool("locked_echo", { text: `during-${index}` }, { timeoutMs: 15_000 }));
      await change;
      const results = await Promise.all(during);
      expect(results.map(text)).toEqual(Array.from({ length: 10 }, (_, index) => `during-${index}`));
      await Promise.all(inFlight);
      await context.waitService("locked", { timeoutMs: 15_000 });
      const max = await sampler.stop();
      const info = await context.getService("locked");
      expect(info.stderrTail?.filter((line) => line.includes("LOCK HELD")) ?? []).toEqual([]);
      expect(max).toBe(1);
      expect(info.state).toBe("healthy");
    });
  }

  it("a reconnect after the process died and calls that arrive meanwhile start exactly one successor", async () => {
    const store = await storeWith({ monitoring: { reconnectionSeconds: 0.2 } });
    const context = store.forStore();
    const marker = `lock-reconnect-${randomUUID()}`;
    const lockFile = join(tempDir(), "server.lock");
    await context.addService(misbehavingFixtureConfig("locked", { mode: "lock-holder", lockFile, marker }));
    const { pid } = await context.waitService("locked", { timeoutMs: 15_000 });
    const sampler = watchProcessCount(marker);
    process.kill(pid!, "SIGKILL");
    const calls = Array.from({ length: 20 }, () => context.callTool("locked_echo", { text: "x" }).then(() => "ok", (error: unknown) => error));
    await until(async () => (await context.getService("locked")).state === "healthy" && (await context.getService("locked")).pid !== pid, 15_000);
    await Promise.all(calls);
    expect(await sampler.stop()).toBe(1);
    expect((await context.getService("locked")).stderrTail?.some((line) => line.includes("LOCK HELD"))).toBe(false);
  });
});

describe("remove and add of one name", () => {
  it("remove resolves only after the process is gone and no read returns the service; an add issued meanwhile waits for it", async () => {
    const store = await storeWith();
    const context = store.forStore();
    const oldMarker = `old-${randomUUID()}`;
    const newMarker = `new-${randomUUID()}`;
    await context.addService(misbehavingFixtureConfig("twin", { mode: "slow-exit", exitDelayMs: 500, marker: oldMarker }));
    await context.waitService("twin", { timeoutMs: 15_000 });
    // When the removal resolves the old process is gone; whatever a read returns for the name is the new service.
    const removed = context.removeService("twin").then(async () => ({
      processes: processesMatching(oldMarker).length,
      services: (await context.listServices()).filter((service) => service.name === "twin" && service.config.args?.includes(oldMarker)).length,
    }));
    const added = context.addService(misbehavingFixtureConfig("twin", { mode: "normal", marker: newMarker }));
    const waited = context.waitService("twin", { timeoutMs: 15_000 });
    const atRemoval = await removed;
    expect(atRemoval).toEqual({ processes: 0, services: 0 });
    await added;
    const info = await waited;
    expect(info.state).toBe("healthy");
    expect(processesMatching(newMarker)).toHaveLength(1);
    // The old removal deleted nothing of the new service.
    expect((await context.listTools({ service: "twin" })).length).toBeGreaterThan(0);
    expect(text(await context.callTool("twin_echo", { text: "new" }))).toBe("new");
  });

  it("an add of a name that exists fails with SERVICE_EXISTS and changes nothing; remove then add of a missing name fails cleanly", async () => {
    const store = await storeWith();
    const context = store.forStore();
    await context.addService(stdioFixtureConfig("solo"));
    const second = context.addService(stdioFixtureConfig("solo", { env: { MODE: "other" } }));
    await expect(second).rejects.toMatchObject({ code: "SERVICE_EXISTS" });
    await context.waitService("solo", { timeoutMs: 15_000 });
    expect((await context.getService("solo")).config.env).toBeUndefined();
    await expect(Promise.all([context.removeService("solo"), context.removeService("solo")])).rejects.toMatchObject({ code: "SERVICE_NOT_FOUND" });
    expect(await context.listServices()).toEqual([]);
  });

  it("while a service is being removed its listed tools fail with its state, never TOOL_NOT_FOUND", async () => {
    const store = await storeWith();
    const context = store.forStore();
    await context.addService(misbehavingFixtureConfig("going", { mode: "slow-exit", exitDelayMs: 400 }));
    await context.waitService("going", { timeoutMs: 15_000 });
    const removal = context.removeService("going");
    const codes: string[] = [];
    let done = false;
    void removal.finally(() => (done = true));
    while (!done) {
      const listed = (await context.listTools()).map((tool) => tool.name);
      if (listed.includes("going_echo")) {
        await context.callTool("going_echo", { text: "x" }).then(
          () => codes.push("ok"),
          (error: unknown) => codes.push(MCPStoreError.isInstance(error) ? error.code : "untyped"),
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await removal;
    expect(codes.filter((code) => code !== "ok" && code !== "SERVICE_UNAVAILABLE")).toEqual([]);
    expect(codes.length).toBeGreaterThan(0);
    expect(await context.listTools()).toEqual([]);
    expect(await context.listServices()).toEqual([]);
    await expect(context.getService("going")).rejects.toMatchObject({ code: "SERVICE_NOT_FOUND" });
  });
});

describe("events of one service", () => {
  it("come in the order the transitions happened, each following the one before, under a storm of restarts", async () => {
    const store = await storeWith({ monitoring: { reconnectionSeconds: 0.2 } });
    const events: Array<StoreEvents["service:state-changed"]> = [];
    store.on("service:state-changed", (event) => events.push(event));
    const context = store.forStore();
    await context.addService(misbehavingFixtureConfig("storm", { mode: "slow-exit", exitDelayMs: 100 }));
    await context.waitService("storm", { timeoutMs: 15_000 });
    await Promise.all([
      ...Array.from({ length: 4 }, () => context.restartService("storm")),
      context.patchService("storm", { env: { A: "1" } }),
      context.updateService("storm", { ...misbehavingFixtureConfig("storm", { mode: "slow-exit", exitDelayMs: 50 }) }),
    ]);
    await context.waitService("storm", { timeoutMs: 15_000 });
    await context.removeService("storm");
    let state: ServiceState = "initializing";
    for (const event of events) {
      expect(event.previous).toBe(state);
      state = event.state;
    }
    expect(state).toBe("disconnected");
    // A restart that finds the service still initializing (after the one before) is not a state change.
    expect(events.filter((event) => event.state === "initializing").length).toBeGreaterThanOrEqual(1);
  });
});

describe("a randomized run of mixed operations on five names", () => {
  it("leaves the file, the read model and the processes agreeing (500 operations)", async () => {
    const seed = Number(process.env.RACE_SEED ?? Date.now() % 1_000_000);
    console.log(`randomized owner run: seed ${seed} (RACE_SEED=${seed} to repeat)`);
    let state = seed;
    const random = () => ((state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    const pick = <T,>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
    const directory = tempDir();
    const file = join(directory, "mcp.json");
    const logger = captureLogger();
    const store: MCPStore = await storeWith({ mcpConfigFile: file, logger, monitoring: { reconnectionSeconds: 0.2 } });
    const context = store.forStore();
    const names = ["n0", "n1", "n2", "n3", "n4"];
    // One marker per name, so the processes of a name can be counted whatever its config became.
    const configFor = (name: string, generation: number) =>
      misbehavingFixtureConfig(name, { mode: "slow-exit", marker: `rnd-${seed}-${name}`, exitDelayMs: generation % 2 === 0 ? 0 : 50 });
    const outcomes = new Map<string, number>();
    const note = (label: string) => outcomes.set(label, (outcomes.get(label) ?? 0) + 1);
    const operations: Array<Promise<unknown>> = [];
    for (let index = 0; index < 500; index++) {
      const name = pick(names);
      const kind = pick(["add", "add", "update", "patch", "remove", "restart", "call", "call"] as const);
      const run = (): Promise<unknown> => {
        switch (kind) {
          case "add":
            return context.addService(configFor(name, index));
          case "update":
            return context.updateService(name, configFor(name, index));
          case "patch":
            return context.patchService(name, { env: { GENERATION: String(index) } });
          case "remove":
            return context.removeService(name);
          case "restart":
            return context.restartService(name);
          case "call":
            return context.callTool(`${name}_echo`, { text: "x" }, { timeoutMs: 10_000 });
        }
      };
      operations.push(
        run().then(
          () => note(`${kind}:ok`),
          (error: unknown) => {
            const code = MCPStoreError.isInstance(error) ? error.code : `untyped: ${String(error)}`;
            note(`${kind}:${code}`);
          },
        ),
      );
      // Bursts of operations at the same time, with a short pause between bursts.
      if (random() < 0.1) await new Promise((resolve) => setTimeout(resolve, random() * 30));
    }
    await Promise.all(operations);
    console.log(`seed ${seed} outcomes`, Object.fromEntries([...outcomes].sort()));
    const untyped = [...outcomes.keys()].filter((key) => key.includes("untyped"));
    expect(untyped, `seed ${seed}`).toEqual([]);
    // Every add of an existing name failed with SERVICE_EXISTS, every operation on a missing one with SERVICE_NOT_FOUND.
    const listed = (await context.listServices()).map((service) => service.name).sort();
    const exported = Object.keys((store.exportConfig().mcpServers as Record<string, unknown>) ?? {}).sort();
    const { readFile } = await import("node:fs/promises");
    const inFile = Object.keys((JSON.parse(await readFile(file, "utf8")) as { mcpServers?: Record<string, unknown> }).mcpServers ?? {}).sort();
    expect(inFile, `seed ${seed}: file vs read model`).toEqual(listed);
    expect(exported, `seed ${seed}: desired state vs read model`).toEqual(listed);
    for (const name of names) {
      const exists = listed.includes(name);
      if (exists) await context.waitService(name, { timeoutMs: 15_000 });
      const alive = await until(() => processesMatching(`rnd-${seed}-${name}`).length === (exists ? 1 : 0), 10_000);
      expect(alive, `seed ${seed}: ${name} should have ${exists ? 1 : 0} process, has ${processesMatching(`rnd-${seed}-${name}`).length}`).toBe(true);
      if (exists) {
        const tools = await context.listTools({ service: name });
        expect(tools.length, `seed ${seed}: ${name} tools`).toBeGreaterThan(0);
        expect(text(await context.callTool(`${name}_echo`, { text: "final" })), `seed ${seed}`).toBe("final");
      }
    }
    expect(logger.entries.filter((entry) => entry.message.startsWith("refused state change")), `seed ${seed}`).toEqual([]);
  }, 180_000);
});
