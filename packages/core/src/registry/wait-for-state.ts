/** `waitService`: waits until a service's owner reaches one of the wanted states, within a deadline. */
import { checkTimeLimit, clampDelay } from "../connection/clamp-delay.js";
import { AbortedError, ConnectionError, ServiceNotFoundError, TimeoutError } from "../errors.js";
import type { StoreEventBus } from "../events/store-events.js";
import type { ServiceInfo, ServiceState, WaitServiceOptions } from "../types.js";
import type { ServiceOwner } from "./service-owner.js";

/**
 * Resolves with the service's info once it is in one of the wanted states (default `healthy`). Operations on the
 * service issued before the wait (a remove and an add of the same name, say) apply first. Rejects with a
 * `ConnectionError` when the service turns `unreachable`, a `ServiceNotFoundError` when it is (or gets) removed, a
 * `TimeoutError` after `timeoutMs` (default 10 s; `Infinity`, or anything above 2^31 − 1, waits with no limit), an
 * `AbortedError` when the signal aborts. A `timeoutMs` that is not a positive number is a `ValidationError`.
 */
export function waitForState(owner: ServiceOwner, events: StoreEventBus, options: WaitServiceOptions, flush: () => Promise<void>): Promise<ServiceInfo> {
  let timeoutMs: number;
  try {
    timeoutMs = checkTimeLimit(options.timeoutMs, "timeoutMs") ?? 10_000;
  } catch (error) {
    return Promise.reject(error);
  }
  const wanted: ServiceState[] = Array.isArray(options.state) ? options.state : [options.state ?? "healthy"];
  const { serviceName, agentId } = owner.ref;
  const context = { serviceName, ...(agentId !== undefined ? { agentId } : {}) };
  const notFound = (message: string) => new ServiceNotFoundError({ ...context, message });
  const unreachable = () =>
    new ConnectionError({
      ...context,
      message: `Service "${serviceName}" is unreachable: ${owner.connection?.lastError ?? "unknown error"}`,
      details: { state: "unreachable" },
    });
  return new Promise<ServiceInfo>((resolve, reject) => {
    let settled = false;
    const offs: Array<() => void> = [];
    const finish = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      for (const off of offs) off();
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      outcome();
    };
    const reached = () => finish(() => resolve(flush().then(() => owner.info())));
    // No timer for no limit: Node fires a longer one at once.
    const timer = timeoutMs === Number.POSITIVE_INFINITY ? undefined : setTimeout(() => {
      finish(() =>
        reject(
          new TimeoutError({
            ...context,
            message: `Service "${serviceName}" is still ${owner.state} after ${timeoutMs} ms (waiting for ${wanted.join(" or ")})${owner.connection?.lastError ? `: ${owner.connection.lastError}` : ""}`,
            details: { state: owner.state, timeoutMs },
          }),
        ),
      );
    }, clampDelay(timeoutMs));
    const onAbort = () => finish(() => reject(new AbortedError({ ...context, message: `Waiting for "${serviceName}" was aborted` })));
    if (options.signal?.aborted) return onAbort();
    options.signal?.addEventListener("abort", onAbort, { once: true });
    // A barrier: whatever was queued on the service before this wait runs first.
    owner.queue.run(() => undefined).then(() => {
      if (settled) return;
      if (owner.config === undefined) return finish(() => reject(notFound(`No service "${serviceName}" in ${agentId === undefined ? "the store scope" : `agent "${agentId}"`}`)));
      if (wanted.includes(owner.state)) return reached();
      if (owner.state === "unreachable") return finish(() => reject(unreachable()));
      offs.push(
        events.on("service:state-changed", (event) => {
          if (event.serviceName !== serviceName || event.agentId !== agentId) return;
          if (wanted.includes(event.state)) reached();
          else if (event.state === "unreachable") finish(() => reject(unreachable()));
        }),
        events.on("service:removed", (event) => {
          if (event.serviceName === serviceName && event.agentId === agentId) finish(() => reject(notFound(`Service "${serviceName}" was removed while waiting for it`)));
        }),
      );
    }, (error: unknown) => finish(() => reject(error)));
  });
}
