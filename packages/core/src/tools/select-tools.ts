import { ServiceNotFoundError } from "../errors.js";
import { createConsoleLogger, type Logger } from "../logger.js";
import type { ServiceContext } from "../service-context.js";
import type { ServiceState, ToolInfo } from "../types.js";

/** Which tools of a scope to hand to a framework. Every filter given must pass. */
export interface ToolSelectionOptions {
  /** Only tools of these services (names in the scope). An unknown name is a `ServiceNotFoundError`. */
  services?: readonly string[];
  /** Only these tools, by their name in the scope (`{service}_{tool}`) or their name on the server. */
  include?: readonly string[];
  /** Never these tools, by their name in the scope or their name on the server. */
  exclude?: readonly string[];
  /** Only tools this function accepts. */
  filter?: (tool: ToolInfo) => boolean;
  /** Where a service left out for its state is reported (at `warn`). Default: the console logger at `LOG_LEVEL`. */
  logger?: Logger;
}

/** States in which a service's tools can be called. */
const USABLE_STATES: ReadonlySet<ServiceState> = new Set<ServiceState>(["healthy", "degraded"]);

const matches = (tool: ToolInfo, names: ReadonlySet<string>) => names.has(tool.name) || names.has(tool.originalName);

/**
 * The tools of a scope that a framework should be given, from the cached catalogue (no network). Services that cannot
 * take calls now (`initializing`, `reconnecting`, `unreachable`, `disconnected`) are left out, each with one warning
 * naming its state and last error, and the others still load. Call it again after the catalogue changes (the store's
 * `tools:refreshed` event) for a fresh list.
 */
export async function selectTools(context: ServiceContext, options: ToolSelectionOptions = {}): Promise<ToolInfo[]> {
  const services = await context.listServices();
  const wanted = options.services ? new Set(options.services) : undefined;
  if (wanted) {
    const known = new Set(services.map((service) => service.name));
    const missing = [...wanted].find((name) => !known.has(name));
    if (missing !== undefined) {
      throw new ServiceNotFoundError({
        message: `No service "${missing}" in ${context.agentId === undefined ? "the store scope" : `agent "${context.agentId}"`}`,
        serviceName: missing,
        ...(context.agentId !== undefined ? { agentId: context.agentId } : {}),
      });
    }
  }
  const usable = new Set<string>();
  for (const service of services) {
    if (wanted && !wanted.has(service.name)) continue;
    if (USABLE_STATES.has(service.state)) {
      usable.add(service.name);
      continue;
    }
    (options.logger ?? createConsoleLogger()).warn(
      { service: service.name, agentId: service.agentId, state: service.state, ...(service.lastError ? { reason: service.lastError } : {}) },
      `service ${service.name} is ${service.state}; its tools are left out`,
    );
  }
  const include = options.include ? new Set(options.include) : undefined;
  const exclude = options.exclude ? new Set(options.exclude) : undefined;
  const tools = await context.listTools();
  return tools.filter(
    (tool) =>
      usable.has(tool.serviceName) &&
      (!include || matches(tool, include)) &&
      (!exclude || !matches(tool, exclude)) &&
      (!options.filter || options.filter(tool)),
  );
}
