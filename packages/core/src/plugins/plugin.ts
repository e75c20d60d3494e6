import type { Logger } from "../logger.js";
import type { MCPStore } from "../mcp-store.js";
import type { StoreEventName, StoreEvents } from "../events/store-events.js";

/** Where a plugin's hooks run among the others': `pre` plugins first, then the rest in registration order, then `post`. */
export type PluginOrder = "pre" | "post";

/** Something that may be returned directly or as a promise. */
export type Awaitable<T> = T | Promise<T>;

/** What a `tool:call-start` hook sees: the call, with a deep-frozen copy of its arguments (return new ones to change them). */
export type ToolCallStartPayload = Readonly<Omit<StoreEvents["tool:call-start"], "arguments" | "seq">> & {
  /** The arguments, frozen at every depth: changing them in place throws; return `{ arguments }` instead. */
  readonly arguments: Readonly<Record<string, unknown>>;
  /**
   * The call's signal: aborts when the caller aborts the call or when the call's deadline (its `timeoutMs`, else the
   * service's `timeout`, else 60 s) passes. A hook that waits on something (a policy server, a quota check) should
   * pass it on or stop when it aborts: the call does not wait for it then, and fails with an `AbortedError` or a
   * `TimeoutError`.
   */
  readonly signal: AbortSignal;
};

/**
 * What a `tool:call-start` hook may return: nothing (let the call go on as it is), `{ arguments }` to replace the
 * arguments (they are validated against the tool's input schema again, and the next hooks see them), or `{ veto }` to
 * stop the call: the caller gets a `PluginVetoError` naming the plugin, with `veto` as the reason.
 */
export type ToolCallStartDecision = { arguments: Record<string, unknown> } | { veto: string };

/** The hook a plugin may give for one event. */
export type PluginHook<Name extends StoreEventName> = Name extends "tool:call-start"
  ? (payload: ToolCallStartPayload) => Awaitable<ToolCallStartDecision | undefined | void>
  : // `void`, so that any function fits, async ones included (their rejections are logged).
    (payload: StoreEvents[Name]) => void;

/**
 * A plugin's hooks, by event name. Every hook but `tool:call-start` observes: it runs after the fact, is not awaited,
 * and when it throws (or its promise rejects) the error is logged and nothing else happens. `tool:call-start` hooks run
 * before the call, one after the other and awaited, within the call's deadline; see {@link ToolCallStartDecision}. One
 * that throws stops the call with a `PluginError` naming the plugin: a policy that cannot decide must not let calls
 * through.
 */
export type PluginHooks = { [Name in StoreEventName]?: PluginHook<Name> };

/** What a plugin's `setup` receives. */
export interface PluginSetupContext {
  /** The store the plugin was added to. */
  store: MCPStore;
  /** The store's logger; every entry carries `plugin: <name>`. */
  logger: Logger;
}

/** What `setup` may return: a teardown, run when the store closes (after its services have stopped). */
export type PluginTeardown = () => Awaitable<void>;

/**
 * A plugin: a name, hooks on the store's events, and an optional `setup`. Create one with {@link definePlugin}; add it
 * with `MCPStore.setupStore({ plugins: [plugin] })` or `await store.use(plugin)`.
 */
export interface Plugin {
  /** Names the plugin in logs and errors; unique in a store. */
  name: string;
  /** `pre` or `post`; absent: between them, in registration order. */
  order?: PluginOrder;
  /** Hooks by event name. */
  hooks?: PluginHooks;
  /** Runs once when the plugin is added, before its hooks are attached; may return a teardown. */
  setup?: (context: PluginSetupContext) => Awaitable<PluginTeardown | undefined | void>;
}

/** Declares a plugin with its types checked and inferred. Returns the plugin as it is. */
export function definePlugin<T extends Plugin>(plugin: T): T {
  return plugin;
}
