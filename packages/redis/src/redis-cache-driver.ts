import { CacheError, type CacheDriver, type JsonValue } from "@mcpstore/core";
import { CacheMirror, parseFrozen, type RedisCacheStatus } from "./cache-mirror.js";
import { CACHE_DELETE, CACHE_DELETE_RANGE, CACHE_SET } from "./cache-scripts.js";
import type { RedisConnection } from "./redis-connection.js";
import type { RedisKeys } from "./redis-keys.js";

/** Options of {@link RedisCacheDriver}, as `redisDriver` passes them. */
export interface RedisCacheDriverOptions {
  /** How often the local copy checks the cache version whatever pub/sub says, in milliseconds. */
  pollIntervalMs: number;
  /** How many cache changes the log keeps for instances catching up (older gaps reload the whole cache). */
  changeLogLength: number;
}

/** The lexical range of the keys that start with `prefix`, for `ZRANGEBYLEX`. */
function prefixRange(prefix: string): [string | Buffer, string | Buffer] {
  if (prefix === "") return ["-", "+"];
  return [`[${prefix}`, Buffer.concat([Buffer.from(`(${prefix}`), Buffer.from([0xff])])];
}

/**
 * The {@link CacheDriver} of `@mcpstore/redis`: the catalogue of one namespace in one Redis hash (values as JSON),
 * every read answered from a local copy ({@link CacheMirror}): values parsed once and deeply frozen, as the memory
 * driver keeps them, loaded on first use, updated by this instance's writes at once and by other instances' within a
 * pub/sub hint, or a poll of the cache version (every `pollIntervalMs`) when pub/sub is silent. While Redis is away,
 * reads answer what was last synced and {@link RedisCacheDriver.status} says `stale`. Writes go to Redis (scripts that
 * keep a key index, the cache version and a change log in step) and fail as `CacheError`s whose `cause` is a
 * `SharedStateUnavailableError`; so does a read before the first load could reach Redis.
 */
export class RedisCacheDriver implements CacheDriver {
  readonly name = "redis";
  private readonly mirror: CacheMirror;
  private readonly writeKeys: string[];
  private closed = false;

  constructor(
    private readonly connection: RedisConnection,
    private readonly redisKeys: RedisKeys,
    private readonly options: RedisCacheDriverOptions,
    private readonly release: () => Promise<void>,
  ) {
    this.mirror = new CacheMirror(connection, redisKeys, {
      pollIntervalMs: options.pollIntervalMs,
      batchSize: Math.min(options.changeLogLength, 500),
      staleAfterMs: options.pollIntervalMs + 2 * connection.timeoutMs,
    });
    this.writeKeys = [redisKeys.cache, redisKeys.cacheIndex, redisKeys.cacheVersion, redisKeys.cacheChanges];
  }

  get<T extends JsonValue>(key: string): Promise<T | undefined> {
    return this.read("get", key, () => this.mirror.get(key) as T | undefined);
  }

  getMany<T extends JsonValue>(keys: readonly string[]): Promise<Array<T | undefined>> {
    return this.read("getMany", undefined, () => keys.map((key) => this.mirror.get(key) as T | undefined));
  }

  keys(prefix: string): Promise<string[]> {
    return this.read("keys", prefix, () => this.mirror.keysWith(prefix));
  }

  async set(key: string, value: JsonValue): Promise<void> {
    const json = JSON.stringify(value);
    if (json === undefined) throw new TypeError(`cache value of "${key}" is not JSON`);
    const { changeLogLength } = this.options;
    const version = await this.write("set", key, () => this.connection.script(CACHE_SET, this.writeKeys, [key, json, changeLogLength, this.redisKeys.cacheChannel]));
    this.mirror.applyOwn({ version, op: "s", subject: key, value: parseFrozen(json) });
  }

  async delete(key: string): Promise<void> {
    const version = await this.write("delete", key, () =>
      this.connection.script(CACHE_DELETE, this.writeKeys, [key, this.options.changeLogLength, this.redisKeys.cacheChannel]),
    );
    this.mirror.applyOwn({ version, op: "d", subject: key });
  }

  async deletePrefix(prefix: string): Promise<void> {
    const [min, max] = prefixRange(prefix);
    const version = await this.write("deletePrefix", prefix, () =>
      this.connection.script(CACHE_DELETE_RANGE, this.writeKeys, [min, max, prefix, this.options.changeLogLength, this.redisKeys.cacheChannel]),
    );
    this.mirror.applyOwn({ version, op: "p", subject: prefix });
  }

  /**
   * Whether reads may be behind Redis (`stale`: not loaded yet, Redis not answering, or not read for longer than
   * `pollIntervalMs + 2 × operationTimeoutMs`), how long ago Redis was last read (ms), the cache version reflected, and
   * whether pub/sub is subscribed. For marking what is served from the copy as stale.
   */
  status(): RedisCacheStatus {
    return this.mirror.status();
  }

  /** Stops following Redis, drops the local copy and releases this part's hold on the connection. Safe to call twice. */
  async close(): Promise<void> {
    this.closed = true;
    this.mirror.close(new Error("the cache driver is closed"));
    await this.release();
  }

  /**
   * Answers from the local copy: at once (no timer, no round trip) once it is loaded, else after the first load, which
   * is bounded like every Redis operation.
   */
  private read<T>(operation: string, key: string | undefined, answer: () => T): Promise<T> {
    if (this.closed) return Promise.reject(this.failure(operation, key, new Error("the cache driver is closed")));
    const loading = this.mirror.loaded();
    if (loading === undefined) return Promise.resolve(answer());
    return loading.then(
      () => {
        if (this.closed) throw this.failure(operation, key, new Error("the cache driver is closed"));
        return answer();
      },
      (error: unknown) => {
        throw this.failure(operation, key, error);
      },
    );
  }

  /** One write script, bounded by the timeout; resolves with the cache version it returned. */
  private async write(operation: string, key: string, send: () => Promise<unknown>): Promise<number> {
    try {
      if (this.closed) throw new Error("the cache driver is closed");
      this.mirror.start();
      return Number(await this.connection.run(`cache:${operation}`, send, { onTimeout: "unknown" }));
    } catch (error) {
      throw this.failure(operation, key, error);
    }
  }

  /** A `CacheError` naming the operation and key. */
  private failure(operation: string, key: string | undefined, error: unknown): CacheError {
    return new CacheError({
      message: error instanceof Error ? error.message : `Cache driver "redis" failed on ${operation}`,
      cause: error,
      details: { driver: this.name, operation, ...(key !== undefined ? { key } : {}) },
    });
  }
}
