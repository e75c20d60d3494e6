import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { ResolvedMonitoring } from "../config/monitoring.js";
import type { ServiceConfig } from "../config/service-config.js";
import type { ServiceRef } from "../events/store-events.js";
import type { Logger } from "../logger.js";
import type { ServiceState, TransportKind } from "../types.js";
import type { EgressFetch } from "./egress-fetch.js";
import type { FetchedCatalogue } from "./fetch-catalogue.js";
import type { ProbeLimiter } from "./probe-limiter.js";
import type { createTransport, TransportHooks } from "./transports.js";

/** What a `ServiceConnection` needs from the store. */
export interface ServiceConnectionOptions {
  config: ServiceConfig;
  ref: ServiceRef;
  monitoring: ResolvedMonitoring;
  logger: Logger;
  /** Time limit of connecting and initialising, in milliseconds. */
  connectTimeoutMs: number;
  onStateChange(previous: ServiceState, state: ServiceState, reason: string | undefined): void;
  /** Stores a freshly fetched catalogue; the state turns healthy only after this resolves. */
  onCatalogue(catalogue: FetchedCatalogue): Promise<void>;
  /** Something shown in the service info changed (probe time, stderr, ...). */
  onInfoChange(): void;
  /** Bounds the probes running at once; shared by every service of a store. Default: one of this service's own. */
  probeLimiter?: ProbeLimiter;
  /** The guarded fetch of a destination an agent set (see egress-fetch.ts); closed with the connection. */
  egress?: EgressFetch;
  /** Why the config cannot be used (e.g. a missing variable): the service then never connects and shows why. */
  blockedReason?: string;
  /** @internal Builds transports (tests pass in-memory ones). Default {@link createTransport}. */
  createTransport?: (config: ServiceConfig, kind: TransportKind, hooks: TransportHooks) => Transport;
}
