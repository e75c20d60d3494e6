import { definePlugin, MCPStoreError, PluginVetoError, type Plugin } from "@mcpstore/core";

/** One line of the audit trail: who called what, and what came of it. Never the arguments or the result. */
export interface AuditEntry {
  /** ISO time the call ended (or was denied). */
  time: string;
  callId: string;
  /** The tool's name in its scope, e.g. `weather_get_current`. */
  toolName: string;
  serviceName: string;
  /** The agent whose scope made the call; absent for the store scope. */
  agentId?: string;
  outcome: "succeeded" | "failed" | "denied";
  /** Why it failed or was denied: the error code, or the veto's reason. */
  reason?: string;
  /** The plugin that denied the call. */
  deniedBy?: string;
  durationMs: number;
}

/** Options of {@link auditPlugin}. */
export interface AuditPluginOptions {
  /** Tool names that may be called in every scope; `*` matches any run of characters (`"weather_*"`). */
  allow: string[];
  /** Lists for some agents that replace `allow` in their scope. */
  agents?: Record<string, string[]>;
  /** Receives each entry as it is recorded: write it to a file, a queue, a table. */
  onEntry?: (entry: AuditEntry) => void;
  /** Entries kept in memory in `trail`, newest last. Default 1,000. */
  maxEntries?: number;
}

/** The audit plugin, with its trail in memory. */
export interface AuditPlugin extends Plugin {
  /** The latest entries, oldest first. */
  readonly trail: readonly AuditEntry[];
}

function matcher(patterns: string[]): (name: string) => boolean {
  const expressions = patterns.map(
    (pattern) => new RegExp(`^${pattern.split("*").map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`),
  );
  return (name) => expressions.some((expression) => expression.test(name));
}

/**
 * An allow-list policy and an audit trail. A call of a tool that is not on the scope's list is vetoed before it
 * reaches the server (the caller gets a `PluginVetoError` naming `"audit"`); every call, allowed or not, leaves one
 * entry. Runs `pre`, so that no other plugin sees a call the policy refuses.
 */
export function auditPlugin(options: AuditPluginOptions): AuditPlugin {
  const everyone = matcher(options.allow);
  const perAgent = new Map(Object.entries(options.agents ?? {}).map(([agentId, patterns]) => [agentId, matcher(patterns)]));
  const maxEntries = options.maxEntries ?? 1_000;
  const trail: AuditEntry[] = [];

  const record = (entry: AuditEntry) => {
    trail.push(entry);
    if (trail.length > maxEntries) trail.splice(0, trail.length - maxEntries);
    options.onEntry?.(entry);
  };
  const base = (event: { callId: string; toolName: string; serviceName: string; agentId?: string; durationMs: number }) => ({
    time: new Date().toISOString(),
    callId: event.callId,
    toolName: event.toolName,
    serviceName: event.serviceName,
    ...(event.agentId !== undefined ? { agentId: event.agentId } : {}),
    durationMs: event.durationMs,
  });

  return definePlugin({
    name: "audit",
    order: "pre",
    trail,
    hooks: {
      "tool:call-start": (event) => {
        const allowed = (event.agentId !== undefined ? perAgent.get(event.agentId) : undefined) ?? everyone;
        if (!allowed(event.toolName)) return { veto: `${event.toolName} is not on the allow-list` };
        return undefined;
      },
      "tool:call-end": (event) => record({ ...base(event), outcome: event.isError ? "failed" : "succeeded", ...(event.isError ? { reason: "error result" } : {}) }),
      "tool:call-error": (event) => {
        const { error } = event;
        if (PluginVetoError.isInstance(error)) record({ ...base(event), outcome: "denied", reason: error.reason, deniedBy: error.pluginName });
        else record({ ...base(event), outcome: "failed", reason: MCPStoreError.isInstance(error) ? error.code : error.name });
      },
    },
  });
}
