import { randomUUID } from "node:crypto";
import { isAbsolute, resolve } from "node:path";
import type { GetPromptResult, Prompt, ReadResourceResult, Resource, Tool } from "@modelcontextprotocol/sdk/types.js";
import { ArgumentValidator, assertArgumentsObject, type ArgumentCheck } from "../tools/argument-validator.js";
import { Catalogue, scopeKeyOf, type ScopeKey } from "../catalogue/catalogue.js";
import {
  AbortedError,
  ConnectionError,
  MCPStoreError,
  ServiceExistsError,
  ServiceNotFoundError,
  StoreClosedError,
  TimeoutError,
  ToolExecutionError,
  ToolNotFoundError,
  ValidationError,
} from "../errors.js";
import type { RegistryChange, RegistryPersistence, RegistrySnapshot } from "../config/registry-change.js";
import { disambiguatedToolName, publicToolName } from "../identifiers.js";
import { expandPlaceholders } from "../config/placeholders.js";
import type { Logger } from "../logger.js";
import type { ResolvedMonitoring } from "../config/monitoring.js";
import { ServiceConnection, type FetchedCatalogue } from "../connection/service-connection.js";
import { ProbeLimiter } from "../connection/probe-limiter.js";
import { MAX_TIMER_DELAY_MS } from "../connection/backoff.js";
import { pruneRemovedServices } from "../catalogue/prune-removed-services.js";
import { redactServiceConfig, type ServiceConfig } from "../config/service-config.js";
import type { ServiceRef, StoreEventBus } from "../events/store-events.js";
import type {
  CallToolOptions,
  CheckServicesResult,
  PromptInfo,
  ResourceInfo,
  ServiceInfo,
  ServiceState,
  ToolCallResult,
  ToolInfo,
  ToolNameCollision,
  WaitServiceOptions,
} from "../types.js";

/** Options of the registry's changing methods. */
interface ChangeOptions {
  /** False when the change comes from the persistence layer itself (an edit of the file), so it is not written back. */
  persist?: boolean;
}

interface ServiceEntry {
  ref: ServiceRef;
  scope: ScopeKey;
  config: ServiceConfig;
  addedAt: string;
  stateChangedAt: string;
  connection: ServiceConnection;
  tools: ToolInfo[];
  collisions: ToolNameCollision[];
  /** Why the config cannot be used as it is (e.g. a missing variable); the service then never connects. */
  configError?: string;
}

interface ToolRoute {
  entry: ServiceEntry;
  tool: ToolInfo;
  check?: ArgumentCheck;
}

interface ScopeState {
  agentId: string | undefined;
  services: Map<string, ServiceEntry>;
  /** Tools by their public name, for calls. */
  routes: Map<string, ToolRoute>;
  /** Tools by their name on the server, for calls by bare name. */
  byOriginalName: Map<string, ToolRoute[]>;
}

/** What the registry needs from the store. */
export interface ServiceRegistryOptions {
  catalogue: Catalogue;
  events: StoreEventBus;
  logger: Logger;
  monitoring: ResolvedMonitoring;
  connectTimeoutMs: number;
  persistence?: RegistryPersistence;
  /** The directory relative `working_dir`s are resolved against (the config file's). Default: the process's. */
  baseDirectory?: string;
  /** Values for `${VAR}` placeholders, read each time a service starts. Default: `process.env`. */
  variables?: () => Record<string, string | undefined>;
}

const nowIso = () => new Date().toISOString();

/**
 * The heart of the store: every service of every scope with its connection, the call routes, and the writes to the
 * cached catalogue. Scopes ({@link ServiceContext}) call into it; nothing else holds service state.
 */
