import { ServiceNotFoundError, ToolNotFoundError } from "../errors.js";
import { createConsoleLogger, type Logger } from "../logger.js";
import type { ServiceContext } from "../service-context.js";
import type { CallToolOptions, ServiceState, ToolCallResult, ToolInfo } from "../types.js";

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

const scopeName = (context: ServiceContext) => (context.agentId === undefined ? "the store scope" : `agent "${context.agentId}"`);

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
        message: `No service "${missing}" in ${scopeName(context)}`,
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

/** A tool as {@link callSelectedTool} checks it: one from {@link selectTools}, or just its name in the scope. */
export type SelectedTool = Pick<ToolInfo, "name"> & Partial<Pick<ToolInfo, "serviceName" | "originalName">>;

/**
 * Calls a tool that was selected and offered to a model, through the store, and only that tool. The store takes a
 * name it does not list as a bare tool name; once the offered tool is gone (its service removed), its name could so
 * reach another service's tool named like it, left out of the selection. That is refused with a `ToolNotFoundError`
 * before anything is sent, as is a tool whose service or server-side name no longer match `tool`'s.
 */
export async function callSelectedTool(
  context: ServiceContext,
  tool: SelectedTool,
  args: Record<string, unknown> = {},
  options: CallToolOptions = {},
): Promise<ToolCallResult> {
  // Checked right before the call: only a catalogue change landing in the microtasks between could slip past.
  const current = await context.getTool(tool.name);
  const same =
    current.name === tool.name &&
    (tool.serviceName === undefined || current.serviceName === tool.serviceName) &&
    (tool.originalName === undefined || current.originalName === tool.originalName);
  if (!same) {
    throw new ToolNotFoundError({
      message: `Tool "${tool.name}" is no longer in ${scopeName(context)}`,
      toolName: tool.name,
      ...(context.agentId !== undefined ? { agentId: context.agentId } : {}),
    });
  }
  return context.callTool(tool.name, args, options);
}

/** The refusal of a tool call to a name that was not offered (left out of the selection, or unknown). */
export function notOfferedError(context: ServiceContext, name: string): ToolNotFoundError {
  return new ToolNotFoundError({
    message: `No tool "${name}" among the tools offered`,
    toolName: name,
    ...(context.agentId !== undefined ? { agentId: context.agentId } : {}),
  });
}
