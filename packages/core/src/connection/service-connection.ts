/**
 * connection/: the link to MCP servers: the transports (stdio process groups, Streamable HTTP, SSE), one connection's
 * lifecycle (connect, probes, backoff, reconnect: {@link ServiceConnection} here, and the parts it delegates to beside
 * it) and the lifecycle table (lifecycle.ts). It may import only config/, the root primitives (errors.ts, logger.ts,
 * types.ts, identifiers.ts) and the types of events/; never registry/, catalogue/ or the store.
 */
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import {
  PromptListChangedNotificationSchema,
  ResourceListChangedNotificationSchema,
  ToolListChangedNotificationSchema,
  type CallToolResult,
  type GetPromptResult,
  type ReadResourceResult,
} from "@modelcontextprotocol/sdk/types.js";
import type { ServiceConfig } from "../config/service-config.js";
import type { ServiceUnavailableError } from "../errors.js";
import type { CallToolOptions, ServiceInfo, ServiceState, TransportKind } from "../types.js";
import { CatalogueRefresher } from "./catalogue-refresher.js";
import { closeClient } from "./close-client.js";
import { classifyConnectFailure, lostConnectionReason, unavailableError } from "./error-classification.js";
import { fetchCatalogue } from "./fetch-catalogue.js";
import { HealthMonitor, type ProbeOutcome } from "./health-monitor.js";
import { canTransition } from "./lifecycle.js";
import { openClient } from "./open-client.js";
import { ProbeLimiter } from "./probe-limiter.js";
import { ReconnectSchedule } from "./reconnect-schedule.js";
import { RequestSender } from "./request-sender.js";
import { SecretScrubber } from "./secret-scrubber.js";
import { ServerOutputRecorder } from "./server-output-recorder.js";
import type { ServiceConnectionOptions } from "./service-connection-options.js";
import { StdioTransport } from "./stdio-transport.js";
import { createTransport, transportCandidates } from "./transports.js";
import { waitForConnection } from "./wait-for-connection.js";

// Re-exported so that users of the connection (the registry, tests) import from one place.
export type { FetchedCatalogue } from "./fetch-catalogue.js";
export type { ProbeOutcome } from "./health-monitor.js";
export type { ServiceConnectionOptions } from "./service-connection-options.js";
export { DEGRADED_PROBE_SECONDS } from "./health-monitor.js";
export { LIST_CHANGED_DEBOUNCE_MS } from "./catalogue-refresher.js";
export { RECONNECT_BASE_MS } from "./reconnect-schedule.js";
export { STDERR_LINES } from "./server-output-recorder.js";

/**
 * One service's connection and its lifecycle: connects (trying transports in order) and loads the catalogue; probes
 * (`ping`, else `tools/list`) every `healthCheckSeconds`, counting real calls too; reconnects with full-jitter
 * exponential backoff, turning `unreachable` after `maxReconnectAttempts` and retrying on a long cycle or when called;
 * fails calls fast while there is no connection; refreshes the catalogue on `list_changed`, every `toolsUpdateHours`
 * and after reconnecting; and owns its client and, for stdio, its process group.
 */
export class ServiceConnection {
  state: ServiceState = "initializing";
  /** Why the service last failed; kept after it recovers. Never holds a secret. */
  lastError: string | undefined;
  /**
   * Failed connection attempts and lost connections since the service was last stable (connected for
   * `stableSeconds`); drives the backoff and, at `maxReconnectAttempts`, the `unreachable` state.
   */
  attempts = 0;
  /** When the next connection attempt is due (ms since epoch), while one is scheduled. */
  nextAttemptAt: number | undefined;
  lastProbeAt: number | undefined;
  lastProbeLatencyMs: number | undefined;
  transportKind: TransportKind;
  serverInfo: { name: string; version: string } | undefined;
  /** The last {@link STDERR_LINES} lines of stderr (stdio), across restarts of the process. */
  readonly stderrTail: string[] = [];
  /** Stdout lines (stdio) that were not MCP messages and were dropped, across restarts of the process. */
  stdoutDroppedLines = 0;

