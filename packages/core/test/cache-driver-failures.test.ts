import { performance } from "node:perf_hooks";
import { stdioFixtureConfig } from "@mcpstore/testing";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { Catalogue } from "../src/catalogue/catalogue.js";
import {
  CacheError,
  MCPStore,
  MemoryCacheDriver,
  TimeoutError,
  type CacheDriver,
  type JsonValue,
  type ServiceContext,
  type ServiceInfo,
  type ToolCallResult,
  type ToolInfo,
} from "../src/index.js";
import { captureLogger, cleanups, text } from "./helpers.js";
import { SwitchableCacheDriver } from "./switchable-cache-driver.js";

// Every unhandled rejection in this file, whatever the test: the rule is that there are none.
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => void unhandled.push(reason);
beforeAll(() => void process.on("unhandledRejection", onUnhandled));
afterAll(() => void process.off("unhandledRejection", onUnhandled));
afterEach(async () => {
  // A rejection nobody handles is reported after the microtasks of its turn; give it a few turns.
  await sleep(50);
  expect(unhandled.splice(0)).toEqual([]);
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Outcome<T> = ({ status: "fulfilled"; value: T } | { status: "rejected"; reason: unknown } | { status: "pending" }) & { elapsedMs: number };

/** How `promise` settled within `limitMs`, and when: a test never waits longer than that for it. */
async function outcome<T>(promise: Promise<T>, limitMs: number): Promise<Outcome<T>> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const settled = await Promise.race([
    promise.then(
      (value) => ({ status: "fulfilled" as const, value }),
      (reason: unknown) => ({ status: "rejected" as const, reason }),
    ),
    new Promise<{ status: "pending" }>((resolve) => (timer = setTimeout(() => resolve({ status: "pending" }), limitMs))),
  ]);
  clearTimeout(timer);
  return { ...settled, elapsedMs: performance.now() - started };
}

/** Reads `read` until `accept` takes its value (a read that rejects counts as not yet), for `timeoutMs` at most. */
async function until<T>(read: () => Promise<T>, accept: (value: T) => boolean, timeoutMs: number): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    const result = await outcome(read(), deadline - Date.now());
    if (result.status === "fulfilled") {
      last = result.value;
      if (accept(last)) return last;
    }
    await sleep(25);
  }
  return last;
}

/** The read failed with a `CacheError` within `withinMs`. */
function expectCacheError(result: Outcome<unknown>, withinMs: number): CacheError {
  expect(result.status).toBe("rejected");
  const error = (result as { reason: unknown }).reason;
  expect(CacheError.isInstance(error)).toBe(true);
  expect((error as CacheError).code).toBe("CACHE_ERROR");
  expect(result.elapsedMs).toBeLessThan(withinMs);
  return error as CacheError;
}

/** Every read of the store scope, each bounded by the test. */
function readEverything(context: ServiceContext, serviceName: string, limitMs: number) {
  return Promise.all(
    [
      context.listServices(),
      context.getService(serviceName),
      context.listTools(),
      context.listTools({ service: serviceName }),
      context.listResources(),
      context.listPrompts(),
    ].map((read) => outcome<unknown>(read, limitMs)),
  );
}

async function storeOver(driver: CacheDriver) {
  const store = await MCPStore.setupStore({ mcpConfigFile: false, cache: driver, logger: captureLogger() });
  cleanups.push(() => store.close());
  return store.forStore();
}

/** Calls `echo` on a service `count` times at once; resolves with the texts, each call bounded by the test. */
async function echoes(context: ServiceContext, serviceName: string, label: string, count = 20): Promise<string[]> {
  const calls = Array.from({ length: count }, (_, index) => context.callTool(`${serviceName}_echo`, { text: `${label}${index}` }));
  const settled = await outcome(Promise.all(calls), 10_000);
  expect(settled.status).toBe("fulfilled");
  return (settled as { value: ToolCallResult[] }).value.map(text);
}

const expectedEchoes = (label: string, count = 20) => Array.from({ length: count }, (_, index) => `${label}${index}`);
const FIXTURE_TOOL_COUNT = 10;
/** The default `operationTimeoutMs`, and what a read may take on top of it here (a busy CI machine). */
const BOUND_MS = 2_000;
const SLACK_MS = 1_500;

