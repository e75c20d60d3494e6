/** A JSON value: what a {@link CacheDriver} stores. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue | undefined };

/**
 * Where the store keeps its catalogue (service snapshots, tools, resources, prompts). Async so that a shared driver
 * (Redis) fits the same shape as the in-memory one. Keys are `/`-separated strings; values are JSON.
 *
 * Contract (checked by `runCacheDriverConformance` from `@mcpstore/core/conformance`):
 * - `get` returns what the last `set` stored, equal in value; changing the object given to `set` afterwards does not
 *   change what is stored; a value returned by `get` is either a copy or frozen.
 * - `keys(prefix)` returns every key that starts with `prefix`, in no particular order.
 * - `deletePrefix(prefix)` removes exactly those keys.
 */
export interface CacheDriver {
  /** Driver name, for logs (`"memory"`, `"redis"`). */
  readonly name: string;
  get<T extends JsonValue>(key: string): Promise<T | undefined>;
  /** Values of several keys in one round trip, in the order asked, `undefined` for missing ones. */
  getMany<T extends JsonValue>(keys: readonly string[]): Promise<Array<T | undefined>>;
  set(key: string, value: JsonValue): Promise<void>;
  delete(key: string): Promise<void>;
  keys(prefix: string): Promise<string[]>;
  deletePrefix(prefix: string): Promise<void>;
  /** Releases connections; the driver is not used afterwards. */
  close?(): Promise<void>;
  /**
   * For a driver that answers from a local copy of shared data: `stale` while it could not sync lately (its store is
   * away). Service info read meanwhile is marked `stale: true`.
   */
  status?(): { stale: boolean };
}
