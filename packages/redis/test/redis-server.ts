// The harness lives in @mcpstore/testing, shared with the CLI's multi-instance tests and the benchmarks.
export { REDIS_SERVER_BIN, startRedisServer, type RedisServer } from "@mcpstore/testing";
