export { MCPStore, type SetupStoreOptions } from "./mcp-store.js";
export { ServiceContext, type AgentSummary, type ListOptions } from "./service-context.js";
export type { CacheDriver, JsonValue } from "./cache-driver.js";
export { MemoryCacheDriver } from "./memory-cache-driver.js";
export { monitoringPresets, resolveMonitoring, type MonitoringOptions, type ResolvedMonitoring } from "./monitoring.js";
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
} from "./service-config.js";
export type { RegistryPersistence, RegistrySnapshot } from "./service-registry.js";
export type { ServiceRef, StoreEventHandler, StoreEventName, StoreEvents } from "./store-events.js";
export {
  AbortedError,
  ConnectionError,
  MCPStoreError,
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
} from "./plugin.js";
export { PluginError, PluginVetoError, type PluginErrorOptions } from "./errors.js";
export { resolveLocalRefs, strictifySchema, type JsonSchema } from "./json-schema.js";
export { selectTools, type ToolSelectionOptions } from "./select-tools.js";
export { splitToolResult, type ToolResultParts } from "./split-tool-result.js";
export {
  executeOpenAIToolCall,
  toOpenAITools,
  type OpenAIFunctionTool,
  type OpenAIToolCall,
  type OpenAIToolMessage,
  type ToOpenAIToolsOptions,
} from "./openai-tools.js";
export { ConfigFileError } from "./errors.js";
export type { ConfigProblem } from "./config-format.js";
export { configFilePath, inspectConfigFile, type ConfigFileInspection } from "./inspect-config-file.js";
