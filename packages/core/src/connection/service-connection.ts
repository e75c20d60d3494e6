import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport, StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import {
  ErrorCode,
  McpError,
  PromptListChangedNotificationSchema,
  ResourceListChangedNotificationSchema,
  ToolListChangedNotificationSchema,
  type CallToolResult,
  type GetPromptResult,
  type Prompt,
  type ReadResourceResult,
  type Resource,
  type Tool,
} from "@modelcontextprotocol/sdk/types.js";
import { fullJitterBackoffMs, MAX_TIMER_DELAY_MS } from "./backoff.js";
import { AbortedError, ConnectionError, MCPStoreError, ServiceUnavailableError, TimeoutError, ToolExecutionError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { ResolvedMonitoring } from "../config/monitoring.js";
import { ProbeLimiter } from "./probe-limiter.js";
import type { ServiceConfig } from "../config/service-config.js";
import { StdioTransport } from "./stdio-transport.js";
import type { ServiceRef } from "../events/store-events.js";
import { createTransport, transportCandidates, type TransportHooks } from "./transports.js";
import { canTransition } from "./lifecycle.js";
import type { CallToolOptions, ServiceInfo, ServiceState, TransportKind } from "../types.js";

const CLIENT_INFO = { name: "mcpstore", version: "0.1.0" };
const DEFAULT_TIMEOUT_MS = 60_000;
/** Bound of the first reconnection delay; each further attempt doubles it, up to `reconnectionSeconds`. */
export const RECONNECT_BASE_MS = 500;
/** Lines of stderr kept per service. */
export const STDERR_LINES = 20;
/** Notifications of a changed list within this window cause one catalogue refresh. */
export const LIST_CHANGED_DEBOUNCE_MS = 100;
/** While degraded, probe at least this often, to find out soon whether the server is back or gone. */
export const DEGRADED_PROBE_SECONDS = 5;
/** Consecutive failed probes that make a degraded service reconnect. */
const FAILURES_BEFORE_RECONNECT = 2;
/** Stderr lines and dropped stdout lines update the cached service info at most this often. */
const INFO_THROTTLE_MS = 200;
/** How long closing an HTTP session may take before the client is dropped anyway. */
const TERMINATE_SESSION_MS = 1000;

/** Everything a service fetched from its server in one catalogue refresh. */
export interface FetchedCatalogue {
  tools: Tool[];
  resources: Resource[];
  prompts: Prompt[];
}

/** The outcome of one health probe. */
export interface ProbeOutcome {
  ok: boolean;
  /** Round-trip time in milliseconds, when it answered. */
  latencyMs?: number;
  error?: string;
}

/** What a {@link ServiceConnection} needs from the store. */
export interface ServiceConnectionOptions {
  config: ServiceConfig;
  ref: ServiceRef;
  monitoring: ResolvedMonitoring;
  logger: Logger;
  /** Time limit of connecting and initialising, in milliseconds. */
  connectTimeoutMs: number;
  onStateChange(previous: ServiceState, state: ServiceState, reason: string | undefined): void;
  /** Stores a freshly fetched catalogue; the state turns healthy only after this resolves. */
  onCatalogue(catalogue: FetchedCatalogue): Promise<void>;
  /** Something shown in the service info changed (probe time, stderr, ...). */
  onInfoChange(): void;
  /** Bounds the probes running at once; shared by every service of a store. Default: one of this service's own. */
  probeLimiter?: ProbeLimiter;
  /** Why the config cannot be used (e.g. a missing variable): the service then never connects and shows why. */
  blockedReason?: string;
  /** @internal Builds transports (tests pass in-memory ones). Default {@link createTransport}. */
  createTransport?: (config: ServiceConfig, kind: TransportKind, hooks: TransportHooks) => Transport;
}

/** Headers whose values are protocol plumbing, not credentials: shown in messages as they are. */
const PLAIN_HEADERS = new Set(["user-agent", "accept", "accept-language", "accept-encoding", "content-type", "cache-control", "connection", "keep-alive"]);
const SENSITIVE_ENV_NAME = /KEY|TOKEN|SECRET|PASS|AUTH|CREDENTIAL|PRIVATE|SESSION|COOKIE|DSN|_URL$|^URL$/i;

/**
 * The values to hide in messages and stderr lines: every header value but plain protocol ones, env values whose name
 * looks sensitive or that are long enough to be a key, and the token part of `Bearer xyz`-style values.
 */
function secretValues(config: ServiceConfig): string[] {
  const values: string[] = [];
  for (const [name, value] of Object.entries(config.headers ?? {})) if (!PLAIN_HEADERS.has(name.toLowerCase())) values.push(value);
  for (const [name, value] of Object.entries(config.env ?? {})) if (SENSITIVE_ENV_NAME.test(name) || value.length >= 16) values.push(value);
  return [...new Set(values.flatMap((value) => [value, ...value.split(/\s+/).filter((part) => part.length >= 8)]))]
    .filter((value) => value.length >= 4)
    .sort((a, b) => b.length - a.length);
}

const isSpawnFailure = (error: unknown) =>
  error instanceof Error && ["ENOENT", "EACCES", "ENOTDIR"].includes((error as NodeJS.ErrnoException).code ?? "");

/** The HTTP status a transport error carries, if any (Streamable HTTP errors have `code`; SSE ones say `HTTP nnn`). */
function httpStatusOf(error: unknown): number | undefined {
  if (error instanceof StreamableHTTPError && typeof error.code === "number" && error.code >= 100) return error.code;
  const match = error instanceof Error ? /\bHTTP (\d{3})\b/.exec(error.message) : null;
  return match ? Number(match[1]) : undefined;
}

/** The server answered, but the session this client had is gone (it restarted): re-initialising fixes it. */
const isSessionGone = (error: unknown) => httpStatusOf(error) === 404;

/** The server is alive but asks to slow down: not a health failure. */
const isRateLimited = (error: unknown) => httpStatusOf(error) === 429;

/**
 * The error says nothing answers at the other end (closed, refused, reset, session gone): reconnect at once rather
 * than wait for a second failed probe.
 */
function isDeadConnection(error: unknown): boolean {
  if (error instanceof McpError) return error.code === ErrorCode.ConnectionClosed;
  if (isSessionGone(error)) return true;
  if (!(error instanceof Error)) return false;
  if (error.message === "Not connected" || error.message === "fetch failed") return true;
  const code = (error as NodeJS.ErrnoException).code ?? ((error.cause as NodeJS.ErrnoException | undefined)?.code ?? "");
  return ["ECONNREFUSED", "ECONNRESET", "EPIPE", "ENOTFOUND", "EHOSTUNREACH", "UND_ERR_SOCKET"].includes(code);
}

const clampDelay = (ms: number) => Math.min(Math.max(0, ms), MAX_TIMER_DELAY_MS);

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
  private everConnected = false;
  private pingUnsupported = false;
  /** Consecutive failed probes (and failed calls) of the current connection. */
  private failures = 0;
  private probeInFlight: Promise<ProbeOutcome> | undefined;
  /** When a transport error last triggered a probe. */
  private errorProbeAt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  private listChangedTimer: NodeJS.Timeout | undefined;
  private stableTimer: NodeJS.Timeout | undefined;
  private infoTimer: NodeJS.Timeout | undefined;
  private readonly secrets: string[];
  private readonly probeLimiter: ProbeLimiter;

  constructor(private readonly options: ServiceConnectionOptions) {
    this.transportKind = transportCandidates(options.config)[0]!;
    this.secrets = secretValues(options.config);
    this.probeLimiter = options.probeLimiter ?? new ProbeLimiter(1);
  }

  private get config(): ServiceConfig {
    return this.options.config;
  }

  private get monitoring(): ResolvedMonitoring {
    return this.options.monitoring;
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
    let result = text;
    for (const secret of this.secrets) result = result.split(secret).join("***");
    return result;
  }

  /** A one-line, secret-free description of an error. */
  describe(error: unknown): string {
    if (error === undefined) return "unknown error";
    let message = error instanceof Error ? error.message : String(error);
    const status = httpStatusOf(error);
    if (status !== undefined && !message.includes(String(status))) message = `HTTP ${status}: ${message}`;
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : undefined;
    return this.scrub(cause && !message.includes(cause) ? `${message} (${cause})` : message);
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
    const hooks: TransportHooks = {
      onStderrLine: (line) => {
        this.stderrTail.push(this.scrub(line.slice(0, 500)));
        if (this.stderrTail.length > STDERR_LINES) this.stderrTail.shift();
        this.infoChangedSoon();
      },
      onDroppedLine: (sample) => {
        this.stdoutDroppedLines++;
        this.infoChangedSoon();
        if (this.stdoutDroppedLines === 1 || this.stdoutDroppedLines % 1000 === 0) {
          this.options.logger.debug(
            { service: this.config.name, agentId: this.options.ref.agentId, dropped: this.stdoutDroppedLines, sample: this.scrub(sample) },
            "dropped stdout lines that are not MCP messages",
          );
        }
      },
    };
    if (kind !== "stdio") hooks.onEventStreamEnd = () => this.probeSoon();
    return (this.options.createTransport ?? createTransport)(this.config, kind, hooks);
  }

  /** Reports an info change within {@link INFO_THROTTLE_MS}, once for any number of changes (a stderr flood). */
  private infoChangedSoon(): void {
    if (this.infoTimer || this.closed) return;
    this.infoTimer = setTimeout(() => {
      this.infoTimer = undefined;
      if (!this.closed) this.options.onInfoChange();
    }, INFO_THROTTLE_MS);
    this.infoTimer.unref();
  }

  private async connectOnce(): Promise<void> {
    clearTimeout(this.reconnectTimer);
    this.nextAttemptAt = undefined;
    // A server holding a lock or a port must be gone before its successor starts.
    await this.closingPrevious;
    if (this.closed) return;
    const candidates = transportCandidates(this.config);
    let lastFailure: unknown;
    for (const [index, kind] of candidates.entries()) {
      const client = new Client(CLIENT_INFO, { capabilities: {} });
      let transport: Transport;
      try {
        transport = this.buildTransport(kind);
      } catch (error) {
        lastFailure = error;
        break;
      }
      this.transport = transport;
      try {
        await client.connect(transport, { timeout: this.options.connectTimeoutMs });
      } catch (error) {
        lastFailure = error;
        await this.closeClient(client);
        if (this.closed) return;
        const next = candidates[index + 1];
        if (next) {
          this.options.logger.info(
            { service: this.config.name, agentId: this.options.ref.agentId, transport: kind, fallback: next, reason: this.describe(error) },
            `${kind} failed, falling back to ${next}`,
          );
        }
        continue;
      }
      if (this.closed) {
        await this.closeClient(client);
        return;
      }
      this.transportKind = kind;
      this.watch(client);
      if (!this.everConnected || this.monitoring.updateToolsOnReconnection) {
        try {
          await this.fetchCatalogue(client);
        } catch (error) {
          lastFailure = error;
          await this.closeClient(client);
          if (this.closed) return;
          break;
        }
        if (this.closed) {
          await this.closeClient(client);
          return;
        }
      }
      const reconnected = this.everConnected;
      this.everConnected = true;
      this.client = client;
      this.failures = 0;
      this.setState("healthy", reconnected ? "reconnected" : "connected");
      this.afterConnect();
      return;
    }
    this.onConnectFailure(lastFailure);
  }

  /** Subscribes to the client's closing, errors and list changes. */
  private watch(client: Client): void {
    const serverVersion = client.getServerVersion();
    if (serverVersion) this.serverInfo = { name: serverVersion.name, version: serverVersion.version };
    client.onclose = () => {
      if (this.client !== client || this.closed) return;
      const lastLine = this.stderrTail.at(-1);
      this.loseConnection(`connection closed${lastLine ? ` (last stderr: ${lastLine})` : ""}`);
    };
    client.onerror = (error) => {
      this.options.logger.debug({ service: this.config.name, error: this.describe(error) }, "transport error");
      if (this.client === client) this.probeSoon();
    };
    const refreshSoon = () => {
      clearTimeout(this.listChangedTimer);
      this.listChangedTimer = setTimeout(() => {
        if (this.client !== client) return;
        this.fetchCatalogue(client).catch((error: unknown) =>
          this.options.logger.warn({ service: this.config.name, error: this.describe(error) }, "catalogue refresh failed"),
        );
      }, LIST_CHANGED_DEBOUNCE_MS);
      this.listChangedTimer.unref();
    };
    client.setNotificationHandler(ToolListChangedNotificationSchema, async () => refreshSoon());
    client.setNotificationHandler(ResourceListChangedNotificationSchema, async () => refreshSoon());
    client.setNotificationHandler(PromptListChangedNotificationSchema, async () => refreshSoon());
  }

  /**
   * A remote transport fails quietly (an event stream ended or broke, a request was refused) and leaves calls waiting
   * for answers that will not come: probe now, at most once a second, to find out whether the server is still there.
   */
  private probeSoon(): void {
    if (!this.client || this.transportKind === "stdio" || Date.now() - this.errorProbeAt < 1000) return;
    this.errorProbeAt = Date.now();
    this.scheduleProbe(0);
  }

  /** Starts the periodic work of a fresh connection: probes, catalogue refreshes, and the stable-period timer. */
  private afterConnect(): void {
    this.stopTimers();
    this.scheduleProbe();
    if (this.monitoring.enableToolsUpdate) this.scheduleRefresh();
    if (this.attempts > 0) {
      this.stableTimer = setTimeout(() => {
        this.attempts = 0;
        this.options.onInfoChange();
      }, clampDelay(this.monitoring.stableSeconds * 1000));
      this.stableTimer.unref();
    }
  }

  private scheduleRefresh(): void {
    clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => {
      const client = this.client;
      if (!client) return;
      this.fetchCatalogue(client)
        .catch((error: unknown) => this.options.logger.warn({ service: this.config.name, error: this.describe(error) }, "catalogue refresh failed"))
        .finally(() => {
          if (this.client === client) this.scheduleRefresh();
        });
    }, clampDelay(this.monitoring.toolsUpdateHours * 3_600_000));
    this.refreshTimer.unref();
  }

  private stopTimers(): void {
    clearTimeout(this.probeTimer);
    clearTimeout(this.refreshTimer);
    clearTimeout(this.listChangedTimer);
    clearTimeout(this.stableTimer);
  }

  private onConnectFailure(error: unknown): void {
    if (this.closed) return;
    const spawnFailure = isSpawnFailure(error);
    // A server that dies while starting usually says why on stderr.
    const lastLine = this.transportKind === "stdio" && !spawnFailure ? this.stderrTail.at(-1) : undefined;
    this.afterFailure(`${this.describe(error)}${lastLine ? ` (last stderr: ${lastLine})` : ""}`, spawnFailure);
  }

  /** The connection is gone (closed under us, or dropped after failed probes): reconnect, or give up for now. */
  private loseConnection(reason: string): void {
    const client = this.client;
    this.client = undefined;
    this.stopTimers();
    if (client) {
      const closing = this.closeClient(client);
      // Only a process can hold what its successor needs; a remote session is closed in the background.
      if (this.transportKind === "stdio") this.closingPrevious = closing;
    }
    this.afterFailure(reason, false);
  }

  /** Counts a failed attempt or lost connection and schedules what comes next. */
  private afterFailure(reason: string, permanent: boolean): void {
    this.attempts += 1;
    const { enableReconnection, maxReconnectAttempts, unreachableRetrySeconds } = this.monitoring;
    if (!enableReconnection) {
      // No automatic retries: the service is retried only when one of its tools is called, or when restarted.
      this.setState("unreachable", reason, true);
      return;
    }
    if (permanent || this.attempts >= maxReconnectAttempts) {
      this.setState("unreachable", reason, true);
      this.scheduleReconnect(unreachableRetrySeconds * 1000);
      return;
    }
    this.setState("reconnecting", reason, true);
    this.scheduleReconnect(fullJitterBackoffMs(this.attempts, { baseMs: RECONNECT_BASE_MS, capMs: this.monitoring.reconnectionSeconds * 1000 }));
  }

  private scheduleReconnect(delayMs: number): void {
    clearTimeout(this.reconnectTimer);
    const delay = clampDelay(delayMs);
    this.nextAttemptAt = Date.now() + delay;
    this.reconnectTimer = setTimeout(() => void this.connect(), delay);
    this.reconnectTimer.unref();
    this.options.onInfoChange();
  }

  /** Waits for a first connection that is under way, so that a call right after `add` or `restart` does not fail. */
  async ready(limits: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<void> {
    if (this.state !== "initializing") return;
    const connecting = this.connect();
    const { timeoutMs, signal } = limits;
    if (timeoutMs === undefined && signal === undefined) return connecting;
    // The caller's own limits bound the wait, not the (longer) connect timeout.
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const context = { serviceName: this.config.name, ...(this.options.ref.agentId ? { agentId: this.options.ref.agentId } : {}) };
    try {
      await Promise.race([
        connecting,
        new Promise<never>((_resolve, reject) => {
          if (timeoutMs !== undefined) {
            timer = setTimeout(
              () => reject(new TimeoutError({ ...context, message: `Service "${this.config.name}" is still connecting after ${timeoutMs} ms` })),
              timeoutMs,
            );
          }
          if (signal) {
            onAbort = () => reject(new AbortedError({ ...context, message: `Waiting for "${this.config.name}" to connect was aborted` }));
            if (signal.aborted) onAbort();
            else signal.addEventListener("abort", onAbort, { once: true });
          }
        }),
      ]);
    } finally {
      clearTimeout(timer);
      if (onAbort) signal?.removeEventListener("abort", onAbort);
    }
  }

  // ---- health ----------------------------------------------------------------------------------------------------

  /** Schedules the next probe: every `healthCheckSeconds`, or sooner while degraded. */
  private scheduleProbe(delayMs?: number): void {
    clearTimeout(this.probeTimer);
    if (!this.client || this.closed) return;
    const seconds = this.state === "degraded" ? Math.min(this.monitoring.healthCheckSeconds, DEGRADED_PROBE_SECONDS) : this.monitoring.healthCheckSeconds;
    this.probeTimer = setTimeout(() => void this.probe(), clampDelay(delayMs ?? seconds * 1000));
    this.probeTimer.unref();
  }

  /**
   * Probes the server now (`ping`, else `tools/list` for servers without ping), within `probeTimeoutSeconds` and the
   * store's bound on probes at once. A failure degrades the service; a second one in a row, or one that shows the
   * connection is dead, reconnects it.
   */
  probe(): Promise<ProbeOutcome> {
    const client = this.client;
    if (!client) return Promise.resolve({ ok: false, error: this.lastError ?? `service is ${this.state}` });
    // One probe at a time per service: whoever asks meanwhile gets the outcome of the one under way.
    this.probeInFlight ??= this.runProbe(client).finally(() => {
      this.probeInFlight = undefined;
      if (this.client === client) this.scheduleProbe();
    });
    return this.probeInFlight;
  }

  private async runProbe(client: Client): Promise<ProbeOutcome> {
    clearTimeout(this.probeTimer);
    try {
      const latencyMs = await this.probeLimiter.run(() => this.probeOnce(client));
      this.lastProbeAt = Date.now();
      this.lastProbeLatencyMs = latencyMs;
      if (this.client === client) this.recordSuccess("probe answered");
      else this.options.onInfoChange();
      return { ok: true, latencyMs };
    } catch (error) {
      this.lastProbeAt = Date.now();
      if (isRateLimited(error)) {
        if (this.client === client) this.recordSuccess("probe answered (rate limited)");
        return { ok: true };
      }
      const reason = `probe failed: ${this.describe(error)}`;
      if (isSessionGone(error)) {
        // The server is there but restarted: a new session, at once and without backoff, is all it takes.
        await this.recoverSession(client);
        return { ok: false, error: reason };
      }
      this.recordFailure(client, reason, isDeadConnection(error));
      return { ok: false, error: reason };
    }
  }

  private async probeOnce(client: Client): Promise<number> {
    const started = performance.now();
    const timeout = this.monitoring.probeTimeoutSeconds * 1000;
    if (!this.pingUnsupported) {
      try {
        await client.ping({ timeout });
        return performance.now() - started;
      } catch (error) {
        if (!(error instanceof McpError && error.code === ErrorCode.MethodNotFound)) throw error;
        this.pingUnsupported = true;
      }
    }
    await client.listTools({}, { timeout });
    return performance.now() - started;
  }

  /** The server answered (a probe or a call): a degraded service is healthy again. */
  private recordSuccess(reason: string): void {
    this.failures = 0;
    if (this.state === "degraded") {
      this.setState("healthy", reason);
      this.scheduleProbe();
    } else {
      this.options.onInfoChange();
    }
  }

  /** A probe or call failed on `client`: degrade, or reconnect when it is the second failure or the connection is dead. */
  private recordFailure(client: Client, reason: string, dead: boolean): void {
    if (this.client !== client || this.closed) return;
    this.failures += 1;
    if (dead || this.failures >= FAILURES_BEFORE_RECONNECT) {
      this.loseConnection(reason);
      return;
    }
    this.setState("degraded", reason, true);
    this.scheduleProbe();
  }

  // ---- catalogue -------------------------------------------------------------------------------------------------

  /** Fetches tools, resources and prompts and hands them to the store. */
  async refreshCatalogue(): Promise<void> {
    const client = this.client;
    if (!client) throw this.unavailable();
    await this.fetchCatalogue(client);
  }

  private async fetchCatalogue(client: Client): Promise<void> {
    const capabilities = client.getServerCapabilities() ?? {};
    const requestOptions = { timeout: this.options.connectTimeoutMs };
    const tools: Tool[] = [];
    if (capabilities.tools) {
      let cursor: string | undefined;
      do {
        const page = await client.listTools(cursor ? { cursor } : {}, requestOptions);
        tools.push(...page.tools);
        cursor = page.nextCursor;
      } while (cursor);
    }
    const resources: Resource[] = [];
    if (capabilities.resources) {
      let cursor: string | undefined;
      do {
        const page = await client.listResources(cursor ? { cursor } : {}, requestOptions);
        resources.push(...page.resources);
        cursor = page.nextCursor;
      } while (cursor);
    }
    const prompts: Prompt[] = [];
    if (capabilities.prompts) {
      let cursor: string | undefined;
      do {
        const page = await client.listPrompts(cursor ? { cursor } : {}, requestOptions);
        prompts.push(...page.prompts);
        cursor = page.nextCursor;
      } while (cursor);
    }
    await this.options.onCatalogue({ tools, resources, prompts });
  }

  // ---- calls -----------------------------------------------------------------------------------------------------

  private unavailable(toolName?: string): ServiceUnavailableError {
    return new ServiceUnavailableError({
      message: `Service "${this.config.name}" is ${this.state}${this.lastError ? `: ${this.lastError}` : ""}`,
      serviceName: this.config.name,
      ...(toolName ? { toolName } : {}),
      ...(this.options.ref.agentId ? { agentId: this.options.ref.agentId } : {}),
      details: { state: this.state, ...(this.nextAttemptAt !== undefined ? { nextAttemptAt: new Date(this.nextAttemptAt).toISOString() } : {}) },
    });
  }

  /** The client to send a request on, or a fast {@link ServiceUnavailableError}. An unreachable service is retried now. */
  private usableClient(toolName?: string): Client {
    if (this.client && (this.state === "healthy" || this.state === "degraded")) return this.client;
    if (this.state === "unreachable" && !this.closed && this.blockedReason === undefined) void this.connect();
    throw this.unavailable(toolName);
  }

  /** Calls a tool by its name on the server. Arguments must already be validated. */
  async callTool(toolName: string, args: Record<string, unknown>, options: CallToolOptions = {}): Promise<CallToolResult> {
    if (this.recovering) await this.recovering;
    const client = this.usableClient(toolName);
    try {
      return await this.callOnce(client, toolName, args, options);
    } catch (error) {
      if (!isSessionGone(error) || options.signal?.aborted) throw this.toCallError(error, toolName, options.signal);
      // The server restarted and forgot our session: initialise a new one, then send the call once more.
      await this.recoverSession(client);
      try {
        return await this.callOnce(this.usableClient(toolName), toolName, args, options);
      } catch (retryError) {
        throw this.toCallError(retryError, toolName, options.signal);
      }
    }
  }

  private async callOnce(client: Client, toolName: string, args: Record<string, unknown>, options: CallToolOptions): Promise<CallToolResult> {
    const timeout = Math.min(
      options.timeoutMs ?? (this.config.timeout ? this.config.timeout * 1000 : DEFAULT_TIMEOUT_MS),
      options.maxTotalTimeoutMs ?? Number.POSITIVE_INFINITY,
    );
    // The SDK checks its total limit only when progress arrives; a timer of our own makes it a hard wall-clock cap.
    // Without onProgress the per-call timeout is never reset, so no cap timer is needed.
    let capTimer: NodeJS.Timeout | undefined;
    let signal = options.signal;
    let onAbort: (() => void) | undefined;
    if (options.onProgress) {
      const capMs = options.maxTotalTimeoutMs ?? timeout * 10;
      const controller = new AbortController();
      onAbort = () => controller.abort(options.signal?.reason);
      if (options.signal?.aborted) onAbort();
      options.signal?.addEventListener("abort", onAbort, { once: true });
      capTimer = setTimeout(
        () => controller.abort(new McpError(ErrorCode.RequestTimeout, `Maximum total timeout exceeded (${capMs} ms)`, { maxTotalTimeout: capMs })),
        capMs,
      );
      signal = controller.signal;
    }
    try {
      const result = (await client.callTool({ name: toolName, arguments: args }, undefined, {
        timeout,
        ...(signal ? { signal } : {}),
        ...(options.onProgress ? { onprogress: options.onProgress, resetTimeoutOnProgress: true } : {}),
      })) as CallToolResult;
      if (this.failures !== 0 || this.state === "degraded") this.recordSuccess("a call succeeded");
      return result;
    } catch (error) {
      this.recordCallFailure(client, error, options.signal);
      throw error;
    } finally {
      clearTimeout(capTimer);
      if (onAbort) options.signal?.removeEventListener("abort", onAbort);
    }
  }

  /** Real calls count as probes: a timed-out call degrades the service; one that shows the connection dead drops it. */
  private recordCallFailure(client: Client, error: unknown, signal: AbortSignal | undefined): void {
    if (signal?.aborted || this.client !== client || isRateLimited(error) || isSessionGone(error)) return;
    if (error instanceof McpError) {
      if (error.code === ErrorCode.RequestTimeout && this.state === "healthy") {
        this.setState("degraded", `a call timed out: ${this.describe(error)}`, true);
        this.scheduleProbe();
      }
      // ConnectionClosed is handled by onclose; other codes are answers from a live server.
      return;
    }
    this.recordFailure(client, `a call failed: ${this.describe(error)}`, isDeadConnection(error));
  }

  /** Replaces a client whose session the server no longer knows with a freshly initialised one (once at a time). */
  private recoverSession(client: Client): Promise<void> {
    this.recovering ??= (async () => {
      if (this.client !== client) return;
      this.client = undefined;
      this.stopTimers();
      void this.closeClient(client, false);
      this.options.logger.info({ service: this.config.name, agentId: this.options.ref.agentId }, "session not found (404): initialising a new one");
      await this.connect();
    })().finally(() => {
      this.recovering = undefined;
    });
    return this.recovering;
  }

  private toCallError(error: unknown, toolName: string, signal: AbortSignal | undefined): MCPStoreError {
    if (MCPStoreError.isInstance(error)) return error;
    const context = {
      serviceName: this.config.name,
      toolName,
      ...(this.options.ref.agentId ? { agentId: this.options.ref.agentId } : {}),
      cause: error,
    };
    const message = this.describe(error);
    if (signal?.aborted) return new AbortedError({ ...context, message: `Call to ${toolName} on "${this.config.name}" was aborted` });
    if (error instanceof McpError && error.code === ErrorCode.RequestTimeout) {
      return new TimeoutError({ ...context, message: `Call to ${toolName} on "${this.config.name}" timed out: ${message}` });
    }
    if (error instanceof McpError && error.code === ErrorCode.ConnectionClosed) {
      return new ServiceUnavailableError({
        ...context,
        message: `Service "${this.config.name}" closed the connection during ${toolName}`,
        details: { state: this.state },
      });
    }
    if (error instanceof McpError) {
      return new ToolExecutionError({ ...context, message: `Tool ${toolName} on "${this.config.name}" failed: ${message}`, details: { mcpCode: error.code } });
    }
    const status = httpStatusOf(error);
    return new ConnectionError({
      ...context,
      message: `Call to ${toolName} on "${this.config.name}" failed: ${message}`,
      ...(status !== undefined ? { details: { httpStatus: status } } : {}),
    });
  }

  async readResource(uri: string, signal?: AbortSignal): Promise<ReadResourceResult> {
    if (this.recovering) await this.recovering;
    const client = this.usableClient();
    try {
      return await client.readResource({ uri }, signal ? { signal } : {});
    } catch (error) {
      this.recordCallFailure(client, error, signal);
      throw this.toRequestError(error, `reading ${uri}`);
    }
  }

  async getPrompt(name: string, args: Record<string, string>, signal?: AbortSignal): Promise<GetPromptResult> {
    if (this.recovering) await this.recovering;
    const client = this.usableClient();
    try {
      return await client.getPrompt({ name, arguments: args }, signal ? { signal } : {});
    } catch (error) {
      this.recordCallFailure(client, error, signal);
      throw this.toRequestError(error, `getting prompt ${name}`);
    }
  }

  private toRequestError(error: unknown, what: string): MCPStoreError {
    const message = `${what} on "${this.config.name}" failed: ${this.describe(error)}`;
    const context = { serviceName: this.config.name, cause: error, message };
    return error instanceof McpError && error.code !== ErrorCode.ConnectionClosed ? new ToolExecutionError(context) : new ConnectionError(context);
  }

  // ---- closing ---------------------------------------------------------------------------------------------------

  /** Stops timers, closes the connection and (stdio) the process group. The service ends `disconnected`. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.infoTimer);
    this.stopTimers();
    this.nextAttemptAt = undefined;
    const client = this.client;
    this.client = undefined;
    // A connection under way (e.g. a server that never answers `initialize`) is cut short by closing its transport.
    const pending = this.connecting ? this.transport : undefined;
    this.setState("disconnected", "stopped");
    await Promise.all([client ? this.closeClient(client) : undefined, pending?.close().catch(() => undefined)]);
    await this.connecting?.catch(() => undefined);
  }

  private async closeClient(client: Client, terminateSession = true): Promise<void> {
    const transport = client.transport;
    if (terminateSession && transport instanceof StreamableHTTPClientTransport && transport.sessionId) {
      // Without this a client whose server vanished may keep the process alive after close(); a server that does not
      // answer must not hold the close up.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        transport.terminateSession().catch(() => undefined),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, TERMINATE_SESSION_MS);
        }),
      ]);
      clearTimeout(timer);
    }
    await client.close().catch(() => undefined);
  }
}
