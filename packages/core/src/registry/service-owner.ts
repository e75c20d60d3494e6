/**
 * The one owner of one service (a name in a scope): its config as applied here, its connection (and so its process),
 * its lifecycle state and its entries in the read model. The registry runs every operation on the service (add,
 * update, remove, restart, file sync, close) through the owner's {@link SerialQueue}, one at a time and in order; the
 * owner's methods below assume the queue is held. Callbacks from a connection that is no longer the owner's are
 * ignored, so no stale event or catalogue write comes from an old process.
 */
import type { Catalogue, ScopeKey } from "../catalogue/catalogue.js";
import type { ServiceConfig } from "../config/service-config.js";
import { redactServiceConfig } from "../config/service-config.js";
import type { FetchedCatalogue } from "../connection/service-connection.js";
import type { ServiceLink } from "../connection/service-link.js";
import { ServiceUnavailableError } from "../errors.js";
import { waitForConnection } from "../connection/wait-for-connection.js";
import type { ServiceRef, StoreEventBus } from "../events/store-events.js";
import type { Logger } from "../logger.js";
import type { ServicePlacement } from "../shared-state.js";
import type { ServiceInfo, ServiceState, ToolInfo, ToolNameCollision } from "../types.js";
import { canTransition } from "../connection/lifecycle.js";
import { isPlaced, PlacedService } from "./placed-service.js";
import { SerialQueue } from "./serial-queue.js";

/** How the owner gets a connection and hands over what it fetched; provided by the registry. */
export interface ServiceOwnerOptions {
  ref: ServiceRef;
  scope: ScopeKey;
  catalogue: Catalogue;
  events: StoreEventBus;
  logger: Logger;
  /** A connection for `config` whose callbacks go to `owner`; not started. */
  createConnection(owner: ServiceOwner, config: ServiceConfig): ServiceLink;
  /** Several instances: where stdio services run (one process cluster-wide, see {@link PlacedService}). */
  placement?: ServicePlacement;
  /** Names and stores a catalogue the owner's current connection fetched. */
  storeCatalogue(owner: ServiceOwner, fetched: FetchedCatalogue): Promise<void>;
  /** Takes a placed service's tools, as the instance running it stored them, for routing here. */
  adoptTools(owner: ServiceOwner, tools: ToolInfo[]): void;
}

/** Limits of a wait for the service to be callable. */
export interface CallableLimits {
  timeoutMs?: number;
  signal?: AbortSignal;
}

const nowIso = () => new Date().toISOString();

export class ServiceOwner {
  /** Every operation on this service runs through here, in order. */
  readonly queue = new SerialQueue();
  readonly ref: ServiceRef;
  readonly scope: ScopeKey;
  /** The config applied here (placeholders kept); `undefined` while the service does not exist. */
  config: ServiceConfig | undefined;
  /**
   * The live link: this instance's connection, or for a placed service run by another instance a link forwarding
   * there; `undefined` while stopped or between the old and the new one of a restart.
   */
  connection: ServiceLink | undefined;
  state: ServiceState = "initializing";
  addedAt = "";
  stateChangedAt = "";
  tools: ToolInfo[] = [];
  collisions: ToolNameCollision[] = [];
  /** Sequence number of this service's last change written to the config file (older file snapshots are ignored). */
  lastFileSeq = -1;
  /** True once the service has been `healthy` since it was added (see {@link replaceableByAdd}). */
  everHealthy = false;
  /** Set while a restart swaps connections: calls that arrive meanwhile wait for the new one. */
  private swapping: Promise<void> | undefined;
  /** Set when the store closes: no connection starts afterwards. */
  private closed = false;
  /** Set for a stdio service placed on one instance of several. */
  private placed: PlacedService | undefined;

  constructor(private readonly options: ServiceOwnerOptions) {
    this.ref = options.ref;
    this.scope = options.scope;
  }

  get name(): string {
    return this.ref.serviceName;
  }

