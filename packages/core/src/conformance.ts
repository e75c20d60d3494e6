import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { CacheDriver, JsonValue } from "./catalogue/cache-driver.js";

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
