import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js";
import type { ResolvedMonitoring } from "../config/monitoring.js";
import type { ServiceState, TransportKind } from "../types.js";
import { clampDelay } from "./clamp-delay.js";
import { isDeadConnection, isRateLimited, isSessionGone } from "./error-classification.js";
import type { ProbeLimiter } from "./probe-limiter.js";

/** While degraded, probe at least this often, to find out soon whether the server is back or gone. */
export const DEGRADED_PROBE_SECONDS = 5;
/** Consecutive failed probes that make a degraded service reconnect. */
const FAILURES_BEFORE_RECONNECT = 2;

/** The outcome of one health probe. */
export interface ProbeOutcome {
  ok: boolean;
  /** Round-trip time in milliseconds, when it answered. */
  latencyMs?: number;
  error?: string;
}

/** The service a {@link HealthMonitor} watches: what it reads, and where it records the probe times. */
export interface ProbedService {
  readonly state: ServiceState;
  readonly lastError: string | undefined;
  readonly transportKind: TransportKind;
  /** When the last probe ended (ms since epoch). */
  lastProbeAt: number | undefined;
  /** Round-trip time of the last probe that answered, in milliseconds. */
  lastProbeLatencyMs: number | undefined;
  /** A one-line, secret-free description of an error. */
  describe(error: unknown): string;
}

/** What a {@link HealthMonitor} needs from its connection. */
export interface HealthMonitorOptions {
  service: ProbedService;
  monitoring: ResolvedMonitoring;
  /** Bounds the probes running at once, across the store. */
  probeLimiter: ProbeLimiter;
  /** Whose turn a waiting probe takes in the limiter: the service's scope, so that scopes share it fairly. */
  probeKey?: string;
  /** The client of the current connection; `undefined` while there is none. */
  currentClient(): Client | undefined;
  /** True once the connection is closed for good. */
  isClosed(): boolean;
  /** Changes the service's state; `failure` also records the reason as its last error. */
  setState(state: ServiceState, reason: string, failure?: boolean): void;
  /** The connection is gone: drop it, then reconnect or give up for now. */
  loseConnection(reason: string): void;
  /** The server forgot the session of `client` (it restarted): initialise a new one. */
  recoverSession(client: Client): Promise<void>;
  /** Something shown in the service info changed (the probe time). */
  onInfoChange(): void;
}

/**
 * The health of one service's connection: probes it (`ping`, else `tools/list`) every `healthCheckSeconds`, sooner
 * while degraded or when a remote transport fails quietly, and counts real calls as probes too. A failure degrades
 * the service; a second one in a row, or one that shows the connection is dead, makes it reconnect.
 */
