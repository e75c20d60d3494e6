import { isDeepStrictEqual } from "node:util";
import type { DesiredChange, DesiredService, DesiredStateEvent } from "@mcpstore/core";
import type { Redis } from "ioredis";
import { CHANGES_SINCE, SNAPSHOT } from "./desired-state-scripts.js";
import type { RedisConnection } from "./redis-connection.js";
import { serviceField, type RedisKeys } from "./redis-keys.js";
import { ServerClock } from "./server-clock.js";

/**
 * A {@link DesiredStateEvent} of the Redis feed. `resync` marks an event that this instance could not build from the
 * change log (it had been trimmed past the version this instance had, or the namespace was reset): its `changes` are
 * the net difference between what was delivered before and the state at `version`, which may be more than one above
 * the previous event's.
 */
export type RedisDesiredStateEvent = DesiredStateEvent & { resync?: true };

/** Options of {@link DesiredStateFeed}. */
export interface DesiredStateFeedOptions {
  /** How often the version is checked whatever pub/sub says, in milliseconds. */
  pollIntervalMs: number;
  /** The most log entries read in one round trip. */
  batchSize: number;
}

/** A parsed entry of the change log. */
interface LogEntry {
  version: number;
  origin?: string;
  changes: DesiredChange[];
}

/** Turns `HGETALL`'s flat `[field, value, ...]` into services by field. */
export function parseServices(flat: readonly string[]): Map<string, DesiredService> {
  const services = new Map<string, DesiredService>();
  for (let index = 0; index + 1 < flat.length; index += 2) services.set(flat[index]!, JSON.parse(flat[index + 1]!) as DesiredService);
  return services;
}

/** Reads a `SNAPSHOT` reply, and learns Redis's clock from it. */
export async function readSnapshot(connection: RedisConnection, keys: RedisKeys, operation: string): Promise<{ version: number; services: Map<string, DesiredService> }> {
  const reply = await connection.run(operation, async () => {
    const sentAt = ServerClock.now();
    const result = (await connection.script(SNAPSHOT, [keys.version, keys.services], [])) as [number, string, string, string[]];
    connection.clock.observe(sentAt, ServerClock.now(), [result[1], result[2]]);
    return result;
  });
  return { version: Number(reply[0]), services: parseServices(reply[3]) };
}

/**
 * The change feed of one `RedisDesiredState`. Pub/sub is only a hint that something changed: what is delivered is
 * always read from Redis itself (the change log after the last version delivered, in one atomic script). It reads on
 * every hint, after every (re)subscribe, after this instance's own changes, and every `pollIntervalMs` whatever pub/sub
 * says, so a subscription that died silently costs at most one poll interval. When the log no longer reaches back to
 * the version delivered (a gap), it reloads the whole state and delivers the difference as one `resync` event.
 */
export class DesiredStateFeed {
  private readonly listeners = new Set<(event: RedisDesiredStateEvent) => void>();
  /** The version delivered up to; `undefined` until the feed's first read. */
  private seen: number | undefined;
  /** The services as delivered so far, to tell the difference after a gap. */
  private mirror = new Map<string, DesiredService>();
  private subscriber: Redis | undefined;
  private subscribed = false;
  private poll: NodeJS.Timeout | undefined;
  private syncing: Promise<void> | undefined;
  private again = false;
  /** Bumped by `stop()`, so that a read still in flight from before delivers nothing. */
  private generation = 0;
  private lastSyncAt: number | undefined;

  constructor(
    private readonly connection: RedisConnection,
    private readonly keys: RedisKeys,
    private readonly options: DesiredStateFeedOptions,
  ) {}

  /** Adds a listener (the first one starts the feed); returns its unsubscribe function. */
  subscribe(listener: (event: RedisDesiredStateEvent) => void): () => void {
    this.listeners.add(listener);
    if (this.listeners.size === 1) this.start();
    return () => {
      if (this.listeners.delete(listener) && this.listeners.size === 0) this.stop();
    };
  }

  /** Something changed (a hint, or this instance's own change reaching `version`): read the log soon. */
  notify(version?: number): void {
    if (this.listeners.size === 0) return;
    if (version !== undefined && this.seen !== undefined && version <= this.seen) return;
    this.requestSync();
  }

  /** The version delivered up to, whether pub/sub is subscribed, and how long ago the last read succeeded (ms). */
  status(): { version: number | undefined; subscribed: boolean; lastSyncAgoMs: number | undefined } {
    return {
      version: this.seen,
      subscribed: this.subscribed,
      lastSyncAgoMs: this.lastSyncAt === undefined ? undefined : Math.round(ServerClock.now() - this.lastSyncAt),
    };
  }

  /** Stops the feed and forgets the listeners. */
  close(): void {
    this.listeners.clear();
    this.stop();
  }