  private client: Client | undefined;
  /** The transport of {@link client}, or of the connection being made. */
  private transport: Transport | undefined;
  private connecting: Promise<void> | undefined;
  private recovering: Promise<void> | undefined;
  /** The closing of the previous connection: a new process starts only once the old one is gone. */
  private closingPrevious: Promise<void> | undefined;
  /** Set when the config cannot be used (e.g. a missing variable): the service never connects. */
  private blockedReason: string | undefined;
  private closed = false;
  /** Aborted by {@link close}: ends a connection attempt whose transport never settles once closed (SSE). */
  private readonly closedController = new AbortController();
  private everConnected = false;
  private readonly scrubber: SecretScrubber;
  private readonly health: HealthMonitor;
  private readonly refresher: CatalogueRefresher;
  private readonly reconnect: ReconnectSchedule;
  private readonly output: ServerOutputRecorder;
  private readonly requests: RequestSender;

  constructor(private readonly options: ServiceConnectionOptions) {
    this.transportKind = transportCandidates(options.config)[0]!;
    this.scrubber = new SecretScrubber(options.config);
    // What every part below reads of this connection, and the changes they make to it.
    const connection = {
      service: this,
      monitoring: options.monitoring,
      currentClient: () => this.client,
      isClosed: () => this.closed,
      setState: (state: ServiceState, reason: string, failure?: boolean) => this.setState(state, reason, failure),
      onInfoChange: () => options.onInfoChange(),
    };
    this.health = new HealthMonitor({
      ...connection,
      probeLimiter: options.probeLimiter ?? new ProbeLimiter(1),
      probeKey: options.ref.agentId ?? "",
      loseConnection: (reason) => this.loseConnection(reason),
      recoverSession: (client) => this.recoverSession(client),
    });
    this.refresher = new CatalogueRefresher({
      ...connection,
      load: (client) => this.loadCatalogue(client),
      onError: (error) => options.logger.warn({ service: options.config.name, error: this.describe(error) }, "catalogue refresh failed"),
    });
    this.reconnect = new ReconnectSchedule({ ...connection, connect: () => void this.connect() });
    this.output = new ServerOutputRecorder({ ...connection, logger: options.logger, serviceName: options.config.name, agentId: options.ref.agentId });
    this.requests = new RequestSender({
      config: options.config,
      agentId: options.ref.agentId,
      health: this.health,
      scrubber: this.scrubber,
      state: () => this.state,
      recovering: () => this.recovering,
      usableClient: (toolName) => this.usableClient(toolName),
      recoverSession: (client) => this.recoverSession(client),
    });
  }

  private get config(): ServiceConfig {
    return this.options.config;
  }

  /** The process id of a running stdio server (also its process group id). */
  get pid(): number | undefined {
    return this.transport instanceof StdioTransport ? this.transport.pid : undefined;
  }

  /** The lifecycle part of the service's {@link ServiceInfo}. */
  lifecycleInfo(): Partial<ServiceInfo> {
    const info: Partial<ServiceInfo> = {};
    if (this.lastError !== undefined) info.lastError = this.lastError;
    if (this.nextAttemptAt !== undefined) info.nextAttemptAt = new Date(this.nextAttemptAt).toISOString();
    if (this.lastProbeAt !== undefined) info.lastProbeAt = new Date(this.lastProbeAt).toISOString();
    if (this.lastProbeLatencyMs !== undefined) info.lastProbeLatencyMs = Math.round(this.lastProbeLatencyMs * 1000) / 1000;
    if (this.serverInfo) info.serverInfo = this.serverInfo;
    if (this.transportKind === "stdio") {
      info.stderrTail = [...this.stderrTail];
      info.stdoutDroppedLines = this.stdoutDroppedLines;
      const pid = this.pid;
      if (pid !== undefined) info.pid = pid;
    }
    return info;
  }

  /** Marks the service failed before it starts (its config cannot be used, e.g. a missing variable); never connects. */
  failBeforeStart(reason: string): void {
    this.blockedReason = reason;
    this.attempts = 1;
    this.setState("unreachable", reason, true);
  }

  /** Starts connecting in the background (or, when the config cannot be used, turns `unreachable` saying why). */
  start(): void {
    if (this.options.blockedReason !== undefined) this.failBeforeStart(this.options.blockedReason);
    else void this.connect();
  }

  /** Replaces secrets of this service's config with `***` in a text meant for users. */
  scrub(text: string): string {
    return this.scrubber.scrub(text);
  }

  /** A one-line, secret-free description of an error. */
  describe(error: unknown): string {
    return this.scrubber.describe(error);
  }