describe("a cache driver that fails, through the store", () => {
  it("rejects, then hangs: no crash, reads fail with CacheError in time, calls still work, and the read model recovers", async () => {
    const driver = new SwitchableCacheDriver();
    const context = await storeOver(driver);
    await context.addService(stdioFixtureConfig("a"));
    await context.waitService("a");
    expect(await context.listTools({ service: "a" })).toHaveLength(FIXTURE_TOOL_COUNT);

    // A blip: every operation rejects. Services are added and called meanwhile.
    driver.mode = "reject";
    const [calls] = await Promise.all([
      echoes(context, "a", "reject-"),
      context.addService(stdioFixtureConfig("b")),
      context.addService(stdioFixtureConfig("c")),
    ]);
    expect(calls).toEqual(expectedEchoes("reject-"));
    for (const read of await readEverything(context, "a", BOUND_MS + SLACK_MS)) {
      const error = expectCacheError(read, SLACK_MS);
      expect(error.details).toMatchObject({ driver: "switchable" });
      expect((error.cause as Error).message).toMatch(/refused/);
    }
    await context.waitService("b");
    await context.waitService("c");
    expect(await echoes(context, "b", "b-", 5)).toEqual(expectedEchoes("b-", 5));

    // A stall: nothing answers. Reads give up at the bound; calls do not touch the cache.
    driver.mode = "hang";
    const hungCalls = echoes(context, "a", "hang-");
    const addedMeanwhile = context.addService(stdioFixtureConfig("d"));
    for (const read of await readEverything(context, "b", BOUND_MS + SLACK_MS + 1_000)) {
      const error = expectCacheError(read, BOUND_MS + SLACK_MS);
      expect(read.elapsedMs).toBeGreaterThanOrEqual(BOUND_MS - 50);
      expect(TimeoutError.isInstance(error.cause)).toBe(true);
    }
    expect(await hungCalls).toEqual(expectedEchoes("hang-"));
    await addedMeanwhile;
    await context.waitService("d");
    expect(await echoes(context, "d", "d-", 5)).toEqual(expectedEchoes("d-", 5));

    // The driver answers again: what was written meanwhile lands, the latest value of each key.
    driver.mode = "ok";
    const names = ["a", "b", "c", "d"];
    const services = await until(
      () => context.listServices(),
      (listed) => listed.length === names.length && listed.every((service) => service.state === "healthy" && service.toolCount === FIXTURE_TOOL_COUNT),
      10_000,
    );
    expect(services?.map((service) => [service.name, service.state, service.toolCount])).toEqual(names.map((name) => [name, "healthy", FIXTURE_TOOL_COUNT]));
    for (const name of names) expect(await context.listTools({ service: name })).toHaveLength(FIXTURE_TOOL_COUNT);
    expect(await context.listTools()).toHaveLength(names.length * FIXTURE_TOOL_COUNT);
  });

  it("hangs from healthy: a service added meanwhile still becomes usable within the bound, and shows up afterwards", async () => {
    const driver = new SwitchableCacheDriver();
    const context = await storeOver(driver);
    await context.addService(stdioFixtureConfig("a"));
    await context.waitService("a");

    driver.mode = "hang";
    const started = performance.now();
    await context.addService(stdioFixtureConfig("e"));
    // Writing its catalogue times out (the connection waits for that), then nothing waits for the cache any more.
    const ready = await outcome(context.waitService("e"), BOUND_MS + 8_000);
    expect(ready.status).toBe("fulfilled");
    expect(await echoes(context, "e", "e-", 5)).toEqual(expectedEchoes("e-", 5));
    expect(await echoes(context, "a", "a-")).toEqual(expectedEchoes("a-"));
    expectCacheError(await outcome(context.listTools(), BOUND_MS + SLACK_MS + 1_000), BOUND_MS + SLACK_MS);
    expect(performance.now() - started).toBeLessThan(BOUND_MS * 2 + 8_000);

    driver.mode = "ok";
    const tools = await until(
      () => context.listTools({ service: "e" }),
      (listed) => listed.length === FIXTURE_TOOL_COUNT,
      10_000,
    );
    expect(tools).toHaveLength(FIXTURE_TOOL_COUNT);
    expect((await context.getService("e")).state).toBe("healthy");
  });
});

/** A driver whose `set`s wait until the test lands or fails each one; everything else is a memory driver. */
class ManualSetDriver implements CacheDriver {
  readonly name = "manual";
  readonly inner = new MemoryCacheDriver();
  /** Every `set` asked for, in order. */
  readonly sets: Array<{ key: string; value: JsonValue; land(): void; fail(): void }> = [];
  /** The values that landed, in the order they did. */
  readonly landed: JsonValue[] = [];