  private start(): void {
    // The first read is sent now, synchronously: it is queued on the command connection before any change this
    // process applies after subscribing, so that every such change is after the baseline and delivered.
    this.requestSync();
    const subscriber = this.connection.createSubscriber();
    this.subscriber = subscriber;
    subscriber.on("message", (channel: string, message: string) => {
      if (channel === this.keys.channel) this.notify(Number(message));
    });
    subscriber.on("ready", () => this.resubscribe(subscriber));
    subscriber.on("close", () => (this.subscribed = false));
    subscriber.connect().catch(() => undefined);
    this.poll = setInterval(() => {
      if (!this.subscribed && subscriber.status === "ready") this.resubscribe(subscriber);
      this.requestSync();
    }, this.options.pollIntervalMs);
    this.poll.unref();
  }

  private stop(): void {
    this.generation += 1;
    clearInterval(this.poll);
    this.poll = undefined;
    this.subscriber?.disconnect();
    this.subscriber = undefined;
    this.subscribed = false;
    this.seen = undefined;
    this.mirror = new Map();
  }

  /** Subscribes (again) to the hint channel, then reads everything since the last version delivered. */
  private resubscribe(subscriber: Redis): void {
    if (subscriber !== this.subscriber) return;
    subscriber.subscribe(this.keys.channel).then(
      () => {
        if (subscriber !== this.subscriber) return;
        this.subscribed = true;
        this.requestSync();
      },
      () => (this.subscribed = false),
    );
  }

  /** One read at a time; a request during a read runs one more after it. */
  private requestSync(): void {
    if (this.syncing) {
      this.again = true;
      return;
    }
    const generation = this.generation;
    this.syncing = this.sync(generation)
      .then(
        () => {
          this.lastSyncAt = ServerClock.now();
        },
        // A failed read is retried by the next hint or poll; the state delivered so far stays as it was.
        () => undefined,
      )
      .finally(() => {
        this.syncing = undefined;
        if (this.again && generation === this.generation) {
          this.again = false;
          this.requestSync();
        }
      });
  }

  private async sync(generation: number): Promise<void> {
    if (this.seen === undefined) {
      const snapshot = await readSnapshot(this.connection, this.keys, "feed:start");
      if (generation !== this.generation) return;
      this.mirror = snapshot.services;
      this.seen = snapshot.version;
      return;
    }
    for (;;) {
      const seen: number = this.seen;
      const reply = await this.connection.run("feed:sync", async () => {
        const sentAt = ServerClock.now();
        const result = (await this.connection.script(CHANGES_SINCE, [this.keys.version, this.keys.changes], [seen, this.options.batchSize])) as [
          number,
          string,
          string,
          string[],
        ];
        this.connection.clock.observe(sentAt, ServerClock.now(), [result[1], result[2]]);
        return result;
      });
      if (generation !== this.generation || this.seen !== seen) return;
      const version = Number(reply[0]);
      if (version === seen) return;
      const entries = reply[3].map(parseEntry);
      const contiguous = version > seen && entries.length > 0 && entries.every((entry, index) => entry.version === seen + 1 + index);
      if (!contiguous) return this.resync(generation);
      for (const entry of entries) {
        this.record(entry.changes);
        this.seen = entry.version;
        this.deliver({ version: entry.version, changes: entry.changes, ...(entry.origin !== undefined ? { origin: entry.origin } : {}) });
      }
      if (this.seen >= version) return;
    }
  }

  /** Reloads the whole state and delivers the difference with what was delivered before, as one event. */
  private async resync(generation: number): Promise<void> {
    const snapshot = await readSnapshot(this.connection, this.keys, "feed:resync");
    if (generation !== this.generation) return;
    const changes: DesiredChange[] = [];
    for (const [field, service] of snapshot.services) {
      const before = this.mirror.get(field);
      if (before === undefined || !isDeepStrictEqual(before.config, service.config)) changes.push({ op: "put", ...scope(service), config: service.config });
    }
    for (const [field, service] of this.mirror) {
      if (!snapshot.services.has(field)) changes.push({ op: "delete", ...scope(service), name: service.config.name });
    }
    const changed = snapshot.version !== this.seen || changes.length > 0;
    this.mirror = snapshot.services;
    this.seen = snapshot.version;
    if (changed) this.deliver({ version: snapshot.version, changes: structuredClone(changes), resync: true });
  }

  private record(changes: readonly DesiredChange[]): void {
    for (const change of changes) {
      if (change.op === "put") this.mirror.set(serviceField(change.agentId, change.config.name), { ...scope(change), config: structuredClone(change.config) });
      else this.mirror.delete(serviceField(change.agentId, change.name));
    }
  }

  private deliver(event: RedisDesiredStateEvent): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch {
        // A subscriber's failure is its own; the feed goes on.
      }
    }
  }
}

function scope(value: { agentId?: string }): { agentId?: string } {
  return value.agentId !== undefined ? { agentId: value.agentId } : {};
}

/** A change log member: `version\n{"origin","changes"}`. */
function parseEntry(member: string): LogEntry {
  const newline = member.indexOf("\n");
  const body = JSON.parse(member.slice(newline + 1)) as { origin?: string; changes: DesiredChange[] };
  return { version: Number(member.slice(0, newline)), changes: body.changes, ...(body.origin !== undefined ? { origin: body.origin } : {}) };
}