  /**
   * True when an add of the same name replaces this service instead of failing with `SERVICE_EXISTS`: it exists, has
   * never been `healthy` since it was added, and its connection failed (`reconnecting` or `unreachable`). That is a
   * retried add of a service that could not connect (the seed's retry of `add_service`); a service still in its first
   * attempt (`initializing`), or one that ever worked, is never replaced by an add.
   */
  get replaceableByAdd(): boolean {
    return this.config !== undefined && !this.everHealthy && (this.state === "reconnecting" || this.state === "unreachable");
  }

  /** True when `connection` is the owner's current one (callbacks of any other are ignored). */
  owns(connection: ServiceLink): boolean {
    return this.connection === connection;
  }

  /** Creates the service: records it in the read model, announces it, and starts connecting. */
  install(config: ServiceConfig): ServiceInfo {
    const now = nowIso();
    this.config = config;
    this.addedAt = now;
    this.stateChangedAt = now;
    this.state = "initializing";
    this.everHealthy = false;
    this.tools = [];
    this.collisions = [];
    this.startConnection(config);
    const info = this.info();
    this.writeInfo(info);
    // Empty lists now, so that the catalogue lists services' tools in the order the services were added.
    if (this.writesReadModel) void this.options.catalogue.writeCatalogue(this.scope, this.name, { tools: [], resources: [], prompts: [] });
    this.options.events.emit("service:added", { ...this.ref, service: info });
    return info;
  }

  /** Creates the service, or replaces it when it exists (an add of a service that never connected: see {@link replaceableByAdd}). */
  installOrReplace(config: ServiceConfig): ServiceInfo | Promise<ServiceInfo> {
    return this.config === undefined ? this.install(config) : this.restart(config, "added again after it failed to connect");
  }

  /**
   * Stops the running connection (and process) completely, then starts one with `config`. The service shows
   * `initializing` from the start, and calls that arrive meanwhile wait for the new connection.
   */
  async restart(config: ServiceConfig, reason: string): Promise<ServiceInfo> {
    let done!: () => void;
    this.swapping = new Promise<void>((resolve) => (done = resolve));
    try {
      this.config = config;
      this.transition("initializing", reason);
      const old = this.connection;
      this.connection = undefined;
      // One process at a time: the old one is gone before the new one starts.
      await old?.close();
      this.startConnection(config);
      this.writeInfo();
    } finally {
      this.swapping = undefined;
      done();
    }
    return this.info();
  }

  /** Stops the connection (and process), then gives up a placed service's lease; the service ends `disconnected`. */
  async stop(reason: string): Promise<void> {
    this.transition("disconnected", reason);
    const old = this.connection;
    this.connection = undefined;
    await old?.close();
    const placed = this.placed;
    this.placed = undefined;
    await placed?.close();
  }

  /**
   * False while another instance runs this placed service: that instance writes its info and catalogue to the shared
   * read model, and this one only follows.
   */
  get writesReadModel(): boolean {
    return this.placed === undefined || this.placed.runsHere;
  }

  /** Stops the service and deletes it from the read model; the registry then forgets it. */
  async uninstall(): Promise<void> {
    await this.stop("removed");
    await this.options.catalogue.removeService(this.scope, this.name);
    this.config = undefined;
    this.tools = [];
    this.collisions = [];
  }

  /**
   * For the store's close: stops the service now, outside the queue, and makes sure no operation still under way
   * starts another connection.
   */
  async shutdown(): Promise<void> {
    this.closed = true;
    if (this.config !== undefined) await this.stop("stopped");
  }

  private startConnection(config: ServiceConfig): void {
    if (this.closed) return;
    const placement = this.options.placement;
    if (placement !== undefined && isPlaced(config)) {
      if (this.placed) return this.placed.restart(config);
      this.placed = new PlacedService(
        this,
        config,
        placement,
        (placedConfig) => this.options.createConnection(this, placedConfig),
        () => this.options.catalogue.listTools(this.scope, this.name),
        (tools) => this.options.adoptTools(this, tools),
      );
      return this.placed.start();
    }
    // No longer placed (now `every-instance`): the lease goes, this instance runs its own copy.
    if (this.placed) void this.placed.close();
    this.placed = undefined;
    const connection = this.options.createConnection(this, config);
    this.connection = connection;
    connection.start();
  }

