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
import type { GetPromptResult, ReadResourceResult } from "@modelcontextprotocol/sdk/types.js";
import { Catalogue, scopeKeyOf } from "../catalogue/catalogue.js";
import { pruneRemovedServices } from "../catalogue/prune-removed-services.js";
import type { ResolvedMonitoring } from "../config/monitoring.js";
import type { RegistryPersistence, RegistrySnapshot } from "../config/registry-change.js";
import { sameServiceConfig, type ServiceConfig } from "../config/service-config.js";
import { MAX_TIMER_DELAY_MS } from "../connection/backoff.js";
import { ProbeLimiter } from "../connection/probe-limiter.js";
import type { ServicePlacement } from "../shared-state.js";
import { StoreClosedError } from "../errors.js";
import type { StoreEventBus } from "../events/store-events.js";
import type { Logger } from "../logger.js";
import { ArgumentValidator } from "../tools/argument-validator.js";
import type { CallToolOptions, CheckServicesResult, ServiceInfo, ToolCallResult, ToolInfo, WaitServiceOptions } from "../types.js";
import { callDeadline, callRoutedTool } from "./call-tool.js";
import { checkServices, getPrompt, readResource, type RequestTarget } from "./service-requests.js";
import type { DesiredChange, DesiredStateDriver, DesiredStateEvent } from "./desired-state.js";
import { AgentPolicy } from "./agent-policy.js";
import { assertAgentMayWrite, recordChange, assertCredentialsStay, markSetByAgent, sameDestination, suppliedBy } from "./credential-binding.js";
import { commitChange, planAdd, type AddOutcome, type ChangeOptions, type FileStep } from "./commit-change.js";
import { lockAll } from "./serial-queue.js";
import { assertNoRename, exists, notFound, OwnerDirectory, type ScopeState } from "./owner-directory.js";
import { ownerFactory } from "./owner-factory.js";
import type { ServiceOwner } from "./service-owner.js";
import { waitForState } from "./wait-for-state.js";

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
  /** Whether changes made by other instances (the shared desired state's feed) are written to the file too. */
  persistFollowed?: () => boolean;
  /** What agents may do: egress, services and calls in flight. Default: the defaults of {@link AgentPolicy}. */
  agentPolicy?: AgentPolicy;
  /** Several instances: where stdio services run (see `SharedState.placement`). */
  placement?: ServicePlacement;
}

/** How long {@link ServiceRegistry.close} waits for operations under way before it returns anyway. */
const CLOSE_DRAIN_MS = 5_000;

export class ServiceRegistry {
  private readonly directory: OwnerDirectory;
  private readonly validator: ArgumentValidator;
  /** Bounds the health probes of all services at once (`monitoring.maxConcurrentProbes`). */
  private readonly probeLimiter: ProbeLimiter;
  private readonly cleanupTimer: NodeJS.Timeout;
  /** Marks this store's own changes in the desired state's change feed. */
  private readonly origin = randomUUID();
  private readonly unsubscribeDesired: () => void;
  private closed = false;
  /** Time limit of connecting to a service and loading its catalogue, in milliseconds. */
  readonly connectTimeoutMs: number;
  private readonly agentPolicy: AgentPolicy;

  constructor(private readonly options: ServiceRegistryOptions) {
    this.connectTimeoutMs = options.connectTimeoutMs;
    this.agentPolicy = options.agentPolicy ?? new AgentPolicy();
    this.probeLimiter = new ProbeLimiter(options.monitoring.maxConcurrentProbes);
    this.cleanupTimer = setInterval(() => {
      this.pruneRemoved().catch((error: unknown) => options.logger.warn({ error: (error as Error).message }, "cleanup of removed services failed"));
    }, Math.min(options.monitoring.cleanupHours * 3_600_000, MAX_TIMER_DELAY_MS));
    this.cleanupTimer.unref();
    this.validator = new ArgumentValidator((toolName, message) =>
      options.logger.warn({ tool: toolName, error: message }, "tool input schema does not compile; only the object shape is checked"),
    );
    const { monitoring, logger, connectTimeoutMs, baseDirectory, variables } = options;
    const connection = { monitoring, logger, connectTimeoutMs, probeLimiter: this.probeLimiter, agentPolicy: this.agentPolicy, ...(baseDirectory !== undefined ? { baseDirectory } : {}), ...(variables ? { variables } : {}) };
    this.directory = new OwnerDirectory(
      ownerFactory({ catalogue: options.catalogue, events: options.events, logger, connection, ...(options.placement ? { placement: options.placement } : {}), scope: (agentId) => this.scope(agentId), existing: (state) => this.existing(state) }),
    );
    const { unreachableRetrySeconds } = options.monitoring;
    if (unreachableRetrySeconds !== undefined) options.logger.warn({ unreachableRetrySeconds }, "monitoring.unreachableRetrySeconds is deprecated: unreachable services are retried every reconnectionSeconds");
    this.unsubscribeDesired = options.desiredState.subscribe((event) => this.onDesiredChange(event));
  }

