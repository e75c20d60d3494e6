import type { JsonValue } from "@mcpstore/core";
import { CACHE_CHANGES_SINCE, CACHE_SNAPSHOT } from "./cache-scripts.js";
import { HintedSync, type SyncRequest } from "./hinted-sync.js";
import type { RedisConnection } from "./redis-connection.js";
import type { RedisKeys } from "./redis-keys.js";

/** One change of the cache's log: `s` set a key, `d` deleted a key, `p` deleted every key under a prefix. */
export interface CacheChange {
  version: number;
  op: "s" | "d" | "p";
  /** The key, or the prefix for `p`. */
  subject: string;
  /** The value set (`s` only), deeply frozen. */
  value?: JsonValue;
}

/** Options of {@link CacheMirror}. */
export interface CacheMirrorOptions {
  /** How often the cache version is checked whatever pub/sub says, in milliseconds. */
  pollIntervalMs: number;
  /** The most log entries read in one round trip. */
  batchSize: number;
  /** How long after the last successful read of Redis the mirror counts as stale, in milliseconds. */
  staleAfterMs: number;
}

/** The health of a cache mirror: see `RedisCacheDriver.status`. */
export interface RedisCacheStatus {
  /**
   * True when reads may be behind Redis by more than a poll interval: the mirror is not loaded yet, the latest read of
   * Redis failed, or none succeeded for `pollIntervalMs + 2 × operationTimeoutMs`. Reads still answer (last synced
   * values); a caller can mark what it serves as stale.
   */
  stale: boolean;
  /** How long ago Redis was last read successfully, in milliseconds; `undefined` before the first read. */
  lastSyncAgoMs: number | undefined;
  /** The cache version the mirror reflects (this instance's own later writes on top); `undefined` until loaded. */
  version: number | undefined;
  /** Whether the hint channel is subscribed. */
  subscribed: boolean;
}

/** Freezes a freshly parsed JSON value and everything in it, in place. */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object") {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/** A JSON text as a deeply frozen value: what the mirror holds and hands out (no copy per read). */
export function parseFrozen(json: string): JsonValue {
  return deepFreeze(JSON.parse(json) as JsonValue);
}

/** A change log member: `version\n` + op + subject. */
function parseChange(member: string): CacheChange {
  const newline = member.indexOf("\n");
  return { version: Number(member.slice(0, newline)), op: member[newline + 1] as CacheChange["op"], subject: member.slice(newline + 2) };
}

/**
 * The local copy of one namespace's catalogue cache, so that reads never leave the process. It is the whole cache
 * hash, values parsed once and deeply frozen, at the cache version `seen`, with this instance's own writes newer than
 * `seen` on top. It follows Redis as the change feed does (see {@link HintedSync}): pub/sub hints, a poll of the cache
 * version every `pollIntervalMs`, and a catch-up from the change log in one script that also returns the values it
 * needs; a full reload when the log no longer reaches back (a gap, or the namespace was reset) and on every
 * re-subscription. While Redis does not answer, it keeps what it last synced and says it is stale.
 */
export class CacheMirror {
  private entries = new Map<string, JsonValue>();
  /** The cache version `entries` reflects (less {@link CacheMirror.own}); `undefined` until the first load. */
  private seen: number | undefined;
  /** This instance's own changes not yet covered by a read, in version order: re-applied after every read. */
  private own: CacheChange[] = [];
  private waiters: Array<{ resolve: () => void; reject: (error: unknown) => void }> = [];
  private readonly hinted: HintedSync;
  private closed = false;

  constructor(
    private readonly connection: RedisConnection,
    private readonly keys: RedisKeys,
    private readonly options: CacheMirrorOptions,
  ) {
    this.hinted = new HintedSync(connection, {
      channel: keys.cacheChannel,
      pollIntervalMs: options.pollIntervalMs,
      sync: (request) => this.sync(request),
      wants: (message) => this.seen === undefined || !(parseChange(message).version <= this.seen),
      fullOnResubscribe: true,
    });
  }

  /** Starts following Redis (the first load is sent at once). Does nothing when started or closed. */
  start(): void {
    if (!this.closed) this.hinted.start();
  }

