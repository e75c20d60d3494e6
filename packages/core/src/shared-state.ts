/**
 * What several store instances share (`@mcpstore/redis` provides it): the desired state, the catalogue cache and the
 * lease of the `config` role, whose holder alone reads and writes `mcp.json` (and imports hand edits into the
 * desired state). The others never touch the file.
 */
import type { CacheDriver } from "./catalogue/cache-driver.js";
import type { DesiredStateDriver } from "./registry/desired-state.js";

/** A role that one instance of a namespace holds at a time (a lease). */
export interface RoleLease {
  /** Whether this instance holds the role now. */
  readonly holding: boolean;
  /** Resolves once the first attempt to take the role has settled (held or not). */
  ready(): Promise<void>;
  /** Called with `true` when this instance takes the role, `false` when it loses it; returns the unsubscribe. */
  subscribe(listener: (holding: boolean) => void): () => void;
  /** Gives the role up (for another instance to take) and stops campaigning. */
  close(): Promise<void>;
}

/** `setupStore({ shared })`: what instances of one namespace share. */
export interface SharedState {
  desiredState: DesiredStateDriver;
  cache: CacheDriver;
  /** The `config` role: its holder alone reads and writes the config file. Without it, every instance does. */
  configRole?: RoleLease;
}
