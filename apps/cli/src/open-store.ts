import {
  MCPStore,
  createConsoleLogger,
  parseLogLevel,
  type LogLevel,
  type Logger,
  type ServiceContext,
  type ServiceInfo,
  type ServiceState,
} from "@mcpstore/core";
import type { Output } from "./output.js";

/** Options every command shares. */
export interface GlobalOptions {
  /** `--config`: the mcp.json file (else `MCPSTORE_CONFIG`, else `~/.mcpstore/mcp.json`). */
  config?: string;
  json?: boolean;
}

/** The logger of a command: JSON lines on stderr at `LOG_LEVEL`, else `fallback`. */
export function commandLogger(fallback: LogLevel): Logger {
  return createConsoleLogger(parseLogLevel(process.env.LOG_LEVEL, fallback));
}

/**
 * Opens the store of the config file for one command, runs `work`, and closes it (stopping every process it started).
 * A one-shot command gives up on a service after one failed attempt rather than backing off for minutes.
 */
export async function withStore<T>(options: GlobalOptions, work: (store: MCPStore) => Promise<T>): Promise<T> {
  const store = await MCPStore.setupStore({
    ...(options.config !== undefined ? { mcpConfigFile: options.config } : {}),
    logger: commandLogger("error"),
    monitoring: { maxReconnectAttempts: 1 },
  });
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

/** States in which a service will not change soon by itself. */
const SETTLED: ServiceState[] = ["healthy", "degraded", "unreachable", "disconnected"];

/**
 * Waits (with a spinner) until every service of the scopes has connected or given up, at most `timeoutMs`; returns
 * the services as they are then.
 */
export async function waitForServices(scopes: ServiceContext | ServiceContext[], output: Output, timeoutMs: number): Promise<ServiceInfo[]> {
  const contexts = Array.isArray(scopes) ? scopes : [scopes];
  const list = async () => (await Promise.all(contexts.map((context) => context.listServices()))).flat();
  const services = await list();
  const pending = services.filter((service) => !SETTLED.includes(service.state));
  if (pending.length > 0 && timeoutMs > 0) {
    let settled = services.length - pending.length;
    const label = () => `Waiting for ${services.length} service${services.length === 1 ? "" : "s"} (${settled} ready)`;
    const progress = output.progress(label());
    try {
      await Promise.all(
        pending.map((service) =>
          (service.agentId === undefined ? contexts.find((context) => context.agentId === undefined) : contexts.find((context) => context.agentId === service.agentId))!
            .waitService(service.name, { state: SETTLED, timeoutMs })
            .catch(() => undefined)
            .finally(() => {
              settled++;
              progress.update(label());
            }),
        ),
      );
    } finally {
      progress.stop();
    }
  }
  return list();
}

/** The scope a command works in: `--for-agent id`, else the store. */
export function scopeOf(store: MCPStore, agentId: string | undefined): ServiceContext {
  return agentId === undefined ? store.forStore() : store.forAgent(agentId);
}
