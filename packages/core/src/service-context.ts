import type { GetPromptResult, ReadResourceResult } from "@modelcontextprotocol/sdk/types.js";
import { scopeKeyOf, type Catalogue, type ScopeKey } from "./catalogue/catalogue.js";
import { MCPStoreError, ServiceNotFoundError, ValidationError } from "./errors.js";
import { parseServiceConfig, splitServiceInput, type ServiceConfig, type ServiceInput } from "./config/service-config.js";
import type { ServiceRegistry } from "./registry/service-registry.js";
import type {
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
}

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
   * invalid or any name is taken, nothing is added. Persists at once and connects in the background; use
   * {@link waitService} to wait for the connection. Resolves with the new services (state `initializing`).
   */
  async addService(input: ServiceInput): Promise<ServiceInfo[]> {
    const parsed = splitServiceInput(input).map(({ label, raw }) => parseServiceConfig(raw, label));
    const failures = parsed.filter((result) => !result.ok);
    if (failures.length === 1) throw failures[0]!.error;
    if (failures.length > 1) {
      throw new ValidationError({
        message: `${failures.length} invalid services: ${failures.map((failure) => failure.error.message).join(" | ")}`,
        details: { issues: failures.flatMap((failure) => (failure.error.details?.issues as unknown[]) ?? []) },
      });
    }
    return this.registry.add(
      this.agentId,
      parsed.map((result) => (result as { config: ServiceConfig }).config),
    );
  }

  /**
   * Adds several services, each on its own: the result says, per service, whether it was added or why not. One bad
   * service never keeps the others out.
   */
  async batchAddServices(input: ServiceInput): Promise<BatchAddResult> {
    const results: BatchAddResult["results"] = [];
    for (const { label, raw } of splitServiceInput(input)) {
      const parsed = parseServiceConfig(raw, label);
      try {
        if (!parsed.ok) throw parsed.error;
        const [service] = await this.registry.add(this.agentId, [parsed.config]);
        results.push({ name: parsed.name, success: true, service: service! });
      } catch (error) {
        if (!MCPStoreError.isInstance(error)) throw error;
        results.push({
          name: parsed.name,
          success: false,
          error: { code: error.code, message: error.message, ...(error.details ? { details: error.details } : {}) },
        });
      }
    }
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
    });
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
    });
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

  /** Reads a resource; `service` is needed only when several services list the URI, or for a template URI. */
  readResource(uri: string, options: { service?: string; signal?: AbortSignal } = {}): Promise<ReadResourceResult> {
    return this.registry.readResource(this.agentId, uri, options);
  }

  /** Prompts of this scope (or of one service), from the cache. */
  async listPrompts(options: ListOptions = {}): Promise<PromptInfo[]> {
    if (options.service !== undefined) await this.getService(options.service);
    return this.catalogue.listPrompts(this.scopeKey, options.service);
  }

  /** Gets a prompt by its name in this scope (`{service}_{prompt}`, or the bare name when unique). */
  getPrompt(name: string, args: Record<string, string> = {}, options: { signal?: AbortSignal } = {}): Promise<GetPromptResult> {
    return this.registry.getPrompt(this.agentId, name, args, options.signal);
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
