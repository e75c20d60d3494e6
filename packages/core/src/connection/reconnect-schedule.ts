import type { ResolvedMonitoring } from "../config/monitoring.js";
import type { ServiceState } from "../types.js";
import { fullJitterBackoffMs } from "./backoff.js";
import { clampDelay } from "./clamp-delay.js";

/** Bound of the first reconnection delay; each further attempt doubles it, up to `reconnectionSeconds`. */
export const RECONNECT_BASE_MS = 500;

/**
 * How far retries of an `unreachable` service spread around `reconnectionSeconds`: ±10 %, so that services that lost
 * one server together do not retry in step, while the interval stays the seed's on average.
 */
export const UNREACHABLE_JITTER = 0.1;

/** The delay before the next attempt of an `unreachable` service, in milliseconds. */
export function unreachableRetryMs(monitoring: ResolvedMonitoring, random: () => number = Math.random): number {
  if (monitoring.unreachableRetrySeconds !== undefined) return monitoring.unreachableRetrySeconds * 1000;
  return monitoring.reconnectionSeconds * 1000 * (1 + UNREACHABLE_JITTER * (2 * random() - 1));
}

/** The service a {@link ReconnectSchedule} counts for: it keeps these shown in the service info. */
export interface ReconnectingService {
  /** Failed connection attempts and lost connections since the service was last stable. */
  attempts: number;
  /** When the next connection attempt is due (ms since epoch), while one is scheduled. */
  nextAttemptAt: number | undefined;
}

/** What a {@link ReconnectSchedule} needs from its connection. */
export interface ReconnectScheduleOptions {
  service: ReconnectingService;
  monitoring: ResolvedMonitoring;
  /** Changes the service's state; `failure` also records the reason as its last error. */
  setState(state: ServiceState, reason: string, failure?: boolean): void;
  /** Starts the connection attempt that is due. */
  connect(): void;
  /** Something shown in the service info changed (attempts, next attempt). */
  onInfoChange(): void;
}

/**
 * When one service connects again: after each failed attempt or lost connection, with full-jitter exponential
 * backoff from {@link RECONNECT_BASE_MS} up to `reconnectionSeconds`; `unreachable` after `maxReconnectAttempts` (or a
 * failure that retrying soon will not fix), then tried again every `reconnectionSeconds` ± {@link UNREACHABLE_JITTER}
 * (the seed's "2分钟重连间隔" in the production preset), or every `unreachableRetrySeconds` when that deprecated option
 * is set. The count starts again once a connection has lasted `stableSeconds`.
 */
export class ReconnectSchedule {
  private reconnectTimer: NodeJS.Timeout | undefined;
  private stableTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: ReconnectScheduleOptions) {}

  private get service(): ReconnectingService {
    return this.options.service;
  }

  /** Counts a failed attempt or lost connection and schedules what comes next. */
  afterFailure(reason: string, permanent: boolean): void {
    this.service.attempts += 1;
    const { enableReconnection, maxReconnectAttempts, reconnectionSeconds } = this.options.monitoring;
    if (!enableReconnection) {
      // No automatic retries: the service is retried only when one of its tools is called, or when restarted.
      this.options.setState("unreachable", reason, true);
      return;
    }
    if (permanent || this.service.attempts >= maxReconnectAttempts) {
      this.options.setState("unreachable", reason, true);
      this.scheduleReconnect(unreachableRetryMs(this.options.monitoring));
      return;
    }
    this.options.setState("reconnecting", reason, true);
    this.scheduleReconnect(fullJitterBackoffMs(this.service.attempts, { baseMs: RECONNECT_BASE_MS, capMs: reconnectionSeconds * 1000 }));
  }

  /** Drops the scheduled attempt, if any: one is starting now, or the connection closes for good. */
  cancel(): void {
    clearTimeout(this.reconnectTimer);
    this.service.nextAttemptAt = undefined;
  }

  /** A connection is up: once it has lasted `stableSeconds`, the attempts count from zero again. */
  startStablePeriod(): void {
    if (this.service.attempts > 0) {
      this.stableTimer = setTimeout(() => {
        this.service.attempts = 0;
        this.options.onInfoChange();
      }, clampDelay(this.options.monitoring.stableSeconds * 1000));
      this.stableTimer.unref();
    }
  }

  /** The connection ended (or a new one starts) before it was stable. */
  stopStablePeriod(): void {
    clearTimeout(this.stableTimer);
  }

  private scheduleReconnect(delayMs: number): void {
    clearTimeout(this.reconnectTimer);
    const delay = clampDelay(delayMs);
    this.service.nextAttemptAt = Date.now() + delay;
    this.reconnectTimer = setTimeout(() => this.options.connect(), delay);
    this.reconnectTimer.unref();
    this.options.onInfoChange();
  }
}
