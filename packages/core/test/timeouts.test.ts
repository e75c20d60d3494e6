import { getEventListeners } from "node:events";
import { misbehavingFixtureConfig, stdioFixtureConfig } from "@mcpstore/testing";
import { describe, expect, it } from "vitest";
import { AbortedError, definePlugin, TimeoutError, ValidationError, type MCPStore, type ServiceContext, type SetupStoreOptions, type ToolCallStartPayload } from "../src/index.js";
import { captureLogger, cleanups, storeWith, text, until } from "./helpers.js";
import { startTimeoutsFixture, type TimeoutsFixture, type TimeoutsFixtureSettings } from "./timeouts-fixture.js";

// Timeouts and cancellation: time limits a caller gives (and their bounds), one deadline per call, signals shared by
// many calls, plugin hooks within the deadline, and the limits of connecting and of the catalogue fetch.

/** `promise`, or a rejection saying it was still pending after `ms`: keeps a test that would hang short. */
function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** What `promise` rejects with (or `"resolved"`), and how long it took, in milliseconds. */
async function outcome(promise: Promise<unknown>): Promise<{ error: unknown; ms: number }> {
  const started = performance.now();
  const error = await promise.then(
    () => "resolved",
    (caught: unknown) => caught,
  );
  return { error, ms: performance.now() - started };
}

async function stdioStore(options: SetupStoreOptions = {}): Promise<{ store: MCPStore; context: ServiceContext }> {
  const store = await storeWith(options);
  const context = store.forStore();
  await context.addService(stdioFixtureConfig("fx"));
  await context.waitService("fx");
  return { store, context };
}

/** A store with the timeouts fixture as service `slow` (and its config's extra fields), healthy. */
async function fixtureStore(
  settings: Partial<TimeoutsFixtureSettings> = {},
  service: Record<string, unknown> = {},
  options: SetupStoreOptions = {},
): Promise<{ store: MCPStore; context: ServiceContext; fixture: TimeoutsFixture }> {
  const fixture = await startTimeoutsFixture(settings);
  cleanups.push(() => fixture.close());
  const store = await storeWith(options);
  const context = store.forStore();
  await context.addService({ name: "slow", url: fixture.url, transport: "streamable-http", ...service });
  await context.waitService("slow", { timeoutMs: 5000 });
  return { store, context, fixture };
}

describe("time limits a caller gives", () => {
  it("callTool with timeoutMs Infinity (or above 2^31 − 1) has no limit: it answers and the service stays healthy", async () => {
    const { context } = await stdioStore();
    expect(text(await within(context.callTool("fx_sleep", { ms: 50 }, { timeoutMs: Number.POSITIVE_INFINITY }), 5000))).toBe("slept 50");
    expect(text(await within(context.callTool("fx_sleep", { ms: 50 }, { timeoutMs: 2 ** 31 }), 5000))).toBe("slept 50");
    const progress: number[] = [];
    const result = await within(
      context.callTool("fx_progress", { steps: 3, delayMs: 20 }, { maxTotalTimeoutMs: Number.POSITIVE_INFINITY, onProgress: (update) => void progress.push(update.progress) }),
      5000,
    );
    expect(text(result)).toBe("done 3");
    expect(progress).toEqual([1, 2, 3]);
    expect((await context.getService("fx")).state).toBe("healthy");
  });

  it("waitService with timeoutMs Infinity waits for the state instead of rejecting at once", async () => {
    const store = await storeWith();
    const context = store.forStore();
    await context.addService(stdioFixtureConfig("fx"));
    const info = await within(context.waitService("fx", { timeoutMs: Number.POSITIVE_INFINITY }), 10_000);
    expect(info.state).toBe("healthy");
  });

  it("refuses 0, a negative number or NaN with a ValidationError naming the option, before anything is sent", async () => {
    const { context, fixture } = await fixtureStore();
    const refusals: Array<[string, Promise<unknown>]> = [];
    for (const bad of [0, -1, Number.NaN]) {
      refusals.push(["timeoutMs", context.callTool("slow_echo", { text: "x" }, { timeoutMs: bad })]);
      refusals.push(["maxTotalTimeoutMs", context.callTool("slow_echo", { text: "x" }, { maxTotalTimeoutMs: bad })]);
      refusals.push(["timeoutMs", context.waitService("slow", { timeoutMs: bad })]);
      refusals.push(["timeoutMs", context.readResource("slow://doc", { timeoutMs: bad })]);
      refusals.push(["timeoutMs", context.getPrompt("slow_greet", {}, { timeoutMs: bad })]);
    }
    for (const [path, refusal] of refusals) {
      const error = await within(refusal.catch((caught: unknown) => caught), 5000);
      expect(ValidationError.isInstance(error), `${path}: ${String(error)}`).toBe(true);
      expect((error as ValidationError).details?.issues).toEqual([{ path, message: expect.stringContaining(path) }]);
    }
    expect(fixture.requests["tools/call"] ?? 0).toBe(0);
    expect(fixture.requests["resources/read"] ?? 0).toBe(0);
    expect(fixture.requests["prompts/get"] ?? 0).toBe(0);
    expect(text(await context.callTool("slow_echo", { text: "fine" }))).toBe("fine");
  });
});