export class HealthMonitor {
  /** Consecutive failed probes (and failed calls) of the current connection. */
  private failures = 0;
  private pingUnsupported = false;
  private probeInFlight: Promise<ProbeOutcome> | undefined;
  /** When a transport error last triggered a probe. */
  private errorProbeAt = 0;
  private probeTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: HealthMonitorOptions) {}

  private get service(): ProbedService {
    return this.options.service;
  }

  /** A fresh connection starts with no failures. */
  reset(): void {
    this.failures = 0;
  }

  /** Cancels the next scheduled probe (one under way runs to its end). */
  stop(): void {
    clearTimeout(this.probeTimer);
  }

  /** Schedules the next probe: every `healthCheckSeconds`, or sooner while degraded. */
  schedule(delayMs?: number): void {
    clearTimeout(this.probeTimer);
    if (!this.options.currentClient() || this.options.isClosed()) return;
    const { healthCheckSeconds } = this.options.monitoring;
    const seconds = this.service.state === "degraded" ? Math.min(healthCheckSeconds, DEGRADED_PROBE_SECONDS) : healthCheckSeconds;
    this.probeTimer = setTimeout(() => void this.probe(), clampDelay(delayMs ?? seconds * 1000));
    this.probeTimer.unref();
  }

  /**
   * A remote transport fails quietly (an event stream ended or broke, a request was refused) and leaves calls waiting
   * for answers that will not come: probe now, at most once a second, to find out whether the server is still there.
   */
  probeSoon(): void {
    if (!this.options.currentClient() || this.service.transportKind === "stdio" || Date.now() - this.errorProbeAt < 1000) return;
    this.errorProbeAt = Date.now();
    this.schedule(0);
  }

  /**
   * Probes the server now (`ping`, else `tools/list` for servers without ping), within `probeTimeoutSeconds` and the
   * store's bound on probes at once. A failure degrades the service; a second one in a row, or one that shows the
   * connection is dead, reconnects it.
   */
  probe(): Promise<ProbeOutcome> {
    const client = this.options.currentClient();
    if (!client) return Promise.resolve({ ok: false, error: this.service.lastError ?? `service is ${this.service.state}` });
    // One probe at a time per service: whoever asks meanwhile gets the outcome of the one under way.
    this.probeInFlight ??= this.runProbe(client).finally(() => {
      this.probeInFlight = undefined;
      if (this.options.currentClient() === client) this.schedule();
    });
    return this.probeInFlight;
  }

  private async runProbe(client: Client): Promise<ProbeOutcome> {
    clearTimeout(this.probeTimer);
    try {
      const latencyMs = await this.options.probeLimiter.run(() => this.probeOnce(client), this.options.probeKey);
      this.service.lastProbeAt = Date.now();
      this.service.lastProbeLatencyMs = latencyMs;
      if (this.options.currentClient() === client) this.recordSuccess("probe answered");
      else this.options.onInfoChange();
      return { ok: true, latencyMs };
    } catch (error) {
      this.service.lastProbeAt = Date.now();
      if (isRateLimited(error)) {
        if (this.options.currentClient() === client) this.recordSuccess("probe answered (rate limited)");
        return { ok: true };
      }
      const reason = `probe failed: ${this.service.describe(error)}`;
      if (isSessionGone(error)) {
        // The server is there but restarted: a new session, at once and without backoff, is all it takes.
        await this.options.recoverSession(client);
        return { ok: false, error: reason };
      }
      this.recordFailure(client, reason, isDeadConnection(error));
      return { ok: false, error: reason };
    }
  }

  private async probeOnce(client: Client): Promise<number> {
    const started = performance.now();
    const timeout = this.options.monitoring.probeTimeoutSeconds * 1000;
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

  /** A call succeeded: after failures, or while degraded, that counts as a probe that answered. */
  recordCallSuccess(): void {
    if (this.failures !== 0 || this.service.state === "degraded") this.recordSuccess("a call succeeded");
  }

  /** Real calls count as probes: a timed-out call degrades the service; one that shows the connection dead drops it. */
  recordCallFailure(client: Client, error: unknown, signal: AbortSignal | undefined): void {
    if (signal?.aborted || this.options.currentClient() !== client || isRateLimited(error) || isSessionGone(error)) return;
    if (error instanceof McpError) {
      if (error.code === ErrorCode.RequestTimeout && this.service.state === "healthy") {
        this.options.setState("degraded", `a call timed out: ${this.service.describe(error)}`, true);
        this.schedule();
      }
      // ConnectionClosed is handled by onclose; other codes are answers from a live server.
      return;
    }
    this.recordFailure(client, `a call failed: ${this.service.describe(error)}`, isDeadConnection(error));
  }

  /** The server answered (a probe or a call): a degraded service is healthy again. */
  private recordSuccess(reason: string): void {
    this.failures = 0;
    if (this.service.state === "degraded") {
      this.options.setState("healthy", reason);
      this.schedule();
    } else {
      this.options.onInfoChange();
    }
  }

  /** A probe or call failed on `client`: degrade, or reconnect when it is the second failure or the connection is dead. */
  private recordFailure(client: Client, reason: string, dead: boolean): void {
    if (this.options.currentClient() !== client || this.options.isClosed()) return;
    this.failures += 1;
    if (dead || this.failures >= FAILURES_BEFORE_RECONNECT) {
      this.options.loseConnection(reason);
      return;
    }
    this.options.setState("degraded", reason, true);
    this.schedule();
  }
}
