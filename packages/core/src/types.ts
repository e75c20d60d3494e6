import type { CallToolResult, Progress, Tool } from "@modelcontextprotocol/sdk/types.js";
import type { ServiceConfig } from "./config/service-config.js";

/**
 * Where a service is in its life:
 * - `initializing`: added, connecting for the first time;
 * - `healthy`: connected, catalogue loaded, probes answer;
 * - `degraded`: connected, but the last probe or call failed;
 * - `reconnecting`: the connection was lost; reconnecting with backoff (calls fail fast);
 * - `unreachable`: reconnection gave up for now; retried every `reconnectionSeconds` (jittered) and when a tool is called;
 * - `disconnected`: stopped because a user asked (removed, or the store closed).
 */
export type ServiceState = "initializing" | "healthy" | "degraded" | "reconnecting" | "unreachable" | "disconnected";

/** The transport a service uses. */
export type TransportKind = "stdio" | "streamable-http" | "sse";

/** A tool whose store-wide name was taken by another tool, so it got a distinct one. */
export interface ToolNameCollision {
  /** The tool's own name on its server. */
  tool: string;
  /** The name it would have had. */
  wanted: string;
  /** The name it got. */
  name: string;
}

/** What the store knows about a service; read from the catalogue cache, never from the network. */
export interface ServiceInfo {
  /** The service's name in its scope. */
  name: string;
  /**
   * Set when this comes from a shared cache (several instances, Redis) that could not be synced lately: the last
   * synced info, possibly out of date.
   */
  stale?: true;
  /** The agent that owns the service, or `undefined` for store services. */
  agentId?: string;
  state: ServiceState;
  /** `stdio`, or the remote transport in use (after the automatic choice, the one that worked). */
  transport: TransportKind;
  /** The config with secrets (header and env values, URL passwords) shown as `***`. */
  config: ServiceConfig;
  /** Number of tools in the catalogue. */
  toolCount: number;
  /** Why the service last failed, if it did. Never holds a secret. */
  lastError?: string;
  /**
   * Failed connection attempts and lost connections since the service was last stable (connected for
   * `monitoring.stableSeconds`). Drives the reconnection backoff; at `maxReconnectAttempts` the service is `unreachable`.
   */
  attempts: number;
  /** ISO time of the next connection attempt, when one is scheduled. */
  nextAttemptAt?: string;
  /** ISO time of the last health probe. */
  lastProbeAt?: string;
  /** Latency of the last successful probe, in milliseconds. */
  lastProbeLatencyMs?: number;
  /** ISO time of the last state change. */
  stateChangedAt: string;
  /** ISO time the service was added. */
  addedAt: string;
  /** Name and version the server announced. */
  serverInfo?: { name: string; version: string };
  /** Tools that could not get their natural name. */
  toolNameCollisions: ToolNameCollision[];
  /** Last lines the process wrote to stderr (stdio services), secrets shown as `***`. */
  stderrTail?: string[];
  /** Stdout lines that were not MCP messages and were dropped (stdio services), since the service was added. */
  stdoutDroppedLines?: number;
  /** Process id of the running server, also its process group id (stdio services, while running). */
  pid?: number;
  /**
   * For a stdio service placed on one instance of several (`placement: "owner"`): which instance runs its process
   * (`runsOn`, the holder of its lease: compare with the placement's `instanceId`; `pid` is a process there), and a
   * digest of the tool list it loaded (`tools`), by which the other instances know when to reload theirs.
   */
  placement?: { runsOn?: string; tools?: string };
}

/** A tool in the catalogue. */
export interface ToolInfo {
  /** Name to call it by in this scope: `{service}_{tool}`, sanitised to `^[A-Za-z0-9_-]{1,64}$`. */
  name: string;
  /** The tool's own name on its server. */
  originalName: string;
  /** The service it belongs to (local name in an agent scope). */
  serviceName: string;
  title?: string;
  description?: string;
  /** JSON Schema of the arguments, as the server sent it. */
  inputSchema: Tool["inputSchema"];
  /** JSON Schema of `structuredContent`, when the server declares one. */
  outputSchema?: Tool["outputSchema"];
  annotations?: Tool["annotations"];
}

/** A resource offered by a service. */
export interface ResourceInfo {
  uri: string;
  name: string;
  serviceName: string;
  title?: string;
  description?: string;
  mimeType?: string;
}

