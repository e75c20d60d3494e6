import type { GetPromptResult, ReadResourceResult } from "@modelcontextprotocol/sdk/types.js";
import type { CallToolOptions, ServiceInfo, ServiceState, ToolCallResult, TransportKind } from "../types.js";
import type { ProbeOutcome } from "./health-monitor.js";

/**
 * What the registry uses of a service's link to its server: a {@link ServiceConnection} here (this instance runs the
 * process or holds the session), or a link that forwards to the instance that runs it (a placed stdio service,
 * registry/forwarded-link.ts).
 */
export interface ServiceLink {
  readonly state: ServiceState;
  readonly lastError: string | undefined;
  readonly attempts: number;
  readonly transportKind: TransportKind;
  start(): void;
  close(): Promise<void>;
  /** Waits for a first connection under way (within the caller's limits). */
  ready(limits?: { timeoutMs?: number; signal?: AbortSignal }): Promise<void>;
  probe(): Promise<ProbeOutcome>;
  callTool(toolName: string, args: Record<string, unknown>, options?: CallToolOptions): Promise<ToolCallResult>;
  readResource(uri: string, signal?: AbortSignal): Promise<ReadResourceResult>;
  getPrompt(name: string, args: Record<string, string>, signal?: AbortSignal): Promise<GetPromptResult>;
  /** Replaces this service's secrets with `***` in a text meant for users. */
  scrub(text: string): string;
  /** The lifecycle part of the service's info. */
  lifecycleInfo(): Partial<ServiceInfo>;
}
