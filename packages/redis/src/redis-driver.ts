import { ValidationError, type RoleLease } from "@mcpstore/core";
import { roleLease } from "./config-role.js";
import { fencedWrite, Lease, type FencedWriteOptions, type LeaseOptions } from "./lease.js";
import { RedisCacheDriver } from "./redis-cache-driver.js";
import { RedisConnection, type RedisInput } from "./redis-connection.js";
import { RedisDesiredState } from "./redis-desired-state.js";
import { RedisKeys } from "./redis-keys.js";
import { RedisServicePlacement } from "./service-placement.js";

/** Options of {@link redisDriver}. */
export interface RedisDriverOptions {
  /** `redis://[user:password@]host:port[/db]` (or `rediss://`). Default `redis://127.0.0.1:6379`. */
  url?: string;
  /**
   * The namespace: every instance given the same one shares one desired state and catalogue; two namespaces share
   * nothing. 1 to 100 characters among A-Z a-z 0-9 . _ -.
   */
  namespace: string;
  /**
   * An existing ioredis connection (its settings are copied into this driver's own connections; it is never used nor
   * closed here), or ioredis options (merged under `url`'s). Settings this driver needs win over it (see the README).
   */
  redis?: RedisInput;
  /** The bound of every Redis operation, in milliseconds. Default 500. */
  operationTimeoutMs?: number;
  /**
   * How often the change feed checks the version, and the cache's local copy the cache version, whatever pub/sub says,
   * in milliseconds. Default 1,000; at most 5,000.
   */
  pollIntervalMs?: number;
  /** How many accepted changes the change log (and the cache's change log) keeps for instances catching up. Default 1,000. */
  changeLogLength?: number;
}

/**
 * What {@link redisDriver} returns: the parts that plug into the store, and leases. Each part holds the connection
 * while it is open; the connection closes when every part taken has been closed (the store closes `desiredState` and
 * `cache` when it closes), or at once on {@link RedisDriver.close}.
 */
export interface RedisDriver {
  /** The namespace, as given. */
  readonly namespace: string;
  /** The shared desired state (`MCPStore.setupStore({ desiredState })`). Created on first read. */
  readonly desiredState: RedisDesiredState;
  /** The shared catalogue cache (`MCPStore.setupStore({ cache })`), read from a local copy. Created on first read. */
  readonly cache: RedisCacheDriver;
  /** A lease on one role of the namespace (see {@link Lease}); close it when done. */
  lease(options: LeaseOptions): Lease;
  /**
   * The namespace's `config` role (`setupStore({ shared })` reads it when the store has a config file): its holder
   * alone reads and writes `mcp.json`. Created, and campaigning, on first read; the store closes it.
   */
  readonly configRole: RoleLease;
  /**
   * Where stdio services run (`setupStore({ shared })` reads it): one process per service cluster-wide, on the
   * holder of the service's lease, calls from other instances forwarded to it. Created on first read.
   */
  readonly placement: RedisServicePlacement;
  /** A write refused unless `fence` is the role's newest fencing token (see {@link fencedWrite}). */
  fencedWrite(options: FencedWriteOptions): Promise<boolean>;
  /** Resolves once Redis answers a `PING`; rejects with a `SharedStateUnavailableError` naming it otherwise. */
  ready(): Promise<void>;
  /** Closes every part and the connections. Safe to call twice. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

function milliseconds(name: string, value: number | undefined, fallback: number, max = Number.POSITIVE_INFINITY): number {
  const result = value ?? fallback;
  if (!Number.isFinite(result) || result <= 0 || result > max) {
    throw new ValidationError({
      message: `${name} must be a positive number of milliseconds${Number.isFinite(max) ? ` up to ${max}` : ""}, got ${String(value)}`,
      details: { issues: [{ path: name, message: "out of range" }] },
    });
  }
  return result;
}

/**
 * Redis for several MCPStore instances: one namespace's desired state and catalogue cache in Redis, and leases with
 * fencing tokens. Connects at once (in the background); an operation while Redis is down fails with a typed error
 * after `operationTimeoutMs`. Await {@link RedisDriver.ready} to fail fast at start-up instead.
 *
 * ```ts
 * const shared = redisDriver({ url: "redis://127.0.0.1:6379", namespace: "prod" });
 * const store = await MCPStore.setupStore({ desiredState: shared.desiredState, cache: shared.cache });
 * ```
 */
export function redisDriver(options: RedisDriverOptions): RedisDriver {
  const keys = new RedisKeys(options.namespace);
  const pollIntervalMs = milliseconds("pollIntervalMs", options.pollIntervalMs, 1_000, 5_000);
  const changeLogLength = Math.floor(milliseconds("changeLogLength", options.changeLogLength, 1_000));
  const connection = new RedisConnection({
    timeoutMs: milliseconds("operationTimeoutMs", options.operationTimeoutMs, 500),
    ...(options.url !== undefined ? { url: options.url } : {}),
    ...(options.redis !== undefined ? { redis: options.redis } : {}),
  });
  let desiredState: RedisDesiredState | undefined;
  let cache: RedisCacheDriver | undefined;
  const leases = new Set<Lease>();
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      await Promise.allSettled([desiredState?.close(), cache?.close(), placement?.close(), ...[...leases].map((lease) => lease.close())]);
      await connection.close();
    })());
  let configRole: RoleLease | undefined;
  let placement: RedisServicePlacement | undefined;
  return {
    namespace: options.namespace,
    get desiredState() {
      return (desiredState ??= new RedisDesiredState(connection, keys, { pollIntervalMs, changeLogLength }, connection.retain()));
    },
    get cache() {
      return (cache ??= new RedisCacheDriver(connection, keys, { pollIntervalMs, changeLogLength }, connection.retain()));
    },
    get configRole() {
      // A failed first attempt (Redis away) is only "not held": the campaign retries every second.
      return (configRole ??= roleLease(this.lease({ role: "config" }), () => undefined));
    },
    get placement() {
      return (placement ??= new RedisServicePlacement(connection, keys, (role) => this.lease({ role }), connection.retain()));
    },
    lease(leaseOptions) {
      let release: (() => Promise<void>) | undefined;
      const lease = new Lease(connection, keys, leaseOptions, async () => {
        leases.delete(lease);
        await release?.();
      });
      release = connection.retain();
      leases.add(lease);
      return lease;
    },
    fencedWrite: (writeOptions) => fencedWrite(connection, keys, writeOptions),
    ready: () => connection.run("ping", (redis) => redis.ping()).then(() => undefined),
    close,
    [Symbol.asyncDispose]: close,
  };
}
