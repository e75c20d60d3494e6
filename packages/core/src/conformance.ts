import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { CacheDriver, JsonValue } from "./catalogue/cache-driver.js";
import type { ServiceConfig } from "./config/service-config.js";
import type { DesiredStateDriver, DesiredStateEvent } from "./registry/desired-state.js";

/**
 * The conformance suite every {@link CacheDriver} must pass. Call it inside a vitest test file:
 *
 * ```ts
 * runCacheDriverConformance("memory", () => new MemoryCacheDriver());
 * ```
 *
 * `createDriver` must return an empty driver each time (use a fresh key space for shared backends).
 */
export function runCacheDriverConformance(label: string, createDriver: () => CacheDriver | Promise<CacheDriver>): void {
  describe(`CacheDriver conformance: ${label}`, () => {
    let driver: CacheDriver;
    beforeEach(async () => {
      driver = await createDriver();
    });
    afterEach(async () => {
      await driver.close?.();
    });

    it("has a name", () => {
      expect(typeof driver.name).toBe("string");
      expect(driver.name.length).toBeGreaterThan(0);
    });

    it("returns undefined for a missing key", async () => {
      expect(await driver.get("missing/key")).toBeUndefined();
    });

    it("round-trips every JSON shape", async () => {
      const values: JsonValue[] = ["text", "", 0, -1.5, true, false, null, [], [1, "a", null], {}, { nested: { list: [{ a: 1 }], unicode: "北京 ✓" } }];
      for (const [index, value] of values.entries()) {
        await driver.set(`shape/${index}`, value);
        expect(await driver.get(`shape/${index}`)).toEqual(value);
      }
    });

    it("overwrites on set", async () => {
      await driver.set("k", { v: 1 });
      await driver.set("k", { v: 2 });
      expect(await driver.get("k")).toEqual({ v: 2 });
    });

    it("is not changed by mutating the value given to set", async () => {
      const value = { list: [1, 2], inner: { a: "x" } };
      await driver.set("k", value);
      value.list.push(3);
      value.inner.a = "changed";
      expect(await driver.get("k")).toEqual({ list: [1, 2], inner: { a: "x" } });
    });

    it("hands out values that a caller cannot change for the next reader", async () => {
      await driver.set("k", { list: [1], inner: { a: "x" } });
      const first = (await driver.get<{ list: number[]; inner: { a: string } }>("k"))!;
      try {
        first.list.push(2);
        first.inner.a = "changed";
      } catch {
        // frozen values throw in strict mode: also fine
      }
      expect(await driver.get("k")).toEqual({ list: [1], inner: { a: "x" } });
    });

    it("gets many keys in order, with undefined for missing ones", async () => {
      await driver.set("a", 1);
      await driver.set("c", 3);
      expect(await driver.getMany(["a", "b", "c"])).toEqual([1, undefined, 3]);
      expect(await driver.getMany([])).toEqual([]);
    });

    it("deletes one key", async () => {
      await driver.set("a", 1);
      await driver.set("b", 2);
      await driver.delete("a");
      await driver.delete("never-set");
      expect(await driver.get("a")).toBeUndefined();
      expect(await driver.get("b")).toBe(2);
    });

    it("lists keys by prefix, and only those", async () => {
      await driver.set("tools/store/a", 1);
      await driver.set("tools/store/b", 2);
      await driver.set("tools/agent/x/a", 3);
      await driver.set("toolsX", 4);
      expect((await driver.keys("tools/store/")).sort()).toEqual(["tools/store/a", "tools/store/b"]);
      expect((await driver.keys("tools/")).sort()).toEqual(["tools/agent/x/a", "tools/store/a", "tools/store/b"]);
      expect(await driver.keys("nothing/")).toEqual([]);
    });

    it("treats glob and regex characters in keys and prefixes literally", async () => {
      await driver.set("weird/*[a]?.+(x)", 1);
      await driver.set("weird/plain", 2);
      expect(await driver.keys("weird/*")).toEqual(["weird/*[a]?.+(x)"]);
      expect(await driver.get("weird/*[a]?.+(x)")).toBe(1);
    });

    it("deletes by prefix, and only that prefix", async () => {
      await driver.set("svc/store/a", 1);
      await driver.set("svc/store/b", 2);
      await driver.set("svc/storeX", 3);
      await driver.deletePrefix("svc/store/");
      expect(await driver.keys("svc/")).toEqual(["svc/storeX"]);
    });

    it("keeps up under concurrent writes to different keys", async () => {
      await Promise.all(Array.from({ length: 200 }, (_, index) => driver.set(`many/${index}`, { index })));
      const keys = await driver.keys("many/");
      expect(keys).toHaveLength(200);
      const values = await driver.getMany<{ index: number }>(Array.from({ length: 200 }, (_, index) => `many/${index}`));
      expect(values.map((value) => value?.index)).toEqual(Array.from({ length: 200 }, (_, index) => index));
    });
  });
}

/**
 * The conformance suite every {@link DesiredStateDriver} must pass. Call it inside a vitest test file:
 *
 * ```ts
 * runDesiredStateDriverConformance("memory", () => new MemoryDesiredState());
 * ```
 *
 * `createDriver` must return an empty driver each time (use a fresh namespace for shared backends). Change feeds of
 * shared drivers may deliver asynchronously: the suite waits (up to `feedTimeoutMs`, default 2 s) for events.
 */