describe("one deadline per call", () => {
  it("a call that waits for a restarting service and the call itself share timeoutMs", async () => {
    const { context, fixture } = await fixtureStore({ initializeDelayMs: 600, slowInitializeAfter: 1 });
    await context.restartService("slow");
    const call = await outcome(within(context.callTool("slow_sleep", { ms: 5000 }, { timeoutMs: 1000 }), 5000));
    expect(TimeoutError.isInstance(call.error), String(call.error)).toBe(true);
    expect(call.ms).toBeGreaterThanOrEqual(950);
    // Not 600 ms of waiting plus a full second for the request.
    expect(call.ms).toBeLessThan(1450);
    expect(fixture.requests.initialize).toBe(2);
  });

  it("the service's timeout is that one deadline when the call sets none", async () => {
    const { context } = await fixtureStore({ initializeDelayMs: 600, slowInitializeAfter: 1 }, { timeout: 1 });
    await context.restartService("slow");
    const call = await outcome(within(context.callTool("slow_sleep", { ms: 5000 }), 5000));
    expect(TimeoutError.isInstance(call.error), String(call.error)).toBe(true);
    expect(call.ms).toBeLessThan(1450);
  });

  it("readResource and getPrompt honour timeoutMs: a TimeoutError, not a tool error", async () => {
    const { context, fixture } = await fixtureStore({ readDelayMs: 5000, promptDelayMs: 5000 });
    const requests: Array<() => Promise<unknown>> = [() => context.readResource("slow://doc", { timeoutMs: 300 }), () => context.getPrompt("slow_greet", {}, { timeoutMs: 300 })];
    for (const request of requests) {
      const { error, ms } = await outcome(within(request(), 3000));
      expect(TimeoutError.isInstance(error), String(error)).toBe(true);
      expect(error).toMatchObject({ code: "TIMEOUT" });
      expect(ms).toBeGreaterThanOrEqual(250);
      expect(ms).toBeLessThan(1000);
    }
    // The server was told to stop working on them.
    expect(await until(() => fixture.cancellations === 2, 2000)).toBe(true);
  });

  it("readResource and getPrompt honour the service's timeout (seconds) instead of the SDK's 60 s", async () => {
    const { context } = await fixtureStore({ readDelayMs: 5000, promptDelayMs: 5000 }, { timeout: 1 });
    const requests: Array<() => Promise<unknown>> = [() => context.readResource("slow://doc"), () => context.getPrompt("slow_greet")];
    for (const request of requests) {
      const { error, ms } = await outcome(within(request(), 3000));
      expect(TimeoutError.isInstance(error), String(error)).toBe(true);
      expect(ms).toBeLessThan(1500);
    }
  });

  it("a timeoutMs longer than the service's timeout replaces it, for resources and prompts as for calls", async () => {
    const { context } = await fixtureStore({ readDelayMs: 1300, promptDelayMs: 1300 }, { timeout: 1 });
    const [read, prompt, call] = await within(
      Promise.all([
        context.readResource("slow://doc", { timeoutMs: 3000 }),
        context.getPrompt("slow_greet", {}, { timeoutMs: 3000 }),
        context.callTool("slow_sleep", { ms: 1300 }, { timeoutMs: 3000 }),
      ]),
      5000,
    );
    expect(read.contents[0]).toMatchObject({ text: "the doc" });
    expect(prompt.messages).toHaveLength(1);
    expect(text(call)).toBe("slept 1300");
  });

  it("readResource and getPrompt aborted by their signal are an AbortedError", async () => {
    const { context } = await fixtureStore({ readDelayMs: 5000, promptDelayMs: 5000 });
    const requests: Array<(signal: AbortSignal) => Promise<unknown>> = [
      (signal) => context.readResource("slow://doc", { signal }),
      (signal) => context.getPrompt("slow_greet", {}, { signal }),
    ];
    for (const request of requests) {
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 200);
      const { error, ms } = await outcome(within(request(controller.signal), 3000));
      expect(AbortedError.isInstance(error), String(error)).toBe(true);
      expect(error).toMatchObject({ code: "ABORTED" });
      expect(ms).toBeLessThan(1000);
    }
  });
});

