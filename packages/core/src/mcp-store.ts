import { dirname } from "node:path";
import type { CacheDriver } from "./catalogue/cache-driver.js";
import { Catalogue } from "./catalogue/catalogue.js";
import { ConfigFile } from "./config/config-file.js";
import type { ConfigProblem, ParsedConfig } from "./config/config-format.js";
import { exportConfig, loadEnvVariables, resolveConfigPath, validateConfig, type ValidatedConfig } from "./config/config-loader.js";
import { StoreClosedError, ValidationError } from "./errors.js";
import { assertAgentId } from "./identifiers.js";
import { createConsoleLogger, type Logger } from "./logger.js";
import { MemoryCacheDriver } from "./catalogue/memory-cache-driver.js";
import type { Plugin } from "./plugins/plugin.js";
import { PluginHost } from "./plugins/plugin-host.js";
import { resolveMonitoring, type MonitoringOptions } from "./config/monitoring.js";
import { ServiceContext } from "./service-context.js";
import type { RegistryPersistence } from "./config/registry-change.js";
import { ServiceRegistry } from "./registry/service-registry.js";
import { StoreEventBus, type EventReplay, type StoreEventHandler, type StoreEventName, type StoreEventRecord } from "./events/store-events.js";
import type { DesiredStateDriver } from "./registry/desired-state.js";
import { MemoryDesiredState } from "./registry/memory-desired-state.js";
import { AgentPolicy, type AgentPolicyOptions } from "./registry/agent-policy.js";
import { alignConfigFile } from "./config/align-config-file.js";
import type { RoleLease, ServicePlacement, SharedState } from "./shared-state.js";

/** A persistence that writes to the file only while this instance holds the config role. */
const heldBy = (role: RoleLease, file: ConfigFile): RegistryPersistence => ({
  apply: (change) => (role.holding ? file.apply(change) : Promise.resolve()),
});

/** Options of {@link MCPStore.setupStore}. */
export interface SetupStoreOptions {
  /**
   * The `mcp.json` file: this path, else `MCPSTORE_CONFIG`, else `~/.mcpstore/mcp.json` (created on first write).
   * `false` keeps the store in memory only. Each file is its own data space. Claude Desktop, Cursor and VS Code files
   * load as they are.
   */
  mcpConfigFile?: string | false;
  /**
   * A `.env` file whose variables fill `${VAR}` placeholders (the process environment wins over it). Default: the
   * `.env` beside the config file, when there is one.
   */
  envFile?: string;
  /** How services are watched and reconnected; see {@link MonitoringOptions} and `monitoringPresets`. */
  monitoring?: MonitoringOptions;
  /** Where the catalogue is cached. Default: a {@link MemoryCacheDriver}. */
  cache?: CacheDriver;
  /**
   * Where the desired state lives: which services exist, in which scope, with which config (see
   * {@link DesiredStateDriver}). Default: a {@link MemoryDesiredState}; `@mcpstore/redis` shares one between instances.
   */
  desiredState?: DesiredStateDriver;
  /**
   * What agents may do (requests made with `principal: "agent"`, as the REST server makes them for agent tokens):
   * where their remote services may point, how many services they may have, how many calls they may have in flight.
   * See {@link AgentPolicyOptions}; the admin, library calls and the config file are not limited.
   */
  agentPolicy?: AgentPolicyOptions;
  /**
   * What this instance shares with others of one namespace (`redisDriver(...)` of `@mcpstore/redis`): the desired
   * state and the catalogue cache (instead of `desiredState` and `cache`), and the `config` role, whose holder alone
   * reads and writes the config file.
   */
  shared?: SharedState;
  /** Events kept for {@link MCPStore.events} and {@link MCPStore.subscribe} replays. Default 1,000. */
  eventBufferSize?: number;
  /** Where the store logs. Default: JSON lines on stderr at `LOG_LEVEL` (default `warn`). */
  logger?: Logger;
  /** Time limit of connecting to a service and loading its catalogue, in milliseconds. Default 30,000. */
  connectTimeoutMs?: number;
  /**
   * Plugins to add, in this order (see `definePlugin`); more can be added later with {@link MCPStore.use}. A plugin
   * whose `setup` fails fails the setup (the store is closed again).
   */
  plugins?: Plugin[];
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
  private readonly plugins: PluginHost;

