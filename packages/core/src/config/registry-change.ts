/**
 * The shapes in which the registry's desired state is persisted: a whole snapshot (for exports) and one change at a
 * time (for the config file). They live here, beside the file that applies them, so that config/ never imports the
 * registry.
 */
import type { ServiceConfig } from "./service-config.js";

/** One change of the registry, as the file applies it. */
export type RegistryChange =
  | { kind: "add"; agentId: string | undefined; configs: ServiceConfig[] }
  | { kind: "remove"; agentId: string | undefined; name: string }
  | { kind: "replace"; agentId: string | undefined; config: ServiceConfig };

/** Every service config the registry holds, by scope: what a persistence layer stores. */
export interface RegistrySnapshot {
  store: ServiceConfig[];
  agents: Record<string, ServiceConfig[]>;
}

/**
 * Where the registry keeps its configs between runs (the `mcp.json` file, later Redis). `apply` is called with each
 * change and must resolve only when it is durable; when it rejects, the change is rolled back in memory and the
 * caller gets the error. Changes are given one by one (not as a whole snapshot) so that a store sharing the file with
 * other processes never writes away their changes.
 */
export interface RegistryPersistence {
  /**
   * Resolves when the change is durable; a persistence that orders its writes (the config file) resolves with the
   * write's sequence number, so that an older snapshot it delivers later does not undo the change.
   */
  apply(change: RegistryChange): Promise<number | void>;
}

