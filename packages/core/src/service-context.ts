import type { GetPromptResult, ReadResourceResult } from "@modelcontextprotocol/sdk/types.js";
import { scopeKeyOf, type Catalogue, type ScopeKey } from "./catalogue/catalogue.js";
import { ConnectionError, MCPStoreError, ServiceNotFoundError, TimeoutError, ValidationError } from "./errors.js";
import { checkStoreServiceName } from "./config/config-format.js";
import { parseServiceConfig, splitServiceInput, type ServiceConfig, type ServiceInput } from "./config/service-config.js";
import type { ChangePrincipal } from "./registry/credential-binding.js";
import type { ServiceRegistry } from "./registry/service-registry.js";
import type {
  AddServiceOptions,
  BatchAddResult,
  CallToolOptions,
  CheckServicesResult,
  PromptInfo,
  ResourceInfo,
  ServiceInfo,
  ToolCallResult,
  ToolInfo,
  WaitServiceOptions,
} from "./types.js";

/** An agent that owns services, as listed by `listAgents()`. */
export interface AgentSummary {
  agentId: string;
  serviceCount: number;
  toolCount: number;
}

/** Options of `updateService` and `patchService`. */
export interface ChangeServiceOptions {
  /**
   * Decides whether the change may apply: called in the service's turn with its config as stored (placeholders, not
   * their values) and the config it would get; throwing refuses the change (the error reaches the caller, nothing
   * changes). The REST server checks its tokens' rights here, so the check and the change see the same config.
   */
  check?(change: { current: ServiceConfig; next: ServiceConfig }): void;
  /**
   * Who asks (default `admin`). An `agent` may not move a service to another destination (`url`, transport, `command`,
   * `args`, `working_dir`) while header or env values it did not supply would go along: a `ForbiddenError` (403),
   * unless the same request replaces or drops every one. The REST server passes its token's role.
   */
  principal?: ChangePrincipal;
}

const principalOption = (options: { principal?: ChangePrincipal }) => (options.principal !== undefined ? { principal: options.principal } : {});

/** Options of `listTools`, `listResources` and `listPrompts`. */
export interface ListOptions {
  /** Only this service's entries. */
  service?: string;
}

/**
 * One scope of the store: the store scope (`store.forStore()`) or an agent's (`store.forAgent(id)`). Both have the same
 * methods; an agent scope sees only its own services, under their local names. Reads come from the cached catalogue.
 */
export class ServiceContext {
  private readonly scopeKey: ScopeKey;

  /** @internal Contexts come from `store.forStore()` and `store.forAgent(id)`. */
  constructor(
    private readonly registry: ServiceRegistry,
    private readonly catalogue: Catalogue,
    /** The agent this scope belongs to; `undefined` for the store scope. */
    readonly agentId: string | undefined,
  ) {
    this.scopeKey = scopeKeyOf(agentId);
  }

  /**
   * Adds one service, a list, or `{ mcpServers: { name: config } }`. Everything is validated first: if any config is
   * invalid or any name is taken, nothing is added. Persists at once and connects in the background. Resolves with
   * the new services (state `initializing`), or, with `{ wait: true }` (or `{ wait: { state, timeoutMs } }`), once they
   * are `healthy`: a service that cannot connect within its `timeout` seconds (else the store's `connectTimeoutMs`)
   * rejects the call with a `ConnectionError`, as the seed's `safe_add_service` expects, and stays added, retrying.
   *
   * A name that is taken is a `SERVICE_EXISTS` error, with one exception that makes retrying an add work: when the
   * existing service of that name has never been `healthy` since it was added and its connection failed (it is
   * `reconnecting` or `unreachable`), the new config replaces it (the old connection is stopped, the file entry
   * rewritten, and the service connects again from scratch).
   */
  async addService(input: ServiceInput, options: AddServiceOptions = {}): Promise<ServiceInfo[]> {
    const parsed = splitServiceInput(input)
      .map(({ label, raw }) => parseServiceConfig(raw, label))
      // A store service named `{name}_byagent_{id}` would be read back from the file as agent `{id}`'s.
      .map((result) => (this.agentId === undefined ? checkStoreServiceName(result) : result));
    const failures = parsed.filter((result) => !result.ok);
    if (failures.length === 1) throw failures[0]!.error;
    if (failures.length > 1) {
      throw new ValidationError({
        message: `${failures.length} invalid services: ${failures.map((failure) => failure.error.message).join(" | ")}`,
        details: { issues: failures.flatMap((failure) => (failure.error.details?.issues as unknown[]) ?? []) },
      });
    }
    const configs = parsed.map((result) => (result as { config: ServiceConfig }).config);
    const added = (await this.registry.addEach(this.agentId, configs, { allOrNone: true, ...principalOption(options) })).map((outcome) => {
      if ("error" in outcome) throw outcome.error;
      return outcome.service;
    });
    return options.wait ? this.waitConnected(configs, options.wait === true ? {} : options.wait) : added;
  }

