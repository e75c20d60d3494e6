/**
 * registry/: who owns what. The desired state (which services exist, behind a {@link DesiredStateDriver}), one
 * {@link ServiceOwner} per service that runs every operation on it in order, the lifecycle table, and the call routes.
 * It may import connection/, catalogue/, config/, events/, tools/ and the root primitives; nothing there imports it.
 *
 * The registry turns each request into an operation on the owners it touches: it takes their queues (several at once
 * for a batch, in a fixed order), checks the operation still makes sense (the name is free, the service exists),
 * persists it (the config file, then the desired state; a failure there changes nothing), and only then changes the
 * runtime and the read model.
 */
import { randomUUID } from "node:crypto";
import { isAbsolute, resolve } from "node:path";
import type { GetPromptResult, ReadResourceResult } from "@modelcontextprotocol/sdk/types.js";
import { Catalogue, scopeKeyOf, type ScopeKey } from "../catalogue/catalogue.js";
import { pruneRemovedServices } from "../catalogue/prune-removed-services.js";
import type { ResolvedMonitoring } from "../config/monitoring.js";
import { expandPlaceholders } from "../config/placeholders.js";
import type { RegistryChange, RegistryPersistence, RegistrySnapshot } from "../config/registry-change.js";
import type { ServiceConfig } from "../config/service-config.js";
import { MAX_TIMER_DELAY_MS } from "../connection/backoff.js";
import { ProbeLimiter } from "../connection/probe-limiter.js";
import { ServiceConnection, type FetchedCatalogue } from "../connection/service-connection.js";
import { MCPStoreError, ServiceExistsError, ServiceNotFoundError, StoreClosedError, ValidationError } from "../errors.js";
import type { StoreEventBus } from "../events/store-events.js";
import type { Logger } from "../logger.js";
import { ArgumentValidator } from "../tools/argument-validator.js";
import type { CallToolOptions, CheckServicesResult, ServiceInfo, ToolCallResult, ToolInfo, WaitServiceOptions } from "../types.js";
import { callLimits, callRoutedTool } from "./call-tool.js";
import { nameTools, toPromptInfo, toResourceInfo } from "./catalogue-entries.js";
import type { DesiredChange, DesiredStateDriver, DesiredStateEvent } from "./desired-state.js";
import { lockAll } from "./serial-queue.js";
import { ServiceOwner } from "./service-owner.js";
import { ToolRoutes } from "./tool-routes.js";
import { waitForState } from "./wait-for-state.js";

/** Options of the registry's changing methods. */
export interface ChangeOptions {
  /** False when the change comes from the config file itself (a hand edit), so it is not written back. */
  persist?: boolean;
  /** False when the change comes from the desired state (another instance), so it is not published again. */
  publish?: boolean;
  /** The config file's sequence number of the snapshot the change comes from (see {@link ServiceRegistry.sync}). */
  fileSeq?: number;
}

/** What the registry needs from the store. */
export interface ServiceRegistryOptions {
  catalogue: Catalogue;
  events: StoreEventBus;
  logger: Logger;
  monitoring: ResolvedMonitoring;
  connectTimeoutMs: number;
  desiredState: DesiredStateDriver;
  persistence?: RegistryPersistence;
  /** The directory relative `working_dir`s are resolved against (the config file's). Default: the process's. */
  baseDirectory?: string;
  /** Values for `${VAR}` placeholders, read each time a service starts. Default: `process.env`. */
  variables?: () => Record<string, string | undefined>;
}

interface ScopeState {
  agentId: string | undefined;
  /** Owners by service name: those of existing services, and those with operations under way. */
  owners: Map<string, ServiceOwner>;
  routes: ToolRoutes;
}

/** How long {@link ServiceRegistry.close} waits for operations under way before it returns anyway. */
const CLOSE_DRAIN_MS = 5_000;
const where = (agentId: string | undefined) => (agentId === undefined ? "the store scope" : `agent "${agentId}"`);
const refContext = (agentId: string | undefined, serviceName: string) => ({ serviceName, ...(agentId !== undefined ? { agentId } : {}) });

