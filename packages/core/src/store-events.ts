import type { Logger } from "./logger.js";
import type { ServiceInfo, ServiceState } from "./types.js";

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
  "tool:call-end": ServiceRef & { callId: string; toolName: string; originalName: string; durationMs: number; isError: boolean };
  "tool:call-error": ServiceRef & { callId: string; toolName: string; originalName: string; durationMs: number; error: Error };
}

/** An event name. */
export type StoreEventName = keyof StoreEvents;
/** A handler of one event. */
export type StoreEventHandler<Name extends StoreEventName> = (payload: StoreEvents[Name]) => void;

/**
 * Typed events. Handlers run synchronously in subscription order; one that throws is logged and never disturbs the
 * emitter or the other handlers.
 */
export class StoreEventBus {
  private readonly handlers = new Map<StoreEventName, Set<(payload: never) => void>>();

  constructor(private readonly logger: Logger) {}

  /** Subscribes to `name`; returns the unsubscribe function. */
  on<Name extends StoreEventName>(name: Name, handler: StoreEventHandler<Name>): () => void {
    let set = this.handlers.get(name);
    if (!set) this.handlers.set(name, (set = new Set()));
    set.add(handler as (payload: never) => void);
    return () => {
      set.delete(handler as (payload: never) => void);
    };
  }

  /** True when someone listens to `name` (lets hot paths skip building payloads). */
  has(name: StoreEventName): boolean {
    return (this.handlers.get(name)?.size ?? 0) > 0;
  }

  emit<Name extends StoreEventName>(name: Name, payload: StoreEvents[Name]): void {
    const set = this.handlers.get(name);
    if (!set) return;
    for (const handler of set) {
      try {
        (handler as StoreEventHandler<Name>)(payload);
      } catch (error) {
        this.logger.error({ event: name, error: error instanceof Error ? error.message : String(error) }, "event handler threw");
      }
    }
  }

  clear(): void {
    this.handlers.clear();
  }
}