/** A prompt offered by a service. */
export interface PromptInfo {
  /** Name to get it by in this scope: `{service}_{prompt}`. */
  name: string;
  originalName: string;
  serviceName: string;
  description?: string;
  arguments?: Array<{ name: string; description?: string; required?: boolean }>;
}

/**
 * Options of `callTool`. A time limit must be a positive number of milliseconds (0, a negative number or NaN is a
 * `ValidationError` naming it, before anything is sent); `Infinity`, or anything above 2^31 − 1 (about 24.8 days),
 * means no limit.
 */
export interface CallToolOptions {
  /**
   * Time limit of the call in milliseconds: one deadline, from when `callTool` is called, for the plugins'
   * `tool:call-start` hooks, the wait for a service that is connecting or restarting, and the request (which gets
   * what is left). Progress notifications reset the request's limit to what was left when it was sent. A call that
   * runs out is a `TimeoutError`. Default: the service's `timeout`, else 60 s.
   */
  timeoutMs?: number;
  /** Hard cap on the call's total time in milliseconds, from when `callTool` is called, whatever progress arrives. Default: 10 × `timeoutMs`. */
  maxTotalTimeoutMs?: number;
  /**
   * Cancels the call (an `AbortedError`); the server is sent `notifications/cancelled`. One signal may serve any number
   * of calls: each call is linked to it only while it runs, so it gains no listener, and aborting it later cancels
   * nothing that already finished.
   */
  signal?: AbortSignal;
  /** Receives the server's progress notifications (a progress token is sent only when this is given). */
  onProgress?: (progress: Progress) => void;
  /** Throw a `ToolExecutionError` when the tool answers with `isError: true`, instead of returning the result. */
  throwOnError?: boolean;
  /**
   * Who calls: `agent` (the REST server's agent tokens) counts against the agent's `maxConcurrentCallsPerAgent`
   * (see `AgentPolicyOptions`); the default, `admin`, is not limited.
   */
  principal?: "admin" | "agent";
}

/** The result of a tool call, as the server sent it. */
export type ToolCallResult = CallToolResult;

/** One service's line in {@link CheckServicesResult}. */
export interface ServiceHealth {
  name: string;
  state: ServiceState;
  healthy: boolean;
  /** Round-trip time of the probe in milliseconds, when it answered. */
  latencyMs?: number;
  error?: string;
}

/** The result of `checkServices()`: `success` is true when every service answered. */
export interface CheckServicesResult {
  success: boolean;
  services: ServiceHealth[];
}

/** Options of `waitService`. */
export interface WaitServiceOptions {
  /** The state (or any of the states) to wait for. Default `"healthy"`. */
  state?: ServiceState | ServiceState[];
  /**
   * How long to wait, in milliseconds: a positive number (else a `ValidationError`); `Infinity`, or anything above
   * 2^31 − 1, waits with no limit. Default 10,000.
   */
  timeoutMs?: number;
  /** Ends the wait with an `AbortedError`. */
  signal?: AbortSignal;
}

/** Options of `addService`. */
export interface AddServiceOptions {
  /**
   * Resolve only once the new services are connected: `true` waits for `healthy`; `{ state, timeoutMs, signal }` as in
   * `waitService`. Each service may take `timeoutMs`, else its config's `timeout` (seconds), else the store's
   * `connectTimeoutMs` (default 30 s). One that does not get there in time, or turns `unreachable`, rejects the call
   * with a `ConnectionError` (`cause`: the `TimeoutError`, or the connection's last error in the message); the
   * service stays added and keeps retrying, and adding it again replaces it. Default: resolve at once (`initializing`).
   */
  wait?: boolean | Pick<WaitServiceOptions, "state" | "timeoutMs" | "signal">;
  /** Who supplies the services' header and env values (default `admin`); see `ChangeServiceOptions.principal`. */
  principal?: "admin" | "agent";
}

/**
 * The per-service outcome of `batchAddServices`, in the order given. A failure carries the error's `code`
 * (`VALIDATION_ERROR` for a bad config, `SERVICE_EXISTS` for a taken name or one repeated in the batch, or the config
 * file's error when the one write of the batch failed) and its message.
 */
export type BatchAddResult = {
  /** True when every service was added. */
  success: boolean;
  results: Array<{ name: string; success: true; service: ServiceInfo } | { name: string; success: false; error: { code: string; message: string; details?: Record<string, unknown> } }>;
};