export class ServiceRegistry {
  private readonly scopes = new Map<ScopeKey, ScopeState>();
  private readonly validator: ArgumentValidator;
  /** Bounds the health probes of all services at once (`monitoring.maxConcurrentProbes`). */
  private readonly probeLimiter: ProbeLimiter;
  private readonly cleanupTimer: NodeJS.Timeout;
  /** Marks this store's own changes in the desired state's change feed. */
  private readonly origin = randomUUID();
  private readonly unsubscribeDesired: () => void;
  private closed = false;

  constructor(private readonly options: ServiceRegistryOptions) {
    this.probeLimiter = new ProbeLimiter(options.monitoring.maxConcurrentProbes);
    this.cleanupTimer = setInterval(() => {
      this.pruneRemoved().catch((error: unknown) => options.logger.warn({ error: (error as Error).message }, "cleanup of removed services failed"));
    }, Math.min(options.monitoring.cleanupHours * 3_600_000, MAX_TIMER_DELAY_MS));
    this.cleanupTimer.unref();
    this.validator = new ArgumentValidator((toolName, message) =>
      options.logger.warn({ tool: toolName, error: message }, "tool input schema does not compile; only the object shape is checked"),
    );
    this.unsubscribeDesired = options.desiredState.subscribe((event) => this.onDesiredChange(event));
  }

  private get catalogue(): Catalogue {
    return this.options.catalogue;
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreClosedError({ message: "The store is closed" });
  }

  private scope(agentId: string | undefined): ScopeState {
    const key = scopeKeyOf(agentId);
    let state = this.scopes.get(key);
    if (!state) this.scopes.set(key, (state = { agentId, owners: new Map(), routes: new ToolRoutes(agentId) }));
    return state;
  }

  /** The owner of a name, created on first use (it exists while the service does or while operations are queued). */
  private ownerFor(agentId: string | undefined, name: string): ServiceOwner {
    const state = this.scope(agentId);
    let owner = state.owners.get(name);
    if (!owner) {
      owner = new ServiceOwner({
        ref: agentId === undefined ? { serviceName: name } : { serviceName: name, agentId },
        scope: scopeKeyOf(agentId),
        catalogue: this.catalogue,
        events: this.options.events,
        logger: this.options.logger,
        createConnection: (forOwner, config) => this.createConnection(forOwner, config),
        storeCatalogue: (forOwner, fetched) => this.storeCatalogue(forOwner, fetched),
      });
      state.owners.set(name, owner);
    }
    return owner;
  }

  /** Forgets an owner once its service is gone and nothing is queued on it. */
  private retire(owner: ServiceOwner): void {
    if (owner.config !== undefined || owner.queue.size > 0) return;
    const state = this.scopes.get(owner.scope);
    if (state?.owners.get(owner.name) === owner) state.owners.delete(owner.name);
  }

  /** Runs `work` with the owner's queue held; the owner is retired afterwards if the service is gone. */
  private async withOwner<T>(agentId: string | undefined, name: string, work: (owner: ServiceOwner) => Promise<T>): Promise<T> {
    const owner = this.ownerFor(agentId, name);
    try {
      return await owner.queue.run(async () => {
        this.assertOpen();
        return work(owner);
      });
    } finally {
      this.retire(owner);
    }
  }

  private *existing(state: ScopeState | undefined): Iterable<ServiceOwner> {
    if (state) for (const owner of state.owners.values()) if (owner.config !== undefined) yield owner;
  }

  private present(agentId: string | undefined, serviceName: string): ServiceOwner {
    const owner = this.scopes.get(scopeKeyOf(agentId))?.owners.get(serviceName);
    if (owner?.config === undefined) throw this.notFound(agentId, serviceName);
    return owner;
  }