  /** `addService`'s wait: each service within its limit; one that is not there in time is a `ConnectionError`. */
  private async waitConnected(configs: ServiceConfig[], wait: Exclude<AddServiceOptions["wait"], boolean | undefined>): Promise<ServiceInfo[]> {
    const limitMs = (config: ServiceConfig) => wait.timeoutMs ?? (config.timeout !== undefined ? config.timeout * 1000 : this.registry.connectTimeoutMs);
    const settled = await Promise.allSettled(configs.map((config) => this.waitService(config.name, { ...wait, timeoutMs: limitMs(config) })));
    const failed = settled.find((result) => result.status === "rejected");
    if (!failed) return settled.map((result) => (result as PromiseFulfilledResult<ServiceInfo>).value);
    const error: unknown = failed.reason;
    // Not connected in time is a connection failure: what the seed's `except ConnectionError` and its retries expect.
    if (!TimeoutError.isInstance(error)) throw error;
    const { serviceName, agentId, details } = error;
    throw new ConnectionError({ message: error.message, cause: error, ...(serviceName ? { serviceName } : {}), ...(agentId ? { agentId } : {}), ...(details ? { details } : {}) });
  }

  /**
   * Adds several services, each on its own: the result says, per service, whether it was added or why not. One bad
   * service never keeps the others out. The cheap path for many services: all are validated first, the valid ones
   * are written to the config file in one write (under one lock), and they connect in parallel in the background.
   * Taken names follow the rule of {@link addService}.
   */
  async batchAddServices(input: ServiceInput, options: { principal?: ChangePrincipal } = {}): Promise<BatchAddResult> {
    const parsed = splitServiceInput(input)
      .map(({ label, raw }) => parseServiceConfig(raw, label))
      // A store service named `{name}_byagent_{id}` would be read back from the file as agent `{id}`'s.
      .map((result) => (this.agentId === undefined ? checkStoreServiceName(result) : result));
    const valid = parsed.flatMap((result) => (result.ok ? [result.config] : []));
    const outcomes = await this.registry.addEach(this.agentId, valid, principalOption(options));
    let next = 0;
    const results: BatchAddResult["results"] = parsed.map((result) => {
      const outcome = result.ok ? outcomes[next++]! : { error: result.error };
      if ("service" in outcome) return { name: result.name, success: true, service: outcome.service };
      if (!MCPStoreError.isInstance(outcome.error)) throw outcome.error;
      const { code, message, details } = outcome.error;
      return { name: result.name, success: false, error: { code, message, ...(details ? { details } : {}) } };
    });
    return { success: results.every((result) => result.success), results };
  }

  /** Every service of this scope, from the cache. */
  listServices(): Promise<ServiceInfo[]> {
    return this.catalogue.listServices(this.scopeKey);
  }

  /** One service, from the cache; a {@link ServiceNotFoundError} when there is none of that name. */
  async getService(name: string): Promise<ServiceInfo> {
    const info = await this.catalogue.getService(this.scopeKey, name);
    if (!info) {
      throw new ServiceNotFoundError({
        message: `No service "${name}" in ${this.agentId === undefined ? "the store scope" : `agent "${this.agentId}"`}`,
        serviceName: name,
        ...(this.agentId !== undefined ? { agentId: this.agentId } : {}),
      });
    }
    return info;
  }

  /** Replaces a service's whole config (the name stays), persists it and restarts the service. */
  async updateService(name: string, config: Omit<ServiceConfig, "name"> & { name?: string }, options: ChangeServiceOptions = {}): Promise<ServiceInfo> {
    return this.registry.update(this.agentId, name, (current) => {
      const parsed = parseServiceConfig({ ...config, name: config.name ?? name }, name);
      if (!parsed.ok) throw parsed.error;
      options.check?.({ current, next: parsed.config });
      return parsed.config;
    }, principalOption(options));
  }

  /**
   * Changes some fields of a service's config: given fields replace the old ones, `null` removes one. Persists and
   * restarts the service. The patch applies to the config as it is when the service's turn comes, so concurrent
   * patches of different fields all apply.
   */
  async patchService(
    name: string,
    patch: Partial<Record<keyof ServiceConfig, unknown>> & Record<string, unknown>,
    options: ChangeServiceOptions = {},
  ): Promise<ServiceInfo> {
    return this.registry.update(this.agentId, name, (current) => {
      const merged: Record<string, unknown> = { ...current };
      for (const [key, value] of Object.entries(patch ?? {})) {
        if (value === null) delete merged[key];
        else merged[key] = value;
      }
      const parsed = parseServiceConfig({ ...merged, name: patch?.name ?? name }, name);
      if (!parsed.ok) throw parsed.error;
      options.check?.({ current, next: parsed.config });
      return parsed.config;
    }, principalOption(options));
  }

