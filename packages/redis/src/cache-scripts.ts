import { LuaScript } from "./lua-script.js";

/**
 * The end of every cache write that changed something: `INCR` the cache version, append `version\n` + op + subject
 * to the change log (trimmed to ARGV `length`), and `PUBLISH` the same member on the hint channel. Returns the version.
 * KEYS[3], KEYS[4]: cache version, cache change log.
 */
const LOGGED = `
local function logged(op, subject, length, channel)
  local version = redis.call('INCR', KEYS[3])
  local member = version .. '\\n' .. op .. subject
  redis.call('ZADD', KEYS[4], version, member)
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', version - tonumber(length))
  redis.call('PUBLISH', channel, member)
  return version
end
`;

/**
 * Sets one cache entry and indexes its key. KEYS: cache hash, key index, cache version, change log. ARGV: key, JSON
 * value, log length, hint channel. Returns the new cache version.
 */
export const CACHE_SET = new LuaScript(
  `${LOGGED}
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], 0, ARGV[1])
return logged('s', ARGV[1], ARGV[3], ARGV[4])
`,
  4,
);

/**
 * Deletes one cache entry and its index entry. KEYS: as {@link CACHE_SET}. ARGV: key, log length, hint channel.
 * Returns the new cache version, or the current one when the key was absent (nothing changed, nothing logged).
 */
export const CACHE_DELETE = new LuaScript(
  `${LOGGED}
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return tonumber(redis.call('GET', KEYS[3]) or '0') end
redis.call('ZREM', KEYS[2], ARGV[1])
return logged('d', ARGV[1], ARGV[2], ARGV[3])
`,
  4,
);

/**
 * Deletes every cache entry whose key is in a lexical range of the index (a prefix: `[prefix` to `(prefix\\xff`, as
 * UTF-8 never holds the byte 0xFF). KEYS: as {@link CACHE_SET}. ARGV: min, max, the prefix, log length, hint channel.
 * Returns the new cache version, or the current one when no key matched.
 */
export const CACHE_DELETE_RANGE = new LuaScript(
  `${LOGGED}
local keys = redis.call('ZRANGEBYLEX', KEYS[2], ARGV[1], ARGV[2])
if #keys == 0 then return tonumber(redis.call('GET', KEYS[3]) or '0') end
for i = 1, #keys, 500 do
  redis.call('HDEL', KEYS[1], unpack(keys, i, math.min(i + 499, #keys)))
end
redis.call('ZREMRANGEBYLEX', KEYS[2], ARGV[1], ARGV[2])
return logged('p', ARGV[3], ARGV[4], ARGV[5])
`,
  4,
);

/**
 * What changed in the cache after a version, with the values needed to catch up, read atomically. KEYS: cache
 * version, change log, cache hash. ARGV: the version seen, the most entries to return, then the versions of this
 * instance's own sets that it holds the values of. Returns `{version, entries, {key, value|nil, ...}}`: entries in
 * version order (none when up to date), and the current value of every key set in them whose last set is not one of
 * the own versions.
 */
export const CACHE_CHANGES_SINCE = new LuaScript(
  `
local version = tonumber(redis.call('GET', KEYS[1]) or '0')
local entries, values = {}, {}
if version ~= tonumber(ARGV[1]) then
  entries = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. ARGV[1], '+inf', 'LIMIT', 0, tonumber(ARGV[2]))
  local own, last, order = {}, {}, {}
  for i = 3, #ARGV do own[ARGV[i]] = true end
  for _, member in ipairs(entries) do
    local newline = string.find(member, '\\n', 1, true)
    if string.sub(member, newline + 1, newline + 1) == 's' then
      local key = string.sub(member, newline + 2)
      if last[key] == nil then order[#order + 1] = key end
      last[key] = string.sub(member, 1, newline - 1)
    end
  end
  for _, key in ipairs(order) do
    if not own[last[key]] then
      values[#values + 1] = key
      values[#values + 1] = redis.call('HGET', KEYS[3], key)
    end
  end
end
return {version, entries, values}
`,
  3,
);

/** The whole cache with its version, read atomically. KEYS: cache version, cache hash. Returns `{version, {field, value, ...}}`. */
export const CACHE_SNAPSHOT = new LuaScript(
  `
return {tonumber(redis.call('GET', KEYS[1]) or '0'), redis.call('HGETALL', KEYS[2])}
`,
  2,
);
