import { randomUUID } from "node:crypto";
import { childProcessesOf, listProcesses, minimalShellServerConfig, misbehavingFixtureConfig, processesMatching, type MisbehavingFixtureOptions, type ProcessEntry } from "@mcpstore/testing";
import { describe, expect, it } from "vitest";
import {
  AbortedError,
  ServiceUnavailableError,
  TimeoutError,
  type MCPStore,
  type ServiceContext,
  type ServiceState,
  type StoreEvents,
  LIFECYCLE,
} from "../src/index.js";
import { cleanups, createTestStore, observedTransitions, refusedTransitions, storeWith, text, until } from "./helpers.js";

// Fault tests against real processes: each misbehaving fixture, and what the store makes of it.




/** Resolves with the time the service first reaches `state`. */
function reached(store: MCPStore, serviceName: string, state: ServiceState): Promise<number> {
  return new Promise((resolve) => {
    const off = store.on("service:state-changed", (event) => {
      if (event.serviceName === serviceName && event.state === state) {
        off();
        resolve(Date.now());
      }
    });
  });
}

async function addMisbehaving(context: ServiceContext, name: string, options: MisbehavingFixtureOptions = {}) {
  const marker = options.marker ?? `${name}-${randomUUID()}`;
  await context.addService(misbehavingFixtureConfig(name, { ...options, marker }));
  return marker;
}

