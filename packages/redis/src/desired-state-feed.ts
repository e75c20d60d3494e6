import { isDeepStrictEqual } from "node:util";
import type { DesiredChange, DesiredService, DesiredStateEvent } from "@mcpstore/core";
import { CHANGES_SINCE, SNAPSHOT } from "./desired-state-scripts.js";
import { HintedSync } from "./hinted-sync.js";
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
  private readonly hinted: HintedSync;

  constructor(
    private readonly connection: RedisConnection,
    private readonly keys: RedisKeys,
    private readonly options: DesiredStateFeedOptions,
  ) {
    this.hinted = new HintedSync(connection, {
      channel: keys.channel,
      pollIntervalMs: options.pollIntervalMs,
      sync: ({ generation }) => this.sync(generation),
      wants: (message) => this.wants(Number(message)),
    });
  }

  /** Adds a listener (the first one starts the feed); returns its unsubscribe function. */
  subscribe(listener: (event: RedisDesiredStateEvent) => void): () => void {
    this.listeners.add(listener);
    if (this.listeners.size === 1) this.hinted.start();
    return () => {
      if (this.listeners.delete(listener) && this.listeners.size === 0) this.stop();
    };
  }

  /** Something changed (a hint, or this instance's own change reaching `version`): read the log soon. */
  notify(version?: number): void {
    if (this.listeners.size > 0 && this.wants(version)) this.hinted.request();
  }

  /** The version delivered up to, whether pub/sub is subscribed, and how long ago the last read succeeded (ms). */
  status(): { version: number | undefined; subscribed: boolean; lastSyncAgoMs: number | undefined } {
    const { subscribed, lastSyncAgoMs } = this.hinted.status();
    return { version: this.seen, subscribed, lastSyncAgoMs };
  }

  /** Stops the feed and forgets the listeners. */
  close(): void {
    this.listeners.clear();
    this.stop();
  }

  private wants(version: number | undefined): boolean {
    return version === undefined || this.seen === undefined || !(version <= this.seen);
  }

  private stop(): void {
    this.hinted.stop();
    this.seen = undefined;
    this.mirror = new Map();
  }

  private async sync(generation: number): Promise<void> {
    if (this.seen === undefined) {
      const snapshot = await readSnapshot(this.connection, this.keys, "feed:start");
      if (generation !== this.hinted.generation) return;
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
      if (generation !== this.hinted.generation || this.seen !== seen) return;
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
    if (generation !== this.hinted.generation) return;
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
