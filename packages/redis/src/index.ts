export { redisDriver, type RedisDriver, type RedisDriverOptions } from "./redis-driver.js";
export { RedisDesiredState, type RedisDesiredStateOptions } from "./redis-desired-state.js";
export type { RedisDesiredStateEvent } from "./desired-state-feed.js";
export { RedisCacheDriver, type RedisCacheDriverOptions } from "./redis-cache-driver.js";
export type { RedisCacheStatus } from "./cache-mirror.js";
export { Lease, type FencedWriteOptions, type LeaseEvent, type LeaseGrant, type LeaseOptions } from "./lease.js";
export type { RedisInput } from "./redis-connection.js";
export { SharedStateUnavailableError, type SharedStateUnavailableDetails } from "./shared-state-unavailable-error.js";
export { RedisServicePlacement } from "./service-placement.js";
