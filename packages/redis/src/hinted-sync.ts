import type { Redis } from "ioredis";
import type { RedisConnection } from "./redis-connection.js";
import { ServerClock } from "./server-clock.js";

/** What asked for a read, as {@link HintedSyncOptions.sync} gets it. */
export interface SyncRequest {
  /** True when a re-subscription (or a caller) asked for a full reload rather than a catch-up. */
  full: boolean;
  /** The sync's generation: once it differs from {@link HintedSync.generation}, the read must deliver nothing. */
  generation: number;
}

/** Options of {@link HintedSync}. */
export interface HintedSyncOptions {
  /** The pub/sub channel whose messages are hints. */
  channel: string;
  /** How often `sync` runs whatever pub/sub says, in milliseconds. */
  pollIntervalMs: number;
  /** Reads Redis. A rejection counts as a failed read (see {@link HintedSync.status}); the next hint or poll retries. */
  sync: (request: SyncRequest) => Promise<void>;
  /** Whether a hint's message calls for a read (false: seen already). Default: every hint does. */
  wants?: (message: string) => boolean;
  /** Whether every subscription after the first asks for a full reload. Default false (a catch-up). */
  fullOnResubscribe?: boolean;
}

/** The health of a {@link HintedSync}. */
export interface HintedSyncStatus {
  /** Whether the hint channel is subscribed (as far as this process can tell: a silently dead socket still says yes). */
  subscribed: boolean;
  /** How long ago a read last succeeded, in milliseconds; `undefined` before the first. */
  lastSyncAgoMs: number | undefined;
  /** True when the latest read failed (Redis down, paused, unreachable); false again after the next one succeeds. */
  failing: boolean;
}

/**
 * The "pub/sub is only a hint" machinery shared by the change feed and the cache mirror: one read of Redis at a time,
 * asked for by every hint, by every (re)subscription once confirmed, by the owner (after its own writes), and every
 * `pollIntervalMs` whatever pub/sub says, so that a subscription that died silently costs at most one poll interval.
 * A request during a read runs one more read after it. The subscriber is its own connection (`autoResubscribe: false`:
 * it subscribes itself, so it knows when a subscription is confirmed).
 */
export class HintedSync {
  private subscriber: Redis | undefined;
  private subscribed = false;
  private subscriptions = 0;
  private poll: NodeJS.Timeout | undefined;
  private syncing: Promise<void> | undefined;
  private again = false;
  private pendingFull = false;
  private lastSyncAt: number | undefined;
  private failing = false;
  private currentGeneration = 0;

  constructor(
    private readonly connection: RedisConnection,
    private readonly options: HintedSyncOptions,
  ) {}

  /** Bumped by {@link HintedSync.stop}: a read still in flight from before must deliver nothing. */
  get generation(): number {
    return this.currentGeneration;
  }

  /** Whether it runs (between {@link HintedSync.start} and {@link HintedSync.stop}). */
  get running(): boolean {
    return this.subscriber !== undefined;
  }

  /** Starts reading: at once, then on hints and polls. Does nothing when running. */
  start(): void {
    if (this.subscriber) return;
    // The first read is sent now, synchronously: it is queued on the command connection before anything the owner
    // sends after `start()` returns, so that the owner's later writes are after its baseline.
    this.request();
    const subscriber = this.connection.createSubscriber();
    this.subscriber = subscriber;
    subscriber.on("message", (channel: string, message: string) => {
      if (channel === this.options.channel && (this.options.wants?.(message) ?? true)) this.request();
    });
    subscriber.on("ready", () => this.resubscribe(subscriber));
    subscriber.on("close", () => (this.subscribed = false));
    subscriber.connect().catch(() => undefined);
    this.poll = setInterval(() => {
      if (!this.subscribed && subscriber.status === "ready") this.resubscribe(subscriber);
      this.request();
    }, this.options.pollIntervalMs);
    this.poll.unref();
  }

  /** Stops: no more reads, the subscriber is disconnected, a read in flight delivers nothing. */
  stop(): void {
    this.currentGeneration += 1;
    clearInterval(this.poll);
    this.poll = undefined;
    this.subscriber?.disconnect();
    this.subscriber = undefined;
    this.subscribed = false;
    this.subscriptions = 0;
    this.pendingFull = false;
    this.failing = false;
  }

  /** Asks for a read soon (`full`: a full reload). One read at a time; a request during one runs one more after it. */
  request(full = false): void {
    if (full) this.pendingFull = true;
    if (this.syncing) {
      this.again = true;
      return;
    }
    const generation = this.currentGeneration;
    const request: SyncRequest = { full: this.pendingFull, generation };
    this.pendingFull = false;
    this.syncing = this.options
      .sync(request)
      .then(
        () => {
          if (generation !== this.currentGeneration) return;
          this.lastSyncAt = ServerClock.now();
          this.failing = false;
        },
        () => {
          if (generation !== this.currentGeneration) return;
          this.failing = true;
          // A full reload that failed is still owed: the next read (hint or poll) makes it.
          if (request.full) this.pendingFull = true;
        },
      )
      .finally(() => {
        this.syncing = undefined;
        if (this.again && generation === this.currentGeneration) {
          this.again = false;
          this.request();
        }
      });
  }

  /** Whether pub/sub is subscribed, how long ago a read last succeeded, whether the latest one failed. */
  status(): HintedSyncStatus {
    return {
      subscribed: this.subscribed,
      lastSyncAgoMs: this.lastSyncAt === undefined ? undefined : Math.round(ServerClock.now() - this.lastSyncAt),
      failing: this.failing,
    };
  }

  /** Subscribes (again) to the hint channel, then reads (fully after a re-subscription, when asked to). */
  private resubscribe(subscriber: Redis): void {
    if (subscriber !== this.subscriber) return;
    subscriber.subscribe(this.options.channel).then(
      () => {
        if (subscriber !== this.subscriber) return;
        this.subscribed = true;
        this.subscriptions += 1;
        this.request(this.options.fullOnResubscribe === true && this.subscriptions > 1);
      },
      () => (this.subscribed = false),
    );
  }
}
