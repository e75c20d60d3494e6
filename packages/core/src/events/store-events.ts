/**
 * events/: the store's typed events (here), their store-wide `seq`, and the bounded buffer that replays them
 * (event-log.ts). It imports only the root primitives; the registry and the plugins use it.
 */
import type { Logger } from "../logger.js";
import { EventLog } from "./event-log.js";
import type { ServiceInfo, ServiceState } from "../types.js";

/** Identifies a service in events: its name in its scope, and the owning agent (absent for store services). */
export interface ServiceRef {
  serviceName: string;
  agentId?: string;
}

/** What every event carries. */
export interface EventMeta {
  /** Store-wide sequence number: one more than the event the store emitted before it (see `store.events({ since })`). */
  seq: number;
}

/** Every event the store emits, by name, with its payload. Payloads never carry secrets. */
export interface StoreEvents {
  "service:added": EventMeta & ServiceRef & { service: ServiceInfo };
  "service:removed": EventMeta & ServiceRef;
  "service:state-changed": EventMeta & ServiceRef & { previous: ServiceState; state: ServiceState; reason?: string };
  "tools:refreshed": EventMeta & ServiceRef & { toolCount: number; added: string[]; removed: string[] };
  "tool:call-start": EventMeta & ServiceRef & { callId: string; toolName: string; originalName: string; arguments: Record<string, unknown> };
  /** `arguments` are the ones sent (after any plugin rewrote them). */
  "tool:call-end": EventMeta &
    ServiceRef & {
      callId: string;
      toolName: string;
      originalName: string;
      arguments: Record<string, unknown>;
      durationMs: number;
      isError: boolean;
    };
  /** Also emitted when a plugin vetoed the call (`error` is a `PluginVetoError`); then no `tool:call-start` came first. */
  "tool:call-error": EventMeta &
    ServiceRef & {
      callId: string;
      toolName: string;
      originalName: string;
      arguments: Record<string, unknown>;
      durationMs: number;
      error: Error;
    };
}

/** An event as the emitter gives it: the bus adds its `seq`. */
export type EventPayload<Name extends StoreEventName> = Omit<StoreEvents[Name], "seq">;

/** One event with its name, as `store.events()` and `store.subscribe()` hand them out. */
export type StoreEventRecord = { [Name in StoreEventName]: { name: Name; event: StoreEvents[Name] } }[StoreEventName];

/** What `store.events({ since })` returns. */
export interface EventReplay {
  /** The buffered events with a `seq` above `since`, oldest first. */
  events: StoreEventRecord[];
  /**
   * False when events after `since` were already dropped from the bounded buffer: the client missed some and should
   * read the whole state again (`listServices`) before following events.
   */
  complete: boolean;
  /** The `seq` of the newest event emitted so far (0 before any). */
  seq: number;
}

/** An event name. */
export type StoreEventName = keyof StoreEvents;
/** A handler of one event. */
export type StoreEventHandler<Name extends StoreEventName> = (payload: StoreEvents[Name]) => void;

/** Where a handler runs among the others of its event: lower ranks first (`pre` 0, normal 1, `post` 2). */
export type HandlerRank = 0 | 1 | 2;

/** Options of {@link StoreEventBus.on}. */
export interface SubscribeOptions {
  /** Default 1 (normal). */
  rank?: HandlerRank;
  /** The plugin that owns the handler, named in the log when it throws. */
  owner?: string;
}

/**
 * Runs the `tool:call-start` plugin hooks before a call; resolves with the arguments to send. `check` validates
 * rewritten arguments against the tool's input schema.
 */
export type CallStartInterceptor = (
  /** The event's payload, with the call's signal (aborted by the caller or at the call's deadline). */
  payload: EventPayload<"tool:call-start"> & { signal?: AbortSignal },
  check: (args: Record<string, unknown>) => void,
) => Promise<Record<string, unknown>>;

interface Subscription {
  handler: (payload: never) => unknown;
  rank: HandlerRank;
  owner: string | undefined;
}

/** A copy of `list` with `item` after every item of the same or a lower rank (stable: same ranks keep their order). */
export function insertByRank<T extends { rank: number }>(list: readonly T[], item: T): T[] {
  let index = list.length;
  while (index > 0 && list[index - 1]!.rank > item.rank) index--;
  return [...list.slice(0, index), item, ...list.slice(index)];
}