  /** `undefined` once loaded (answer at once); otherwise the first load, started if need be (rejects if it fails). */
  loaded(): Promise<void> | undefined {
    if (this.seen !== undefined) return undefined;
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      if (this.hinted.running) this.hinted.request();
      else this.start();
    });
  }

  /** The value of `key` as last synced (frozen; never copied). */
  get(key: string): JsonValue | undefined {
    return this.entries.get(key);
  }

  /** The keys that start with `prefix`. */
  keysWith(prefix: string): string[] {
    const found: string[] = [];
    for (const key of this.entries.keys()) if (key.startsWith(prefix)) found.push(key);
    return found;
  }

  /**
   * Applies a write of this instance that Redis accepted at `change.version` (for a write that changed nothing, the
   * version it was evaluated at), so that a read right after it sees it, and asks for a catch-up.
   */
  applyOwn(change: CacheChange): void {
    if (this.closed) return;
    // A read since then has it already, and possibly newer writes of others on top.
    if (this.seen !== undefined && change.version <= this.seen) return;
    this.own.push(change);
    if (this.own.length > 1 && this.own.at(-2)!.version > change.version) this.own.sort((a, b) => a.version - b.version);
    this.apply(change);
    this.start();
    this.hinted.request();
  }

  /** Whether reads may be behind, how long ago Redis was last read, the version reflected, whether pub/sub is up. */
  status(): RedisCacheStatus {
    const { subscribed, lastSyncAgoMs, failing } = this.hinted.status();
    const stale = this.closed || this.seen === undefined || failing || lastSyncAgoMs === undefined || lastSyncAgoMs > this.options.staleAfterMs;
    return { stale, lastSyncAgoMs, version: this.seen, subscribed };
  }

  /** Stops following Redis and forgets everything; waiting reads reject with `reason`. */
  close(reason: Error): void {
    this.closed = true;
    this.hinted.stop();
    this.entries = new Map();
    this.seen = undefined;
    this.own = [];
    this.settle(reason);
  }

  private async sync({ full, generation }: SyncRequest): Promise<void> {
    try {
      if (full || this.seen === undefined) await this.reload(generation);
      else await this.catchUp(generation);
    } catch (error) {
      if (this.seen === undefined) this.settle(error);
      throw error;
    }
    if (this.seen !== undefined) this.settle();
  }

  /** Replaces everything with a snapshot of the cache (own newer writes on top). */
  private async reload(generation: number): Promise<void> {
    const reply = (await this.connection.run("cache:load", () => this.connection.script(CACHE_SNAPSHOT, [this.keys.cacheVersion, this.keys.cache], []))) as [
      number,
      string[],
    ];
    if (generation !== this.hinted.generation) return;
    const version = Number(reply[0]);
    // The version went backwards: the namespace was reset, and the versions of own writes mean nothing any more.
    if (this.seen !== undefined && version < this.seen) this.own = [];
    const entries = new Map<string, JsonValue>();
    const flat = reply[1];
    for (let index = 0; index + 1 < flat.length; index += 2) entries.set(flat[index]!, parseFrozen(flat[index + 1]!));
    this.entries = entries;
    this.seen = version;
    this.overlayOwn();
  }

  /** Applies the log after `seen`, batch by batch; reloads when the log does not reach back to it. */
  private async catchUp(generation: number): Promise<void> {
    for (;;) {
      const seen: number = this.seen!;
      const ownVersions = this.own.filter((change) => change.op === "s" && change.version > seen).map((change) => change.version);
      const reply = (await this.connection.run("cache:sync", () =>
        this.connection.script(CACHE_CHANGES_SINCE, [this.keys.cacheVersion, this.keys.cacheChanges, this.keys.cache], [seen, this.options.batchSize, ...ownVersions]),
      )) as [number, string[], Array<string | null>];
      if (generation !== this.hinted.generation || this.seen !== seen) return;
      const version = Number(reply[0]);
      if (version === seen) return;
      const changes = reply[1].map(parseChange);
      const contiguous = version > seen && changes.length > 0 && changes.every((change, index) => change.version === seen + 1 + index);
      if (!contiguous) return this.reload(generation);
      // The script returned the current value of each key at its last set in the batch, unless that set is our own.
      const values = new Map<string, string | null>();
      for (let index = 0; index + 1 < reply[2].length; index += 2) values.set(reply[2][index]!, reply[2][index + 1] ?? null);
      const lastSet = new Map<string, number>();
      for (const change of changes) if (change.op === "s") lastSet.set(change.subject, change.version);
      for (const change of changes) {
        if (change.op !== "s") this.apply(change);
        else if (lastSet.get(change.subject) === change.version) {
          const value = values.get(change.subject);
          const mine = value === undefined ? this.own.find((own) => own.version === change.version) : undefined;
          if (value === undefined && mine === undefined) return this.reload(generation);
          if (mine) this.apply(mine);
          else if (value === null) this.entries.delete(change.subject);
          else this.entries.set(change.subject, parseFrozen(value!));
        }
      }
      this.seen = changes.at(-1)!.version;
      this.overlayOwn();
      if (this.seen >= version) return;
    }
  }

  /** Drops the own changes a read covered, and re-applies the others on top of what it brought. */
  private overlayOwn(): void {
    const seen = this.seen!;
    this.own = this.own.filter((change) => change.version > seen);
    for (const change of this.own) this.apply(change);
  }

  private apply(change: CacheChange): void {
    if (change.op === "s") this.entries.set(change.subject, change.value!);
    else if (change.op === "d") this.entries.delete(change.subject);
    // Deleting the entry being visited is safe while iterating a Map.
    else for (const key of this.entries.keys()) if (key.startsWith(change.subject)) this.entries.delete(key);
  }

  /** Resolves (or, with an error, rejects) the reads waiting for the first load. */
  private settle(error?: unknown): void {
    const waiters = this.waiters.splice(0);
    for (const waiter of waiters) {
      if (error === undefined) waiter.resolve();
      else waiter.reject(error);
    }
  }
}
