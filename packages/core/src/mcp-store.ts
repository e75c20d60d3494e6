import type { CacheDriver } from "./cache-driver.js";
import { Catalogue } from "./catalogue.js";
import { ValidationError } from "./errors.js";
import { assertAgentId } from "./identifiers.js";
import { createConsoleLogger, type Logger } from "./logger.js";
import { MemoryCacheDriver } from "./memory-cache-driver.js";
import { resolveMonitoring, type MonitoringOptions } from "./monitoring.js";
import { ServiceContext } from "./service-context.js";
import { ServiceRegistry, type RegistryPersistence } from "./service-registry.js";
import { StoreEventBus, type StoreEventHandler, type StoreEventName } from "./store-events.js";

/** Options of {@link MCPStore.setupStore}. */
export interface SetupStoreOptions {
  /**
   * The `mcp.json` file. `false` keeps the store in memory only. The config file support lands in its own release;
   * until then only `false` (the default) is accepted.
   */
  mcpConfigFile?: string | false;
  /** How services are watched and reconnected; see {@link MonitoringOptions} and `monitoringPresets`. */
  monitoring?: MonitoringOptions;
  /** Where the catalogue is cached. Default: a {@link MemoryCacheDriver}. */
  cache?: CacheDriver;
  /** Where the store logs. Default: JSON lines on stderr at `LOG_LEVEL` (default `warn`). */
  logger?: Logger;
  /** Time limit of connecting to a service and loading its catalogue, in milliseconds. Default 30,000. */
  connectTimeoutMs?: number;
  /** @internal Where configs are persisted; the config file plugs in here. */
  persistence?: RegistryPersistence;
}

/**
 * The store: a registry of MCP services with their cached catalogue, in one store scope and any number of agent
 * scopes. Create it with {@link MCPStore.setupStore}; close it with {@link MCPStore.close} (or `await using`).
 */
export class MCPStore {
  private readonly agentContexts = new Map<string, ServiceContext>();
  private readonly storeContext: ServiceContext;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly registry: ServiceRegistry,
    private readonly catalogue: Catalogue,
    private readonly events: StoreEventBus,
    /** The logger the store writes to. */
    readonly logger: Logger,
  ) {
    this.storeContext = new ServiceContext(registry, catalogue, undefined);
  }

  /** Creates a store. Validates the options; a bad one is a `ValidationError` naming it. */
  static async setupStore(options: SetupStoreOptions = {}): Promise<MCPStore> {
    if (options.mcpConfigFile !== undefined && options.mcpConfigFile !== false) {
      throw new ValidationError({
        message: "mcpConfigFile: config files are not supported by this version yet; pass mcpConfigFile: false (or leave it out)",
        details: { issues: [{ path: "mcpConfigFile", message: "only false is supported" }] },
      });
    }
    const connectTimeoutMs = options.connectTimeoutMs ?? 30_000;
    if (!Number.isFinite(connectTimeoutMs) || connectTimeoutMs <= 0) {
      throw new ValidationError({
        message: `connectTimeoutMs must be a positive number of milliseconds, got ${String(options.connectTimeoutMs)}`,
        details: { issues: [{ path: "connectTimeoutMs", message: "must be a positive number" }] },
      });
    }
    const logger = options.logger ?? createConsoleLogger();
    const events = new StoreEventBus(logger);
    const catalogue = new Catalogue(options.cache ?? new MemoryCacheDriver());
    const registry = new ServiceRegistry({
      catalogue,
      events,
      logger,
      monitoring: resolveMonitoring(options.monitoring),
      connectTimeoutMs,
      ...(options.persistence ? { persistence: options.persistence } : {}),
    });
    return new MCPStore(registry, catalogue, events, logger);
  }

  /** The store scope: the store's own services, and `listAgents()`. */
  forStore(): ServiceContext {
    return this.storeContext;
  }

  /** The scope of one agent: only its services, under their local names. The id must match `^[A-Za-z0-9_-]{1,64}$`. */
  forAgent(agentId: string): ServiceContext {
    assertAgentId(agentId);
    let context = this.agentContexts.get(agentId);
    if (!context) {
      context = new ServiceContext(this.registry, this.catalogue, agentId);
      this.agentContexts.set(agentId, context);
    }
    return context;
  }

  /** Subscribes to a store event; returns the unsubscribe function. */
  on<Name extends StoreEventName>(name: Name, handler: StoreEventHandler<Name>): () => void {
    return this.events.on(name, handler);
  }

  /** Stops every service (and process) and releases the cache. Safe to call twice. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.registry.close();
      await this.catalogue.driver.close?.();
      this.events.clear();
    })();
    return this.closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