export function runDesiredStateDriverConformance(
  label: string,
  createDriver: () => DesiredStateDriver | Promise<DesiredStateDriver>,
  options: { feedTimeoutMs?: number } = {},
): void {
  const feedTimeoutMs = options.feedTimeoutMs ?? 2_000;
  const config = (name: string, extra: Record<string, unknown> = {}): ServiceConfig => ({ name, url: `http://127.0.0.1:9/${name}`, ...extra });
  const collect = (driver: DesiredStateDriver) => {
    const events: DesiredStateEvent[] = [];
    const off = driver.subscribe((event) => events.push(event));
    const waitFor = async (count: number) => {
      const deadline = Date.now() + feedTimeoutMs;
      while (events.length < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
      return events;
    };
    return { events, off, waitFor };
  };

  describe(`DesiredStateDriver conformance: ${label}`, () => {
    let driver: DesiredStateDriver;
    beforeEach(async () => {
      driver = await createDriver();
    });
    afterEach(async () => {
      await driver.close?.();
    });

    it("has a name, starts empty at version 0", async () => {
      expect(driver.name.length).toBeGreaterThan(0);
      expect(await driver.version()).toBe(0);
      expect(await driver.load()).toEqual({ version: 0, services: [] });
      expect(await driver.get(undefined, "missing")).toBeUndefined();
    });

    it("stores configs per scope, placeholders and unknown fields as given", async () => {
      const store = config("a", { headers: { Authorization: "Bearer ${TOKEN}" }, description: "kept", tags: ["x"] });
      const agent = config("a", { env: { KEY: "${KEY:-none}" } });
      await driver.apply([{ op: "put", config: store }]);
      await driver.apply([{ op: "put", agentId: "alice", config: agent }]);
      expect(await driver.get(undefined, "a")).toEqual(store);
      expect(await driver.get("alice", "a")).toEqual(agent);
      expect(await driver.get("bob", "a")).toBeUndefined();
      const { services } = await driver.load();
      expect(services).toHaveLength(2);
      expect(services.find((service) => service.agentId === "alice")?.config).toEqual(agent);
      expect(services.find((service) => service.agentId === undefined)?.config).toEqual(store);
    });

    it("increments the version by exactly one per accepted apply, however many changes it holds", async () => {
      expect((await driver.apply([{ op: "put", config: config("a") }, { op: "put", config: config("b") }])).version).toBe(1);
      expect((await driver.apply([{ op: "delete", name: "a" }])).version).toBe(2);
      expect(await driver.version()).toBe(2);
      expect((await driver.load()).version).toBe(2);
    });

    it("checks preconditions atomically: a failed one applies nothing and keeps the version", async () => {
      await driver.apply([{ op: "put", config: config("a") }]);
      await expect(driver.apply([{ op: "put", config: config("b") }, { op: "put", config: config("a"), expect: "absent" }])).rejects.toMatchObject({
        code: "SERVICE_EXISTS",
      });
      await expect(driver.apply([{ op: "delete", name: "zzz", expect: "present" }])).rejects.toMatchObject({ code: "SERVICE_NOT_FOUND" });
      await expect(driver.apply([{ op: "put", config: config("zzz"), expect: "present" }])).rejects.toMatchObject({ code: "SERVICE_NOT_FOUND" });
      expect(await driver.get(undefined, "b")).toBeUndefined();
      expect(await driver.version()).toBe(1);
      // A precondition sees the changes before it in the same apply.
      await driver.apply([{ op: "delete", name: "a", expect: "present" }, { op: "put", config: config("a"), expect: "absent" }]);
      expect(await driver.version()).toBe(2);
    });

    it("keeps copies: changing a value after apply, or one it returned, changes nothing stored", async () => {
      const value = config("a", { env: { A: "1" } });
      await driver.apply([{ op: "put", config: value }]);
      value.env!.A = "changed";
      const read = (await driver.get(undefined, "a"))!;
      try {
        read.env!.A = "changed too";
      } catch {
        // frozen values are fine
      }
      expect((await driver.get(undefined, "a"))?.env).toEqual({ A: "1" });
      expect((await driver.load()).services[0]?.config.env).toEqual({ A: "1" });
    });

    it("delivers every accepted change once, in version order, with its origin, until unsubscribed", async () => {
      const feed = collect(driver);
      await driver.apply([{ op: "put", config: config("a") }], { origin: "me" });
      await driver.apply([{ op: "put", agentId: "alice", config: config("b") }], { origin: "other" });
      await driver.apply([{ op: "delete", name: "missing", expect: "present" }]).catch(() => undefined);
      await driver.apply([{ op: "delete", name: "a" }]);
      const events = await feed.waitFor(3);
      expect(events.map((event) => event.version)).toEqual([1, 2, 3]);
      expect(events.map((event) => event.origin)).toEqual(["me", "other", undefined]);
      expect(events[1]?.changes).toEqual([{ op: "put", agentId: "alice", config: config("b") }]);
      feed.off();
      await driver.apply([{ op: "put", config: config("c") }]);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(events).toHaveLength(3);
    });

    it("gives concurrent applies distinct, consecutive versions and loses none of them", async () => {
      const results = await Promise.all(Array.from({ length: 50 }, (_, index) => driver.apply([{ op: "put", config: config(`s${index}`) }])));
      expect(results.map((result) => result.version).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, index) => index + 1));
      expect((await driver.load()).services).toHaveLength(50);
    });

    it("lets exactly one of two concurrent creates of one name win", async () => {
      const outcomes = await Promise.allSettled(
        Array.from({ length: 10 }, (_, index) => driver.apply([{ op: "put", config: config("race", { description: String(index) }), expect: "absent" }])),
      );
      expect(outcomes.filter((outcome) => outcome.status === "fulfilled")).toHaveLength(1);
      expect(await driver.version()).toBe(1);
    });
  });
}