describe("a stdio server killed with calls in flight", () => {
  it("settles all 100 calls within 1 s with a typed error, is healthy again within reconnectionSeconds + 1 s, and answers", async () => {
    const reconnectionSeconds = 2;
    const store = await storeWith({ monitoring: { reconnectionSeconds } });
    const context = store.forStore();
    const marker = await addMisbehaving(context, "victim");
    const before = await context.waitService("victim");
    expect(before.pid).toBeGreaterThan(0);
    const settled: Array<{ at: number; error: unknown }> = [];
    const calls = Array.from({ length: 100 }, () =>
      context.callTool("victim_sleep", { ms: 30_000 }).then(
        () => settled.push({ at: Date.now(), error: undefined }),
        (error: unknown) => settled.push({ at: Date.now(), error }),
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(settled).toEqual([]);
    const healthyAgain = (async () => {
      await reached(store, "victim", "reconnecting");
      return reached(store, "victim", "healthy");
    })();
    const killedAt = Date.now();
    process.kill(before.pid!, "SIGKILL");
    await Promise.all(calls);
    expect(settled).toHaveLength(100);
    expect(Math.max(...settled.map((call) => call.at)) - killedAt).toBeLessThan(1000);
    expect(settled.every((call) => ServiceUnavailableError.isInstance(call.error))).toBe(true);
    expect((settled[0]!.error as ServiceUnavailableError).serviceName).toBe("victim");
    expect((await healthyAgain) - killedAt).toBeLessThan(reconnectionSeconds * 1000 + 1000);
    const after = await context.getService("victim");
    expect(after).toMatchObject({ state: "healthy", attempts: 1 });
    expect(after.pid).not.toBe(before.pid);
    expect(after.lastError).toMatch(/connection closed/);
    const results = await Promise.all(Array.from({ length: 10 }, (_, index) => context.callTool("victim_add", { a: index, b: 1 })));
    expect(results.map((result) => (result.structuredContent as { sum: number }).sum)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(processesMatching(marker)).toHaveLength(1);
  });
});

describe("misbehaving stdio servers", () => {
  it("a server that never answers initialize leaves initializing after the init timeout, and its process group is gone", async () => {
    const store = await storeWith({ connectTimeoutMs: 800, monitoring: { maxReconnectAttempts: 1 } });
    const context = store.forStore();
    const left = reached(store, "mute", "unreachable");
    const addedAt = Date.now();
    const marker = await addMisbehaving(context, "mute", { mode: "no-initialize" });
    expect(await until(() => processesMatching(marker).length === 1, 5000)).toBe(true);
    const [server] = processesMatching(marker);
    expect(server!.pgid).toBe(server!.pid);
    const leftAt = await left;
    expect(leftAt - addedAt).toBeGreaterThanOrEqual(750);
    expect(leftAt - addedAt).toBeLessThan(3000);
    const info = await context.getService("mute");
    expect(info.lastError).toMatch(/timed out/i);
    expect(await until(() => listProcesses().every((entry: ProcessEntry) => entry.pgid !== server!.pgid), 3000)).toBe(true);
  });

  it("a server that exits at once: the reason (its last stderr line) is shown, and no process is left", async () => {
    const store = await storeWith({ monitoring: { maxReconnectAttempts: 2, reconnectionSeconds: 0.2 } });
    const context = store.forStore();
    const gaveUp = reached(store, "quitter", "unreachable");
    const marker = await addMisbehaving(context, "quitter", { mode: "exit-at-once" });
    await gaveUp;
    const info = await context.getService("quitter");
    expect(info.attempts).toBe(2);
    expect(info.lastError).toMatch(/fatal: exiting at once on purpose/);
    expect(info.stderrTail).toContain("fatal: exiting at once on purpose");
    expect(info.nextAttemptAt).toBeDefined();
    expect(processesMatching(marker)).toEqual([]);
  });

  it("a server that crashes in the middle of a call: the call fails at once with a typed error, and it comes back", async () => {
    const store = await storeWith({ monitoring: { reconnectionSeconds: 0.5 } });
    const context = store.forStore();
    await addMisbehaving(context, "crashy", { mode: "crash-mid-call" });
    await context.waitService("crashy");
    const started = Date.now();
    const error = await context.callTool("crashy_sleep", { ms: 10_000 }).catch((caught: unknown) => caught);
    expect(ServiceUnavailableError.isInstance(error)).toBe(true);
    expect(Date.now() - started).toBeLessThan(1000);
    const info = await context.waitService("crashy", { timeoutMs: 5000 });
    expect(info.stderrTail).toContain("crashing in the middle of a call");
  });

  it("garbage and huge lines on stdout: dropped and counted, the connection survives", async () => {
    const store = await storeWith();
    const context = store.forStore();
    await addMisbehaving(context, "noisy", { mode: "garbage-stdout", hugeLineBytes: 3_000_000 });
    const first = await context.waitService("noisy");
    expect(text(await context.callTool("noisy_write_stdout_garbage", { text: "fine" }))).toBe("fine");
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(text(await context.callTool("noisy_echo", { text: "still fine" }))).toBe("still fine");
    // The count reaches the cached info within a moment (updates are throttled).
    expect(await until(async () => ((await context.getService("noisy")).stdoutDroppedLines ?? 0) >= 12, 2000)).toBe(true);
    const info = await context.getService("noisy");
    expect(info.state).toBe("healthy");
    expect(info.pid).toBe(first.pid);
    expect(info.attempts).toBe(0);
    expect(info.stdoutDroppedLines).toBeGreaterThanOrEqual(12);
  });

  it("a stderr flood: drained, and only a bounded tail of short lines is kept", async () => {
    const store = await storeWith();
    const context = store.forStore();
    await addMisbehaving(context, "chatty", { mode: "stderr-flood", floodBytes: 4 * 1024 * 1024 });
    await context.waitService("chatty", { timeoutMs: 15_000 });
    expect(text(await context.callTool("chatty_echo", { text: "over the noise" }))).toBe("over the noise");
    const info = await context.getService("chatty");
    expect(info.stderrTail!.length).toBeLessThanOrEqual(20);
    expect(info.stderrTail!.length).toBeGreaterThan(0);
    expect(Math.max(...info.stderrTail!.map((line) => line.length))).toBeLessThanOrEqual(500);
  });

  it("a tool that hangs: the call times out at timeoutMs, the service is degraded, then healthy after a call succeeds", async () => {
    const store = await storeWith();
    const context = store.forStore();
    await addMisbehaving(context, "stuck");
    await context.waitService("stuck");
    const started = Date.now();
    const error = await context.callTool("stuck_hang", {}, { timeoutMs: 300 }).catch((caught: unknown) => caught);
    expect(TimeoutError.isInstance(error)).toBe(true);
    expect(Date.now() - started).toBeLessThan(1500);
    expect((await context.getService("stuck")).state).toBe("degraded");
    expect(text(await context.callTool("stuck_echo", { text: "ok" }))).toBe("ok");
    expect((await context.getService("stuck")).state).toBe("healthy");
  });

  it("an aborted call rejects with AbortedError and the server receives notifications/cancelled", async () => {
    const store = await storeWith();
    const context = store.forStore();
    await addMisbehaving(context, "cancel");
    await context.waitService("cancel");
    const controller = new AbortController();
    const pending = context.callTool("cancel_wait_for_cancel", {}, { signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    expect(AbortedError.isInstance(await pending.catch((caught: unknown) => caught))).toBe(true);
    expect(await until(async () => text(await context.callTool("cancel_cancellations", {})) === "1", 3000)).toBe(true);
  });

  it("the total time cap holds even when progress stops coming before it", async () => {
    const store = await storeWith();
    const context = store.forStore();
    await addMisbehaving(context, "slow");
    await context.waitService("slow");
    const started = Date.now();
    // Progress every 800 ms would only be checked against the cap at 800 ms; the cap is 500 ms.
    const error = await context
      .callTool("slow_progress", { steps: 5, delayMs: 800 }, { timeoutMs: 2000, maxTotalTimeoutMs: 500, onProgress: () => undefined })
      .catch((caught: unknown) => caught);
    expect(TimeoutError.isInstance(error)).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(450);
    expect(Date.now() - started).toBeLessThan(750);
  });

  it("a server that goes silent: probes time out, it is degraded, then reconnected to a fresh process", async () => {
    const store = await storeWith({ monitoring: { healthCheckSeconds: 0.2, probeTimeoutSeconds: 0.3, reconnectionSeconds: 0.5 } });
    const context = store.forStore();
    const states: string[] = [];
    store.on("service:state-changed", (event) => states.push(event.state));
    const marker = await addMisbehaving(context, "quiet", { mode: "goes-silent", silentAfterMs: 500 });
    const first = await context.waitService("quiet");
    await reached(store, "quiet", "reconnecting");
    const info = await context.waitService("quiet", { timeoutMs: 5000 });
    expect(states.slice(0, 4)).toEqual(["healthy", "degraded", "reconnecting", "healthy"]);
    expect(info.pid).not.toBe(first.pid);
    expect(info.lastError).toMatch(/probe failed/);
    expect(info.lastProbeAt).toBeDefined();
    expect(await until(() => processesMatching(marker).length === 1, 3000)).toBe(true);
  });

  it("a flapping server ends unreachable, and calls meanwhile fail fast and never start a second process", async () => {
    const store = await storeWith({ monitoring: { reconnectionSeconds: 0.3, maxReconnectAttempts: 3, unreachableRetrySeconds: 3600 } });
    const context = store.forStore();
    const marker = await addMisbehaving(context, "flappy", { mode: "flap", upMs: 300 });
    await context.waitService("flappy");
    await reached(store, "flappy", "unreachable");
    const info = await context.getService("flappy");
    expect(info.attempts).toBe(3);
    expect(Date.parse(info.nextAttemptAt!) - Date.now()).toBeGreaterThan(3_500_000);
    // Calls to an unreachable service: each fails at once, and together they retry the connection once.
    let most = 0;
    const sampler = setInterval(() => (most = Math.max(most, processesMatching(marker).length)), 5);
    const started = Date.now();
    const errors = await Promise.all(Array.from({ length: 50 }, () => context.callTool("flappy_echo", { text: "x" }).catch((caught: unknown) => caught)));
    expect(Date.now() - started).toBeLessThan(500);
    expect(errors.every((error) => ServiceUnavailableError.isInstance(error))).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 600));
    clearInterval(sampler);
    expect(most).toBe(1);
  });

  it("getService shows the probe time and latency, and the attempt count and next attempt while reconnecting", async () => {
    const store = await storeWith({ monitoring: { healthCheckSeconds: 0.1, reconnectionSeconds: 30 } });
    const context = store.forStore();
    await addMisbehaving(context, "watched");
    await context.waitService("watched");
    expect(await until(async () => (await context.getService("watched")).lastProbeAt !== undefined, 3000)).toBe(true);
    const probed = await context.getService("watched");
    expect(probed.lastProbeLatencyMs).toBeGreaterThan(0);
    const reconnecting = reached(store, "watched", "reconnecting");
    process.kill(probed.pid!, "SIGKILL");
    await reconnecting;
    const info = await context.getService("watched");
    expect(info).toMatchObject({ state: "reconnecting", attempts: 1, lastError: expect.stringMatching(/connection closed/) });
    expect(Date.parse(info.nextAttemptAt!)).toBeGreaterThanOrEqual(Date.now() - 1000);
  });
});

describe("no process is ever left behind", () => {
  it("a wrapper and the server it forked are both gone after removeService, and after close()", async () => {
    const store = await createTestStore();
    cleanups.push(() => store.close());
    const context = store.forStore();
    const removedMarker = await addMisbehaving(context, "wrapped", { mode: "wrapper" });
    const closedMarker = await addMisbehaving(context, "wrapped2", { mode: "wrapper" });
    await Promise.all([context.waitService("wrapped"), context.waitService("wrapped2")]);
    expect(processesMatching(removedMarker)).toHaveLength(2);
    expect(processesMatching(closedMarker)).toHaveLength(2);
    await context.removeService("wrapped");
    expect(processesMatching(removedMarker)).toEqual([]);
    expect(processesMatching(closedMarker)).toHaveLength(2);
    await store.close();
    expect(processesMatching(closedMarker)).toEqual([]);
  });

  it("close() leaves zero child processes, whatever state the services are in", async () => {
    const baseline = childProcessesOf().length;
    const store = await createTestStore({ connectTimeoutMs: 20_000 });
    cleanups.push(() => store.close());
    const context = store.forStore();
    const marker = `close-all-${randomUUID()}`;
    await context.addService([
      misbehavingFixtureConfig("healthy", { marker }),
      misbehavingFixtureConfig("wrapper", { mode: "wrapper", marker }),
      misbehavingFixtureConfig("mute", { mode: "no-initialize", marker }),
      misbehavingFixtureConfig("flap", { mode: "flap", upMs: 200, marker }),
    ]);
    await Promise.all([context.waitService("healthy"), context.waitService("wrapper")]);
    expect(processesMatching(marker).length).toBeGreaterThanOrEqual(4);
    const started = Date.now();
    await store.close();
    expect(Date.now() - started).toBeLessThan(3000);
    expect(processesMatching(marker)).toEqual([]);
    expect(childProcessesOf()).toHaveLength(baseline);
  });

  it("100 add/remove cycles leave no process (counted in /proc)", async () => {
    const baseline = childProcessesOf().length;
    const store = await storeWith();
    const context = store.forStore();
    const marker = `cycles-${randomUUID()}`;
    for (let cycle = 0; cycle < 100; cycle++) {
      // Every fifth server is the Node fixture, the others a minimal `sh` one (cheap to start on a busy machine).
      const config = cycle % 5 === 0 ? misbehavingFixtureConfig("cycled", { marker: `${marker}-${cycle}` }) : minimalShellServerConfig("cycled", `${marker}-${cycle}`);
      await context.addService(config);
      // Every fourth one is removed once connected; the others while still starting.
      if (cycle % 4 === 0) await context.waitService("cycled");
      await context.removeService("cycled");
    }
    expect(processesMatching(marker)).toEqual([]);
    expect(childProcessesOf()).toHaveLength(baseline);
  }, 90_000);
});

describe("events", () => {
  it("every transition carries the previous state, the new one and a reason", async () => {
    const store = await storeWith({ monitoring: { reconnectionSeconds: 0.2 } });
    const events: Array<StoreEvents["service:state-changed"]> = [];
    store.on("service:state-changed", (event) => events.push(event));
    const context = store.forStore();
    await addMisbehaving(context, "traced");
    const { pid } = await context.waitService("traced");
    const back = (async () => {
      await reached(store, "traced", "reconnecting");
      return reached(store, "traced", "healthy");
    })();
    process.kill(pid!, "SIGKILL");
    await back;
    await context.removeService("traced");
    expect(events.map(({ previous, state }) => `${previous}→${state}`)).toEqual([
      "initializing→healthy",
      "healthy→reconnecting",
      "reconnecting→healthy",
      "healthy→disconnected",
    ]);
    expect(events.map((event) => event.reason)).toEqual(["connected", expect.stringMatching(/connection closed/), "reconnected", "removed"]);
  });
});

describe("a call while its service is connecting", () => {
  it("waits at most the call's own timeoutMs (not the connect timeout), and an abort ends the wait", async () => {
    const store = await storeWith({ connectTimeoutMs: 60_000 });
    const context = store.forStore();
    await context.addService(misbehavingFixtureConfig("slow", { mode: "normal" }));
    await context.waitService("slow", { timeoutMs: 20_000 });
    // The same name now points at a server that never answers initialize; its tools stay in the catalogue meanwhile.
    await context.updateService("slow", misbehavingFixtureConfig("slow", { mode: "no-initialize" }));
    const tool = (await context.listTools({ service: "slow" }))[0]!.name;
    let started = Date.now();
    await expect(context.callTool(tool, { text: "x" }, { timeoutMs: 300 })).rejects.toSatisfy(TimeoutError.isInstance);
    expect(Date.now() - started).toBeLessThan(5_000);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    started = Date.now();
    await expect(context.callTool(tool, { text: "x" }, { signal: controller.signal })).rejects.toSatisfy(AbortedError.isInstance);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

// Last in this file: every transition the fault tests above made the store emit is one the lifecycle table allows.
describe("the lifecycle table", () => {
  it("holds every transition emitted under the fault fixtures, and nothing was refused", () => {
    const transitions = [...observedTransitions].sort();
    expect(transitions.length).toBeGreaterThanOrEqual(8);
    const missing = transitions.filter((transition) => {
      const [from, to] = transition.split("→") as [ServiceState, ServiceState];
      return !LIFECYCLE[from].includes(to);
    });
    expect(missing).toEqual([]);
    expect(refusedTransitions).toEqual([]);
    console.log(`lifecycle transitions seen under faults: ${transitions.join(", ")}`);
  });
});