describe("one signal for many calls", () => {
  it("1,000 calls on one signal leave its listeners as they were, and aborting it later cancels nothing", async () => {
    const { context, fixture } = await fixtureStore();
    const controller = new AbortController();
    const { signal } = controller;
    const before = getEventListeners(signal, "abort").length;
    for (let batch = 0; batch < 20; batch++) {
      const calls = Promise.all(Array.from({ length: 50 }, (_, index) => context.callTool("slow_echo", { text: `${batch}.${index}` }, { signal })));
      // 50 calls at once share (at most) one listener on it.
      expect(getEventListeners(signal, "abort").length).toBeLessThanOrEqual(before + 1);
      await within(calls, 10_000);
    }
    for (let index = 0; index < 20; index++) await within(context.readResource("slow://doc", { signal }), 5000);
    expect(fixture.requests["tools/call"]).toBe(1000);
    expect(getEventListeners(signal, "abort").length).toBe(before);
    controller.abort();
    // Without the fix the server gets one `notifications/cancelled` per finished request, the first within ~300 ms.
    expect(await until(() => fixture.cancellations > 0, 1500)).toBe(false);
    expect(fixture.cancellations).toBe(0);
  });

  it("a call in flight is still cancelled by it: an AbortedError, and the server is told", async () => {
    const { context, fixture } = await fixtureStore();
    const controller = new AbortController();
    expect(text(await context.callTool("slow_echo", { text: "first" }, { signal: controller.signal }))).toBe("first");
    const pending = outcome(within(context.callTool("slow_sleep", { ms: 5000 }, { signal: controller.signal }), 3000));
    setTimeout(() => controller.abort(), 200);
    const { error, ms } = await pending;
    expect(AbortedError.isInstance(error), String(error)).toBe(true);
    expect(ms).toBeLessThan(1000);
    expect(await until(() => fixture.cancellations === 1, 2000)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(fixture.cancellations).toBe(1);
  });
});

describe("tool:call-start hooks within the call's deadline", () => {
  /** A plugin whose tool:call-start hook never settles; it keeps what it saw. */
  const stuckPlugin = (seen: ToolCallStartPayload[]) =>
    definePlugin({
      name: "stuck",
      hooks: {
        "tool:call-start": (payload) => {
          seen.push(payload);
          return new Promise<undefined>(() => undefined);
        },
      },
    });

  it("a hook that hangs makes the call time out with a TimeoutError, and its signal tells it to stop", async () => {
    const seen: ToolCallStartPayload[] = [];
    const { context } = await stdioStore({
      plugins: [stuckPlugin(seen)],
    });
    const { error, ms } = await outcome(within(context.callTool("fx_echo", { text: "x" }, { timeoutMs: 300 }), 3000));
    expect(TimeoutError.isInstance(error), String(error)).toBe(true);
    expect(ms).toBeGreaterThanOrEqual(250);
    expect(ms).toBeLessThan(1000);
    expect(seen[0]?.signal).toBeInstanceOf(AbortSignal);
    expect(seen[0]?.signal.aborted).toBe(true);
    expect(TimeoutError.isInstance(seen[0]?.signal.reason)).toBe(true);
  });

  it("a hook's signal aborts with the caller's: the call is an AbortedError", async () => {
    const seen: ToolCallStartPayload[] = [];
    const { context } = await stdioStore({
      plugins: [stuckPlugin(seen)],
    });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const { error, ms } = await outcome(within(context.callTool("fx_echo", { text: "x" }, { signal: controller.signal }), 3000));
    expect(AbortedError.isInstance(error), String(error)).toBe(true);
    expect(ms).toBeLessThan(1000);
    expect(seen[0]?.signal.aborted).toBe(true);
    expect(getEventListeners(controller.signal, "abort")).toHaveLength(0);
  });

  it("the arguments a hook sees cannot be changed in place at any depth", async () => {
    const attempts: string[] = [];
    const { context } = await fixtureStore(
      {},
      {},
      {
        plugins: [
          definePlugin({
            name: "meddler",
            hooks: {
              "tool:call-start": (payload) => {
                const nested = payload.arguments.nested as { list: number[]; inner: { value: string } };
                const tries: Array<[string, () => void]> = [
                  ["top", () => void ((payload.arguments as Record<string, unknown>).added = 1)],
                  ["nested", () => void (nested.inner.value = "changed")],
                  ["array", () => void nested.list.push(4)],
                ];
                for (const [label, change] of tries) {
                  try {
                    change();
                    attempts.push(`${label}: changed`);
                  } catch {
                    attempts.push(`${label}: refused`);
                  }
                }
              },
            },
          }),
        ],
      },
    );
    const args = { nested: { list: [1, 2, 3], inner: { value: "original" } } };
    const result = await within(context.callTool("slow_inspect", args), 5000);
    expect(attempts).toEqual(["top: refused", "nested: refused", "array: refused"]);
    expect(JSON.parse(text(result))).toEqual({ nested: { list: [1, 2, 3], inner: { value: "original" } } });
    // The caller's own object is not frozen: the hooks see a copy.
    expect(Object.isFrozen(args.nested)).toBe(false);
  });
});

describe("the limits of connecting and of the catalogue", () => {
  it("a service's timeout bounds initialize: a server that never answers leaves initializing after it", async () => {
    const store = await storeWith({ monitoring: { maxReconnectAttempts: 1 } });
    const context = store.forStore();
    const addedAt = performance.now();
    await context.addService({ ...misbehavingFixtureConfig("mute", { mode: "no-initialize" }), timeout: 1 });
    expect(await until(async () => (await context.getService("mute")).state !== "initializing", 4000)).toBe(true);
    const elapsed = performance.now() - addedAt;
    expect(elapsed).toBeGreaterThanOrEqual(900);
    expect(elapsed).toBeLessThan(3000);
    expect((await context.getService("mute")).lastError).toMatch(/timed out/i);
  });

  it("a tool list that pages on forever stops at 100 pages, with a warning", async () => {
    const logger = captureLogger();
    const { context, fixture } = await fixtureStore({ toolPages: "endless" }, {}, { logger });
    expect(fixture.requests["tools/list"]).toBe(100);
    expect((await context.listTools()).length).toBe(3 + 99);
    expect(logger.entries.find((entry) => entry.level === "warn" && /100 pages/.test(entry.message))?.fields).toMatchObject({ service: "slow" });
  });

  it("a tool list that repeats its cursor stops there, with a warning", async () => {
    const logger = captureLogger();
    const { context, fixture } = await fixtureStore({ toolPages: "repeat" }, {}, { logger });
    expect(fixture.requests["tools/list"]).toBe(2);
    expect((await context.listTools()).map((tool) => tool.name)).toEqual(["slow_echo", "slow_sleep", "slow_inspect", "slow_t_1"]);
    expect(logger.entries.some((entry) => entry.level === "warn" && /repeated cursor/.test(entry.message))).toBe(true);
  });

  for (const [label, service, options] of [
    ["the service's timeout", { timeout: 1 }, {}],
    ["the store's connectTimeoutMs", {}, { connectTimeoutMs: 1000 }],
  ] as const) {
    it(`the whole catalogue fetch runs within one deadline (${label}), not one per page`, async () => {
      const fixture = await startTimeoutsFixture({ toolPages: 10, pageDelayMs: 300 });
      cleanups.push(() => fixture.close());
      const store = await storeWith({ ...options, monitoring: { maxReconnectAttempts: 1 } });
      const context = store.forStore();
      await context.addService({ name: "paged", url: fixture.url, transport: "streamable-http", ...service });
      expect(await until(async () => (await context.getService("paged")).state !== "initializing", 5000)).toBe(true);
      const info = await context.getService("paged");
      expect(info.state).not.toBe("healthy");
      expect(info.lastError).toMatch(/timed out/i);
      expect(fixture.requests["tools/list"]).toBeLessThanOrEqual(4);
    });
  }
});