  private notFound(agentId: string | undefined, serviceName: string): ServiceNotFoundError {
    return new ServiceNotFoundError({ ...refContext(agentId, serviceName), message: `No service "${serviceName}" in ${where(agentId)}` });
  }

  private exists(agentId: string | undefined, serviceName: string): ServiceExistsError {
    return new ServiceExistsError({ ...refContext(agentId, serviceName), message: `A service named "${serviceName}" already exists in ${where(agentId)}` });
  }

  // ---- changes -----------------------------------------------------------------------------------------------------

  /**
   * Makes a change durable: the config file first, then the desired state. If the desired state refuses, the file is
   * put back. Throws (having changed nothing) when either fails.
   */
  private async commit(owners: ServiceOwner[], change: RegistryChange, undo: RegistryChange[], desired: DesiredChange[], options: ChangeOptions): Promise<void> {
    const persistence = options.persist === false ? undefined : this.options.persistence;
    const written = await persistence?.apply(change);
    if (options.publish !== false) {
      try {
        await this.options.desiredState.apply(desired, { origin: this.origin });
      } catch (error) {
        for (const step of persistence ? undo : []) {
          await persistence!.apply(step).catch((undoError: unknown) =>
            this.options.logger.error({ error: (undoError as Error).message }, "could not undo a config file change the desired state refused"),
          );
        }
        throw error;
      }
    }
    const seq = typeof written === "number" ? written : options.fileSeq;
    if (seq !== undefined) for (const owner of owners) owner.lastFileSeq = Math.max(owner.lastFileSeq, seq);
  }

  /** Adds services (all or none), persists them, and starts connecting in the background. */
  async add(agentId: string | undefined, configs: ServiceConfig[], options: ChangeOptions = {}): Promise<ServiceInfo[]> {
    this.assertOpen();
    const names = configs.map((config) => config.name);
    const repeated = names.find((name, index) => names.indexOf(name) !== index);
    if (repeated !== undefined) throw this.exists(agentId, repeated);
    const owners = names.map((name) => this.ownerFor(agentId, name));
    const release = await lockAll(owners.map((owner) => ({ key: owner.name, queue: owner.queue })));
    try {
      this.assertOpen();
      for (const owner of owners) if (owner.config !== undefined) throw this.exists(agentId, owner.name);
      await this.commit(
        owners,
        { kind: "add", agentId, configs },
        names.map((name) => ({ kind: "remove", agentId, name })),
        configs.map((config) => ({ op: "put", ...(agentId !== undefined ? { agentId } : {}), config, expect: "absent" })),
        options,
      );
      return owners.map((owner, index) => owner.install(configs[index]!));
    } finally {
      release();
      for (const owner of owners) this.retire(owner);
    }
  }

  /**
   * Replaces a service's config with what `compute` makes of the current one (run in the service's turn, so two
   * patches never lose each other's fields), persists it, and restarts the service with it.
   */
  update(agentId: string | undefined, serviceName: string, compute: (current: ServiceConfig) => ServiceConfig, options: ChangeOptions = {}): Promise<ServiceInfo> {
    this.assertOpen();
    return this.withOwner(agentId, serviceName, async (owner) => {
      if (owner.config === undefined) throw this.notFound(agentId, serviceName);
      const previous = owner.config;
      const config = compute(previous);
      if (config.name !== serviceName) {
        throw new ValidationError({
          message: `A service cannot be renamed by an update ("${serviceName}" → "${config.name}"); remove it and add it again`,
          serviceName,
          details: { issues: [{ path: `services.${serviceName}.name`, message: "must stay the same" }] },
        });
      }
      await this.commit(
        [owner],
        { kind: "replace", agentId, config },
        [{ kind: "replace", agentId, config: previous }],
        [{ op: "put", ...(agentId !== undefined ? { agentId } : {}), config, expect: "present" }],
        options,
      );
      return owner.restart(config, "config updated");
    });
  }

