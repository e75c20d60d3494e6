import type { CacheDriver, JsonValue } from "./cache-driver.js";

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/**
 * The default {@link CacheDriver}: a `Map` in this process. Values are cloned and deep-frozen on `set`, so `get` hands
 * out the stored object itself (no copy on the read path) and nobody can change it.
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
    this.entries.set(key, deepFreeze(structuredClone(value)));
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