  /** Changes the state (emitting the change with its reason); `failure` also records the reason as `lastError`. */
  private setState(state: ServiceState, reason: string, failure = false): void {
    if (failure) this.lastError = reason;
    if (this.state === state) {
      this.options.onInfoChange();
      return;
    }
    const previous = this.state;
    if (!canTransition(previous, state)) {
      this.options.logger.error({ service: this.config.name, agentId: this.options.ref.agentId, previous, state, reason }, `refused state change ${previous} → ${state}`);
      return;
    }
    this.state = state;
    this.options.onStateChange(previous, state, reason);
  }

  // ---- connecting ------------------------------------------------------------------------------------------------

  /** Connects (one attempt at a time, never two processes); resolves when connected or when this attempt failed. */
  connect(): Promise<void> {
    if (this.closed || this.blockedReason !== undefined) return Promise.resolve();
    this.connecting ??= this.connectOnce()
      .catch((error: unknown) => {
        this.options.logger.error({ service: this.config.name, error: this.describe(error) }, "connecting failed unexpectedly");
        this.onConnectFailure(error);
      })
      .finally(() => {
        this.connecting = undefined;
      });
    return this.connecting;
  }

  private buildTransport(kind: TransportKind): Transport {
    const hooks = this.output.hooks();
    if (kind !== "stdio") hooks.onEventStreamEnd = () => this.health.probeSoon();
    if (kind !== "stdio" && this.options.egress) hooks.fetch = this.options.egress.fetch;
    return (this.options.createTransport ?? createTransport)(this.config, kind, hooks);
  }

  private async connectOnce(): Promise<void> {
    this.reconnect.cancel();
    // A server holding a lock or a port must be gone before its successor starts.
    await this.closingPrevious;
    if (this.closed) return;
    const opened = await openClient({
      config: this.config,
      connectTimeoutMs: this.options.connectTimeoutMs,
      buildTransport: (kind) => this.buildTransport(kind),
      onTransport: (transport) => {
        this.transport = transport;
      },
      isClosed: () => this.closed,
      closedSignal: this.closedController.signal,
      onConnected: (client, kind) => {
        this.transportKind = kind;
        this.watch(client);
      },
      ...(!this.everConnected || this.options.monitoring.updateToolsOnReconnection ? { loadCatalogue: (client: Client) => this.loadCatalogue(client) } : {}),
      onFallback: (kind, next, error) =>
        this.options.logger.info(
          { service: this.config.name, agentId: this.options.ref.agentId, transport: kind, fallback: next, reason: this.describe(error) },
          `${kind} failed, falling back to ${next}`,
        ),
    });
    if ("closed" in opened) return;
    if ("failure" in opened) {
      this.onConnectFailure(opened.failure);
      return;
    }
    const reconnected = this.everConnected;
    this.everConnected = true;
    this.client = opened.client;
    this.health.reset();
    this.setState("healthy", reconnected ? "reconnected" : "connected");
    this.afterConnect();
  }

  /** Subscribes to the client's closing, errors and list changes. */
  private watch(client: Client): void {
    const serverVersion = client.getServerVersion();
    if (serverVersion) this.serverInfo = { name: serverVersion.name, version: serverVersion.version };
    client.onclose = () => {
      if (this.client !== client || this.closed) return;
      this.loseConnection(lostConnectionReason(this.transportKind === "stdio" ? this.output.lastRun() : undefined));
    };
    client.onerror = (error) => {
      this.options.logger.debug({ service: this.config.name, error: this.describe(error) }, "transport error");
      if (this.client === client) this.health.probeSoon();
    };
    const refreshSoon = () => this.refresher.refreshSoon(client);
    client.setNotificationHandler(ToolListChangedNotificationSchema, async () => refreshSoon());
    client.setNotificationHandler(ResourceListChangedNotificationSchema, async () => refreshSoon());
    client.setNotificationHandler(PromptListChangedNotificationSchema, async () => refreshSoon());
  }

  /** Starts the periodic work of a fresh connection: probes, catalogue refreshes, and the stable-period timer. */
  private afterConnect(): void {
    this.stopTimers();
    this.health.schedule();
    if (this.options.monitoring.enableToolsUpdate) this.refresher.schedule();
    this.reconnect.startStablePeriod();
  }

  private stopTimers(): void {
    this.health.stop();
    this.refresher.stop();
    this.reconnect.stopStablePeriod();
  }

  private onConnectFailure(error: unknown): void {
    if (this.closed) return;
    // A server that dies while starting says how it exited, and usually why on stderr.
    const run = this.transportKind === "stdio" ? this.output.lastRun() : undefined;
    const failure = classifyConnectFailure(error, { describe: (cause) => this.describe(cause), run });
    this.reconnect.afterFailure(failure.reason, failure.configurationFault);
  }