  /** Removes a service: resolves once its process is gone, the file is written and no read returns it. */
  remove(agentId: string | undefined, serviceName: string, options: ChangeOptions = {}): Promise<void> {
    this.assertOpen();
    return this.withOwner(agentId, serviceName, async (owner) => {
      if (owner.config === undefined) throw this.notFound(agentId, serviceName);
      await this.removeOwned(owner, options);
    });
  }

  private async removeOwned(owner: ServiceOwner, options: ChangeOptions): Promise<void> {
    const agentId = owner.ref.agentId;
    await this.commit(
      [owner],
      { kind: "remove", agentId, name: owner.name },
      [{ kind: "add", agentId, configs: [owner.config!] }],
      [{ op: "delete", ...(agentId !== undefined ? { agentId } : {}), name: owner.name, expect: "present" }],
      options,
    );
    // Its tools stay routable (calls fail with the service's state) until the read model no longer lists them.
    await owner.uninstall();
    const state = this.scope(agentId);
    state.routes.rebuild(this.existing(state));
    this.options.events.emit("service:removed", owner.ref);
  }

  /** Stops a service and connects it again with the same config (the old process is gone before the new one starts). */
  restart(agentId: string | undefined, serviceName: string): Promise<ServiceInfo> {
    this.assertOpen();
    return this.withOwner(agentId, serviceName, async (owner) => {
      if (owner.config === undefined) throw this.notFound(agentId, serviceName);
      return owner.restart(owner.config, "restarted");
    });
  }

  /**
   * Brings the services in line with a snapshot of the config file (a hand edit): services that appeared are added,
   * those that disappeared removed, and those whose config changed restarted; names in `keep` (entries the file has
   * in a broken form) are left alone. Each change runs in its service's turn and is skipped for a service whose own
   * write to the file is newer than the snapshot (`fileSeq`). Nothing is written back to the file.
   */
  async sync(wanted: Array<{ agentId: string | undefined; config: ServiceConfig }>, keep: Array<{ agentId: string | undefined; name: string }>, fileSeq?: number): Promise<void> {
    if (this.closed) return;
    const key = (agentId: string | undefined, name: string) => `${scopeKeyOf(agentId)}/${name}`;
    const targets = new Map<string, { agentId: string | undefined; name: string; config: ServiceConfig | undefined }>();
    for (const state of this.scopes.values()) {
      for (const owner of this.existing(state)) targets.set(key(state.agentId, owner.name), { agentId: state.agentId, name: owner.name, config: undefined });
    }
    for (const item of wanted) targets.set(key(item.agentId, item.config.name), { agentId: item.agentId, name: item.config.name, config: item.config });
    for (const item of keep) targets.delete(key(item.agentId, item.name));
    const options: ChangeOptions = { persist: false, ...(fileSeq !== undefined ? { fileSeq } : {}) };
    const results = await Promise.allSettled(
      [...targets.values()].map((target) =>
        this.withOwner(target.agentId, target.name, (owner) => {
          if (fileSeq !== undefined && owner.lastFileSeq > fileSeq) return Promise.resolve();
          return this.reconcile(owner, target.config, options);
        }),
      ),
    );
    for (const result of results) {
      if (result.status === "rejected") this.options.logger.error({ error: (result.reason as Error).message }, "applying an edit of the config file failed");
    }
  }

  /** With the owner's queue held: makes the service match `config` (`undefined`: it should not exist). */
  private async reconcile(owner: ServiceOwner, config: ServiceConfig | undefined, options: ChangeOptions): Promise<void> {
    const agentId = owner.ref.agentId;
    const scoped = agentId !== undefined ? { agentId } : {};
    if (config === undefined) {
      if (owner.config !== undefined) await this.removeOwned(owner, options);
    } else if (owner.config === undefined) {
      await this.commit([owner], { kind: "add", agentId, configs: [config] }, [{ kind: "remove", agentId, name: config.name }], [{ op: "put", ...scoped, config }], options);
      owner.install(config);
    } else if (stableStringify(config) !== stableStringify(owner.config)) {
      await this.commit([owner], { kind: "replace", agentId, config }, [{ kind: "replace", agentId, config: owner.config }], [{ op: "put", ...scoped, config }], options);
      await owner.restart(config, "config updated");
    }
    if (options.fileSeq !== undefined) owner.lastFileSeq = Math.max(owner.lastFileSeq, options.fileSeq);
  }

