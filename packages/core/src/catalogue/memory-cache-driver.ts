import type { CacheDriver, JsonValue } from "./cache-driver.js";
import { deepFreeze } from "./deep-freeze.js";


/** Arrays and plain objects: the containers of JSON. Anything else (a `Date`, a `Map`) can change while frozen. */
function isJsonContainer(value: object): boolean {
  if (Array.isArray(value)) return true;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/** True when nothing in `value` can change any more: every array and plain object in it is frozen. */
function isDeeplyFrozen(value: unknown): boolean {
  if (value === null || typeof value !== "object") return true;
  if (!Object.isFrozen(value) || !isJsonContainer(value)) return false;
  for (const child of Object.values(value)) if (!isDeeplyFrozen(child)) return false;
  return true;
}

/**
 * A deep-frozen copy of `value` that shares whatever cannot change: strings, and every part that is deeply frozen
 * already. A value its producer froze is thus stored as it is, with no second copy; anything else is copied, so that
 * changing the object given to `set` afterwards does not change what is stored.
 */
function frozenCopy(value: unknown): unknown {
  // structuredClone throws the DataCloneError a JSON cache should (functions, symbols), and clones a Date or a Map.
  if (typeof value === "function" || typeof value === "symbol") return structuredClone(value);
  if (value === null || typeof value !== "object" || isDeeplyFrozen(value)) return value;
  if (!isJsonContainer(value)) return deepFreeze(structuredClone(value));
  if (Array.isArray(value)) return Object.freeze(value.map(frozenCopy));
  // fromEntries defines each key as an own property: a `__proto__` key stays a key, as in structuredClone.
  return Object.freeze(Object.fromEntries(Object.entries(value).map(([key, child]) => [key, frozenCopy(child)])));
}

/**
 * The default {@link CacheDriver}: a `Map` in this process. Values are deep-frozen on `set`, so `get` hands out the
 * stored object itself (no copy on the read path) and nobody can change it. `set` copies only what could still change:
 * a value that is deeply frozen already (every array and plain object in it) is stored as it is, and a copy shares the
 * frozen parts and the strings of what it was given, so a catalogue holds one copy of each tool definition, not two.
 */
export class MemoryCacheDriver implements CacheDriver {
  readonly name = "memory";
  private readonly entries = new Map<string, JsonValue>();

  async get<T extends JsonValue>(key: string): Promise<T | undefined> {
    return this.entries.get(key) as T | undefined;
  }

  async getMany<T extends JsonValue>(keys: readonly string[]): Promise<Array<T | undefined>> {
    return keys.map((key) => this.entries.get(key) as T | undefined);
  }

  async set(key: string, value: JsonValue): Promise<void> {
    this.entries.set(key, frozenCopy(value) as JsonValue);
  }

  async delete(key: string): Promise<void> {
    this.entries.delete(key);
  }

  async keys(prefix: string): Promise<string[]> {
    const found: string[] = [];
    for (const key of this.entries.keys()) if (key.startsWith(prefix)) found.push(key);
    return found;
  }

  async deletePrefix(prefix: string): Promise<void> {
    for (const key of [...this.entries.keys()]) if (key.startsWith(prefix)) this.entries.delete(key);
  }

  async close(): Promise<void> {
    this.entries.clear();
  }
}