export class ServiceRegistry {
  private readonly scopes = new Map<ScopeKey, ScopeState>();
  private readonly validator: ArgumentValidator;
  /** Bounds the health probes of all services at once (`monitoring.maxConcurrentProbes`). */
  private readonly probeLimiter: ProbeLimiter;
  /** Runs {@link pruneRemoved} every `monitoring.cleanupHours`. */
  private readonly cleanupTimer: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly options: ServiceRegistryOptions) {
    this.probeLimiter = new ProbeLimiter(options.monitoring.maxConcurrentProbes);
    const cleanupMs = Math.min(options.monitoring.cleanupHours * 3_600_000, MAX_TIMER_DELAY_MS);
    this.cleanupTimer = setInterval(() => {
      this.pruneRemoved().catch((error: unknown) =>
        options.logger.warn({ error: error instanceof Error ? error.message : String(error) }, "cleanup of removed services failed"),
      );
    }, cleanupMs);
    this.cleanupTimer.unref();
    this.validator = new ArgumentValidator((toolName, message) =>
      options.logger.warn({ tool: toolName, error: message }, "tool input schema does not compile; only the object shape is checked"),
    );
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
    if (!state) {
      state = { agentId, services: new Map(), routes: new Map(), byOriginalName: new Map() };
      this.scopes.set(key, state);
    }
    return state;
  }

  /** The entry of a service, or a {@link ServiceNotFoundError}. */
  private entry(agentId: string | undefined, serviceName: string): ServiceEntry {
    const entry = this.scopes.get(scopeKeyOf(agentId))?.services.get(serviceName);
    if (!entry) {
      throw new ServiceNotFoundError({
        message: `No service "${serviceName}" in ${agentId === undefined ? "the store scope" : `agent "${agentId}"`}`,
        serviceName,
        ...(agentId !== undefined ? { agentId } : {}),
      });
    }
    return entry;
  }

  /** The registry's configs, for persistence. */
  snapshot(): RegistrySnapshot {
    const snapshot: RegistrySnapshot = { store: [], agents: {} };
    for (const state of this.scopes.values()) {
      const configs = [...state.services.values()].map((entry) => entry.config);
      if (state.agentId === undefined) snapshot.store = configs;
      else if (configs.length > 0) snapshot.agents[state.agentId] = configs;
    }
    return snapshot;
  }

  /** Services whose change is being persisted: an edit of the file read meanwhile must not undo it. */
  private readonly persisting = new Set<string>();

  private async persist(change: RegistryChange, options: ChangeOptions, rollback: () => void): Promise<void> {
    if (!this.options.persistence || options.persist === false) return;
    const keys = (change.kind === "add" ? change.configs.map((config) => config.name) : [change.kind === "remove" ? change.name : change.config.name]).map(
      (name) => `${scopeKeyOf(change.agentId)}/${name}`,
    );
    for (const key of keys) this.persisting.add(key);
    try {
      await this.options.persistence.apply(change);
    } catch (error) {
      rollback();
      throw error;
    } finally {
      for (const key of keys) this.persisting.delete(key);
    }
  }

  /** Agent ids that own at least one service. */
  agentIds(): string[] {
    return [...this.scopes.values()].filter((state) => state.agentId !== undefined && state.services.size > 0).map((state) => state.agentId!);
  }

  /** Throws a {@link ServiceExistsError} if a name is taken in the scope or repeated in `names`. */
  assertNamesFree(agentId: string | undefined, names: string[]): void {
    const services = this.scopes.get(scopeKeyOf(agentId))?.services;
    const seen = new Set<string>();
    for (const name of names) {
      if (services?.has(name) || seen.has(name)) {
        throw new ServiceExistsError({
          message: `A service named "${name}" already exists in ${agentId === undefined ? "the store scope" : `agent "${agentId}"`}`,
          serviceName: name,
          ...(agentId !== undefined ? { agentId } : {}),
        });
      }
      seen.add(name);
    }
  }

  /** Registers validated configs, persists them, and starts connecting in the background. */
  async add(agentId: string | undefined, configs: ServiceConfig[], options: ChangeOptions = {}): Promise<ServiceInfo[]> {
    this.assertOpen();
    this.assertNamesFree(
      agentId,
      configs.map((config) => config.name),
    );
    const state = this.scope(agentId);
    const entries = configs.map((config) => this.createEntry(state, config));
    for (const entry of entries) state.services.set(entry.config.name, entry);
    await this.persist({ kind: "add", agentId, configs }, options, () => {
      for (const entry of entries) state.services.delete(entry.config.name);
    });
    for (const entry of entries) {
      const info = this.toInfo(entry);
      void this.catalogue.writeService(entry.scope, info);
      // Empty lists now, so that the catalogue lists services' tools in the order the services were added.
      void this.catalogue.writeCatalogue(entry.scope, entry.config.name, { tools: [], resources: [], prompts: [] });
      this.options.events.emit("service:added", { ...entry.ref, service: info });
      this.start(entry);
    }
    return entries.map((entry) => this.toInfo(entry));
  }

  private createEntry(state: ScopeState, config: ServiceConfig): ServiceEntry {
    const ref: ServiceRef = state.agentId === undefined ? { serviceName: config.name } : { serviceName: config.name, agentId: state.agentId };
    const now = nowIso();
    const entry: ServiceEntry = {
      ref,
      scope: scopeKeyOf(state.agentId),
      config,
      addedAt: now,
      stateChangedAt: now,
      connection: undefined as unknown as ServiceConnection,
      tools: [],
      collisions: [],
    };
    entry.connection = this.createConnection(entry);
    return entry;
  }

  private start(entry: ServiceEntry): void {
    if (entry.configError !== undefined) entry.connection.failBeforeStart(entry.configError);
    else entry.connection.start();
  }

  /** A connection for the entry's config, with its `${VAR}` placeholders expanded (the entry keeps them). */
  private createConnection(entry: ServiceEntry): ServiceConnection {
    let config = entry.config;
    delete entry.configError;
    try {
      config = expandPlaceholders(entry.config, this.options.variables?.() ?? process.env, entry.ref.agentId);
      // A relative working_dir is relative to the config file, like the file's other paths, not to wherever we run.
      if (config.working_dir !== undefined && this.options.baseDirectory !== undefined && !isAbsolute(config.working_dir)) {
        config = { ...config, working_dir: resolve(this.options.baseDirectory, config.working_dir) };
      }
    } catch (error) {
      entry.configError = (error as Error).message;
    }
    const connection: ServiceConnection = new ServiceConnection({
      config,
      ref: entry.ref,
      monitoring: this.options.monitoring,
      logger: this.options.logger,
      connectTimeoutMs: this.options.connectTimeoutMs,
      probeLimiter: this.probeLimiter,
      onStateChange: (previous, state, reason) => {
        if (entry.connection !== connection) return;
        this.onStateChange(entry, previous, state, reason);
      },
      onCatalogue: async (fetched) => {
        if (entry.connection !== connection || !this.isCurrent(entry)) return;
        await this.storeCatalogue(entry, fetched);
      },
      onInfoChange: () => {
        if (entry.connection === connection && this.isCurrent(entry)) void this.catalogue.writeService(entry.scope, this.toInfo(entry));
      },
    });
    return connection;
  }

  private isCurrent(entry: ServiceEntry): boolean {
    return this.scopes.get(entry.scope)?.services.get(entry.config.name) === entry;
  }

  private onStateChange(entry: ServiceEntry, previous: ServiceState, state: ServiceState, reason: string | undefined): void {
    entry.stateChangedAt = nowIso();
    if (this.isCurrent(entry)) void this.catalogue.writeService(entry.scope, this.toInfo(entry));
    const level = state === "unreachable" || state === "reconnecting" || state === "degraded" ? "warn" : "info";
    this.options.logger[level](
      { service: entry.config.name, agentId: entry.ref.agentId, previous, state, ...(reason ? { reason } : {}) },
      `service ${entry.config.name} is ${state}`,
    );
    this.options.events.emit("service:state-changed", { ...entry.ref, previous, state, ...(reason !== undefined ? { reason } : {}) });
  }

  /** Names the fetched tools (collision-free in the scope), writes the catalogue, and rebuilds the call routes. */
  private async storeCatalogue(entry: ServiceEntry, fetched: FetchedCatalogue): Promise<void> {
    const state = this.scope(entry.ref.agentId);
    const taken = new Set<string>();
    for (const other of state.services.values()) if (other !== entry) for (const tool of other.tools) taken.add(tool.name);
    const collisions: ToolNameCollision[] = [];
    const tools = fetched.tools.map((tool) => {
      const wanted = publicToolName(entry.config.name, tool.name);
      let name = wanted;
      if (taken.has(name)) {
        name = disambiguatedToolName(entry.config.name, tool.name);
        collisions.push({ tool: tool.name, wanted, name });
        this.options.logger.warn(
          { service: entry.config.name, agentId: entry.ref.agentId, tool: tool.name, wanted, name },
          `tool name ${wanted} is taken in this scope; ${tool.name} is available as ${name}`,
        );
      }
      taken.add(name);
      return toToolInfo(entry.config.name, name, tool);
    });
    const previousNames = new Set(entry.tools.map((tool) => tool.name));
    const names = new Set(tools.map((tool) => tool.name));
    entry.tools = tools;
    entry.collisions = collisions;
    const resources = fetched.resources.map((resource) => toResourceInfo(entry.config.name, resource));
    const prompts = fetched.prompts.map((prompt) => toPromptInfo(entry.config.name, prompt));
    this.rebuildRoutes(state);
    await Promise.all([
      this.catalogue.writeCatalogue(entry.scope, entry.config.name, { tools, resources, prompts }),
      this.catalogue.writeService(entry.scope, this.toInfo(entry)),
    ]);
    this.options.events.emit("tools:refreshed", {
      ...entry.ref,
      toolCount: tools.length,
      added: [...names].filter((name) => !previousNames.has(name)),
      removed: [...previousNames].filter((name) => !names.has(name)),
    });
  }

  private rebuildRoutes(state: ScopeState): void {
    const previous = state.routes;
    state.routes = new Map();
    state.byOriginalName = new Map();
    for (const entry of state.services.values()) {
      for (const tool of entry.tools) {
        const old = previous.get(tool.name);
        // Keep a compiled argument check while the tool's schema is the same object.
        const route: ToolRoute = old && old.entry === entry && old.tool.inputSchema === tool.inputSchema ? old : { entry, tool };
        route.tool = tool;
        state.routes.set(tool.name, route);
        const sameName = state.byOriginalName.get(tool.originalName);
        if (sameName) sameName.push(route);
        else state.byOriginalName.set(tool.originalName, [route]);
      }
    }
  }

  /** Removes a service: stops it, forgets it, persists, and clears its catalogue. */
  async remove(agentId: string | undefined, serviceName: string, options: ChangeOptions = {}): Promise<void> {
    this.assertOpen();
    const entry = this.entry(agentId, serviceName);
    const state = this.scope(agentId);
    state.services.delete(serviceName);
    await this.persist({ kind: "remove", agentId, name: serviceName }, options, () => state.services.set(serviceName, entry));
    this.rebuildRoutes(state);
    await entry.connection.close();
    await this.catalogue.removeService(entry.scope, serviceName);
    this.options.events.emit("service:removed", entry.ref);
  }

  /** Replaces a service's config (validated by the caller), persists it, and restarts the service with it. */
  async replace(agentId: string | undefined, serviceName: string, config: ServiceConfig, options: ChangeOptions = {}): Promise<ServiceInfo> {
    this.assertOpen();
    const entry = this.entry(agentId, serviceName);
    if (config.name !== serviceName) {
      throw new ValidationError({
        message: `A service cannot be renamed by an update ("${serviceName}" → "${config.name}"); remove it and add it again`,
        serviceName,
        details: { issues: [{ path: `services.${serviceName}.name`, message: "must stay the same" }] },
      });
    }
    const previousConfig = entry.config;
    entry.config = config;
    await this.persist({ kind: "replace", agentId, config }, options, () => {
      entry.config = previousConfig;
    });
    return this.restartEntry(entry, "config updated");
  }

  /**
   * Brings the registry in line with configs read from the persistence layer (an edit of the file): services that
   * appeared are added, those that disappeared are removed, and only those whose config changed restart. Services
   * whose own change is being persisted, and names in `keep` (entries the file now has in a broken form), are left
   * alone. Nothing is written back.
   */
  async sync(wanted: Array<{ agentId: string | undefined; config: ServiceConfig }>, keep: Array<{ agentId: string | undefined; name: string }>): Promise<void> {
    if (this.closed) return;
    const key = (agentId: string | undefined, name: string) => `${scopeKeyOf(agentId)}/${name}`;
    const wantedByKey = new Map(wanted.map((item) => [key(item.agentId, item.config.name), item]));
    const untouchable = new Set([...this.persisting, ...keep.map((item) => key(item.agentId, item.name))]);
    const work: Array<Promise<unknown>> = [];
    for (const state of this.scopes.values()) {
      for (const [name, entry] of state.services) {
        const id = key(state.agentId, name);
        if (untouchable.has(id)) continue;
        const next = wantedByKey.get(id);
        if (!next) work.push(this.remove(state.agentId, name, { persist: false }));
        else if (stableStringify(next.config) !== stableStringify(entry.config)) work.push(this.replace(state.agentId, name, next.config, { persist: false }));
      }
    }
    for (const [id, item] of wantedByKey) {
      if (untouchable.has(id) || this.scopes.get(scopeKeyOf(item.agentId))?.services.has(item.config.name)) continue;
      work.push(this.add(item.agentId, [item.config], { persist: false }));
    }
    const results = await Promise.allSettled(work);
    for (const result of results) {
      if (result.status === "rejected") this.options.logger.error({ error: (result.reason as Error).message }, "applying an edit of the config file failed");
    }
  }

  /** Stops a service and connects it again with the same config. */
  async restart(agentId: string | undefined, serviceName: string): Promise<ServiceInfo> {
    this.assertOpen();
    return this.restartEntry(this.entry(agentId, serviceName), "restarted");
  }

  private async restartEntry(entry: ServiceEntry, reason: string): Promise<ServiceInfo> {
    const old = entry.connection;
    const previous = old.state;
    entry.connection = this.createConnection(entry);
    await old.close();
    this.onStateChange(entry, previous, "initializing", reason);
    this.start(entry);
    return this.toInfo(entry);
  }

  /** The service's config as stored (with secrets), for update and patch. */
  config(agentId: string | undefined, serviceName: string): ServiceConfig {
    return this.entry(agentId, serviceName).config;
  }

  /** Waits until the service reaches one of the wanted states. */
  async wait(agentId: string | undefined, serviceName: string, options: WaitServiceOptions = {}): Promise<ServiceInfo> {
    this.assertOpen();
    const entry = this.entry(agentId, serviceName);
    const wanted = Array.isArray(options.state) ? options.state : [options.state ?? "healthy"];
    const timeoutMs = options.timeoutMs ?? 10_000;
    const reached = async () => {
      await this.catalogue.flush(entry.scope, serviceName);
      return this.toInfo(entry);
    };
    if (wanted.includes(entry.connection.state)) return reached();
    if (entry.connection.state === "unreachable") {
      throw new ConnectionError({
        serviceName,
        ...(agentId !== undefined ? { agentId } : {}),
        message: `Service "${serviceName}" is unreachable: ${entry.connection.lastError ?? "unknown error"}`,
        details: { state: "unreachable" },
      });
    }
    return new Promise<ServiceInfo>((resolve, reject) => {
      const context = { serviceName, ...(agentId !== undefined ? { agentId } : {}) };
      const finish = (outcome: () => void) => {
        off();
        offRemoved();
        clearTimeout(timer);
        options.signal?.removeEventListener("abort", onAbort);
        outcome();
      };
      const off = this.options.events.on("service:state-changed", (event) => {
        if (event.serviceName !== serviceName || event.agentId !== agentId) return;
        if (wanted.includes(event.state)) finish(() => resolve(reached()));
        else if (event.state === "unreachable") {
          const why = entry.connection.lastError ?? "unknown error";
          finish(() => reject(new ConnectionError({ ...context, message: `Service "${serviceName}" is unreachable: ${why}`, details: { state: event.state } })));
        }
      });
      const offRemoved = this.options.events.on("service:removed", (event) => {
        if (event.serviceName === serviceName && event.agentId === agentId)
          finish(() => reject(new ServiceNotFoundError({ ...context, message: `Service "${serviceName}" was removed while waiting for it` })));
      });
      const timer = setTimeout(() => {
        const { state, lastError } = entry.connection;
        finish(() =>
          reject(
            new TimeoutError({
              ...context,
              message: `Service "${serviceName}" is still ${state} after ${timeoutMs} ms (waiting for ${wanted.join(" or ")})${lastError ? `: ${lastError}` : ""}`,
              details: { state, timeoutMs },
            }),
          ),
        );
      }, timeoutMs);
      const onAbort = () => finish(() => reject(new AbortedError({ ...context, message: `Waiting for "${serviceName}" was aborted` })));
      if (options.signal?.aborted) onAbort();
      options.signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Finds the route of a tool by its public name, or by its bare name when that is unique in the scope. */
  private route(agentId: string | undefined, toolName: string): ToolRoute {
    const state = this.scopes.get(scopeKeyOf(agentId));
    const route = state?.routes.get(toolName);
    if (route) return route;
    const candidates = state?.byOriginalName.get(toolName);
    if (candidates?.length === 1) return candidates[0]!;
    const where = agentId === undefined ? "the store scope" : `agent "${agentId}"`;
    throw new ToolNotFoundError({
      message: candidates?.length
        ? `Tool name "${toolName}" is ambiguous in ${where}: use one of ${candidates.map((candidate) => candidate.tool.name).join(", ")}`
        : `No tool "${toolName}" in ${where}`,
      toolName,
      ...(agentId !== undefined ? { agentId } : {}),
      ...(candidates?.length ? { details: { candidates: candidates.map((candidate) => candidate.tool.name) } } : {}),
    });
  }

  /** The cached description of one tool. */
  tool(agentId: string | undefined, toolName: string): ToolInfo {
    return this.route(agentId, toolName).tool;
  }

  /** Validates the arguments and calls the tool on its service. */
  async callTool(agentId: string | undefined, toolName: string, args: unknown, options: CallToolOptions = {}): Promise<ToolCallResult> {
    this.assertOpen();
    const route = this.route(agentId, toolName);
    let input = assertArgumentsObject(route.tool.name, args);
    const check = (route.check ??= this.validator.compile(route.tool.name, route.tool.inputSchema as Record<string, unknown>));
    check(input);
    const { entry, tool } = route;
    const events = this.options.events;
    const intercept = events.interceptCallStart;
    const observed = intercept !== undefined || events.has("tool:call-start") || events.has("tool:call-end") || events.has("tool:call-error");
    if (!observed) {
      await entry.connection.ready(readyLimits(entry, options));
      return this.checkResult(agentId, route, await entry.connection.callTool(tool.originalName, input, options), options);
    }
    // Payloads are built as literals: on Node 20 a spread followed by more keys costs microseconds per call.
    const callId = randomUUID();
    const started = performance.now();
    const ref = entry.ref;
    try {
      // Plugins' tool:call-start hooks may rewrite (re-validated) or veto; observers then see what is sent.
      if (intercept) {
        input = await intercept({ serviceName: ref.serviceName, agentId: ref.agentId, callId, toolName: tool.name, originalName: tool.originalName, arguments: input }, check);
      }
      events.emit("tool:call-start", { serviceName: ref.serviceName, agentId: ref.agentId, callId, toolName: tool.name, originalName: tool.originalName, arguments: input });
      await entry.connection.ready(readyLimits(entry, options));
      const result = await entry.connection.callTool(tool.originalName, input, options);
      events.emit("tool:call-end", {
        serviceName: ref.serviceName,
        agentId: ref.agentId,
        callId,
        toolName: tool.name,
        originalName: tool.originalName,
        arguments: input,
        durationMs: performance.now() - started,
        isError: result.isError === true,
      });
      return this.checkResult(agentId, route, result, options);
    } catch (error) {
      if (!(ToolExecutionError.isInstance(error) && error.details?.result)) {
        events.emit("tool:call-error", {
          serviceName: ref.serviceName,
          agentId: ref.agentId,
          callId,
          toolName: tool.name,
          originalName: tool.originalName,
          arguments: input,
          durationMs: performance.now() - started,
          error: error as Error,
        });
      }
      throw error;
    }
  }

  /** The result as is, or a {@link ToolExecutionError} for an error result when the caller asked to throw. */
  private checkResult(agentId: string | undefined, route: ToolRoute, result: ToolCallResult, options: CallToolOptions): ToolCallResult {
    if (!result.isError || !options.throwOnError) return result;
    const text = result.content
      .filter((part) => part.type === "text")
      .map((part) => part.text)
      .join("\n");
    throw new ToolExecutionError({
      message: `Tool ${route.tool.name} returned an error: ${route.entry.connection.scrub(text || "no message")}`,
      serviceName: route.entry.config.name,
      toolName: route.tool.name,
      ...(agentId !== undefined ? { agentId } : {}),
      details: { result },
    });
  }

  /** Probes every service of the scope now. */
  async check(agentId: string | undefined): Promise<CheckServicesResult> {
    this.assertOpen();
    const entries = [...(this.scopes.get(scopeKeyOf(agentId))?.services.values() ?? [])];
    const services = await Promise.all(
      entries.map(async (entry) => {
        const probe = await entry.connection.probe();
        return {
          name: entry.config.name,
          state: entry.connection.state,
          healthy: probe.ok,
          ...(probe.latencyMs !== undefined ? { latencyMs: Math.round(probe.latencyMs * 1000) / 1000 } : {}),
          ...(probe.error !== undefined ? { error: probe.error } : {}),
        };
      }),
    );
    return { success: services.every((service) => service.healthy), services };
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
    const entry = this.entry(agentId, serviceName);
    await entry.connection.ready();
    return entry.connection.readResource(uri, options.signal);
  }

  async getPrompt(agentId: string | undefined, name: string, args: Record<string, string>, signal?: AbortSignal): Promise<GetPromptResult> {
    this.assertOpen();
    const prompts = await this.catalogue.listPrompts(scopeKeyOf(agentId));
    const prompt = prompts.find((candidate) => candidate.name === name) ?? singleOrUndefined(prompts.filter((candidate) => candidate.originalName === name));
    if (!prompt) {
      throw new MCPStoreError("PROMPT_NOT_FOUND", { message: `No prompt "${name}" in ${agentId === undefined ? "the store scope" : `agent "${agentId}"`}` });
    }
    const entry = this.entry(agentId, prompt.serviceName);
    await entry.connection.ready();
    return entry.connection.getPrompt(prompt.originalName, args, signal);
  }

  /** The public, secret-free description of a service. */
  private toInfo(entry: ServiceEntry): ServiceInfo {
    const connection = entry.connection;
    const info: ServiceInfo = {
      name: entry.config.name,
      state: connection.state,
      transport: connection.transportKind,
      config: redactServiceConfig(entry.config),
      toolCount: entry.tools.length,
      attempts: connection.attempts,
      stateChangedAt: entry.stateChangedAt,
      addedAt: entry.addedAt,
      toolNameCollisions: entry.collisions,
    };
    if (entry.ref.agentId !== undefined) info.agentId = entry.ref.agentId;
    Object.assign(info, connection.lifecycleInfo());
    return info;
  }

  /** Closes every connection (and stdio process). */
  /**
   * Prunes what the store keeps about removed services: agent scopes left without services, and cached records of
   * services it does not have that ended `disconnected` more than `cleanupHours` ago (left in a shared cache by stores
   * that closed). Runs every `cleanupHours`; resolves with the pruned services as `{scope}/{name}`.
   */
  async pruneRemoved(): Promise<string[]> {
    if (this.closed) return [];
    for (const [key, state] of this.scopes) if (state.agentId !== undefined && state.services.size === 0) this.scopes.delete(key);
    const pruned = await pruneRemovedServices({
      catalogue: this.catalogue,
      isRegistered: (scope, serviceName) => this.scopes.get(scope)?.services.has(serviceName) === true,
      olderThanMs: this.options.monitoring.cleanupHours * 3_600_000,
    });
    if (pruned.length > 0) this.options.logger.info({ services: pruned }, "pruned records of removed services");
    return pruned;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.cleanupTimer);
    const entries = [...this.scopes.values()].flatMap((state) => [...state.services.values()]);
    await Promise.all(entries.map((entry) => entry.connection.close()));
  }
}

/** How long a call waits for its service's connection: the call's own limits, not the connect timeout. */
function readyLimits(entry: ServiceEntry, options: CallToolOptions): { timeoutMs?: number; signal?: AbortSignal } {
  const timeoutMs = options.timeoutMs ?? (entry.config.timeout !== undefined ? entry.config.timeout * 1000 : undefined);
  return { ...(timeoutMs !== undefined ? { timeoutMs } : {}), ...(options.signal ? { signal: options.signal } : {}) };
}

/** JSON with object keys sorted, to compare configs whatever their key order. */
function stableStringify(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) =>
    item && typeof item === "object" && !Array.isArray(item)
      ? Object.fromEntries(Object.entries(item as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)))
      : item,
  );
}