  /**
   * Moves the service to `state` if the lifecycle table allows it, records it in the read model and emits
   * `service:state-changed`. Staying in the same state only refreshes the read model.
   */
  transition(state: ServiceState, reason: string | undefined): void {
    const previous = this.state;
    if (previous === state) {
      this.writeInfo();
      return;
    }
    if (!canTransition(previous, state)) {
      this.options.logger.error({ service: this.name, agentId: this.ref.agentId, previous, state, reason }, `refused state change ${previous} → ${state}`);
      return;
    }
    this.state = state;
    if (state === "healthy") this.everHealthy = true;
    this.stateChangedAt = nowIso();
    this.writeInfo();
    const level = state === "unreachable" || state === "reconnecting" || state === "degraded" ? "warn" : "info";
    this.options.logger[level](
      { service: this.name, agentId: this.ref.agentId, previous, state, ...(reason ? { reason } : {}) },
      `service ${this.name} is ${state}`,
    );
    this.options.events.emit("service:state-changed", { ...this.ref, previous, state, ...(reason !== undefined ? { reason } : {}) });
  }

  /** The connection to use right now, or `undefined` while a restart swaps connections (then see {@link callable}). */
  connectionNow(): ServiceLink | undefined {
    return this.swapping === undefined ? this.connection : undefined;
  }

  /** The connection a call should use: waits (within the call's limits) while a restart swaps connections. */
  callable(limits: CallableLimits = {}): ServiceLink | Promise<ServiceLink> {
    if (this.swapping === undefined && this.connection !== undefined) return this.connection;
    return this.callableAfterSwap(limits);
  }

  private async callableAfterSwap(limits: CallableLimits): Promise<ServiceLink> {
    if (this.swapping) await waitForConnection(this.swapping, { ...this.ref, agentId: this.ref.agentId, ...limits, stage: "restart" });
    if (!this.connection) {
      throw new ServiceUnavailableError({
        ...this.ref,
        message: `Service "${this.name}" is ${this.state}`,
        details: { state: this.state },
      });
    }
    return this.connection;
  }

  /** Writes the service's info to the read model (never throws: the catalogue logs and retries failed writes). */
  writeInfo(info: ServiceInfo = this.info()): void {
    if (this.config === undefined || !this.writesReadModel) return;
    this.placed?.publish(info);
    this.options.catalogue.writeService(this.scope, info).catch((error: unknown) =>
      this.options.logger.warn({ service: this.name, error: (error as Error).message }, "writing the service info failed"),
    );
  }

  /** The public, secret-free description of the service. */
  info(): ServiceInfo {
    const connection = this.connection;
    const config = this.config!;
    const followed = this.placed?.followed;
    const info: ServiceInfo = {
      name: this.name,
      state: this.state,
      transport: connection?.transportKind ?? (config.url === undefined ? "stdio" : config.transport ?? "streamable-http"),
      config: redactServiceConfig(config),
      toolCount: followed?.toolCount ?? this.tools.length,
      attempts: connection?.attempts ?? 0,
      stateChangedAt: this.stateChangedAt,
      addedAt: this.addedAt,
      toolNameCollisions: this.collisions,
    };
    if (this.ref.agentId !== undefined) info.agentId = this.ref.agentId;
    if (connection) Object.assign(info, connection.lifecycleInfo());
    if (this.placed) info.placement = this.placed.describe();
    return info;
  }

  /** Hands a fetched catalogue to the registry, if it comes from the current connection. */
  async receiveCatalogue(connection: ServiceLink, fetched: FetchedCatalogue): Promise<void> {
    if (!this.owns(connection) || this.config === undefined) return;
    await this.options.storeCatalogue(this, fetched);
    // The other instances reload their tool list when they see its new digest.
    this.placed?.publish(this.info());
  }
}