  set(key: string, value: JsonValue): Promise<void> {
    return new Promise((resolve, reject) => {
      const land = () => {
        this.landed.push(value);
        void this.inner.set(key, value).then(resolve);
      };
      this.sets.push({ key, value, land, fail: () => reject(new Error("manual: refused")) });
    });
  }
  get<T extends JsonValue>(key: string) {
    return this.inner.get<T>(key);
  }
  getMany<T extends JsonValue>(keys: readonly string[]) {
    return this.inner.getMany<T>(keys);
  }
  delete(key: string) {
    return this.inner.delete(key);
  }
  keys(prefix: string) {
    return this.inner.keys(prefix);
  }
  deletePrefix(prefix: string) {
    return this.inner.deletePrefix(prefix);
  }
}

/** A service record whose `attempts` tells the writes apart. */
const record = (attempts: number, name = "svc") => ({ name, attempts, addedAt: "2025-01-01T00:00:00.000Z" }) as unknown as ServiceInfo;
const attemptsOf = (values: JsonValue[]) => values.map((value) => (value as { attempts: number }).attempts);

async function nextSet(driver: ManualSetDriver, count: number) {
  const deadline = Date.now() + 3_000;
  while (driver.sets.length < count && Date.now() < deadline) await sleep(5);
  expect(driver.sets).toHaveLength(count);
  return driver.sets[count - 1]!;
}

