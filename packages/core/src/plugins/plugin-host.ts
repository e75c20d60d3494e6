/**
 * plugins/: the plugin interface (plugin.ts) and the host that attaches plugins' hooks to the store's events and runs
 * their setups and teardowns (here). It imports events/ and the root primitives; it sees the store only as a type.
 */
import { MCPStoreError, PluginError, PluginVetoError, StoreClosedError, ValidationError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { Plugin, PluginSetupContext, PluginTeardown, ToolCallStartDecision, ToolCallStartPayload } from "./plugin.js";
import { insertByRank, type EventPayload, type HandlerRank, type StoreEventBus, type StoreEventName, type StoreEvents } from "../events/store-events.js";

const HOOK_NAMES: readonly StoreEventName[] = [
  "service:added",
  "service:removed",
  "service:state-changed",
  "tools:refreshed",
  "tool:call-start",
  "tool:call-end",
  "tool:call-error",
];

type CallStartHook = (payload: ToolCallStartPayload) => unknown;

/**
 * What the registry hands the interceptor for each call: the event's payload and the call's signal (the interceptor's
 * type in events/ does not carry it yet, so it rides along on the payload).
 */
type CallStartRequest = EventPayload<"tool:call-start"> & { signal?: AbortSignal };

/**
 * A deep copy of `value` in which every plain object and array is frozen, so that a hook cannot change the arguments
 * in place at any depth; anything else (a Date, a Buffer) is kept as it is. A cycle stays a cycle.
 */
function frozenCopy(value: unknown, copies = new Map<object, unknown>()): unknown {
  if (value === null || typeof value !== "object") return value;
  const done = copies.get(value);
  if (done !== undefined) return done;
  if (Array.isArray(value)) {
    const copy: unknown[] = [];
    copies.set(value, copy);
    for (const item of value) copy.push(frozenCopy(item, copies));
    return Object.freeze(copy);
  }
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return value;
  const copy: Record<string, unknown> = {};
  copies.set(value, copy);
  // defineProperty, not assignment: an own `__proto__` key stays a key.
  for (const [key, item] of Object.entries(value)) Object.defineProperty(copy, key, { value: frozenCopy(item, copies), enumerable: true });
  return Object.freeze(copy);
}

interface Interceptor {
  pluginName: string;
  hook: CallStartHook;
  rank: HandlerRank;
}

/** What the host needs from the store. */
export interface PluginHostOptions {
  events: StoreEventBus;
  logger: Logger;
  /** The store, for `setup`. */
  store: PluginSetupContext["store"];
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

function invalid(text: string, path: string): ValidationError {
  return new ValidationError({ message: text, details: { issues: [{ path, message: text }] } });
}

function pluginLogger(logger: Logger, pluginName: string): Logger {
  return {
    debug: (fields, text) => logger.debug({ plugin: pluginName, ...fields }, text),
    info: (fields, text) => logger.info({ plugin: pluginName, ...fields }, text),
    warn: (fields, text) => logger.warn({ plugin: pluginName, ...fields }, text),
    error: (fields, text) => logger.error({ plugin: pluginName, ...fields }, text),
  };
}

/**
 * The store's plugins: attaches their hooks to the event bus in order (`pre`, normal, `post`), runs the
 * `tool:call-start` hooks before each call, and runs the teardowns when the store closes.
 */
export class PluginHost {
  private readonly names = new Set<string>();
  private readonly teardowns: Array<{ pluginName: string; teardown: PluginTeardown }> = [];
  private readonly detachers: Array<() => void> = [];
  private interceptors: readonly Interceptor[] = [];
  private closed = false;

  constructor(private readonly options: PluginHostOptions) {}

  /** Checks a plugin, runs its `setup`, then attaches its hooks. A failing `setup` is a {@link PluginError}. */
  async use(plugin: Plugin): Promise<void> {
    const rank = this.check(plugin);
    this.names.add(plugin.name);
    try {
      const teardown = await plugin.setup?.({ store: this.options.store, logger: pluginLogger(this.options.logger, plugin.name) });
      if (typeof teardown === "function") this.teardowns.push({ pluginName: plugin.name, teardown });
    } catch (error) {
      this.names.delete(plugin.name);
      throw new PluginError({ message: `Plugin "${plugin.name}" failed to set up: ${message(error)}`, pluginName: plugin.name, cause: error });
    }
    if (this.closed) {
      // The store closed while `setup` ran: undo it rather than attach hooks nobody will detach.
      await this.close();
      throw new StoreClosedError({ message: "The store is closed" });
    }
    for (const [name, hook] of Object.entries(plugin.hooks ?? {}) as Array<[StoreEventName, ((payload: never) => unknown) | undefined]>) {
      if (!hook) continue;
      if (name === "tool:call-start") {
        this.interceptors = insertByRank(this.interceptors, { pluginName: plugin.name, hook: hook as CallStartHook, rank });
        this.options.events.interceptCallStart = (payload, check) => this.runCallStart(payload as CallStartRequest, check);
      } else {
        this.detachers.push(this.options.events.on(name, hook as (payload: StoreEvents[typeof name]) => void, { rank, owner: plugin.name }));
      }
    }
  }

  /** Validates a plugin's shape; returns its rank. */
  private check(plugin: Plugin): HandlerRank {
    if (plugin === null || typeof plugin !== "object") throw invalid("A plugin must be an object; create it with definePlugin({ name, hooks, setup })", "plugin");
    if (typeof plugin.name !== "string" || plugin.name.trim() === "") throw invalid("A plugin needs a non-empty string `name`", "plugin.name");
    if (this.names.has(plugin.name)) throw invalid(`A plugin named "${plugin.name}" is already in this store`, "plugin.name");
    if (plugin.order !== undefined && plugin.order !== "pre" && plugin.order !== "post") {
      throw invalid(`Plugin "${plugin.name}": order must be "pre" or "post", got ${JSON.stringify(plugin.order)}`, "plugin.order");
    }
    if (plugin.setup !== undefined && typeof plugin.setup !== "function") throw invalid(`Plugin "${plugin.name}": setup must be a function`, "plugin.setup");
    for (const [name, hook] of Object.entries(plugin.hooks ?? {})) {
      if (!HOOK_NAMES.includes(name as StoreEventName)) {
        throw invalid(`Plugin "${plugin.name}": unknown hook "${name}"; hooks are ${HOOK_NAMES.join(", ")}`, `plugin.hooks.${name}`);
      }
      if (hook !== undefined && typeof hook !== "function") throw invalid(`Plugin "${plugin.name}": hook "${name}" must be a function`, `plugin.hooks.${name}`);
    }
    return plugin.order === "pre" ? 0 : plugin.order === "post" ? 2 : 1;
  }

  /**
   * Runs the `tool:call-start` hooks one after the other; each sees the arguments the previous ones left, deep-frozen,
   * and the call's signal. Resolves with the arguments to send. A veto is a {@link PluginVetoError}; a hook that
   * throws, a {@link PluginError}; rewritten arguments that fail the tool's schema, a `ValidationError` naming the
   * plugin. The registry bounds the hooks by the call's deadline.
   */
  private async runCallStart(payload: CallStartRequest, check: (args: Record<string, unknown>) => void): Promise<Record<string, unknown>> {
    let args = payload.arguments;
    const { serviceName, agentId, callId, toolName, originalName } = payload;
    const signal = payload.signal ?? new AbortController().signal;
    // Frozen, so that a hook changes the arguments only by returning new ones, which are then validated.
    const frozen = (seen: Record<string, unknown>): ToolCallStartPayload =>
      Object.freeze({ serviceName, agentId, callId, toolName, originalName, arguments: frozenCopy(seen) as Record<string, unknown>, signal });
    let seen = frozen(args);
    const context = {
      serviceName: payload.serviceName,
      toolName: payload.toolName,
      ...(payload.agentId !== undefined ? { agentId: payload.agentId } : {}),
    };
    for (const { pluginName, hook } of this.interceptors) {
      let decision: ToolCallStartDecision | undefined;
      try {
        decision = (await hook(seen)) as ToolCallStartDecision | undefined;
      } catch (error) {
        if (MCPStoreError.isInstance(error)) throw error;
        throw new PluginError({ ...context, message: `Plugin "${pluginName}" failed on ${payload.toolName}: ${message(error)}`, pluginName, cause: error });
      }
      if (decision == null) continue;
      if ("veto" in decision) {
        const reason = String(decision.veto);
        throw new PluginVetoError({ ...context, message: `Plugin "${pluginName}" vetoed the call of ${payload.toolName}: ${reason}`, pluginName, reason });
      }
      if ("arguments" in decision) {
        const next = decision.arguments as unknown;
        if (next === null || typeof next !== "object" || Array.isArray(next)) {
          throw new PluginError({ ...context, message: `Plugin "${pluginName}" replaced the arguments of ${payload.toolName} with something that is not an object`, pluginName });
        }
        try {
          check(next as Record<string, unknown>);
        } catch (error) {
          if (!ValidationError.isInstance(error)) throw error;
          throw new ValidationError({
            ...context,
            message: `Plugin "${pluginName}" rewrote the arguments into invalid ones. ${error.message}`,
            cause: error,
            details: { ...error.details, pluginName },
          });
        }
        args = next as Record<string, unknown>;
        seen = frozen(args);
      }
    }
    return args;
  }

  /** Detaches every hook and runs the teardowns, last added first. A teardown that fails is logged. */
  async close(): Promise<void> {
    this.closed = true;
    for (const detach of this.detachers.splice(0)) detach();
    this.interceptors = [];
    this.options.events.interceptCallStart = undefined;
    for (const { pluginName, teardown } of this.teardowns.splice(0).reverse()) {
      try {
        await teardown();
      } catch (error) {
        this.options.logger.error({ plugin: pluginName, error: message(error) }, `plugin ${pluginName}: teardown failed`);
      }
    }
  }
}
