import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { RequestOptions } from "@modelcontextprotocol/sdk/shared/protocol.js";
import { ErrorCode, McpError, type CallToolResult, type GetPromptResult, type ReadResourceResult } from "@modelcontextprotocol/sdk/types.js";
import type { ServiceConfig } from "../config/service-config.js";
import { AbortedError, TimeoutError, type MCPStoreError } from "../errors.js";
import type { CallToolOptions, ServiceState } from "../types.js";
import { MAX_TIMER_DELAY_MS } from "./backoff.js";
import { callToolOnce, DEFAULT_TIMEOUT_MS } from "./call-tool-once.js";
import { clampDelay } from "./clamp-delay.js";
import { isSessionGone, toCallError, toRequestError } from "./error-classification.js";
import type { HealthMonitor } from "./health-monitor.js";
import type { SecretScrubber } from "./secret-scrubber.js";
import { waitForConnection } from "./wait-for-connection.js";

/** What a {@link RequestSender} needs from its connection. */
export interface RequestSenderOptions {
  config: ServiceConfig;
  /** The agent scope of the service; `undefined` (or empty) for the store scope. */
  agentId: string | undefined;
  /** Counts each request's outcome as a probe. */
  health: HealthMonitor;
  /** Keeps secrets out of the error messages. */
  scrubber: SecretScrubber;
  /** The service's state now. */
  state(): ServiceState;
  /** The session recovery under way, if any: a request waits for it before it starts. */
  recovering(): Promise<void> | undefined;
  /** The client to send a request on, or throws a fast `ServiceUnavailableError`. */
  usableClient(toolName?: string): Client;
  /** The server forgot the session of `client` (it restarted): initialise a new one. */
  recoverSession(client: Client): Promise<void>;
}

/**
 * Sends one service's requests (tool calls, resource reads, prompts) and rejects with typed errors. A tool call whose
 * session the server forgot is sent once more on a new session; every failure counts as a probe.
 */
export class RequestSender {
  constructor(private readonly options: RequestSenderOptions) {}

  /**
   * Calls a tool by its name on the server. Arguments must already be validated. A session recovery the call waits
   * for takes its time out of `timeoutMs` (and `maxTotalTimeoutMs`): the request gets what is left.
   */
  async callTool(toolName: string, args: Record<string, unknown>, options: CallToolOptions = {}): Promise<CallToolResult> {
    const started = performance.now();
    const recovering = this.options.recovering();
    const sent = recovering ? await this.waitWithin(recovering, options, started) : options;
    const client = this.options.usableClient(toolName);
    try {
      return await this.callOnce(client, toolName, args, sent);
    } catch (error) {
      if (!isSessionGone(error) || options.signal?.aborted) throw this.toCallError(error, toolName, options.signal);
      // The server restarted and forgot our session: initialise a new one, then send the call once more.
      const retry = await this.waitWithin(this.options.recoverSession(client), options, started);
      try {
        return await this.callOnce(this.options.usableClient(toolName), toolName, args, retry);
      } catch (retryError) {
        throw this.toCallError(retryError, toolName, options.signal);
      }
    }
  }

  /**
   * Reads a resource by its URI. `signal` ends the request with an `AbortedError`, or with its reason when that is a
   * `TimeoutError`: the registry gives every request a signal that aborts so at its deadline, and with a signal that
   * is the request's only limit. Without one, the service's `timeout` (default 60 s) bounds it.
   */
  readResource(uri: string, signal?: AbortSignal): Promise<ReadResourceResult> {
    return this.request(`reading ${uri}`, signal, (client, options) => client.readResource({ uri }, options));
  }

  /** Gets a prompt by its name, filled in with `args`; `signal` as for {@link readResource}. */
  getPrompt(name: string, args: Record<string, string>, signal?: AbortSignal): Promise<GetPromptResult> {
    return this.request(`getting prompt ${name}`, signal, (client, options) => client.getPrompt({ name, arguments: args }, options));
  }

  /** Sends a request other than a tool call (`what` names it in errors) within `signal`, else the service's timeout. */
  private async request<Result>(what: string, signal: AbortSignal | undefined, send: (client: Client, options: RequestOptions) => Promise<Result>): Promise<Result> {
    const { config, agentId } = this.options;
    const recovering = this.options.recovering();
    if (recovering) await waitForConnection(recovering, { serviceName: config.name, agentId, ...(signal ? { signal } : {}) });
    const client = this.options.usableClient();
    const serviceTimeoutMs = config.timeout !== undefined ? clampDelay(config.timeout * 1000) : DEFAULT_TIMEOUT_MS;
    try {
      return await send(client, signal ? { signal, timeout: MAX_TIMER_DELAY_MS } : { timeout: serviceTimeoutMs });
    } catch (error) {
      const reason: unknown = signal?.aborted ? signal.reason : undefined;
      if (TimeoutError.isInstance(reason)) {
        // The deadline passed: the SDK cancelled the request with a RequestTimeout, which counts as a call that timed out.
        if (error instanceof McpError) this.options.health.recordCallFailure(client, error, undefined);
        throw reason;
      }
      this.options.health.recordCallFailure(client, error, signal);
      const context = { serviceName: config.name, ...(agentId ? { agentId } : {}), cause: error };
      if (signal?.aborted) throw new AbortedError({ ...context, message: `${what} on "${config.name}" was aborted` });
      if (error instanceof McpError && error.code === ErrorCode.RequestTimeout) {
        throw new TimeoutError({ ...context, message: `${what} on "${config.name}" timed out: ${this.options.scrubber.describe(error)}` });
      }
      throw this.toRequestError(error, what);
    }
  }

  /** Waits for `pending` (a session being recovered) within what is left of the call's time; returns what is left then. */
  private async waitWithin(pending: Promise<void>, options: CallToolOptions, started: number): Promise<CallToolOptions> {
    const { timeoutMs, maxTotalTimeoutMs, signal } = options;
    const { config, agentId } = this.options;
    const left = (limit: number) => limit - (performance.now() - started);
    await waitForConnection(pending, { serviceName: config.name, agentId, ...(timeoutMs !== undefined ? { timeoutMs: left(timeoutMs) } : {}), ...(signal ? { signal } : {}) });
    if (timeoutMs === undefined && maxTotalTimeoutMs === undefined) return options;
    return {
      ...options,
      ...(timeoutMs !== undefined ? { timeoutMs: left(timeoutMs) } : {}),
      ...(maxTotalTimeoutMs !== undefined ? { maxTotalTimeoutMs: left(maxTotalTimeoutMs) } : {}),
    };
  }

  private async callOnce(client: Client, toolName: string, args: Record<string, unknown>, options: CallToolOptions): Promise<CallToolResult> {
    try {
      const result = await callToolOnce(client, { toolName, args, options, serviceTimeoutSeconds: this.options.config.timeout });
      this.options.health.recordCallSuccess();
      return result;
    } catch (error) {
      this.options.health.recordCallFailure(client, error, options.signal);
      throw error;
    }
  }

  private toCallError(error: unknown, toolName: string, signal: AbortSignal | undefined): MCPStoreError {
    const { config, agentId, scrubber } = this.options;
    return toCallError(error, { serviceName: config.name, toolName, agentId, state: this.options.state(), signal, describe: (cause) => scrubber.describe(cause) });
  }

  private toRequestError(error: unknown, what: string): MCPStoreError {
    const { config, scrubber } = this.options;
    return toRequestError(error, what, { serviceName: config.name, describe: (cause) => scrubber.describe(cause) });
  }
}