  /** Another instance changed the desired state: follow it (nothing is published or written back). */
  private onDesiredChange(event: DesiredStateEvent): void {
    if (event.origin === this.origin || this.closed) return;
    for (const change of event.changes) {
      const name = change.op === "put" ? change.config.name : change.name;
      const config = change.op === "put" ? change.config : undefined;
      this.withOwner(change.agentId, name, (owner) => this.reconcile(owner, config, { persist: false, publish: false })).catch((error: unknown) =>
        this.options.logger.error({ service: name, agentId: change.agentId, error: (error as Error).message }, "following a change of the shared desired state failed"),
      );
    }
  }

  /** Starts the services the desired state already holds (a shared driver that other instances filled). */
  async hydrate(): Promise<void> {
    const { services } = await this.options.desiredState.load();
    await Promise.all(
      services.map((service) => this.withOwner(service.agentId, service.config.name, (owner) => this.reconcile(owner, service.config, { persist: false, publish: false }))),
    );
  }

  /** Adds a service of the config file at start-up, unless the desired state already has it (then that one wins). */
  async load(agentId: string | undefined, config: ServiceConfig): Promise<void> {
    await this.withOwner(agentId, config.name, async (owner) => {
      if (owner.config === undefined) return this.reconcile(owner, config, { persist: false });
      if (stableStringify(owner.config) !== stableStringify(config)) {
        this.options.logger.info({ service: config.name, agentId }, "the shared desired state has another config for this service; it wins over the file");
      }
    });
  }

  // ---- runtime -----------------------------------------------------------------------------------------------------

  /** A connection for the owner's config, with its `${VAR}` placeholders expanded (the owner keeps them). */
  private createConnection(owner: ServiceOwner, stored: ServiceConfig): ServiceConnection {
    let config = stored;
    let blockedReason: string | undefined;
    try {
      config = expandPlaceholders(stored, this.options.variables?.() ?? process.env, owner.ref.agentId);
      // A relative working_dir is relative to the config file, like the file's other paths, not to wherever we run.
      if (config.working_dir !== undefined && this.options.baseDirectory !== undefined && !isAbsolute(config.working_dir)) {
        config = { ...config, working_dir: resolve(this.options.baseDirectory, config.working_dir) };
      }
    } catch (error) {
      blockedReason = (error as Error).message;
      config = stored;
    }
    const connection: ServiceConnection = new ServiceConnection({
      config,
      ref: owner.ref,
      monitoring: this.options.monitoring,
      logger: this.options.logger,
      connectTimeoutMs: this.options.connectTimeoutMs,
      probeLimiter: this.probeLimiter,
      ...(blockedReason !== undefined ? { blockedReason } : {}),
      onStateChange: (_previous, state, reason) => {
        if (owner.owns(connection)) owner.transition(state, reason);
      },
      onCatalogue: (fetched) => owner.receiveCatalogue(connection, fetched),
      onInfoChange: () => {
        if (owner.owns(connection)) owner.writeInfo();
      },
    });
    return connection;
  }

