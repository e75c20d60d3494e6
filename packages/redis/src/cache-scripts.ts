import { LuaScript } from "./lua-script.js";

/** Sets one cache entry and indexes its key. KEYS: cache hash, key index. ARGV: key, JSON value. */
export const CACHE_SET = new LuaScript(
  `
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], 0, ARGV[1])
return 1
`,
  2,
);

/** Deletes one cache entry and its index entry. KEYS: cache hash, key index. ARGV: key. */
export const CACHE_DELETE = new LuaScript(
  `
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
`,
  2,
);

/**
 * Deletes every cache entry whose key is in a lexical range of the index (a prefix: `[prefix` to `(prefix\\xff`, as
 * UTF-8 never holds the byte 0xFF). KEYS: cache hash, key index. ARGV: min, max. Returns how many were deleted.
 */
export const CACHE_DELETE_RANGE = new LuaScript(
  `
local keys = redis.call('ZRANGEBYLEX', KEYS[2], ARGV[1], ARGV[2])
for i = 1, #keys, 500 do
  redis.call('HDEL', KEYS[1], unpack(keys, i, math.min(i + 499, #keys)))
end
redis.call('ZREMRANGEBYLEX', KEYS[2], ARGV[1], ARGV[2])
return #keys
`,
  2,
);