  /**
   * Stops and forgets a service. Resolves once its process is gone, the config file is written and no read returns
   * it; an `addService` of the same name issued meanwhile waits for it.
   */
  removeService(name: string): Promise<void> {
    return this.registry.remove(this.agentId, name);
  }

  /** Stops a service and starts it again with the same config. */
  restartService(name: string): Promise<ServiceInfo> {
    return this.registry.restart(this.agentId, name);
  }

  /**
   * Waits until a service reaches a state (default `healthy`). Rejects with a `TimeoutError` after `timeoutMs`
   * (default 10 s), and at once with a `ConnectionError` (with the reason) when the service becomes `unreachable`.
   */
  waitService(name: string, options?: WaitServiceOptions): Promise<ServiceInfo> {
    return this.registry.wait(this.agentId, name, options);
  }

  /** Tools of this scope (or of one service), from the cache. */
  async listTools(options: ListOptions = {}): Promise<ToolInfo[]> {
    if (options.service !== undefined) await this.getService(options.service);
    return this.catalogue.listTools(this.scopeKey, options.service);
  }

  /** One tool by its name in this scope (or its bare name, when unique); a `ToolNotFoundError` otherwise. */
  async getTool(name: string): Promise<ToolInfo> {
    return this.registry.tool(this.agentId, name);
  }

  /**
   * Calls a tool by its name in this scope (`{service}_{tool}`), or its bare name when only one service has it. The
   * arguments must be an object valid for the tool's input schema; they are checked before anything is sent. Returns
   * the server's result; an error result (`isError: true`) is returned as is unless `throwOnError` is set.
   */
  callTool(name: string, args?: Record<string, unknown>, options?: CallToolOptions): Promise<ToolCallResult> {
    return this.registry.callTool(this.agentId, name, args, options);
  }

  /** Probes every service of this scope now; `success` is true when all of them answered. */
  checkServices(): Promise<CheckServicesResult> {
    return this.registry.check(this.agentId);
  }

  /** Resources of this scope (or of one service), from the cache. */
  async listResources(options: ListOptions = {}): Promise<ResourceInfo[]> {
    if (options.service !== undefined) await this.getService(options.service);
    return this.catalogue.listResources(this.scopeKey, options.service);
  }

  /**
   * Reads a resource; `service` is needed only when several services list the URI, or for a template URI. `timeoutMs`
   * (milliseconds; default the service's `timeout`, else 60 s) bounds the wait for a connecting service and the read
   * together: a `TimeoutError` then, an `AbortedError` when `signal` aborts.
   */
  readResource(uri: string, options: { service?: string; signal?: AbortSignal; timeoutMs?: number } = {}): Promise<ReadResourceResult> {
    return this.registry.readResource(this.agentId, uri, options);
  }

  /** Prompts of this scope (or of one service), from the cache. */
  async listPrompts(options: ListOptions = {}): Promise<PromptInfo[]> {
    if (options.service !== undefined) await this.getService(options.service);
    return this.catalogue.listPrompts(this.scopeKey, options.service);
  }

  /**
   * Gets a prompt by its name in this scope (`{service}_{prompt}`, or the bare name when unique). `timeoutMs`
   * (milliseconds; default the service's `timeout`, else 60 s) bounds the wait for a connecting service and the
   * request together: a `TimeoutError` then, an `AbortedError` when `signal` aborts.
   */
  getPrompt(name: string, args: Record<string, string> = {}, options: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<GetPromptResult> {
    return this.registry.getPrompt(this.agentId, name, args, options);
  }

  /** Agents that own services, with their counts. Store scope only. */
  async listAgents(): Promise<AgentSummary[]> {
    if (this.agentId !== undefined) {
      throw new ValidationError({
        message: `listAgents() is a store-scope method; agent "${this.agentId}" sees only its own services`,
        agentId: this.agentId,
      });
    }
    return Promise.all(
      this.registry.agentIds().map(async (agentId) => {
        const scope = scopeKeyOf(agentId);
        const [services, tools] = await Promise.all([this.catalogue.listServices(scope), this.catalogue.listTools(scope)]);
        return { agentId, serviceCount: services.length, toolCount: tools.length };
      }),
    );
  }
}
