import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
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
import { AbortedError, ConnectionError, MCPStoreError, ServiceUnavailableError, TimeoutError, ToolExecutionError } from "./errors.js";
import type { Logger } from "./logger.js";
import type { ResolvedMonitoring } from "./monitoring.js";
import type { ServiceConfig } from "./service-config.js";
import type { ServiceRef } from "./store-events.js";
import { createTransport, transportCandidates } from "./transports.js";
import type { CallToolOptions, ServiceState, TransportKind } from "./types.js";

const CLIENT_INFO = { name: "mcpstore", version: "0.1.0" };
const DEFAULT_TIMEOUT_MS = 60_000;
const RECONNECT_BASE_MS = 500;
const STDERR_LINES = 20;
const LIST_CHANGED_DEBOUNCE_MS = 50;

/** Everything a service fetched from its server in one catalogue refresh. */
export interface FetchedCatalogue {
  tools: Tool[];
  resources: Resource[];
  prompts: Prompt[];
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

/**
 * One service's connection: connects (trying transports in order), loads the catalogue, keeps the state, probes,
 * reconnects with backoff, and calls tools. Owns its client and, for stdio, its process.
 */
export class ServiceConnection {
  state: ServiceState = "initializing";
  lastError: string | undefined;
  attempts = 0;
  nextAttemptAt: number | undefined;
  lastProbeAt: number | undefined;
  lastProbeLatencyMs: number | undefined;
  transportKind: TransportKind;
  serverInfo: { name: string; version: string } | undefined;
  readonly stderrTail: string[] = [];

  private client: Client | undefined;
  private connecting: Promise<void> | undefined;
  private closed = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  private listChangedTimer: NodeJS.Timeout | undefined;
  private readonly secrets: string[];

  constructor(private readonly options: ServiceConnectionOptions) {
    this.transportKind = transportCandidates(options.config)[0]!;
    this.secrets = secretValues(options.config);
  }

  private get config(): ServiceConfig {
    return this.options.config;
  }

  /** Starts connecting in the background. */
  start(): void {
    void this.connect();
  }

  /** Replaces secrets of this service's config with `***` in a text meant for users. */
  scrub(text: string): string {
    let result = text;
    for (const secret of this.secrets) result = result.split(secret).join("***");
    return result;
  }

  private setState(state: ServiceState, reason?: string): void {
    if (reason !== undefined) this.lastError = reason;
    if (this.state === state) {
      this.options.onInfoChange();
      return;
    }
    const previous = this.state;
    this.state = state;
    this.options.onStateChange(previous, state, reason);
  }

