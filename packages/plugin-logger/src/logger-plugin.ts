import { definePlugin, MCPStoreError, type Plugin, type StoreEvents } from "@mcpstore/core";
import { pino, type DestinationStream, type LevelWithSilent, type Logger as PinoLogger } from "pino";

/** Options of {@link loggerPlugin}. */
export interface LoggerPluginOptions {
  /** A pino logger to write to. Default: a new one (see {@link LoggerPlugin.logger}). */
  logger?: PinoLogger;
  /** Level of the logger the plugin creates. Default: `LOG_LEVEL`, else `info`. */
  level?: LevelWithSilent;
  /**
   * Where the logger the plugin creates writes its lines: a stream (e.g. `pino.destination({ sync: false, minLength })`
   * to buffer), a file path or a file descriptor. Default: standard output. Paths and descriptors are written
   * synchronously, one write per line, as pino does by default: no line is lost when the process dies.
   */
  destination?: DestinationStream | string | number;
  /** The plugin's name in the store. Default `"logger"`. */
  name?: string;
}

/** The logger plugin; {@link logger} can also be the store's own `logger`. */
export interface LoggerPlugin extends Plugin {
  /** The pino logger the plugin writes to. */
  readonly logger: PinoLogger;
}

const LEVELS: readonly string[] = ["trace", "debug", "info", "warn", "error", "fatal", "silent"];
/** States worth a warning. */
const TROUBLE = new Set(["degraded", "reconnecting", "unreachable"]);
/** Argument values shorter than this are left in error messages: masking them would garble the message. */
const MIN_MASKED_LENGTH = 4;

/** The level named by `LOG_LEVEL` (case-insensitive), else `info`. */
function levelFromEnvironment(): LevelWithSilent {
  const level = process.env.LOG_LEVEL?.toLowerCase();
  return level !== undefined && LEVELS.includes(level) ? (level as LevelWithSilent) : "info";
}

/** Every string in a JSON value (long enough to mask), for keeping argument values out of error messages. */
function stringsIn(value: unknown, found: string[] = []): string[] {
  if (typeof value === "string") {
    if (value.length >= MIN_MASKED_LENGTH) found.push(value);
  } else if (value !== null && typeof value === "object") {
    for (const item of Object.values(value)) stringsIn(item, found);
  }
  return found;
}

function maskArguments(text: string, args: Record<string, unknown>): string {
  // Longest first, so that a value containing another is masked whole.
  for (const value of stringsIn(args).sort((a, b) => b.length - a.length)) text = text.split(value).join("***");
  return text;
}

// pino leaves out fields whose value is undefined: `agent_id` appears only in agent scopes.
const ref = (event: { serviceName: string; agentId?: string }) => ({ service_name: event.serviceName, agent_id: event.agentId });

/**
 * Structured JSON logs of a store, one line per service event and per tool call, with the seed's fields: `timestamp`
 * (ISO), `event_type` (`service_added`, `service_removed`, `service_state_changed`, `tools_refreshed`, `tool_call`),
 * `service_name` (and `agent_id` in agent scopes), `details` for service events, and for calls `tool_name`,
 * `args_count`, `success` and `duration_ms`. Argument values, results, headers and env values are never logged; an
 * error message is logged with the call's argument values masked.
 */
export function loggerPlugin(options: LoggerPluginOptions = {}): LoggerPlugin {
  const pinoOptions = {
    name: "mcpstore",
    level: options.level ?? levelFromEnvironment(),
    base: undefined,
    // The lines carry the seed's `timestamp` field instead, also when the pino logger is the caller's.
    timestamp: false,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  const destination = options.destination ?? 1;
  const logger =
    options.logger ??
    pino(pinoOptions, typeof destination === "object" ? destination : pino.destination({ dest: destination, sync: true, mkdir: typeof destination === "string" }));
  const timestamp = () => new Date().toISOString();

  const callEnd = (event: StoreEvents["tool:call-end"]) => {
    logger[event.isError ? "warn" : "info"](
      {
        timestamp: timestamp(),
        event_type: "tool_call",
        service_name: event.serviceName,
        agent_id: event.agentId,
        tool_name: event.toolName,
        call_id: event.callId,
        args_count: Object.keys(event.arguments).length,
        success: !event.isError,
        duration_ms: Math.round(event.durationMs * 100) / 100,
      },
      event.isError ? `tool ${event.toolName} returned an error` : `tool ${event.toolName} succeeded`,
    );
  };

  const callError = (event: StoreEvents["tool:call-error"]) => {
    const { error } = event;
    const code = MCPStoreError.isInstance(error) ? error.code : error.name;
    const plugin = (error as { pluginName?: unknown }).pluginName;
    logger.warn(
      {
        timestamp: timestamp(),
        event_type: "tool_call",
        service_name: event.serviceName,
        agent_id: event.agentId,
        tool_name: event.toolName,
        call_id: event.callId,
        args_count: Object.keys(event.arguments).length,
        success: false,
        duration_ms: Math.round(event.durationMs * 100) / 100,
        error_code: code,
        error: maskArguments(error.message, event.arguments),
        ...(typeof plugin === "string" ? { plugin } : {}),
      },
      `tool ${event.toolName} failed`,
    );
  };

  return definePlugin({
    name: options.name ?? "logger",
    logger,
    hooks: {
      "service:added": (event) =>
        logger.info(
          { timestamp: timestamp(), event_type: "service_added", ...ref(event), details: { transport: event.service.transport, state: event.service.state } },
          `service ${event.serviceName} added`,
        ),
      "service:removed": (event) =>
        logger.info({ timestamp: timestamp(), event_type: "service_removed", ...ref(event), details: {} }, `service ${event.serviceName} removed`),
      "service:state-changed": (event) =>
        logger[TROUBLE.has(event.state) ? "warn" : "info"](
          {
            timestamp: timestamp(),
            event_type: "service_state_changed",
            ...ref(event),
            details: { previous: event.previous, state: event.state, ...(event.reason !== undefined ? { reason: event.reason } : {}) },
          },
          `service ${event.serviceName} is ${event.state}`,
        ),
      "tools:refreshed": (event) =>
        logger.info(
          {
            timestamp: timestamp(),
            event_type: "tools_refreshed",
            ...ref(event),
            details: { tool_count: event.toolCount, added: event.added, removed: event.removed },
          },
          `service ${event.serviceName} has ${event.toolCount} tools`,
        ),
      "tool:call-end": callEnd,
      "tool:call-error": callError,
    },
    // Writes what an asynchronous destination still buffers.
    setup: () => () => logger.flush(),
  });
}
