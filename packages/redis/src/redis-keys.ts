import { ValidationError } from "@mcpstore/core";

const NAMESPACE = /^[A-Za-z0-9._-]{1,100}$/;
const ROLE = /^[A-Za-z0-9._\-/]{1,200}$/;

/**
 * The Redis keys of one namespace. Every key is `mcpstore:{namespace}:...`: the braces are a Redis Cluster hash tag, so
 * all keys of a namespace live in one slot and the multi-key Lua scripts also run on a cluster. The namespace's
 * characters are restricted so that no namespace's keys are a prefix of another's.
 */
export class RedisKeys {
  /** `mcpstore:{namespace}:`, the prefix of every key of the namespace. */
  readonly prefix: string;
  /** The store-wide version of the desired state (an integer, absent = 0). */
  readonly version: string;
  /** Hash: one field per service (see {@link RedisKeys.serviceField}), the value its `DesiredService` as JSON. */
  readonly services: string;
  /** Sorted set: the last accepted changes, score = version, member = `version\n{"origin","changes"}`. */
  readonly changes: string;
  /** Pub/sub channel: the new version after each accepted change (a hint only; the version key is the truth). */
  readonly channel: string;
  /** Hash: the catalogue cache, field = cache key, value = JSON. */
  readonly cache: string;
  /** Sorted set (all scores 0): the cache keys, so that a prefix is one `ZRANGEBYLEX` and not a scan. */
  readonly cacheIndex: string;
  /** The cache's own version (an integer, absent = 0): +1 per cache write that changed something. */
  readonly cacheVersion: string;
  /** Sorted set: the last cache changes, score = version, member = `version\n` + op (`s`/`d`/`p`) + key or prefix. */
  readonly cacheChanges: string;
  /** Pub/sub channel: each cache change's log member (a hint only; `cacheVersion` is the truth). */
  readonly cacheChannel: string;

  constructor(readonly namespace: string) {
    if (typeof namespace !== "string" || !NAMESPACE.test(namespace)) {
      throw new ValidationError({
        message: `namespace must be 1 to 100 characters among A-Z a-z 0-9 . _ -, got ${JSON.stringify(namespace)}`,
        details: { issues: [{ path: "namespace", message: "must match /^[A-Za-z0-9._-]{1,100}$/" }] },
      });
    }
    this.prefix = `mcpstore:{${namespace}}:`;
    this.version = `${this.prefix}version`;
    this.services = `${this.prefix}services`;
    this.changes = `${this.prefix}changes`;
    this.channel = `${this.prefix}changed`;
    this.cache = `${this.prefix}cache`;
    this.cacheIndex = `${this.prefix}cache-keys`;
    this.cacheVersion = `${this.prefix}cache-version`;
    this.cacheChanges = `${this.prefix}cache-changes`;
    this.cacheChannel = `${this.prefix}cache-changed`;
  }

  /** The lease key of a role: its value is the holder's token. */
  lease(role: string): string {
    return `${this.prefix}lease:${checkRole(role)}`;
  }

  /** The fencing counter of a role: `INCR`ed on every acquisition of its lease. */
  fence(role: string): string {
    return `${this.prefix}fence:${checkRole(role)}`;
  }

  /** A key that only the holder of `role`'s lease writes, through a fenced write. */
  fenced(role: string, key: string): string {
    if (typeof key !== "string" || key === "") throw new ValidationError({ message: "a fenced key must be a non-empty string" });
    return `${this.prefix}fenced:${checkRole(role)}:${key}`;
  }
}

/** The services hash field of a service: unambiguous whatever the agent id and name hold. */
export function serviceField(agentId: string | undefined, name: string): string {
  return JSON.stringify([agentId ?? null, name]);
}

function checkRole(role: string): string {
  if (typeof role !== "string" || !ROLE.test(role)) {
    throw new ValidationError({
      message: `a lease role must be 1 to 200 characters among A-Z a-z 0-9 . _ - /, got ${JSON.stringify(role)}`,
      details: { issues: [{ path: "role", message: "must match /^[A-Za-z0-9._\\-/]{1,200}$/" }] },
    });
  }
  return role;
}