  private constructor(
    private readonly registry: ServiceRegistry,
    private readonly catalogue: Catalogue,
    private readonly eventBus: StoreEventBus,
    /** The logger the store writes to. */
    readonly logger: Logger,
    private readonly desiredState: DesiredStateDriver,
  ) {
    this.storeContext = new ServiceContext(registry, catalogue, undefined);
    this.plugins = new PluginHost({ events: eventBus, logger, store: this });
  }

  /** Creates a store. Validates the options; a bad one is a `ValidationError` naming it. */
  static async setupStore(options: SetupStoreOptions = {}): Promise<MCPStore> {
    if (options.mcpConfigFile !== undefined && options.mcpConfigFile !== false && (typeof options.mcpConfigFile !== "string" || options.mcpConfigFile === "")) {
      throw new ValidationError({
        message: "mcpConfigFile must be a file path or false",
        details: { issues: [{ path: "mcpConfigFile", message: "must be a non-empty string or false" }] },
      });
    }
    const configPath = resolveConfigPath(options.mcpConfigFile);
    const fileVariables = loadEnvVariables(configPath, options.envFile);
    const connectTimeoutMs = options.connectTimeoutMs ?? 30_000;
    if (!Number.isFinite(connectTimeoutMs) || connectTimeoutMs <= 0) {
      throw new ValidationError({
        message: `connectTimeoutMs must be a positive number of milliseconds, got ${String(options.connectTimeoutMs)}`,
        details: { issues: [{ path: "connectTimeoutMs", message: "must be a positive number" }] },
      });
    }
    const logger = options.logger ?? createConsoleLogger();
    const configFile = configPath !== undefined ? new ConfigFile(configPath, logger) : undefined;
    const parsed = await configFile?.read();
    const events = new StoreEventBus(logger, options.eventBufferSize);
    const desiredState = options.shared?.desiredState ?? options.desiredState ?? new MemoryDesiredState();
    const catalogue = new Catalogue(options.shared?.cache ?? options.cache ?? new MemoryCacheDriver(), { logger });
    const role = configFile ? options.shared?.configRole : undefined;
    await role?.ready();
    // The config file's top-level `allowEgress` adds to the option's list: both are the admin's.
    const fileAllow = parsed?.document.allowEgress;
    if (fileAllow !== undefined && (!Array.isArray(fileAllow) || fileAllow.some((entry) => typeof entry !== "string"))) {
      throw new ValidationError({ message: `${configPath}: allowEgress must be a list of host[:port] patterns`, details: { issues: [{ path: "allowEgress", message: "must be a list of strings" }] } });
    }
    const allowEgress = [...(options.agentPolicy?.allowEgress ?? []), ...((fileAllow as string[] | undefined) ?? [])];
    const agentPolicy = new AgentPolicy({ ...options.agentPolicy, ...(allowEgress.length > 0 ? { allowEgress } : {}) });
    const registry = new ServiceRegistry({
      agentPolicy,
      catalogue,
      events,
      logger,
      monitoring: resolveMonitoring(options.monitoring),
      connectTimeoutMs,
      desiredState,
      ...(options.persistence ? { persistence: options.persistence } : configFile ? { persistence: role ? heldBy(role, configFile) : configFile } : {}),
      // The holder of the config role writes what other instances change, too: the file mirrors the namespace.
      ...(role ? { persistFollowed: () => role.holding } : {}),
      ...(options.shared?.placement ? { placement: options.shared.placement } : {}),
      variables: () => ({ ...fileVariables, ...process.env }),
      ...(configPath !== undefined ? { baseDirectory: dirname(configPath) } : {}),
    });
    const store = new MCPStore(registry, catalogue, events, logger, desiredState);
    store.placement = options.shared?.placement;
    // Plugins first, so that they see the config file's services being added.
    try {
      for (const plugin of options.plugins ?? []) await store.use(plugin);
    } catch (error) {
      await store.close();
      throw error;
    }
    try {
      await registry.hydrate();
    } catch (error) {
      await store.close();
      throw error;
    }
    if (configFile) {
      store.configFile = configFile;
      store.configDocument = parsed?.document;
      store.configRole = role;
      if (!role || role.holding) await store.takeConfigFile(parsed);
      role?.subscribe((holding) => {
        if (holding) store.takeConfigFile().catch((error: unknown) => logger.error({ path: configFile.path, error: (error as Error).message }, "taking over the config file failed"));
      });
    }
    return store;
  }

  private configRole: RoleLease | undefined;
  private placement: ServicePlacement | undefined;
  private watchingFile = false;

