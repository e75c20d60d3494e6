import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { CallToolResult, GetPromptResult, ReadResourceResult } from "@modelcontextprotocol/sdk/types.js";
import type { ServiceConfig } from "../config/service-config.js";
import type { MCPStoreError } from "../errors.js";
import type { CallToolOptions, ServiceState } from "../types.js";
import { callToolOnce } from "./call-tool-once.js";
import { isSessionGone, toCallError, toRequestError } from "./error-classification.js";
import type { HealthMonitor } from "./health-monitor.js";
import type { SecretScrubber } from "./secret-scrubber.js";

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

  /** Calls a tool by its name on the server. Arguments must already be validated. */
  async callTool(toolName: string, args: Record<string, unknown>, options: CallToolOptions = {}): Promise<CallToolResult> {
    const recovering = this.options.recovering();
    if (recovering) await recovering;
    const client = this.options.usableClient(toolName);
    try {
      return await this.callOnce(client, toolName, args, options);
    } catch (error) {
      if (!isSessionGone(error) || options.signal?.aborted) throw this.toCallError(error, toolName, options.signal);
      // The server restarted and forgot our session: initialise a new one, then send the call once more.
      await this.options.recoverSession(client);
      try {
        return await this.callOnce(this.options.usableClient(toolName), toolName, args, options);
      } catch (retryError) {
        throw this.toCallError(retryError, toolName, options.signal);
      }
    }
  }

  /** Reads a resource by its URI. */
  async readResource(uri: string, signal?: AbortSignal): Promise<ReadResourceResult> {
    const recovering = this.options.recovering();
    if (recovering) await recovering;
    const client = this.options.usableClient();
    try {
      return await client.readResource({ uri }, signal ? { signal } : {});
    } catch (error) {
      this.options.health.recordCallFailure(client, error, signal);
      throw this.toRequestError(error, `reading ${uri}`);
    }
  }

  /** Gets a prompt by its name, filled in with `args`. */
  async getPrompt(name: string, args: Record<string, string>, signal?: AbortSignal): Promise<GetPromptResult> {
    const recovering = this.options.recovering();
    if (recovering) await recovering;
    const client = this.options.usableClient();
    try {
      return await client.getPrompt({ name, arguments: args }, signal ? { signal } : {});
    } catch (error) {
      this.options.health.recordCallFailure(client, error, signal);
      throw this.toRequestError(error, `getting prompt ${name}`);
    }
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
