import type { Catalogue, ScopeKey } from "../catalogue/catalogue.js";
import type { ServiceRef, StoreEventBus } from "../events/store-events.js";
import type { Logger } from "../logger.js";
import type { ServicePlacement } from "../shared-state.js";
import { adoptFollowedTools, storeFetchedCatalogue } from "./catalogue-entries.js";
import { createServiceConnection, type ConnectionDefaults } from "./connection-factory.js";
import type { ScopeState } from "./owner-directory.js";
import { ServiceOwner } from "./service-owner.js";

/** What every owner of a store shares. */
export interface OwnerDefaults {
  catalogue: Catalogue;
  events: StoreEventBus;
  logger: Logger;
  connection: ConnectionDefaults;
  placement?: ServicePlacement;
  /** The state of a scope, and the owners of its existing services (for tool names across the scope). */
  scope(agentId: string | undefined): ScopeState;
  existing(state: ScopeState | undefined): Iterable<ServiceOwner>;
}

/** Makes the owner of a service: its connections come from the store's defaults, its catalogue goes to the scope's. */
export function ownerFactory(defaults: OwnerDefaults): (ref: ServiceRef, scope: ScopeKey) => ServiceOwner {
  const { catalogue, events, logger } = defaults;
  return (ref, scope) =>
    new ServiceOwner({
      ref,
      scope,
      catalogue,
      events,
      logger,
      ...(defaults.placement ? { placement: defaults.placement } : {}),
      createConnection: (owner, config) => createServiceConnection(owner, config, defaults.connection),
      storeCatalogue: (owner, fetched) =>
        storeFetchedCatalogue(owner, fetched, { scope: defaults.scope(owner.ref.agentId), existing: defaults.existing, catalogue, events, logger }),
      adoptTools: (owner, tools) =>
        adoptFollowedTools(owner, tools, { scope: defaults.scope(owner.ref.agentId), existing: defaults.existing, catalogue, events, logger }),
    });
}