  /**
   * Starts using the config file: loads its services, watches it for hand edits. With a config role (several
   * instances), the instance that takes the role first aligns the file with the shared desired state, the truth.
   */
  private async takeConfigFile(parsed?: ParsedConfig): Promise<void> {
    const file = this.configFile!;
    const read = parsed ?? (await file.read());
    this.configDocument = read?.document ?? this.configDocument;
    await this.loadConfig(read ? validateConfig(read) : { services: [], problems: [], broken: [] }, true);
    if (this.configRole) await alignConfigFile(file, this.registry.snapshot());
    if (this.watchingFile) return;
    this.watchingFile = true;
    file.watch(
      (next, seq) => {
        // An instance that lost the role leaves hand edits to the one that holds it.
        if (this.configRole && !this.configRole.holding) return;
        this.configDocument = next.document;
        this.configError = undefined;
        return this.loadConfig(validateConfig(next), false, seq);
      },
      (error) => {
        this.configError = error.message;
        this.logger.error({ path: file.path, error: error.message }, "the config file was edited into an invalid state; ignored until fixed");
      },
    );
  }

  private configFile: ConfigFile | undefined;
  private configDocument: Record<string, unknown> | undefined;
  private configProblems: ConfigProblem[] = [];
  private configError: string | undefined;

  /** Registers the file's services (first load) or applies the file's new version as a diff. */
  private async loadConfig(validated: ValidatedConfig, initial: boolean, seq?: number): Promise<void> {
    this.configProblems = validated.problems;
    for (const problem of validated.problems) {
      this.logger.warn({ path: this.configFile?.path, service: problem.serviceName, agentId: problem.agentId }, problem.message);
    }
    if (!initial) {
      await this.registry.sync(validated.services, validated.broken, seq);
      return;
    }
    for (const { agentId, config } of validated.services) await this.registry.load(agentId, config);
  }

  /**
   * The config file in use: its path (`undefined` in memory), the problems found in it (bad entries are skipped, the
   * rest load), and why the latest edit was ignored, if it did not parse.
   */
  getConfigStatus(): { path: string | undefined; problems: ConfigProblem[]; error?: string } {
    return { path: this.configFile?.path, problems: this.configProblems, ...(this.configError ? { error: this.configError } : {}) };
  }

  /** The effective config (file format), with secrets shown as their `${VAR}` placeholders or `***`. */
  exportConfig(): Record<string, unknown> {
    return exportConfig(this.registry.snapshot(), this.configDocument);
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

  /**
   * The recent events after `since` (a `seq` from an event seen before), from a bounded buffer, so that a client that
   * reconnects resumes without missing a change; `complete: false` says it missed some and should re-read the state.
   * Call events (`tool:*`) are not buffered.
   */
  events(options: { since?: number } = {}): EventReplay {
    return this.eventBus.replay(options.since ?? 0);
  }

  /**
   * Calls `handler` with every event from now on; with `since`, first with the buffered ones after it (nothing is
   * missed in between). Returns the unsubscribe function.
   */
  subscribe(handler: (record: StoreEventRecord) => void, options: { since?: number } = {}): () => void {
    return this.eventBus.subscribe(handler, options);
  }

  /** The store-wide version of the desired state: it grows by one with every accepted change of a service config. */
  getVersion(): Promise<number> {
    return this.desiredState.version();
  }

  /** Subscribes to a store event; returns the unsubscribe function. */
  on<Name extends StoreEventName>(name: Name, handler: StoreEventHandler<Name>): () => void {
    return this.eventBus.on(name, handler);
  }

  /**
   * Adds a plugin: runs its `setup`, then attaches its hooks (`pre` plugins' run first, then the others in the order
   * they were added, then `post` ones). Its teardown runs on {@link close}. A bad plugin is a `ValidationError`; a
   * failing `setup`, a `PluginError`.
   */
  async use(plugin: Plugin): Promise<void> {
    if (this.closing) throw new StoreClosedError({ message: "The store is closed" });
    await this.plugins.use(plugin);
  }

  /** Stops every service (and process), runs the plugins' teardowns and releases the cache. Safe to call twice. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.configFile?.close();
      await this.configRole?.close();
      await this.registry.close();
      await this.placement?.close?.();
      await this.plugins.close();
      await this.catalogue.close();
      await this.catalogue.driver.close?.();
      await this.desiredState.close?.();
      this.eventBus.clear();
    })();
    return this.closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
