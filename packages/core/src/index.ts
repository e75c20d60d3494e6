export { MCPStore, type SetupStoreOptions } from "./mcp-store.js";
export { ServiceContext, type AgentSummary, type ChangeServiceOptions, type ListOptions } from "./service-context.js";
export type { CacheDriver, JsonValue } from "./catalogue/cache-driver.js";
export { MemoryCacheDriver } from "./catalogue/memory-cache-driver.js";
export { monitoringPresets, resolveMonitoring, type MonitoringOptions, type ResolvedMonitoring } from "./config/monitoring.js";
export { createConsoleLogger, parseLogLevel, type Logger, type LogLevel } from "./logger.js";
export { publicToolName, assertAgentId, NAME_PATTERN } from "./identifiers.js";
export {
  parseServiceConfig,
  redactServiceConfig,
  type ParsedService,
  type RemoteTransport,
  type ServiceConfig,
  type ServiceInput,
  type ValidationIssue,
} from "./config/service-config.js";
export type { RegistryChange, RegistryPersistence, RegistrySnapshot } from "./config/registry-change.js";
export type { EventMeta, EventReplay, ServiceRef, StoreEventHandler, StoreEventName, StoreEventRecord, StoreEvents } from "./events/store-events.js";
export type { ApplyOptions, DesiredChange, DesiredService, DesiredStateDriver, DesiredStateEvent } from "./registry/desired-state.js";
export { MemoryDesiredState } from "./registry/memory-desired-state.js";
export type { ForwardedRequest, ForwardedResult, ForwardHandler, RoleLease, ServiceLease, ServicePlacement, SharedState } from "./shared-state.js";
export { errorFromWire, errorToWire, type WireError } from "./error-wire.js";
export { LIFECYCLE, canTransition } from "./connection/lifecycle.js";
export {
  AbortedError,
  ConnectionError,
  MCPStoreError,
  PromptNotFoundError,
  ResourceNotFoundError,
  ServiceExistsError,
  ServiceNotFoundError,
  ServiceUnavailableError,
  StoreClosedError,
  TimeoutError,
  ToolExecutionError,
  ToolNotFoundError,
  ValidationError,
  type MCPStoreErrorOptions,
} from "./errors.js";
export type {
  AddServiceOptions,
  BatchAddResult,
  CallToolOptions,
  CheckServicesResult,
  PromptInfo,
  ResourceInfo,
  ServiceHealth,
  ServiceInfo,
  ServiceState,
  ToolCallResult,
  ToolInfo,
  ToolNameCollision,
  TransportKind,
  WaitServiceOptions,
} from "./types.js";
export {
  definePlugin,
  type Awaitable,
  type Plugin,
  type PluginHook,
  type PluginHooks,
  type PluginOrder,
  type PluginSetupContext,
  type PluginTeardown,
  type ToolCallStartDecision,
  type ToolCallStartPayload,
} from "./plugins/plugin.js";
export { PluginError, PluginVetoError, type PluginErrorOptions } from "./errors.js";
export { resolveLocalRefs, strictifySchema, type JsonSchema } from "./tools/json-schema.js";
export { callSelectedTool, selectTools, type SelectedTool, type ToolSelectionOptions } from "./tools/select-tools.js";
export { splitToolResult, type ToolResultParts } from "./tools/split-tool-result.js";
export {
  createOpenAIToolkit,
  executeOpenAIToolCall,
  toOpenAITools,
  type ExecuteOpenAIToolCallOptions,
  type OpenAIFunctionTool,
  type OpenAIToolCall,
  type OpenAIToolkit,
  type OpenAIToolMessage,
  type ToOpenAIToolsOptions,
} from "./tools/openai-tools.js";
export { ConfigFileError, ForbiddenError, QuotaExceededError, SharedStateUnavailableError } from "./errors.js";
export type { ChangePrincipal } from "./registry/credential-binding.js";
export type { AgentPolicyOptions } from "./registry/agent-policy.js";
export type { EgressLookup } from "./connection/egress-rules.js";
export { CacheError, type CacheErrorDetails } from "./errors.js";
export type { ConfigProblem } from "./config/config-format.js";
export { configFilePath, inspectConfigFile, type ConfigFileInspection } from "./config/inspect-config-file.js";
