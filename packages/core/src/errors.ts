const MARKER = "mcpstore.error";

function hasMarker(error: unknown, marker: string): boolean {
  return error != null && typeof error === "object" && (error as Record<symbol, unknown>)[Symbol.for(marker)] === true;
}

/** Options shared by every MCPStore error. */
export interface MCPStoreErrorOptions {
  message: string;
  /** The underlying error, if any. */
  cause?: unknown;
  /** The service the error is about, when there is one. */
  serviceName?: string;
  /** The tool the error is about, when there is one. */
  toolName?: string;
  /** The agent scope the error happened in, when it is not the store scope. */
  agentId?: string;
  /** Structured details safe to show to a caller (never secrets). */
  details?: Record<string, unknown>;
}

/**
 * The base of every error MCPStore throws. `code` is stable and machine-readable (the REST server maps it to an HTTP
 * status); `isInstance` works across two copies of the package, where `instanceof` would not.
 */
export class MCPStoreError extends Error {
  /** Stable machine-readable code, e.g. `VALIDATION_ERROR`. */
  readonly code: string;
  readonly serviceName?: string;
  readonly toolName?: string;
  readonly agentId?: string;
  readonly details?: Record<string, unknown>;

  /** `name` is the subclass name; it also marks the instance for that subclass's `isInstance`. */
  constructor(code: string, options: MCPStoreErrorOptions, name = "MCPStoreError") {
    super(options.message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = name;
    this.code = code;
    Object.defineProperty(this, Symbol.for(MARKER), { value: true });
    Object.defineProperty(this, Symbol.for(`${MARKER}.${name}`), { value: true });
    if (options.serviceName !== undefined) this.serviceName = options.serviceName;
    if (options.toolName !== undefined) this.toolName = options.toolName;
    if (options.agentId !== undefined) this.agentId = options.agentId;
    if (options.details !== undefined) this.details = options.details;
  }

  /** True for any MCPStore error, including ones from another copy of this package. */
  static isInstance(error: unknown): error is MCPStoreError {
    return hasMarker(error, MARKER);
  }
}

/** Input that breaks a rule: a bad service config, agent id, tool arguments. `details.issues` lists each problem. */
export class ValidationError extends MCPStoreError {
  /** The code every `ValidationError` carries. */
  static readonly code = "VALIDATION_ERROR";
  constructor(options: MCPStoreErrorOptions) {
    super(ValidationError.code, options, "ValidationError");
  }
  /** True for a `ValidationError`, including one from another copy of this package. */
  static override isInstance(error: unknown): error is ValidationError {
    return hasMarker(error, "mcpstore.error.ValidationError");
  }
}

/** A connection to a service could not be made or was lost. */
export class ConnectionError extends MCPStoreError {
  /** The code every `ConnectionError` carries (a {@link ServiceUnavailableError} has its own). */
  static readonly code: string = "CONNECTION_ERROR";
  /** @param code, name For subclasses. */
  constructor(options: MCPStoreErrorOptions, code = ConnectionError.code, name = "ConnectionError") {
    super(code, options, name);
    // A subclass is a connection error too, for `ConnectionError.isInstance` across two copies of the package.
    if (name !== "ConnectionError") Object.defineProperty(this, Symbol.for(`${MARKER}.ConnectionError`), { value: true });
  }
  /** True for a `ConnectionError` (or a `ServiceUnavailableError`), including one from another copy of this package. */
  static override isInstance(error: unknown): error is ConnectionError {
    return hasMarker(error, "mcpstore.error.ConnectionError");
  }
}

/**
 * A service is known but cannot take calls now (connecting, reconnecting, unreachable, disconnected): calls fail fast
 * with it instead of waiting. A {@link ConnectionError}, so that retrying on connection errors (as the seed's
 * `retry_on_failure` does) retries these too.
 */
export class ServiceUnavailableError extends ConnectionError {
  /** The code every `ServiceUnavailableError` carries. */
  static override readonly code: string = "SERVICE_UNAVAILABLE";
  constructor(options: MCPStoreErrorOptions) {
    super(options, ServiceUnavailableError.code, "ServiceUnavailableError");
  }
  /** True for a `ServiceUnavailableError`, including one from another copy of this package. */
  static override isInstance(error: unknown): error is ServiceUnavailableError {
    return hasMarker(error, "mcpstore.error.ServiceUnavailableError");
  }
}

/** No service of that name in the scope. */
export class ServiceNotFoundError extends MCPStoreError {
  /** The code every `ServiceNotFoundError` carries. */
  static readonly code = "SERVICE_NOT_FOUND";
  constructor(options: MCPStoreErrorOptions) {
    super(ServiceNotFoundError.code, options, "ServiceNotFoundError");
  }
  /** True for a `ServiceNotFoundError`, including one from another copy of this package. */
  static override isInstance(error: unknown): error is ServiceNotFoundError {
    return hasMarker(error, "mcpstore.error.ServiceNotFoundError");
  }
}

/** A service of that name already exists in the scope. */
export class ServiceExistsError extends MCPStoreError {
  /** The code every `ServiceExistsError` carries. */
  static readonly code = "SERVICE_EXISTS";
  constructor(options: MCPStoreErrorOptions) {
    super(ServiceExistsError.code, options, "ServiceExistsError");
  }
  /** True for a `ServiceExistsError`, including one from another copy of this package. */
  static override isInstance(error: unknown): error is ServiceExistsError {
    return hasMarker(error, "mcpstore.error.ServiceExistsError");
  }
}

/** No tool of that name in the scope, or a bare tool name that several services share. */
export class ToolNotFoundError extends MCPStoreError {
  /** The code every `ToolNotFoundError` carries. */
  static readonly code = "TOOL_NOT_FOUND";
  constructor(options: MCPStoreErrorOptions) {
    super(ToolNotFoundError.code, options, "ToolNotFoundError");
  }
  /** True for a `ToolNotFoundError`, including one from another copy of this package. */
  static override isInstance(error: unknown): error is ToolNotFoundError {
    return hasMarker(error, "mcpstore.error.ToolNotFoundError");
  }
}

/** No prompt of that name in the scope, or a bare prompt name that several services share. */
export class PromptNotFoundError extends MCPStoreError {
  /** The code every `PromptNotFoundError` carries. */
  static readonly code = "PROMPT_NOT_FOUND";
  constructor(options: MCPStoreErrorOptions) {
    super(PromptNotFoundError.code, options, "PromptNotFoundError");
  }
  /** True for a `PromptNotFoundError`, including one from another copy of this package. */
  static override isInstance(error: unknown): error is PromptNotFoundError {
    return hasMarker(error, "mcpstore.error.PromptNotFoundError");
  }
}

/** No service of the scope lists a resource with that URI (a template URI is read by passing its service). */
export class ResourceNotFoundError extends MCPStoreError {
  /** The code every `ResourceNotFoundError` carries. */
  static readonly code = "RESOURCE_NOT_FOUND";
  constructor(options: MCPStoreErrorOptions) {
    super(ResourceNotFoundError.code, options, "ResourceNotFoundError");
  }
  /** True for a `ResourceNotFoundError`, including one from another copy of this package. */
  static override isInstance(error: unknown): error is ResourceNotFoundError {
    return hasMarker(error, "mcpstore.error.ResourceNotFoundError");
  }
}

/** The server answered with a protocol error, or (with `throwOnError`) a tool returned an error result. */
export class ToolExecutionError extends MCPStoreError {
  /** The code every `ToolExecutionError` carries. */
  static readonly code = "TOOL_EXECUTION_ERROR";
  constructor(options: MCPStoreErrorOptions) {
    super(ToolExecutionError.code, options, "ToolExecutionError");
  }
  /** True for a `ToolExecutionError`, including one from another copy of this package. */
  static override isInstance(error: unknown): error is ToolExecutionError {
    return hasMarker(error, "mcpstore.error.ToolExecutionError");
  }
}

/** An operation did not finish within its time limit. */
export class TimeoutError extends MCPStoreError {
  /** The code every `TimeoutError` carries. */
  static readonly code = "TIMEOUT";
  constructor(options: MCPStoreErrorOptions) {
    super(TimeoutError.code, options, "TimeoutError");
  }
  /** True for a `TimeoutError`, including one from another copy of this package. */
  static override isInstance(error: unknown): error is TimeoutError {
    return hasMarker(error, "mcpstore.error.TimeoutError");
  }
}

/** An operation was cancelled by its caller's `AbortSignal`. */
export class AbortedError extends MCPStoreError {
  /** The code every `AbortedError` carries. */
  static readonly code = "ABORTED";
  constructor(options: MCPStoreErrorOptions) {
    super(AbortedError.code, options, "AbortedError");
  }
  /** True for a `AbortedError`, including one from another copy of this package. */
  static override isInstance(error: unknown): error is AbortedError {
    return hasMarker(error, "mcpstore.error.AbortedError");
  }
}

/** The store was used after `close()`. */
export class StoreClosedError extends MCPStoreError {
  /** The code every `StoreClosedError` carries. */
  static readonly code = "STORE_CLOSED";
  constructor(options: MCPStoreErrorOptions) {
    super(StoreClosedError.code, options, "StoreClosedError");
  }
  /** True for a `StoreClosedError`, including one from another copy of this package. */
  static override isInstance(error: unknown): error is StoreClosedError {
    return hasMarker(error, "mcpstore.error.StoreClosedError");
  }
}

/** The caller may not make this change (an agent moving a service, credentials and all, to a new destination). */
export class ForbiddenError extends MCPStoreError {
  /** The code every `ForbiddenError` carries. */
  static readonly code = "FORBIDDEN";
  constructor(options: MCPStoreErrorOptions) {
    super(ForbiddenError.code, options, "ForbiddenError");
  }
  /** True for a `ForbiddenError`, including one from another copy of this package. */
  static override isInstance(error: unknown): error is ForbiddenError {
    return hasMarker(error, "mcpstore.error.ForbiddenError");
  }
}

/**
 * An agent is at one of its limits: `details.quota` is `servicesPerAgent` (it has as many services as it may have)
 * or `concurrentCallsPerAgent` (its calls in flight stayed at the limit for the whole time the next call could wait;
 * `details.retryAfterSeconds` says when to try again). Limits apply to requests made for an agent (an agent token).
 */
export class QuotaExceededError extends MCPStoreError {
  /** The code every `QuotaExceededError` carries. */
  static readonly code = "QUOTA_EXCEEDED";
  constructor(options: MCPStoreErrorOptions & { details: { quota: string; limit: number; retryAfterSeconds?: number } }) {
    super(QuotaExceededError.code, options, "QuotaExceededError");
  }
  /** True for a `QuotaExceededError`, including one from another copy of this package. */
  static override isInstance(error: unknown): error is QuotaExceededError {
    return hasMarker(error, "mcpstore.error.QuotaExceededError");
  }
}

/**
 * The shared state (the desired state of several instances, `@mcpstore/redis`) failed or did not answer in time: the
 * change was not acknowledged. `details.outcome` is `not-applied` when it can never land, `unknown` when the
 * connection broke after it was sent. HTTP 503.
 */
export class SharedStateUnavailableError extends MCPStoreError {
  /** The code every `SharedStateUnavailableError` carries. */
  static readonly code = "SHARED_STATE_UNAVAILABLE";
  constructor(options: MCPStoreErrorOptions) {
    super(SharedStateUnavailableError.code, options, "SharedStateUnavailableError");
  }
  /** True for a `SharedStateUnavailableError`, including one from another copy of this package. */
  static override isInstance(error: unknown): error is SharedStateUnavailableError {
    return hasMarker(error, "mcpstore.error.SharedStateUnavailableError");
  }
}

/** What a {@link CacheError} is about: never a cached value. */
export type CacheErrorDetails = {
  /** The driver's `name` (`"memory"`, `"redis"`). */
  driver: string;
  /** The driver method that failed: `get`, `getMany`, `set`, `delete`, `keys` or `deletePrefix`. */
  operation: string;
  /** The key (or key prefix) it was about, when there is one. */
  key?: string;
};

/**
 * The cache driver failed or did not answer in time (`operationTimeoutMs`, default 2,000 ms). Reads of the catalogue
 * reject with it; writes never do (they are retried in the background). `cause` is the driver's error, or a
 * {@link TimeoutError} when it did not answer.
 */
export class CacheError extends MCPStoreError {
  /** The code every `CacheError` carries. */
  static readonly code = "CACHE_ERROR";
  /** Which driver, which operation, which key. */
  declare readonly details: CacheErrorDetails;
  constructor(options: MCPStoreErrorOptions & { details: CacheErrorDetails }) {
    super(CacheError.code, options, "CacheError");
  }
  /** True for a `CacheError`, including one from another copy of this package. */
  static override isInstance(error: unknown): error is CacheError {
    return hasMarker(error, "mcpstore.error.CacheError");
  }
}

/**
 * The config file cannot be used: it does not parse (`details` has `line` and `column`), has a duplicate key, is not
 * an object, or cannot be written (`details.path`). An unparseable file is never overwritten.
 */
export class ConfigFileError extends MCPStoreError {
  /** The code every `ConfigFileError` carries. */
  static readonly code = "CONFIG_FILE_ERROR";
  constructor(options: MCPStoreErrorOptions) {
    super(ConfigFileError.code, options, "ConfigFileError");
  }
  /** True for a `ConfigFileError`, including one from another copy of this package. */
  static override isInstance(error: unknown): error is ConfigFileError {
    return hasMarker(error, "mcpstore.error.ConfigFileError");
  }
}

/** Options of plugin errors: the plugin is always named. */
export interface PluginErrorOptions extends MCPStoreErrorOptions {
  /** The plugin's `name`. */
  pluginName: string;
}

/** A plugin's `tool:call-start` hook vetoed the call. `pluginName` says which plugin; `reason` why. */
export class PluginVetoError extends MCPStoreError {
  /** The code every `PluginVetoError` carries. */
  static readonly code = "PLUGIN_VETO";
  /** The plugin that vetoed the call. */
  readonly pluginName: string;
  /** The reason the plugin gave. */
  readonly reason: string;
  constructor(options: PluginErrorOptions & { reason: string }) {
    super(PluginVetoError.code, options, "PluginVetoError");
    this.pluginName = options.pluginName;
    this.reason = options.reason;
  }
  /** True for a `PluginVetoError`, including one from another copy of this package. */
  static override isInstance(error: unknown): error is PluginVetoError {
    return hasMarker(error, "mcpstore.error.PluginVetoError");
  }
}

/** A plugin failed where the store cannot go on without it: its `setup` threw, or its `tool:call-start` hook did. */
export class PluginError extends MCPStoreError {
  /** The code every `PluginError` carries. */
  static readonly code = "PLUGIN_ERROR";
  /** The plugin that failed. */
  readonly pluginName: string;
  constructor(options: PluginErrorOptions) {
    super(PluginError.code, options, "PluginError");
    this.pluginName = options.pluginName;
  }
  /** True for a `PluginError`, including one from another copy of this package. */
  static override isInstance(error: unknown): error is PluginError {
    return hasMarker(error, "mcpstore.error.PluginError");
  }
}