  /** The connection is gone (closed under us, or dropped after failed probes): reconnect, or give up for now. */
  private loseConnection(reason: string): void {
    const client = this.client;
    this.client = undefined;
    this.stopTimers();
    if (client) {
      const closing = closeClient(client);
      // Only a process can hold what its successor needs; a remote session is closed in the background.
      if (this.transportKind === "stdio") this.closingPrevious = closing;
    }
    this.reconnect.afterFailure(reason, false);
  }

  /** Waits for a first connection that is under way, so that a call right after `add` or `restart` does not fail. */
  async ready(limits: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<void> {
    if (this.state !== "initializing") return;
    const connecting = this.connect();
    if (limits.timeoutMs === undefined && limits.signal === undefined) return connecting;
    // The caller's own limits bound the wait, not the (longer) connect timeout.
    await waitForConnection(connecting, { serviceName: this.config.name, agentId: this.options.ref.agentId, ...limits });
  }

  // ---- health ----------------------------------------------------------------------------------------------------

  /**
   * Probes the server now (`ping`, else `tools/list` for servers without ping), within `probeTimeoutSeconds` and the
   * store's bound on probes at once. A failure degrades the service; a second one in a row, or one that shows the
   * connection is dead, reconnects it.
   */
  probe(): Promise<ProbeOutcome> {
    return this.health.probe();
  }

  // ---- catalogue -------------------------------------------------------------------------------------------------

  /** Fetches tools, resources and prompts and hands them to the store. */
  async refreshCatalogue(): Promise<void> {
    const client = this.client;
    if (!client) throw this.unavailable();
    await this.loadCatalogue(client);
  }

  /** Fetches the catalogue on `client` and hands it to the store. */
  private async loadCatalogue(client: Client): Promise<void> {
    await this.options.onCatalogue(await fetchCatalogue(client, { timeoutMs: this.options.connectTimeoutMs }));
  }

  // ---- calls -----------------------------------------------------------------------------------------------------

  private unavailable(toolName?: string): ServiceUnavailableError {
    const { config, state, lastError, nextAttemptAt } = this;
    return unavailableError({ serviceName: config.name, state, lastError, agentId: this.options.ref.agentId, nextAttemptAt, toolName });
  }

  /** The client to send a request on, or a fast {@link ServiceUnavailableError}. An unreachable service is retried now. */
  private usableClient(toolName?: string): Client {
    if (this.client && (this.state === "healthy" || this.state === "degraded")) return this.client;
    if (this.state === "unreachable" && !this.closed && this.blockedReason === undefined) void this.connect();
    throw this.unavailable(toolName);
  }

  /** Calls a tool by its name on the server. Arguments must already be validated. */
  callTool(toolName: string, args: Record<string, unknown>, options: CallToolOptions = {}): Promise<CallToolResult> {
    return this.requests.callTool(toolName, args, options);
  }

  readResource(uri: string, signal?: AbortSignal): Promise<ReadResourceResult> {
    return this.requests.readResource(uri, signal);
  }

  getPrompt(name: string, args: Record<string, string>, signal?: AbortSignal): Promise<GetPromptResult> {
    return this.requests.getPrompt(name, args, signal);
  }

  /** Replaces a client whose session the server no longer knows with a freshly initialised one (once at a time). */
  private recoverSession(client: Client): Promise<void> {
    this.recovering ??= (async () => {
      if (this.client !== client) return;
      this.client = undefined;
      this.stopTimers();
      void closeClient(client, false);
      this.options.logger.info({ service: this.config.name, agentId: this.options.ref.agentId }, "session not found (404): initialising a new one");
      await this.connect();
    })().finally(() => {
      this.recovering = undefined;
    });
    return this.recovering;
  }

  // ---- closing ---------------------------------------------------------------------------------------------------

  /** Stops timers, closes the connection and (stdio) the process group. The service ends `disconnected`. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.closedController.abort();
    this.reconnect.cancel();
    this.output.stop();
    this.stopTimers();
    const client = this.client;
    this.client = undefined;
    // A connection under way (e.g. a server that never answers `initialize`) is cut short by closing its transport.
    const pending = this.connecting ? this.transport : undefined;
    this.setState("disconnected", "stopped");
    await Promise.all([client ? closeClient(client) : undefined, pending?.close().catch(() => undefined)]);
    await this.options.egress?.close().catch(() => undefined);
    await this.connecting?.catch(() => undefined);
  }
}
