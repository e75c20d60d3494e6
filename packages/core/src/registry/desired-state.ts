/**
 * The desired state: which services exist, in which scope, with which config. It is the one source of truth for what
 * exists; the runtime (this process's connections) and the read model (the catalogue) follow it. It sits behind
 * {@link DesiredStateDriver} so that several instances can share it (memory here, Redis in `@mcpstore/redis`).
 */
import type { ServiceConfig } from "../config/service-config.js";

/** A service as the desired state holds it: its scope (`agentId`, absent for the store scope) and its config. */
export interface DesiredService {
  agentId?: string;
  /** The config as given (with `${VAR}` placeholders, not their values). */
  config: ServiceConfig;
}

/**
 * One change. `expect` is a precondition checked atomically with the change: `absent` (the name must be free, else
 * `SERVICE_EXISTS`) or `present` (it must exist, else `SERVICE_NOT_FOUND`).
 */
export type DesiredChange =
  | { op: "put"; agentId?: string; config: ServiceConfig; expect?: "absent" | "present" }
  | { op: "delete"; agentId?: string; name: string; expect?: "present" };

/** What a driver's change feed delivers: the changes of one accepted `apply`, and the version it produced. */
export interface DesiredStateEvent {
  /** The store-wide version after this change (the previous one plus 1, or more after a `resync`). */
  version: number;
  /**
   * The driver lost track (a gap in its change feed) and reloaded: `changes` are the difference between what it had
   * delivered before and the state now (puts and deletes), not one writer's change.
   */
  resync?: true;
  /** Who made the change (the `origin` given to `apply`), so an instance can tell its own changes from others'. */
  origin?: string;
  changes: DesiredChange[];
}

/** Options of {@link DesiredStateDriver.apply}. */
export interface ApplyOptions {
  /** Identifies the writer in the change feed. */
  origin?: string;
}

/**
 * Where the desired state lives. Contract (checked by `runDesiredStateDriverConformance` from
 * `@mcpstore/core/conformance`):
 * - `apply` is atomic: every change of the list applies, or (a precondition failed) none does and it rejects with
 *   `ServiceExistsError` / `ServiceNotFoundError`; each accepted `apply` increments `version` by exactly 1.
 * - Values are copies: changing a config after `apply`, or one returned by `get`/`load`, changes nothing stored.
 * - `subscribe` delivers every accepted change once, in version order, to every subscriber (this process's and, for a
 *   shared driver, other instances'); it returns its unsubscribe function.
 */
export interface DesiredStateDriver {
  /** Driver name, for logs (`"memory"`, `"redis"`). */
  readonly name: string;
  /** Every service with the version they were read at. */
  load(): Promise<{ version: number; services: DesiredService[] }>;
  /** One service's config, or `undefined`. */
  get(agentId: string | undefined, name: string): Promise<ServiceConfig | undefined>;
  /** Applies the changes atomically; resolves with the new version. */
  apply(changes: DesiredChange[], options?: ApplyOptions): Promise<{ version: number }>;
  /** The current version (0 before any change). */
  version(): Promise<number>;
  /** Subscribes to accepted changes; returns the unsubscribe function. */
  subscribe(listener: (event: DesiredStateEvent) => void): () => void;
  /** Releases connections; the driver is not used afterwards. */
  close?(): Promise<void>;
}
