import { LuaScript } from "./lua-script.js";
import { deadlineCheck } from "./redis-connection.js";

/**
 * Applies a list of changes atomically, or none of them.
 * KEYS: services hash, version, changes log. ARGV: deadline (Redis Unix ms), log length, channel, event
 * body (JSON), change count, then per change: op (`put`/`delete`), field, expect (`absent`/`present`/``), value.
 * Returns `{"OK", version}`, `{"LATE"}` (the deadline had passed: nothing applied), or `{code, index}` for the first
 * failed precondition (`SERVICE_EXISTS`, `SERVICE_NOT_FOUND`), checked against the changes before it.
 */
export const APPLY = new LuaScript(
  `
${deadlineCheck("{'LATE'}")}
local count = tonumber(ARGV[5])
local present = {}
for i = 0, count - 1 do
  local base = 6 + i * 4
  local field, expect = ARGV[base + 1], ARGV[base + 2]
  local exists = present[field]
  if exists == nil then exists = redis.call('HEXISTS', KEYS[1], field) == 1 end
  if expect == 'absent' and exists then return {'SERVICE_EXISTS', i} end
  if expect == 'present' and not exists then return {'SERVICE_NOT_FOUND', i} end
  present[field] = ARGV[base] == 'put'
end
for i = 0, count - 1 do
  local base = 6 + i * 4
  if ARGV[base] == 'put' then redis.call('HSET', KEYS[1], ARGV[base + 1], ARGV[base + 3])
  else redis.call('HDEL', KEYS[1], ARGV[base + 1]) end
end
local version = redis.call('INCR', KEYS[2])
redis.call('ZADD', KEYS[3], version, version .. '\\n' .. ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', version - tonumber(ARGV[2]))
redis.call('PUBLISH', ARGV[3], version)
return {'OK', version}
`,
  3,
);

/**
 * What changed after a version. KEYS: version, changes log. ARGV: the version seen, the most entries to return.
 * Returns `{version, timeSeconds, timeMicroseconds, entries}`, entries in version order (none when up to date).
 */
export const CHANGES_SINCE = new LuaScript(
  `
local version = tonumber(redis.call('GET', KEYS[1]) or '0')
local time = redis.call('TIME')
local entries = {}
if version ~= tonumber(ARGV[1]) then
  entries = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. ARGV[1], '+inf', 'LIMIT', 0, tonumber(ARGV[2]))
end
return {version, time[1], time[2], entries}
`,
  2,
);

/**
 * Every service with the version, read atomically. KEYS: version, services hash.
 * Returns `{version, timeSeconds, timeMicroseconds, {field, value, field, value, ...}}`.
 */
export const SNAPSHOT = new LuaScript(
  `
local time = redis.call('TIME')
return {tonumber(redis.call('GET', KEYS[1]) or '0'), time[1], time[2], redis.call('HGETALL', KEYS[2])}
`,
  2,
);
