import type { Redis } from "ioredis";

/**
 * A Lua script, run atomically by Redis (no other command runs while it does). Always sent with `EVAL`, not
 * `EVALSHA` with a fallback: a fallback re-sends a script after its `NOSCRIPT` reply, which can reorder it after a
 * command sent later on the same connection, and the change feed relies on that order. Redis caches compiled scripts
 * either way; ours are a few hundred bytes.
 */
export class LuaScript {
  constructor(
    /** The script's source. */
    readonly source: string,
    /** How many of the arguments are keys (they come first). */
    readonly keyCount: number,
  ) {}

  /** Runs the script with `keys` (exactly {@link LuaScript.keyCount}) and `args`; sent synchronously, in call order. */
  run(redis: Redis, keys: readonly string[], args: ReadonlyArray<string | number | Buffer>): Promise<unknown> {
    if (keys.length !== this.keyCount) return Promise.reject(new TypeError(`script expects ${this.keyCount} keys, got ${keys.length}`));
    return redis.eval(this.source, this.keyCount, ...keys, ...args);
  }
}
