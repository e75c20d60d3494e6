/**
 * What an agent (a request made with `principal: "agent"`, as the REST server does for agent tokens) may do beyond
 * the credential rule: where its services may point (egress), how many services it may have, and how many calls it may
 * have in flight. The admin, library code and the config file are not limited. One instance per store.
 */
import type { ServiceConfig } from "../config/service-config.js";
import { clampDelay } from "../connection/clamp-delay.js";
import { egressFetch, type EgressFetch } from "../connection/egress-fetch.js";
import { checkEgress, systemLookup, type EgressLookup, type EgressPolicy } from "../connection/egress-rules.js";
import { AbortedError, QuotaExceededError, ValidationError } from "../errors.js";

/** Options of the agent limits (`setupStore({ agentPolicy })`). */
export interface AgentPolicyOptions {
  /**
   * `host[:port]` globs an agent may point a remote service at although they are loopback, link-local, private or
   * unspecified addresses (`127.0.0.1:8080`, `*.internal.example`, `[::1]:*`). Default: none.
   */
  allowEgress?: string[];
  /** How host names are resolved, for the egress check and for connecting. Default: the system resolver. */
  lookup?: EgressLookup;
  /** Services an agent may have. Default 20. */
  maxServicesPerAgent?: number;
  /**
   * Calls an agent may have in flight; the next one waits for a slot within its own time limit, then fails with a
   * `QuotaExceededError` (HTTP 429 with `Retry-After`). Default 16.
   */
  maxConcurrentCallsPerAgent?: number;
}

function limit(value: number | undefined, fallback: number, path: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) {
    throw new ValidationError({ message: `agentPolicy.${path} must be a positive integer, got ${String(value)}`, details: { issues: [{ path: `agentPolicy.${path}`, message: "must be a positive integer" }] } });
  }
  return value;
}

/** One agent's calls in flight and the calls waiting for a slot, in order. */
interface CallSlots {
  running: number;
  waiting: Array<() => void>;
}

export class AgentPolicy {
  readonly egress: EgressPolicy;
  readonly maxServices: number;
  readonly maxCalls: number;
  /** Services being added per agent, not yet installed: counted so that parallel adds cannot pass the limit together. */
  private readonly reserved = new Map<string, number>();
  private readonly calls = new Map<string, CallSlots>();

  constructor(options: AgentPolicyOptions = {}) {
    if (options.allowEgress !== undefined && (!Array.isArray(options.allowEgress) || options.allowEgress.some((entry) => typeof entry !== "string" || entry.trim() === ""))) {
      throw new ValidationError({ message: "agentPolicy.allowEgress must be a list of host[:port] patterns", details: { issues: [{ path: "agentPolicy.allowEgress", message: "must be a list of non-empty strings" }] } });
    }
    this.egress = { allow: (options.allowEgress ?? []).map((entry) => entry.trim()), lookup: options.lookup ?? systemLookup };
    this.maxServices = limit(options.maxServicesPerAgent, 20, "maxServicesPerAgent");
    this.maxCalls = limit(options.maxConcurrentCallsPerAgent, 16, "maxConcurrentCallsPerAgent");
  }

  /** Refuses (a `ForbiddenError` naming the rule) remote destinations of agent-set configs that the egress rules forbid. */
  async checkDestinations(configs: readonly ServiceConfig[]): Promise<void> {
    for (const config of configs) if (config.url !== undefined) await checkEgress(config.name, config.url, this.egress);
  }

  /** The guarded fetch of a remote service whose destination an agent set. */
  fetchFor(config: ServiceConfig): EgressFetch | undefined {
    return config.url !== undefined ? egressFetch(config.name, config.url, this.egress) : undefined;
  }

  /**
   * Reserves room for `adding` new services of `agentId`, which has `present` now; throws a `QuotaExceededError`
   * when they do not fit. Synchronous, so two adds at once count each other. Call the returned release once the
   * services are installed (or failed).
   */
  reserveServices(agentId: string, present: number, adding: number): () => void {
    const reserved = this.reserved.get(agentId) ?? 0;
    if (adding > 0 && present + reserved + adding > this.maxServices) {
      throw new QuotaExceededError({
        message: `Agent "${agentId}" may have ${this.maxServices} services; it has ${present + reserved} and asked for ${adding} more`,
        agentId,
        details: { quota: "servicesPerAgent", limit: this.maxServices },
      });
    }
    this.reserved.set(agentId, reserved + adding);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.reserved.get(agentId) ?? adding) - adding;
      if (left > 0) this.reserved.set(agentId, left);
      else this.reserved.delete(agentId);
    };
  }

  /**
   * Takes one of `agentId`'s call slots, waiting in order for one within `timeoutMs` (and `signal`); resolves with
   * the release. Throws a `QuotaExceededError` when no slot came free in time.
   */
  async acquireCall(agentId: string, timeoutMs: number, signal?: AbortSignal): Promise<() => void> {
    let slots = this.calls.get(agentId);
    if (!slots) this.calls.set(agentId, (slots = { running: 0, waiting: [] }));
    const held = slots;
    if (held.running < this.maxCalls) held.running++;
    else await this.waitForSlot(agentId, held, timeoutMs, signal);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      // The slot goes to the next caller in line, or back to the pool.
      const next = held.waiting.shift();
      if (next) return next();
      held.running--;
      if (held.running === 0) this.calls.delete(agentId);
    };
  }

  /**
   * Runs an agent's call once it holds a call slot; the wait counts against the call's time limit (`timeoutMs`), so
   * the call gets what is left of it.
   */
  async withCallSlot<T, O extends { timeoutMs?: number; signal?: AbortSignal }>(agentId: string, timeoutMs: number, options: O, call: (options: O) => Promise<T>): Promise<T> {
    const started = performance.now();
    const release = await this.acquireCall(agentId, timeoutMs, options.signal);
    try {
      const left = timeoutMs - (performance.now() - started);
      return await call(left === timeoutMs ? options : { ...options, timeoutMs: Math.max(1, left) });
    } finally {
      release();
    }
  }

  private waitForSlot(agentId: string, slots: CallSlots, timeoutMs: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const granted = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      const leave = (error: unknown) => {
        const index = slots.waiting.indexOf(granted);
        if (index >= 0) slots.waiting.splice(index, 1);
        signal?.removeEventListener("abort", onAbort);
        reject(error);
      };
      const onAbort = () => {
        clearTimeout(timer);
        leave(new AbortedError({ message: `A call of agent "${agentId}" was aborted while it waited for a call slot`, agentId, cause: signal?.reason }));
      };
      const timer = setTimeout(() => {
        leave(
          new QuotaExceededError({
            message: `Agent "${agentId}" has ${this.maxCalls} calls in flight, its limit; the call waited ${Math.round(timeoutMs)} ms for one to end`,
            agentId,
            details: { quota: "concurrentCallsPerAgent", limit: this.maxCalls, retryAfterSeconds: 1 },
          }),
        );
      }, clampDelay(timeoutMs));
      if (signal?.aborted) return onAbort();
      signal?.addEventListener("abort", onAbort, { once: true });
      slots.waiting.push(granted);
    });
  }
}