  private get catalogue(): Catalogue {
    return this.options.catalogue;
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreClosedError({ message: "The store is closed" });
  }

  private scope(agentId: string | undefined): ScopeState {
    return this.directory.scope(agentId);
  }

  private existing(state: ScopeState | undefined): Iterable<ServiceOwner> {
    return this.directory.existing(state);
  }

  private present(agentId: string | undefined, serviceName: string): ServiceOwner {
    const owner = this.directory.find(agentId, serviceName);
    if (owner?.config === undefined) throw notFound(agentId, serviceName);
    return owner;
  }

  /** Runs `work` with the owner's queue held (the store still open); the owner is retired afterwards if it is gone. */
  private withOwner<T>(agentId: string | undefined, name: string, work: (owner: ServiceOwner) => Promise<T>): Promise<T> {
    return this.directory.withOwner(agentId, name, (owner) => {
      this.assertOpen();
      return work(owner);
    });
  }

  // ---- changes -----------------------------------------------------------------------------------------------------

  private commit(owners: ServiceOwner[], file: FileStep[], desired: DesiredChange[], options: ChangeOptions): Promise<void> {
    return commitChange(owners, { file, desired }, options, {
      desiredState: this.options.desiredState,
      origin: this.origin,
      logger: this.options.logger,
      ...(this.options.persistence ? { persistence: this.options.persistence } : {}),
    });
  }

  /**
   * Adds services under one lock of them all, with one write of the config file, connecting them at once, in parallel.
   * Taken names are `SERVICE_EXISTS` or replace a service that never connected (see {@link planAdd}); a refused write
   * fails them all. `allOrNone` (addService): the first refusal is the only outcome, and nothing is added.
   */
  async addEach(agentId: string | undefined, given: ServiceConfig[], options: ChangeOptions & { allOrNone?: boolean } = {}): Promise<AddOutcome[]> {
    this.assertOpen();
    const principal = options.principal ?? "admin";
    let configs = given;
    // An agent's destinations are checked before anything is locked or stored (nothing is sent anywhere).
    if (principal === "agent") {
      for (const config of configs) assertAgentMayWrite(undefined, config, agentId);
      await this.agentPolicy.checkDestinations(configs);
      configs = configs.map((config) => markSetByAgent(config, ["destination", "credentials"]));
    }
    const owners = configs.map((config) => this.directory.ownerFor(agentId, config.name));
    const release = await lockAll(owners.map((owner) => ({ key: owner.name, queue: owner.queue })));
    let releaseQuota: (() => void) | undefined;
    try {
      this.assertOpen();
      const { refused, accepted, file, desired } = planAdd(agentId, owners, configs);
      const taken = (index: number): AddOutcome => ({ error: exists(agentId, configs[index]!.name) });
      if (options.allOrNone && refused.includes(true)) return [taken(refused.indexOf(true))];
      if (principal === "agent" && agentId !== undefined) {
        const adding = accepted.filter(({ owner }) => owner.config === undefined).length;
        releaseQuota = this.agentPolicy.reserveServices(agentId, [...this.existing(this.directory.peek(agentId))].length, adding);
      }
      let added: AddOutcome[];
      try {
        if (accepted.length > 0) await this.commit(accepted.map((entry) => entry.owner), file, desired, options);
        const services = await Promise.all(accepted.map(({ owner, config }) => owner.installOrReplace(config)));
        added = services.map((service) => ({ service }));
      } catch (error) {
        added = accepted.map(() => ({ error }));
      }
      return refused.map((isRefused, index) => (isRefused ? taken(index) : added.shift()!));
    } finally {
      releaseQuota?.();
      release();
      for (const owner of owners) this.directory.retire(owner);
    }
  }