/**
 * Typed events. Handlers run synchronously, `pre` plugins' first, then the others in subscription order, then `post`
 * plugins'. One that throws (or returns a promise that rejects) is logged and never disturbs the emitter or the other
 * handlers.
 */
export class StoreEventBus {
  // Copy-on-write lists: emit iterates a snapshot, so (un)subscribing from a handler is safe and costs nothing per emit.
  private readonly handlers = new Map<StoreEventName, readonly Subscription[]>();
  /** @internal Set by the plugin host while any plugin has a `tool:call-start` hook; the registry awaits it. */
  interceptCallStart: CallStartInterceptor | undefined;

  private seq = 0;
  private readonly log: EventLog;
  private anyHandlers: ReadonlyArray<(record: StoreEventRecord) => void> = [];

  /** @param bufferSize Events kept for {@link replay}. Default 1,000. */
  constructor(
    private readonly logger: Logger,
    bufferSize = 1_000,
  ) {
    this.log = new EventLog(bufferSize);
  }

  /** Subscribes to `name`; returns the unsubscribe function. */
  on<Name extends StoreEventName>(name: Name, handler: StoreEventHandler<Name>, options: SubscribeOptions = {}): () => void {
    const subscription: Subscription = { handler: handler as (payload: never) => unknown, rank: options.rank ?? 1, owner: options.owner };
    this.handlers.set(name, insertByRank(this.handlers.get(name) ?? [], subscription));
    return () => {
      const list = this.handlers.get(name);
      if (list?.includes(subscription)) this.handlers.set(name, list.filter((other) => other !== subscription));
    };
  }

  /** True when someone listens to `name` (lets hot paths skip building payloads). */
  has(name: StoreEventName): boolean {
    return (this.handlers.get(name)?.length ?? 0) > 0 || this.anyHandlers.length > 0;
  }

  /** Gives the event the next `seq`, keeps it in the replay buffer (all but call events), and runs the handlers. */
  emit<Name extends StoreEventName>(name: Name, payload: EventPayload<Name>): void {
    const event = payload as StoreEvents[Name];
    event.seq = ++this.seq;
    if (!name.startsWith("tool:")) this.log.push({ name, event } as StoreEventRecord);
    const list = this.handlers.get(name);
    if (list) {
      for (const subscription of list) {
        try {
          const result = (subscription.handler as (payload: StoreEvents[Name]) => unknown)(event);
          if (result instanceof Promise) result.catch((error: unknown) => this.report(name, subscription.owner, error));
        } catch (error) {
          this.report(name, subscription.owner, error);
        }
      }
    }
    for (const handler of this.anyHandlers) {
      try {
        handler({ name, event } as StoreEventRecord);
      } catch (error) {
        this.report(name, undefined, error);
      }
    }
  }

  /** The buffered events after `since` (see {@link EventReplay}). */
  replay(since = 0): EventReplay {
    return { events: this.log.after(since), complete: since >= this.log.droppedSeq, seq: this.seq };
  }

  /**
   * Calls `handler` with every event (call events included) from now on, after the buffered ones with a `seq` above
   * `since` when it is given: nothing is missed between the two. Returns the unsubscribe function.
   */
  subscribe(handler: (record: StoreEventRecord) => void, options: { since?: number } = {}): () => void {
    if (options.since !== undefined) for (const record of this.log.after(options.since)) handler(record);
    this.anyHandlers = [...this.anyHandlers, handler];
    return () => {
      this.anyHandlers = this.anyHandlers.filter((other) => other !== handler);
    };
  }

  private report(name: StoreEventName, owner: string | undefined, error: unknown): void {
    this.logger.error(
      { event: name, ...(owner !== undefined ? { plugin: owner } : {}), error: error instanceof Error ? error.message : String(error) },
      owner !== undefined ? `plugin ${owner}: ${name} hook threw` : "event handler threw",
    );
  }

  clear(): void {
    this.handlers.clear();
    this.anyHandlers = [];
    this.interceptCallStart = undefined;
  }
}
