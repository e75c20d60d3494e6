import { isAbsolute, resolve } from "node:path";
import type { ResolvedMonitoring } from "../config/monitoring.js";
import { expandPlaceholders } from "../config/placeholders.js";
import type { ServiceConfig } from "../config/service-config.js";
import { clampDelay } from "../connection/clamp-delay.js";
import type { ProbeLimiter } from "../connection/probe-limiter.js";
import { ServiceConnection } from "../connection/service-connection.js";
import type { Logger } from "../logger.js";
import type { AgentPolicy } from "./agent-policy.js";
import { suppliedBy } from "./credential-binding.js";
import type { ServiceOwner } from "./service-owner.js";

/** What every connection of a store shares. */
export interface ConnectionDefaults {
  monitoring: ResolvedMonitoring;
  logger: Logger;
  /** Time limit of connecting, `initialize` and the catalogue fetch, in milliseconds, for a service without `timeout`. */
  connectTimeoutMs: number;
  probeLimiter: ProbeLimiter;
  /** Egress rules for destinations an agent set. */
  agentPolicy: AgentPolicy;
  /** The directory relative `working_dir`s are resolved against (the config file's). Default: the process's. */
  baseDirectory?: string;
  /** Values for `${VAR}` placeholders, read each time a service starts. Default: `process.env`. */
  variables?: () => Record<string, string | undefined>;
}

/**
 * A connection for the owner's config, with its `${VAR}` placeholders expanded (the owner keeps them), whose
 * callbacks reach the owner only while it is the owner's current connection. A config that cannot be expanded (a
 * missing variable) gives a connection that never connects and says why. The service's `timeout` (seconds) bounds its
 * connecting, `initialize` and catalogue fetches; without one, the store's `connectTimeoutMs` does.
 */
export function createServiceConnection(owner: ServiceOwner, stored: ServiceConfig, defaults: ConnectionDefaults): ServiceConnection {
  let config = stored;
  let blockedReason: string | undefined;
  try {
    config = expandPlaceholders(stored, defaults.variables?.() ?? process.env, owner.ref.agentId);
    // A relative working_dir is relative to the config file, like the file's other paths, not to wherever we run.
    if (config.working_dir !== undefined && defaults.baseDirectory !== undefined && !isAbsolute(config.working_dir)) {
      config = { ...config, working_dir: resolve(defaults.baseDirectory, config.working_dir) };
    }
  } catch (error) {
    blockedReason = (error as Error).message;
    config = stored;
  }
  const connection: ServiceConnection = new ServiceConnection({
    config,
    ref: owner.ref,
    monitoring: defaults.monitoring,
    logger: defaults.logger,
    connectTimeoutMs: clampDelay(config.timeout !== undefined ? config.timeout * 1000 : defaults.connectTimeoutMs),
    probeLimiter: defaults.probeLimiter,
    // Checked again at every connection, with the address it connects to: DNS may answer otherwise than at add time.
    ...(suppliedBy(stored, "destination") === "agent" && config.url !== undefined && blockedReason === undefined ? { egress: defaults.agentPolicy.fetchFor(config)! } : {}),
    ...(blockedReason !== undefined ? { blockedReason } : {}),
    onStateChange: (_previous, state, reason) => {
      if (owner.owns(connection)) owner.transition(state, reason);
    },
    onCatalogue: (fetched) => {
      const { warnings, ...catalogue } = fetched;
      for (const warning of warnings ?? []) defaults.logger.warn({ service: owner.name, agentId: owner.ref.agentId }, `catalogue of ${owner.name}: ${warning}`);
      return owner.receiveCatalogue(connection, catalogue);
    },
    onInfoChange: () => {
      if (owner.owns(connection)) owner.writeInfo();
    },
  });
  return connection;
}
