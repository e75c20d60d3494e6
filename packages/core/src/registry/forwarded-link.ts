import type { GetPromptResult, ReadResourceResult } from "@modelcontextprotocol/sdk/types.js";
import { DEFAULT_TIMEOUT_MS } from "../connection/call-tool-once.js";
import type { ProbeOutcome } from "../connection/health-monitor.js";
import type { ServiceLink } from "../connection/service-link.js";
import { waitForConnection } from "../connection/wait-for-connection.js";
import type { ServiceRef } from "../events/store-events.js";
import type { ForwardedRequest, ServicePlacement } from "../shared-state.js";
import type { CallToolOptions, ServiceInfo, ServiceState, ToolCallResult } from "../types.js";

/** The lifecycle fields of a service's info that the running instance publishes and a follower shows as its own. */
const LIFECYCLE_KEYS = ["lastError", "nextAttemptAt", "lastProbeAt", "lastProbeLatencyMs", "serverInfo", "stderrTail", "stdoutDroppedLines", "pid"] as const;

/**
 * The link of an instance that does not run a placed stdio service: its state is the running instance's (followed
 * through {@link ServicePlacement.watch}), and its requests are forwarded there. Nothing here writes the read model:
 * the running instance does.
 */
export class ForwardedLink implements ServiceLink {
  readonly transportKind = "stdio" as const;
  private followed: ServiceInfo | undefined;
  private readonly waiting = new Set<() => void>();

  constructor(
    private readonly placement: ServicePlacement,
    private readonly role: string,
    private readonly ref: ServiceRef,
  ) {}

  get state(): ServiceState {
    return this.followed?.state ?? "initializing";
  }

  get lastError(): string | undefined {
    return this.followed?.lastError;
  }

  get attempts(): number {
    return this.followed?.attempts ?? 0;
  }

  /** The running instance's info, as last published. */
  get info(): ServiceInfo | undefined {
    return this.followed;
  }

  /** Takes the running instance's latest info; a call waiting for the first connection goes on once it is settled. */
  follow(info: ServiceInfo): void {
    this.followed = info;
    if (info.state === "initializing") return;
    for (const wake of this.waiting) wake();
    this.waiting.clear();
  }

  start(): void {}

  async close(): Promise<void> {
    for (const wake of this.waiting) wake();
    this.waiting.clear();
  }

  async ready(limits: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<void> {
    if (this.state !== "initializing") return;
    const settled = new Promise<void>((resolve) => this.waiting.add(resolve));
    await waitForConnection(settled, { serviceName: this.ref.serviceName, agentId: this.ref.agentId, ...limits });
  }

  /** What the running instance's last probe found (probing from here would start nothing new). */
  async probe(): Promise<ProbeOutcome> {
    const info = this.followed;
    if (info?.state === "healthy") return { ok: true, ...(info.lastProbeLatencyMs !== undefined ? { latencyMs: info.lastProbeLatencyMs } : {}) };
    return { ok: false, error: info?.lastError ?? `service is ${this.state} on the instance that runs it` };
  }

  callTool(toolName: string, args: Record<string, unknown>, options: CallToolOptions = {}): Promise<ToolCallResult> {
    const request: ForwardedRequest = { kind: "callTool", name: toolName, args, timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS };
    if (options.maxTotalTimeoutMs !== undefined) request.maxTotalTimeoutMs = options.maxTotalTimeoutMs;
    if (options.onProgress) request.progress = true;
    return this.placement.forward(this.role, request, {
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    }) as Promise<ToolCallResult>;
  }

  readResource(uri: string, signal?: AbortSignal): Promise<ReadResourceResult> {
    return this.placement.forward(this.role, { kind: "readResource", uri, timeoutMs: DEFAULT_TIMEOUT_MS }, signal ? { signal } : {}) as Promise<ReadResourceResult>;
  }

  getPrompt(name: string, args: Record<string, string>, signal?: AbortSignal): Promise<GetPromptResult> {
    return this.placement.forward(this.role, { kind: "getPrompt", name, args, timeoutMs: DEFAULT_TIMEOUT_MS }, signal ? { signal } : {}) as Promise<GetPromptResult>;
  }

  /** The running instance scrubbed what it sends. */
  scrub(text: string): string {
    return text;
  }

  lifecycleInfo(): Partial<ServiceInfo> {
    const info: Partial<ServiceInfo> = {};
    const followed = this.followed;
    if (followed === undefined) return info;
    for (const key of LIFECYCLE_KEYS) if (followed[key] !== undefined) Object.assign(info, { [key]: followed[key] });
    return info;
  }
}
