import type { Logger } from "../logger.js";
import type { ServiceInfo, ServiceState } from "../types.js";

/** Identifies a service in events: its name in its scope, and the owning agent (absent for store services). */
export interface ServiceRef {
  serviceName: string;
  agentId?: string;
}

/** Every event the store emits, by name, with its payload. Payloads never carry secrets. */
export interface StoreEvents {
  "service:added": ServiceRef & { service: ServiceInfo };
  "service:removed": ServiceRef;
  "service:state-changed": ServiceRef & { previous: ServiceState; state: ServiceState; reason?: string };
  "tools:refreshed": ServiceRef & { toolCount: number; added: string[]; removed: string[] };
  "tool:call-start": ServiceRef & { callId: string; toolName: string; originalName: string; arguments: Record<string, unknown> };
  /** `arguments` are the ones sent (after any plugin rewrote them). */
  "tool:call-end": ServiceRef & {
    callId: string;
    toolName: string;
    originalName: string;
    arguments: Record<string, unknown>;
    durationMs: number;
    isError: boolean;
  };
  /** Also emitted when a plugin vetoed the call (`error` is a `PluginVetoError`); then no `tool:call-start` came first. */
  "tool:call-error": ServiceRef & {
    callId: string;
    toolName: string;
    originalName: string;
    arguments: Record<string, unknown>;
    durationMs: number;
    error: Error;
  };
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
  payload: StoreEvents["tool:call-start"],
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

  constructor(private readonly logger: Logger) {}

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
    return (this.handlers.get(name)?.length ?? 0) > 0;
  }

  emit<Name extends StoreEventName>(name: Name, payload: StoreEvents[Name]): void {
    const list = this.handlers.get(name);
    if (!list) return;
    for (const subscription of list) {
      try {
        const result = (subscription.handler as (payload: StoreEvents[Name]) => unknown)(payload);
        if (result instanceof Promise) result.catch((error: unknown) => this.report(name, subscription.owner, error));
      } catch (error) {
        this.report(name, subscription.owner, error);
      }
    }
  }

  private report(name: StoreEventName, owner: string | undefined, error: unknown): void {
    this.logger.error(
      { event: name, ...(owner !== undefined ? { plugin: owner } : {}), error: error instanceof Error ? error.message : String(error) },
      owner !== undefined ? `plugin ${owner}: ${name} hook threw` : "event handler threw",
    );
  }

  clear(): void {
    this.handlers.clear();
    this.interceptCallStart = undefined;
  }
}