  /** Names the fetched tools (collision-free in the scope), writes the read model, and updates the call routes. */
  private async storeCatalogue(owner: ServiceOwner, fetched: FetchedCatalogue): Promise<void> {
    const state = this.scope(owner.ref.agentId);
    const taken = new Set<string>();
    for (const other of this.existing(state)) if (other !== owner) for (const tool of other.tools) taken.add(tool.name);
    const { tools, collisions } = nameTools(owner.name, fetched.tools, taken, this.options.logger, owner.ref.agentId);
    const previous = owner.tools;
    owner.tools = tools;
    owner.collisions = collisions;
    // New tools are routable before they are listed; dropped ones stay routable until they are no longer listed.
    state.routes.rebuild(this.existing(state), { owner, tools: previous });
    await Promise.all([
      this.catalogue.writeCatalogue(owner.scope, owner.name, {
        tools,
        resources: fetched.resources.map((resource) => toResourceInfo(owner.name, resource)),
        prompts: fetched.prompts.map((prompt) => toPromptInfo(owner.name, prompt)),
      }),
      this.catalogue.writeService(owner.scope, owner.info()),
    ]);
    state.routes.rebuild(this.existing(state));
    const previousNames = new Set(previous.map((tool) => tool.name));
    const names = new Set(tools.map((tool) => tool.name));
    this.options.events.emit("tools:refreshed", {
      ...owner.ref,
      toolCount: tools.length,
      added: [...names].filter((name) => !previousNames.has(name)),
      removed: [...previousNames].filter((name) => !names.has(name)),
    });
  }

  // ---- reads and calls ---------------------------------------------------------------------------------------------

  /** The registry's configs, for persistence and export, in the order the services were added. */
  snapshot(): RegistrySnapshot {
    const snapshot: RegistrySnapshot = { store: [], agents: {} };
    for (const state of this.scopes.values()) {
      const configs = [...this.existing(state)].sort((a, b) => a.addedAt.localeCompare(b.addedAt)).map((owner) => owner.config!);
      if (state.agentId === undefined) snapshot.store = configs;
      else if (configs.length > 0) snapshot.agents[state.agentId] = configs;
    }
    return snapshot;
  }

  /** The store-wide version of the desired state. */
  version(): Promise<number> {
    return this.options.desiredState.version();
  }

  /** Agent ids that own at least one service. */
  agentIds(): string[] {
    return [...this.scopes.values()].filter((state) => state.agentId !== undefined && [...this.existing(state)].length > 0).map((state) => state.agentId!);
  }

  /** Waits until the service reaches one of the wanted states (after the operations issued on it before). */
  async wait(agentId: string | undefined, serviceName: string, options: WaitServiceOptions = {}): Promise<ServiceInfo> {
    this.assertOpen();
    const owner = this.scopes.get(scopeKeyOf(agentId))?.owners.get(serviceName);
    if (!owner) throw this.notFound(agentId, serviceName);
    return waitForState(owner, this.options.events, options, () => this.catalogue.flush(owner.scope, serviceName));
  }

  /** The cached description of one tool. */
  tool(agentId: string | undefined, toolName: string): ToolInfo {
    return this.scope(agentId).routes.find(toolName).tool;
  }