  /**
   * Replaces a service's config with what `compute` makes of the current one (run in the service's turn, so two
   * patches never lose each other's fields), persists it, and restarts the service with it.
   */
  update(agentId: string | undefined, serviceName: string, compute: (current: ServiceConfig) => ServiceConfig, options: ChangeOptions = {}): Promise<ServiceInfo> {
    this.assertOpen();
    return this.withOwner(agentId, serviceName, async (owner) => {
      if (owner.config === undefined) throw notFound(agentId, serviceName);
      const previous = owner.config;
      const computed = compute(previous);
      assertNoRename(serviceName, computed.name);
      const principal = options.principal ?? "admin";
      if (principal === "agent") assertAgentMayWrite(previous, computed, agentId);
      assertCredentialsStay({ current: previous, next: computed, agentId }, principal, suppliedBy(previous, "credentials"));
      if (principal === "agent" && !sameDestination(previous, computed)) await this.agentPolicy.checkDestinations([computed]);
      // Who set the destination and the credentials is recorded in the config itself (see SET_BY_AGENT_KEY).
      const config = recordChange(previous, computed, principal);
      await this.commit(
        [owner],
        [{ change: { kind: "replace", agentId, config }, undo: [{ kind: "replace", agentId, config: previous }] }],
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
      if (owner.config === undefined) throw notFound(agentId, serviceName);
      await this.removeOwned(owner, options);
    });
  }

  private async removeOwned(owner: ServiceOwner, options: ChangeOptions): Promise<void> {
    const agentId = owner.ref.agentId;
    await this.commit(
      [owner],
      [{ change: { kind: "remove", agentId, name: owner.name }, undo: [{ kind: "add", agentId, configs: [owner.config!] }] }],
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
      if (owner.config === undefined) throw notFound(agentId, serviceName);
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
    for (const state of this.directory.scopeStates()) {
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
      await this.commit([owner], [{ change: { kind: "add", agentId, configs: [config] }, undo: [{ kind: "remove", agentId, name: config.name }] }], [{ op: "put", ...scoped, config }], options);
      owner.install(config);
    } else if (!sameServiceConfig(config, owner.config)) {
      await this.commit([owner], [{ change: { kind: "replace", agentId, config }, undo: [{ kind: "replace", agentId, config: owner.config }] }], [{ op: "put", ...scoped, config }], options);
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
      this.withOwner(change.agentId, name, (owner) => this.reconcile(owner, config, { persist: this.options.persistFollowed?.() ?? false, publish: false })).catch((error: unknown) =>
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
      if (!sameServiceConfig(owner.config, config)) {
        this.options.logger.info({ service: config.name, agentId }, "the shared desired state has another config for this service; it wins over the file");
      }
    });
  }

  // ---- reads and calls ---------------------------------------------------------------------------------------------

  /** The registry's configs, for persistence and export, in the order the services were added. */
  snapshot(): RegistrySnapshot {
    const snapshot: RegistrySnapshot = { store: [], agents: {} };
    for (const state of this.directory.scopeStates()) {
      const configs = [...this.existing(state)].sort((a, b) => a.addedAt.localeCompare(b.addedAt)).map((owner) => owner.config!);
      if (state.agentId === undefined) snapshot.store = configs;
      else if (configs.length > 0) snapshot.agents[state.agentId] = configs;
    }
    return snapshot;
  }

  /** Agent ids that own at least one service. */
  agentIds(): string[] {
    return [...this.directory.scopeStates()].filter((state) => state.agentId !== undefined && [...this.existing(state)].length > 0).map((state) => state.agentId!);
  }

  /** Waits until the service reaches one of the wanted states (after the operations issued on it before). */
  async wait(agentId: string | undefined, serviceName: string, options: WaitServiceOptions = {}): Promise<ServiceInfo> {
    this.assertOpen();
    const owner = this.directory.find(agentId, serviceName);
    if (!owner) throw notFound(agentId, serviceName);
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
      const context = { agentId, events: this.options.events, validator: this.validator };
      if (options.principal === "agent" && agentId !== undefined) {
        return this.agentPolicy.withCallSlot(agentId, callDeadline(route.owner.config?.timeout, options).timeoutMs, options, (within) => callRoutedTool(route, args, within, context));
      }
      return callRoutedTool(route, args, options, context);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Probes every service of the scope now. */
  check(agentId: string | undefined): Promise<CheckServicesResult> {
    this.assertOpen();
    return checkServices([...this.existing(this.directory.peek(agentId))]);
  }

  readResource(agentId: string | undefined, uri: string, options: { service?: string; signal?: AbortSignal; timeoutMs?: number }): Promise<ReadResourceResult> {
    this.assertOpen();
    return readResource(this.requestTarget(agentId), uri, options);
  }

  getPrompt(agentId: string | undefined, name: string, args: Record<string, string>, options: { signal?: AbortSignal; timeoutMs?: number }): Promise<GetPromptResult> {
    this.assertOpen();
    return getPrompt(this.requestTarget(agentId), name, args, options);
  }

  private requestTarget(agentId: string | undefined): RequestTarget {
    return { agentId, catalogue: this.catalogue, owner: (serviceName) => this.present(agentId, serviceName) };
  }

  // ---- housekeeping ------------------------------------------------------------------------------------------------

  /**
   * Prunes what the store keeps about removed services: agent scopes left without services, and cached records of
   * services it does not have that ended `disconnected` more than `cleanupHours` ago (left in a shared cache by stores
   * that closed). Runs every `cleanupHours`; resolves with the pruned services as `{scope}/{name}`.
   */
  async pruneRemoved(): Promise<string[]> {
    if (this.closed) return [];
    this.directory.pruneEmptyScopes();
    const pruned = await pruneRemovedServices({
      catalogue: this.catalogue,
      isRegistered: (scope, serviceName) => [...this.directory.scopeStates()].some((state) => scopeKeyOf(state.agentId) === scope && state.owners.get(serviceName)?.config !== undefined),
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
    const owners = this.directory.all();
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