function singleOrUndefined<T>(items: T[]): T | undefined {
  return items.length === 1 ? items[0] : undefined;
}

function toToolInfo(serviceName: string, name: string, tool: Tool): ToolInfo {
  const info: ToolInfo = { name, originalName: tool.name, serviceName, inputSchema: tool.inputSchema };
  if (tool.title !== undefined) info.title = tool.title;
  if (tool.description !== undefined) info.description = tool.description;
  if (tool.outputSchema !== undefined) info.outputSchema = tool.outputSchema;
  if (tool.annotations !== undefined) info.annotations = tool.annotations;
  return info;
}

function toResourceInfo(serviceName: string, resource: Resource): ResourceInfo {
  const info: ResourceInfo = { uri: resource.uri, name: resource.name, serviceName };
  if (resource.title !== undefined) info.title = resource.title;
  if (resource.description !== undefined) info.description = resource.description;
  if (resource.mimeType !== undefined) info.mimeType = resource.mimeType;
  return info;
}

function toPromptInfo(serviceName: string, prompt: Prompt): PromptInfo {
  const info: PromptInfo = { name: publicToolName(serviceName, prompt.name), originalName: prompt.name, serviceName };
  if (prompt.description !== undefined) info.description = prompt.description;
  if (prompt.arguments !== undefined) info.arguments = prompt.arguments.map((argument) => ({ ...argument }));
  return info;
}