  /** Validates the arguments and calls the tool on its service. */
  callTool(agentId: string | undefined, toolName: string, args: unknown, options: CallToolOptions = {}): Promise<ToolCallResult> {
    try {
      this.assertOpen();
      const route = this.scope(agentId).routes.find(toolName);
      return callRoutedTool(route, args, options, { agentId, events: this.options.events, validator: this.validator });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Probes every service of the scope now. */
  async check(agentId: string | undefined): Promise<CheckServicesResult> {
    this.assertOpen();
    const owners = [...this.existing(this.scopes.get(scopeKeyOf(agentId)))];
    const services = await Promise.all(
      owners.map(async (owner) => {
        const probe = owner.connection ? await owner.connection.probe() : { ok: false, error: `service is ${owner.state}` };
        return {
          name: owner.name,
          state: owner.state,
          healthy: probe.ok,
          ...(probe.latencyMs !== undefined ? { latencyMs: Math.round(probe.latencyMs * 1000) / 1000 } : {}),
          ...(probe.error !== undefined ? { error: probe.error } : {}),
        };
      }),
    );
    return { success: services.every((service) => service.healthy), services };
  }

  /** The connection of a service, once it is connected (within the request's limits). */
  private async connected(agentId: string | undefined, serviceName: string, signal: AbortSignal | undefined): Promise<ServiceConnection> {
    const owner = this.present(agentId, serviceName);
    const limits = callLimits(owner.config?.timeout, signal ? { signal } : {});
    const connection = await owner.callable(limits);
    await connection.ready(limits);
    return connection;
  }

  async readResource(agentId: string | undefined, uri: string, options: { service?: string; signal?: AbortSignal }): Promise<ReadResourceResult> {
    this.assertOpen();
    let serviceName = options.service;
    if (serviceName === undefined) {
      const owners = (await this.catalogue.listResources(scopeKeyOf(agentId))).filter((resource) => resource.uri === uri);
      const names = [...new Set(owners.map((owner) => owner.serviceName))];
      if (names.length !== 1) {
        throw new ValidationError({
          message: names.length
            ? `Resource ${uri} is offered by several services (${names.join(", ")}): pass { service }`
            : `No service lists resource ${uri}: pass { service } to read it from a template`,
          details: { issues: [{ path: "service", message: names.length ? "ambiguous" : "required" }] },
        });
      }
      serviceName = names[0]!;
    }
    return (await this.connected(agentId, serviceName, options.signal)).readResource(uri, options.signal);
  }

  async getPrompt(agentId: string | undefined, name: string, args: Record<string, string>, signal?: AbortSignal): Promise<GetPromptResult> {
    this.assertOpen();
    const prompts = await this.catalogue.listPrompts(scopeKeyOf(agentId));
    const matching = prompts.filter((candidate) => candidate.originalName === name);
    const prompt = prompts.find((candidate) => candidate.name === name) ?? (matching.length === 1 ? matching[0] : undefined);
    if (!prompt) throw new MCPStoreError("PROMPT_NOT_FOUND", { message: `No prompt "${name}" in ${where(agentId)}` });
    return (await this.connected(agentId, prompt.serviceName, signal)).getPrompt(prompt.originalName, args, signal);
  }

  // ---- housekeeping ------------------------------------------------------------------------------------------------

  /**
   * Prunes what the store keeps about removed services: agent scopes left without services, and cached records of
   * services it does not have that ended `disconnected` more than `cleanupHours` ago (left in a shared cache by stores
   * that closed). Runs every `cleanupHours`; resolves with the pruned services as `{scope}/{name}`.
   */
  async pruneRemoved(): Promise<string[]> {
    if (this.closed) return [];
    for (const [key, state] of this.scopes) if (state.agentId !== undefined && state.owners.size === 0) this.scopes.delete(key);
    const pruned = await pruneRemovedServices({
      catalogue: this.catalogue,
      isRegistered: (scope, serviceName) => this.scopes.get(scope)?.owners.get(serviceName)?.config !== undefined,
      olderThanMs: this.options.monitoring.cleanupHours * 3_600_000,
    });
    if (pruned.length > 0) this.options.logger.info({ services: pruned }, "pruned records of removed services");
    return pruned;
  }

  /** Stops every service (and process) now, then waits (bounded) for operations under way to finish. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.cleanupTimer);
    this.unsubscribeDesired();
    const owners = [...this.scopes.values()].flatMap((state) => [...state.owners.values()]);
    await Promise.all(owners.map((owner) => owner.shutdown()));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(owners.map((owner) => owner.queue.run(() => owner.shutdown()))),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, CLOSE_DRAIN_MS);
        timer.unref();
      }),
    ]);
    clearTimeout(timer);
  }
}

/** JSON with object keys sorted, to compare configs whatever their key order. */
function stableStringify(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) =>
    item && typeof item === "object" && !Array.isArray(item)
      ? Object.fromEntries(Object.entries(item as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)))
      : item,
  );
}
