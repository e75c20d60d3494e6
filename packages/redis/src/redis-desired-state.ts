import {
  ServiceExistsError,
  ServiceNotFoundError,
  ValidationError,
  type ApplyOptions,
  type DesiredChange,
  type DesiredService,
  type DesiredStateDriver,
  type ServiceConfig,
} from "@mcpstore/core";
import { DesiredStateFeed, readSnapshot, type RedisDesiredStateEvent } from "./desired-state-feed.js";
import { APPLY } from "./desired-state-scripts.js";
import type { RedisConnection } from "./redis-connection.js";
import { serviceField, type RedisKeys } from "./redis-keys.js";

/** Options of {@link RedisDesiredState}, as `redisDriver` passes them. */
export interface RedisDesiredStateOptions {
  /** How often the feed checks the version whatever pub/sub says, in milliseconds. */
  pollIntervalMs: number;
  /** How many accepted changes the log keeps for instances catching up (older gaps resync from a snapshot). */
  changeLogLength: number;
}

const where = (agentId: string | undefined) => (agentId === undefined ? "the store scope" : `agent "${agentId}"`);

/**
 * The {@link DesiredStateDriver} of `@mcpstore/redis`: the desired state of one namespace in Redis, shared by every
 * instance that uses the namespace. `apply` is one Lua script (preconditions, changes, version, log, hint: all or
 * nothing, atomic across processes). A failure of Redis is a `SharedStateUnavailableError`; an `apply` that timed out
 * carries a deadline in Redis's time and is refused by Redis if it arrives later, so it is `not-applied`.
 */
export class RedisDesiredState implements DesiredStateDriver {
  readonly name = "redis";
  private readonly feed: DesiredStateFeed;
  private closed = false;

  constructor(
    private readonly connection: RedisConnection,
    private readonly keys: RedisKeys,
    private readonly options: RedisDesiredStateOptions,
    private readonly release: () => Promise<void>,
  ) {
    this.feed = new DesiredStateFeed(connection, keys, { pollIntervalMs: options.pollIntervalMs, batchSize: Math.min(options.changeLogLength, 500) });
  }

  async load(): Promise<{ version: number; services: DesiredService[] }> {
    const { version, services } = await readSnapshot(this.connection, this.keys, "load");
    return { version, services: [...services.values()] };
  }

  async get(agentId: string | undefined, name: string): Promise<ServiceConfig | undefined> {
    const value = await this.connection.run("get", (redis) => redis.hget(this.keys.services, serviceField(agentId, name)));
    return value === null ? undefined : (JSON.parse(value) as DesiredService).config;
  }

  async apply(changes: DesiredChange[], options: ApplyOptions = {}): Promise<{ version: number }> {
    const args = encode(changes);
    const body = JSON.stringify({ ...(options.origin !== undefined ? { origin: options.origin } : {}), changes });
    const reply = (await this.connection.runBefore("apply", (deadline) => {
      const argv = [deadline, this.options.changeLogLength, this.keys.channel, body, changes.length, ...args];
      return this.connection.script(APPLY, [this.keys.services, this.keys.version, this.keys.changes], argv);
    })) as [string, number?];
    if (reply[0] === "OK") {
      const version = Number(reply[1]);
      this.feed.notify(version);
      return { version };
    }
    if (reply[0] === "LATE") {
      throw this.connection.unavailable("apply", new Error("Command timed out"), { onTimeout: "not-applied" });
    }
    const change = changes[Number(reply[1])]!;
    const name = change.op === "put" ? change.config.name : change.name;
    const context = { serviceName: name, ...(change.agentId !== undefined ? { agentId: change.agentId } : {}) };
    if (reply[0] === "SERVICE_EXISTS") throw new ServiceExistsError({ ...context, message: `A service named "${name}" already exists in ${where(change.agentId)}` });
    throw new ServiceNotFoundError({ ...context, message: `No service "${name}" in ${where(change.agentId)}` });
  }

  async version(): Promise<number> {
    return Number((await this.connection.run("version", (redis) => redis.get(this.keys.version))) ?? 0);
  }

  /**
   * Every accepted change of the namespace, by any instance, once and in version order; see
   * {@link RedisDesiredStateEvent} for the one exception (a gap). Returns the unsubscribe function.
   */
  subscribe(listener: (event: RedisDesiredStateEvent) => void): () => void {
    if (this.closed) return () => undefined;
    return this.feed.subscribe(listener);
  }

  /** The feed's health: the version delivered up to, whether pub/sub is up, how long ago Redis was last read. */
  feedStatus(): ReturnType<DesiredStateFeed["status"]> {
    return this.feed.status();
  }

  /** Stops the feed and releases this part's hold on the connection. Safe to call twice. */
  async close(): Promise<void> {
    this.closed = true;
    this.feed.close();
    await this.release();
  }
}

/** The script's per-change arguments: op, field, expect, value. */
function encode(changes: readonly DesiredChange[]): string[] {
  if (!Array.isArray(changes)) throw new ValidationError({ message: "apply expects a list of changes" });
  const args: string[] = [];
  for (const change of changes) {
    const name = change?.op === "put" ? change.config?.name : change?.op === "delete" ? change.name : undefined;
    if (typeof name !== "string") throw new ValidationError({ message: `a change must be a put with a named config or a delete with a name, got ${JSON.stringify(change)}` });
    const service: DesiredService | undefined = change.op === "put" ? { ...(change.agentId !== undefined ? { agentId: change.agentId } : {}), config: change.config } : undefined;
    args.push(change.op, serviceField(change.agentId, name), change.expect ?? "", service ? JSON.stringify(service) : "");
  }
  return args;
}