describe("the catalogue over a failing driver", () => {
  it("keeps writes to a key in order: a write still in flight lands first, then only the latest value", async () => {
    const driver = new ManualSetDriver();
    const catalogue = new Catalogue(driver, { operationTimeoutMs: 50 });

    // The first write hangs past the bound: it resolves anyway, and the driver still holds it.
    const first = await outcome(catalogue.writeService("store", record(1)), 1_000);
    expect(first.status).toBe("fulfilled");
    expect(first.elapsedMs).toBeGreaterThanOrEqual(45);
    void catalogue.writeService("store", record(2));
    void catalogue.writeService("store", record(3));
    await sleep(100);
    // One write per key in flight: 2 and 3 wait behind 1 instead of racing it.
    expect(driver.sets).toHaveLength(1);

    driver.sets[0]!.land();
    const latest = await nextSet(driver, 2);
    expect(attemptsOf([latest.value])).toEqual([3]);
    latest.land();
    await catalogue.flush("store", "svc");
    expect(attemptsOf(driver.landed)).toEqual([1, 3]);
    expect((await catalogue.getService("store", "svc"))?.attempts).toBe(3);
    await catalogue.close();
  });

  it("retries a rejected write with the latest value, and an older one never lands after it", async () => {
    const driver = new ManualSetDriver();
    const catalogue = new Catalogue(driver, { operationTimeoutMs: 1_000 });
    const first = catalogue.writeService("store", record(1));
    (await nextSet(driver, 1)).fail();
    expect((await outcome(first, 1_000)).status).toBe("fulfilled");
    // While the retry waits (200 ms), newer values come in: the retry writes the newest.
    void catalogue.writeService("store", record(2));
    void catalogue.writeService("store", record(3));
    const retry = await nextSet(driver, 2);
    expect(attemptsOf([retry.value])).toEqual([3]);
    retry.fail();
    void catalogue.writeService("store", record(4));
    (await nextSet(driver, 3)).land();
    await sleep(50);
    expect(attemptsOf(driver.landed)).toEqual([4]);
    expect(driver.sets).toHaveLength(3);
    await catalogue.close();
  });

  it("never rejects a write, warns once per outage, says when the driver recovers, and catches up", async () => {
    const driver = new SwitchableCacheDriver();
    const logger = captureLogger();
    const catalogue = new Catalogue(driver, { logger, operationTimeoutMs: 100 });
    driver.mode = "reject";
    const writes = [];
    for (let index = 0; index < 20; index++) {
      writes.push(catalogue.writeService("store", record(index, `svc${index}`)));
      writes.push(catalogue.writeCatalogue("store", `svc${index}`, { tools: [], resources: [], prompts: [] }));
    }
    writes.push(catalogue.removeService("store", "gone"));
    expect((await outcome(Promise.all(writes), 1_000)).status).toBe("fulfilled");

    const read = await outcome(catalogue.listServices("store"), 1_000);
    const error = expectCacheError(read, 500);
    expect(error.details).toEqual({ driver: "switchable", operation: "keys", key: "service/store/" });
    expect(error.message).toBe('Cache driver "switchable" failed on keys');
    expect((error.cause as Error).message).toMatch(/refused/);
    await sleep(500);
    expect(logger.entries.filter((entry) => entry.level === "warn")).toHaveLength(1);

    driver.mode = "hang";
    const hung = expectCacheError(await outcome(catalogue.listTools("store"), 1_000), 500);
    expect(TimeoutError.isInstance(hung.cause)).toBe(true);
    expect(hung.message).toBe('Cache driver "switchable" did not answer keys within 100 ms');
    expect((await outcome(catalogue.flush("store", "svc0"), 1_000)).status).toBe("fulfilled");

    driver.mode = "ok";
    const listed = await until(() => catalogue.listServices("store"), (services) => services.length === 20, 7_000);
    expect(listed).toHaveLength(20);
    expect(await catalogue.listTools("store")).toEqual([]);
    expect(logger.entries.filter((entry) => entry.level === "warn")).toHaveLength(1);
    expect(logger.entries.filter((entry) => entry.level === "info").map((entry) => entry.message)).toEqual(["cache driver switchable answers again"]);
    await catalogue.close();
  });

  it("bounds flush, and close stops the retries (writes asked for afterwards are dropped)", async () => {
    const driver = new SwitchableCacheDriver();
    const catalogue = new Catalogue(driver, { operationTimeoutMs: 100 });
    driver.mode = "hang";
    void catalogue.writeService("store", record(1));
    expect((await outcome(catalogue.flush("store", "svc"), 1_000)).elapsedMs).toBeLessThan(500);

    driver.mode = "reject";
    await sleep(700);
    const closing = await outcome(catalogue.close(), 1_000);
    expect(closing.status).toBe("fulfilled");
    const setsAtClose = driver.calls.get("set");
    expect(setsAtClose).toBeGreaterThan(1);
    void catalogue.writeService("store", record(2));
    await sleep(700);
    expect(driver.calls.get("set")).toBe(setsAtClose);
  });

  it("turns a driver that throws instead of rejecting into a CacheError too", async () => {
    const inner = new MemoryCacheDriver();
    const throwing = (operation: string) => () => {
      throw new Error(`sync ${operation}`);
    };
    const broken: CacheDriver = {
      name: "broken",
      get: (key) => inner.get(key),
      getMany: (keys) => inner.getMany(keys),
      set: throwing("set"),
      delete: throwing("delete"),
      keys: throwing("keys"),
      deletePrefix: throwing("deletePrefix"),
    };
    const catalogue = new Catalogue(broken);
    expect((await outcome(catalogue.writeService("store", record(1)), 1_000)).status).toBe("fulfilled");
    expect((await outcome(catalogue.removeService("store", "svc"), 1_000)).status).toBe("fulfilled");
    const error = expectCacheError(await outcome(catalogue.listServices("store"), 1_000), 500);
    expect((error.cause as Error).message).toBe("sync keys");
    await catalogue.close();
  });

  it("the in-process driver: a read right after a write sees it (listeners of state changes rely on that)", async () => {
    const catalogue = new Catalogue(new MemoryCacheDriver());
    void catalogue.writeService("store", record(1));
    const first = catalogue.getService("store", "svc");
    void catalogue.writeService("store", record(2));
    const second = catalogue.getService("store", "svc");
    expect([(await first)?.attempts, (await second)?.attempts]).toEqual([1, 2]);
  });

  it("bounds reads of the memory driver without a timer, and listTools over 1,000 tools stays fast", async () => {
    // An odd bound, to tell the catalogue's timers from anyone else's.
    const operationTimeoutMs = 1_234;
    const catalogue = new Catalogue(new MemoryCacheDriver(), { operationTimeoutMs });
    for (let service = 0; service < 10; service++) {
      const tools = Array.from({ length: 100 }, (_, index) => ({ name: `s${service}_t${index}`, serviceName: `s${service}` }) as unknown as ToolInfo);
      await catalogue.writeCatalogue("store", `s${service}`, { tools, resources: [], prompts: [] });
    }
    expect(await catalogue.listTools("store")).toHaveLength(1_000);
    const timers = vi.spyOn(globalThis, "setTimeout");
    const samples: number[] = [];
    try {
      for (let index = 0; index < 2_000; index++) {
        const started = performance.now();
        await catalogue.listTools("store");
        samples.push(performance.now() - started);
      }
      expect(timers.mock.calls.filter(([, delayMs]) => delayMs === operationTimeoutMs)).toEqual([]);
    } finally {
      timers.mockRestore();
    }
    samples.sort((a, b) => a - b);
    expect(samples[samples.length >> 1]).toBeLessThan(0.1);
  });
});
