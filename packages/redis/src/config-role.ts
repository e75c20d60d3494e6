import type { RoleLease } from "@mcpstore/core";
import type { Lease } from "./lease.js";

/**
 * The core's {@link RoleLease} on a {@link Lease}: campaigns at once and for as long as it is open, so that when the
 * holder dies another instance takes the role (within the lease's TTL plus one retry).
 */
export function roleLease(lease: Lease, onError: (error: unknown) => void): RoleLease {
  const listeners = new Set<(holding: boolean) => void>();
  lease.subscribe((event) => {
    const holding = event.type === "lease:acquired";
    for (const listener of listeners) listener(holding);
  });
  // The first attempt, awaited by ready(); the campaign goes on in the background either way.
  const first = lease.tryAcquire().then(
    () => undefined,
    (error: unknown) => onError(error),
  );
  void first.then(() => lease.start());
  return {
    get holding() {
      return lease.held !== undefined;
    },
    ready: () => first,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close: () => lease.close(),
  };
}
