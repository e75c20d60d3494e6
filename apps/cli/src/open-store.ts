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
import { signalExitCode, StopSignals } from "./stop-signals.js";

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
 * A one-shot command gives up on a service after one failed attempt rather than backing off for minutes. SIGINT or
 * SIGTERM, at any point, closes the store and exits with 128 + the signal's number; a second one exits at once.
 */
export async function withStore<T>(options: GlobalOptions, work: (store: MCPStore) => Promise<T>): Promise<T> {
  const logger = commandLogger("error");
  const stop = new StopSignals({ logger });
  let store: MCPStore | undefined;
  // The work cannot be cut short: the store is closed under it (stopping its processes), then the command exits.
  void stop.requested.then(async (signal) => {
    await store?.close();
    process.exit(signalExitCode(signal));
  });
  try {
    store = await MCPStore.setupStore({
      ...(options.config !== undefined ? { mcpConfigFile: options.config } : {}),
      logger,
      monitoring: { maxReconnectAttempts: 1 },
    });
    return await work(store);
  } finally {
    await store?.close();
    stop.close();
  }
}

/** States in which a service will not change soon by itself. */
const SETTLED: ServiceState[] = ["healthy", "degraded", "unreachable", "disconnected"];

/**
 * Waits (with a spinner) until every service of the scopes has connected or given up, at most `timeoutMs`, or until
 * `signal` aborts; returns the services as they are then.
 */
export async function waitForServices(scopes: ServiceContext | ServiceContext[], output: Output, timeoutMs: number, signal?: AbortSignal): Promise<ServiceInfo[]> {
  const contexts = Array.isArray(scopes) ? scopes : [scopes];
  const list = async () => (await Promise.all(contexts.map((context) => context.listServices()))).flat();
  const services = await list();
  const pending = services.filter((service) => !SETTLED.includes(service.state));
  if (pending.length > 0 && timeoutMs > 0 && !signal?.aborted) {
    let settled = services.length - pending.length;
    const label = () => `Waiting for ${services.length} service${services.length === 1 ? "" : "s"} (${settled} ready)`;
    const progress = output.progress(label());
    try {
      await Promise.all(
        pending.map((service) =>
          (service.agentId === undefined ? contexts.find((context) => context.agentId === undefined) : contexts.find((context) => context.agentId === service.agentId))!
            .waitService(service.name, { state: SETTLED, timeoutMs, ...(signal ? { signal } : {}) })
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
