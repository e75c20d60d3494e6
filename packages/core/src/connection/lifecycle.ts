import type { ServiceState } from "../types.js";

/**
 * Every state change a service may make, in one table: `from` → the states it may move to. A change that is not here
 * is refused (and logged as a bug) by whoever holds the state: the connection for its own life, the service's owner
 * for the service's. Staying in a state is not a change (it only refreshes the service info).
 *
 * - `initializing` is entered when a service is added, restarted or updated (the old process is stopped first);
 * - `degraded` only from a connected state; `reconnecting` and `unreachable` when a connection is lost or fails;
 * - `disconnected` ends a service (removed, or the store closed): nothing follows it.
 */
export const LIFECYCLE: Readonly<Record<ServiceState, readonly ServiceState[]>> = Object.freeze({
  initializing: ["healthy", "reconnecting", "unreachable", "disconnected"],
  healthy: ["degraded", "reconnecting", "unreachable", "initializing", "disconnected"],
  degraded: ["healthy", "reconnecting", "unreachable", "initializing", "disconnected"],
  reconnecting: ["healthy", "unreachable", "initializing", "disconnected"],
  unreachable: ["healthy", "reconnecting", "initializing", "disconnected"],
  disconnected: [],
});

/** True when the lifecycle table allows `from` → `to`. */
export function canTransition(from: ServiceState, to: ServiceState): boolean {
  return LIFECYCLE[from].includes(to);
}
