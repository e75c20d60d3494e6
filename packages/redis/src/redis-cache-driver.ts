import { CacheError, type CacheDriver, type JsonValue } from "@mcpstore/core";
import type { Redis } from "ioredis";
import { CACHE_DELETE, CACHE_DELETE_RANGE, CACHE_SET } from "./cache-scripts.js";
import type { RedisConnection } from "./redis-connection.js";
import type { RedisKeys } from "./redis-keys.js";

/** The lexical range of the keys that start with `prefix`, for `ZRANGEBYLEX`. */
function prefixRange(prefix: string): [string | Buffer, string | Buffer] {
  if (prefix === "") return ["-", "+"];
  return [`[${prefix}`, Buffer.concat([Buffer.from(`(${prefix}`), Buffer.from([0xff])])];
}

/**
 * The {@link CacheDriver} of `@mcpstore/redis`: the catalogue of one namespace in one Redis hash (values as JSON),
 * with a sorted set of its keys so that `keys(prefix)` and `deletePrefix(prefix)` are a lexical range, not a scan of
 * the whole Redis. `get` parses a fresh copy each time. Failures and timeouts are `CacheError`s whose `cause` is a
 * `SharedStateUnavailableError`.
 */
export class RedisCacheDriver implements CacheDriver {
  readonly name = "redis";
  private closed = false;

  constructor(
    private readonly connection: RedisConnection,
    private readonly redisKeys: RedisKeys,
    private readonly release: () => Promise<void>,
  ) {}

  async get<T extends JsonValue>(key: string): Promise<T | undefined> {
    const value = await this.run("get", key, (redis) => redis.hget(this.redisKeys.cache, key));
    return value === null ? undefined : (JSON.parse(value) as T);
  }

  async getMany<T extends JsonValue>(keys: readonly string[]): Promise<Array<T | undefined>> {
    if (keys.length === 0) return [];
    const values = await this.run("getMany", undefined, (redis) => redis.hmget(this.redisKeys.cache, ...keys));
    return values.map((value) => (value === null ? undefined : (JSON.parse(value) as T)));
  }

  async set(key: string, value: JsonValue): Promise<void> {
    const json = JSON.stringify(value);
    if (json === undefined) throw new TypeError(`cache value of "${key}" is not JSON`);
    await this.run("set", key, () => this.connection.script(CACHE_SET, [this.redisKeys.cache, this.redisKeys.cacheIndex], [key, json]), true);
  }

  async delete(key: string): Promise<void> {
    await this.run("delete", key, () => this.connection.script(CACHE_DELETE, [this.redisKeys.cache, this.redisKeys.cacheIndex], [key]), true);
  }

  async keys(prefix: string): Promise<string[]> {
    const [min, max] = prefixRange(prefix);
    return this.run("keys", prefix, (redis) => redis.zrangebylex(this.redisKeys.cacheIndex, min, max));
  }

  async deletePrefix(prefix: string): Promise<void> {
    const [min, max] = prefixRange(prefix);
    await this.run("deletePrefix", prefix, () => this.connection.script(CACHE_DELETE_RANGE, [this.redisKeys.cache, this.redisKeys.cacheIndex], [min, max]), true);
  }

  /** Releases this part's hold on the connection. Safe to call twice. */
  async close(): Promise<void> {
    this.closed = true;
    await this.release();
  }

  /** Runs one operation bounded by the timeout; any failure is a `CacheError` naming the operation and key. */
  private async run<T>(operation: string, key: string | undefined, work: (redis: Redis) => Promise<T>, write = false): Promise<T> {
    try {
      if (this.closed) throw new Error("the cache driver is closed");
      return await this.connection.run(`cache:${operation}`, work, write ? { onTimeout: "unknown" } : undefined);
    } catch (error) {
      throw new CacheError({
        message: error instanceof Error ? error.message : `Cache driver "redis" failed on ${operation}`,
        cause: error,
        details: { driver: this.name, operation, ...(key !== undefined ? { key } : {}) },
      });
    }
  }
}
