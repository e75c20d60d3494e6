import type { Catalogue, ScopeKey } from "./catalogue.js";

/** Options of {@link pruneRemovedServices}. */
export interface PruneRemovedServicesOptions {
  catalogue: Catalogue;
  /** True for a service this store has now: it is never pruned. */
  isRegistered(scope: ScopeKey, serviceName: string): boolean;
  /** Leftovers that changed more recently than this are kept, in milliseconds (`cleanupHours` × 3,600,000). */
  olderThanMs: number;
  /** The current time, in milliseconds since the epoch. Default `Date.now()`. */
  now?: number;
}

const KINDS = ["service", "tools", "resources", "prompts"] as const;

/**
 * Deletes from the cached catalogue what is left of services that are gone: the records of services this store does
 * not have that ended `disconnected` (removed, or their store closed) more than `olderThanMs` ago, with their tools,
 * resources and prompts, and lists whose service record is missing altogether. A shared cache (Redis) outlives the
 * stores that wrote to it; this keeps it from listing their services forever. Resolves with the pruned services as
 * `{scope}/{name}`.
 */
export async function pruneRemovedServices(options: PruneRemovedServicesOptions): Promise<string[]> {
  const { catalogue } = options;
  const now = options.now ?? Date.now();
  const byService = new Map<string, Set<(typeof KINDS)[number]>>();
  for (const kind of KINDS) {
    for (const key of await catalogue.keys(`${kind}/`)) {
      const id = key.slice(kind.length + 1);
      if (!id.includes("/")) continue;
      let kinds = byService.get(id);
      if (!kinds) byService.set(id, (kinds = new Set()));
      kinds.add(kind);
    }
  }
  const pruned: string[] = [];
  for (const [id, kinds] of byService) {
    const slash = id.indexOf("/");
    const scope = id.slice(0, slash);
    const serviceName = id.slice(slash + 1);
    if (options.isRegistered(scope, serviceName)) continue;
    if (kinds.has("service")) {
      const info = await catalogue.getService(scope, serviceName);
      // A record another live store keeps up to date is never `disconnected` for long: that state ends a service.
      if (info && (info.state !== "disconnected" || now - Date.parse(info.stateChangedAt) < options.olderThanMs)) continue;
    }
    await catalogue.removeService(scope, serviceName);
    pruned.push(id);
  }
  return pruned;
}