  /** Connects (once at a time); resolves when connected or when this attempt has failed. */
  connect(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.connecting ??= this.connectOnce().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async connectOnce(): Promise<void> {
    clearTimeout(this.reconnectTimer);
    this.nextAttemptAt = undefined;
    const candidates = transportCandidates(this.config);
    let lastFailure: unknown;
    for (const [index, kind] of candidates.entries()) {
      const client = new Client(CLIENT_INFO, { capabilities: {} });
      const transport = createTransport(this.config, kind);
      if (kind === "stdio") this.captureStderr(transport as StdioClientTransport);
      try {
        await client.connect(transport, { timeout: this.options.connectTimeoutMs });
      } catch (error) {
        lastFailure = error;
        await client.close().catch(() => undefined);
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
        await this.closeClient(client, transport);
        return;
      }
      this.transportKind = kind;
      this.attach(client);
      try {
        await this.refreshCatalogue();
      } catch (error) {
        lastFailure = error;
        await this.closeClient(client, transport);
        break;
      }
      this.attempts = 0;
      this.lastError = undefined;
      this.setState("healthy");
      this.schedulePeriodicWork();
      return;
    }
    this.onConnectFailure(lastFailure);
  }

  private attach(client: Client): void {
    this.client = client;
    const serverVersion = client.getServerVersion();
    if (serverVersion) this.serverInfo = { name: serverVersion.name, version: serverVersion.version };
    client.onclose = () => this.onConnectionLost(client);
    client.onerror = (error) => this.options.logger.debug({ service: this.config.name, error: this.scrub(error.message) }, "transport error");
    const refreshSoon = () => {
      clearTimeout(this.listChangedTimer);
      this.listChangedTimer = setTimeout(() => {
        this.refreshCatalogue().catch((error: unknown) =>
          this.options.logger.warn({ service: this.config.name, error: this.describe(error) }, "catalogue refresh failed"),
        );
      }, LIST_CHANGED_DEBOUNCE_MS);
      this.listChangedTimer.unref();
    };
    client.setNotificationHandler(ToolListChangedNotificationSchema, async () => refreshSoon());
    client.setNotificationHandler(ResourceListChangedNotificationSchema, async () => refreshSoon());
    client.setNotificationHandler(PromptListChangedNotificationSchema, async () => refreshSoon());
  }

  private captureStderr(transport: StdioClientTransport): void {
    let partial = "";
    transport.stderr?.on("data", (chunk: Buffer) => {
      const lines = (partial + chunk.toString("utf8")).split("\n");
      partial = (lines.pop() ?? "").slice(-2000);
      for (const line of lines) {
        if (!line.trim()) continue;
        this.stderrTail.push(this.scrub(line.slice(0, 500)));
        if (this.stderrTail.length > STDERR_LINES) this.stderrTail.shift();
      }
    });
  }

  private onConnectFailure(error: unknown): void {
    if (this.closed) return;
    const reason = this.describe(error);
    this.attempts += 1;
    if (isSpawnFailure(error) || !this.options.monitoring.enableReconnection) {
      this.setState("unreachable", reason);
      this.scheduleReconnect(this.options.monitoring.unreachableRetrySeconds * 1000);
      return;
    }
    if (this.attempts >= this.options.monitoring.maxReconnectAttempts) {
      this.setState("unreachable", reason);
      this.scheduleReconnect(this.options.monitoring.unreachableRetrySeconds * 1000);
      return;
    }
    this.setState("reconnecting", reason);
    const capMs = this.options.monitoring.reconnectionSeconds * 1000;
    // Full jitter: a random delay up to the exponential bound, so that many services do not retry in step.
    this.scheduleReconnect(Math.random() * Math.min(capMs, RECONNECT_BASE_MS * 2 ** (this.attempts - 1)));
  }

  private scheduleReconnect(delayMs: number): void {
    clearTimeout(this.reconnectTimer);
    this.nextAttemptAt = Date.now() + delayMs;
    this.reconnectTimer = setTimeout(() => void this.connect(), delayMs);
    this.reconnectTimer.unref();
    this.options.onInfoChange();
  }

  private onConnectionLost(client: Client): void {
    if (this.closed || this.client !== client) return;
    this.client = undefined;
    this.stopPeriodicWork();
    const lastLine = this.stderrTail.at(-1);
    const reason = `connection closed${lastLine ? ` (last stderr: ${lastLine})` : ""}`;
    if (!this.options.monitoring.enableReconnection) {
      this.setState("unreachable", reason);
      return;
    }
    this.setState("reconnecting", reason);
    this.scheduleReconnect(Math.random() * RECONNECT_BASE_MS);
  }

  private schedulePeriodicWork(): void {
    this.stopPeriodicWork();
    const { healthCheckSeconds, enableToolsUpdate, toolsUpdateHours } = this.options.monitoring;
    this.probeTimer = setInterval(() => void this.probe(), healthCheckSeconds * 1000);
    this.probeTimer.unref();
    if (enableToolsUpdate) {
      this.refreshTimer = setInterval(() => void this.refreshCatalogue().catch(() => undefined), toolsUpdateHours * 3_600_000);
      this.refreshTimer.unref();
    }
  }

  private stopPeriodicWork(): void {
    clearInterval(this.probeTimer);
    clearInterval(this.refreshTimer);
    clearTimeout(this.listChangedTimer);
  }

  /** Fetches tools, resources and prompts and hands them to the store. */
  async refreshCatalogue(): Promise<void> {
    const client = this.client;
    if (!client) throw new ServiceUnavailableError({ message: `Service "${this.config.name}" is not connected`, serviceName: this.config.name });
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

  /** Probes the server (`ping`, else `tools/list`); a failure degrades the service, a second one reconnects it. */
  async probe(): Promise<{ ok: boolean; latencyMs?: number; error?: string }> {
    const client = this.client;
    if (!client) return { ok: false, error: this.lastError ?? `service is ${this.state}` };
    const started = performance.now();
    const timeout = this.options.monitoring.probeTimeoutSeconds * 1000;
    try {
      try {
        await client.ping({ timeout });
      } catch (error) {
        if (!(error instanceof McpError && error.code === ErrorCode.MethodNotFound)) throw error;
        await client.listTools({}, { timeout });
      }
      const latencyMs = performance.now() - started;
      this.lastProbeAt = Date.now();
      this.lastProbeLatencyMs = latencyMs;
      if (this.state === "degraded") this.setState("healthy");
      else this.options.onInfoChange();
      return { ok: true, latencyMs };
    } catch (error) {
      const reason = this.describe(error);
      this.lastProbeAt = Date.now();
      if (this.client !== client) return { ok: false, error: reason };
      if (this.state === "degraded") {
        // Second failure in a row: drop the connection and reconnect.
        this.client = undefined;
        this.stopPeriodicWork();
        this.setState("reconnecting", reason);
        void client.close().catch(() => undefined);
        this.scheduleReconnect(Math.random() * RECONNECT_BASE_MS);
      } else {
        this.setState("degraded", reason);
      }
      return { ok: false, error: reason };
    }
  }

  /** Waits for a first connection that is under way, so that a call right after `add` or `restart` does not fail. */
  async ready(): Promise<void> {
    if (this.state === "initializing") await this.connect();
  }

  private usableClient(toolName?: string): Client {
    if (this.client && (this.state === "healthy" || this.state === "degraded")) return this.client;
    if (this.state === "unreachable" && !this.closed) void this.connect();
    throw new ServiceUnavailableError({
      message: `Service "${this.config.name}" is ${this.state}${this.lastError ? `: ${this.lastError}` : ""}`,
      serviceName: this.config.name,
      ...(toolName ? { toolName } : {}),
      ...(this.options.ref.agentId ? { agentId: this.options.ref.agentId } : {}),
      details: { state: this.state },
    });
  }

  /** Calls a tool by its name on the server. Arguments must already be validated. */
  async callTool(toolName: string, args: Record<string, unknown>, options: CallToolOptions = {}): Promise<CallToolResult> {
    const client = this.usableClient(toolName);
    const timeout = options.timeoutMs ?? (this.config.timeout ? this.config.timeout * 1000 : DEFAULT_TIMEOUT_MS);
    try {
      const result = (await client.callTool({ name: toolName, arguments: args }, undefined, {
        timeout,
        maxTotalTimeout: options.maxTotalTimeoutMs ?? timeout * 10,
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.onProgress ? { onprogress: options.onProgress, resetTimeoutOnProgress: true } : {}),
      })) as CallToolResult;
      if (this.state === "degraded") this.setState("healthy");
      return result;
    } catch (error) {
      throw this.toCallError(error, toolName, options.signal);
    }
  }

  private toCallError(error: unknown, toolName: string, signal: AbortSignal | undefined): MCPStoreError {
    const context = {
      serviceName: this.config.name,
      toolName,
      ...(this.options.ref.agentId ? { agentId: this.options.ref.agentId } : {}),
      cause: error,
    };
    const message = this.describe(error);
    if (signal?.aborted) return new AbortedError({ ...context, message: `Call to ${toolName} on "${this.config.name}" was aborted` });
    if (error instanceof McpError && error.code === ErrorCode.RequestTimeout) {
      if (this.state === "healthy") this.setState("degraded", message);
      return new TimeoutError({ ...context, message: `Call to ${toolName} on "${this.config.name}" timed out: ${message}` });
    }
    if (error instanceof McpError && error.code === ErrorCode.ConnectionClosed) {
      return new ServiceUnavailableError({ ...context, message: `Service "${this.config.name}" closed the connection during ${toolName}` });
    }
    if (error instanceof McpError) {
      return new ToolExecutionError({ ...context, message: `Tool ${toolName} on "${this.config.name}" failed: ${message}`, details: { mcpCode: error.code } });
    }
    return new ConnectionError({ ...context, message: `Call to ${toolName} on "${this.config.name}" failed: ${message}` });
  }

  async readResource(uri: string, signal?: AbortSignal): Promise<ReadResourceResult> {
    const client = this.usableClient();
    try {
      return await client.readResource({ uri }, signal ? { signal } : {});
    } catch (error) {
      throw this.toRequestError(error, `reading ${uri}`);
    }
  }

  async getPrompt(name: string, args: Record<string, string>, signal?: AbortSignal): Promise<GetPromptResult> {
    const client = this.usableClient();
    try {
      return await client.getPrompt({ name, arguments: args }, signal ? { signal } : {});
    } catch (error) {
      throw this.toRequestError(error, `getting prompt ${name}`);
    }
  }

  private toRequestError(error: unknown, what: string): MCPStoreError {
    const message = `${what} on "${this.config.name}" failed: ${this.describe(error)}`;
    const context = { serviceName: this.config.name, cause: error, message };
    return error instanceof McpError && error.code !== ErrorCode.ConnectionClosed ? new ToolExecutionError(context) : new ConnectionError(context);
  }

  /** A one-line, secret-free description of an error. */
  describe(error: unknown): string {
    if (error === undefined) return "unknown error";
    const message = error instanceof Error ? error.message : String(error);
    return this.scrub(message);
  }

  /** Stops timers, closes the connection and (stdio) the process. The service ends `disconnected`. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    this.stopPeriodicWork();
    this.nextAttemptAt = undefined;
    const client = this.client;
    this.client = undefined;
    this.setState("disconnected");
    await this.connecting?.catch(() => undefined);
    if (client) await this.closeClient(client, client.transport);
  }

  private async closeClient(client: Client, transport: Transport | undefined): Promise<void> {
    if (transport instanceof StreamableHTTPClientTransport) {
      // Without this a client whose server vanished may keep the process alive after close().
      await transport.terminateSession().catch(() => undefined);
    }
    await client.close().catch(() => undefined);
  }
}
