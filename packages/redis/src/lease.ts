import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { ValidationError } from "@mcpstore/core";
import { LuaScript } from "./lua-script.js";
import { deadlineCheck, type RedisConnection } from "./redis-connection.js";
import type { RedisKeys } from "./redis-keys.js";
import { ServerClock } from "./server-clock.js";

/**
 * `SET lease token NX PX ttl`, and on success the next fencing token (`INCR`). KEYS: lease, fence. ARGV: deadline,
 * token, ttl. Returns the fencing token, 0 (held by another) or -1 (too late: not attempted).
 */
const ACQUIRE = new LuaScript(
  `
${deadlineCheck("-1")}
if redis.call('SET', KEYS[1], ARGV[2], 'NX', 'PX', ARGV[3]) then return redis.call('INCR', KEYS[2]) end
return 0
`,
  2,
);

/** Extends the lease if this token still holds it. KEYS: lease. ARGV: token, ttl. Returns 1 or 0. */
const RENEW = new LuaScript(
  `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`,
  1,
);

/** Deletes the lease if this token still holds it. KEYS: lease. ARGV: token. Returns 1 or 0. */
const RELEASE = new LuaScript(
  `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`,
  1,
);

/**
 * Writes (`SET`) or deletes a key only for the newest fencing token of the role: a holder that lost its lease (paused,
 * partitioned) and still believes it holds it is refused as soon as anyone acquired the lease after it.
 * KEYS: fence, target. ARGV: deadline, fence, `set` or `del`, value. Returns 1 (written), 0 (refused) or -1 (too late).
 */
const FENCED_WRITE = new LuaScript(
  `
${deadlineCheck("-1")}
if tonumber(ARGV[2]) ~= tonumber(redis.call('GET', KEYS[1]) or '0') then return 0 end
if ARGV[3] == 'del' then redis.call('DEL', KEYS[2]) else redis.call('SET', KEYS[2], ARGV[4]) end
return 1
`,
  2,
);

/** Options of a {@link Lease}. */
export interface LeaseOptions {
  /** What the lease is for, e.g. `config` or `service/store/weather` (A-Z a-z 0-9 . _ - /). */
  role: string;
  /** How long the lease lasts without a renewal, in milliseconds. Default 8,000. */
  ttlMs?: number;
  /** How often the holder renews it, in milliseconds. Default 2,000 (a quarter of the TTL by default). */
  renewIntervalMs?: number;
  /** How often a campaigning instance tries to acquire it, in milliseconds. Default 1,000. */
  retryIntervalMs?: number;
  /** Who holds it, for operators reading Redis. Default `hostname:pid`. */
  holderId?: string;
}

/** A lease held: its fencing token (`fence`, greater than every earlier holder's) and the token in Redis. */
export interface LeaseGrant {
  readonly role: string;
  /** The fencing token of this acquisition: `INCR` of the role's counter, so strictly increasing. */
  readonly fence: number;
  /** The value of the lease key while this grant holds it. */
  readonly token: string;
}

/** What a {@link Lease} reports. `lease:lost` has why: taken by another holder, expired unrenewed, or fenced out. */
export type LeaseEvent =
  | { type: "lease:acquired"; role: string; fence: number }
  | { type: "lease:lost"; role: string; fence: number; reason: "taken" | "expired" | "fenced-out" }
  | { type: "lease:released"; role: string; fence: number };

/** Options of {@link fencedWrite}. */
export interface FencedWriteOptions {
  role: string;
  /** The writer's fencing token. */
  fence: number;
  /** The key, under the role's fenced keys (`mcpstore:{namespace}:fenced:<role>:<key>`). */
  key: string;
  /** The value to set, or `null` to delete the key. */
  value: string | null;
}

/** A fenced write: true when Redis wrote it, false when `fence` is not the role's newest fencing token. */
export async function fencedWrite(connection: RedisConnection, keys: RedisKeys, options: FencedWriteOptions): Promise<boolean> {
  const target = keys.fenced(options.role, options.key);
  const reply = await connection.runBefore("fencedWrite", (deadline) =>
    connection.script(FENCED_WRITE, [keys.fence(options.role), target], [deadline, options.fence, options.value === null ? "del" : "set", options.value ?? ""]),
  );
  if (reply === -1) throw late(connection, "fencedWrite");
  return reply === 1;
}

/** The error of a write that reached Redis after its deadline, and so was not applied. */
function late(connection: RedisConnection, operation: string): Error {
  return connection.unavailable(operation, new Error("Command timed out"), { onTimeout: "not-applied" });
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new ValidationError({ message: `${name} must be a positive number of milliseconds, got ${String(value)}` });
  return value;
}

/**
 * A lease on one role of a namespace: at most one holder at a time cluster-wide, with a fencing token per
 * acquisition. Acquire is `SET NX PX` (atomic, so never two holders); renew and release compare the token first (Lua),
 * so a holder never extends or deletes a lease someone else acquired. The holder believes it holds the lease until
 * its TTL, counted from the last renewal it sent, runs out; since a paused process can be wrong about that, every write
 * it makes on the lease's behalf goes through {@link Lease.fencedWrite}, which Redis refuses for any but the newest
 * fencing token.
 */
export class Lease {
  /** The role this lease is for. */
  readonly role: string;
  private readonly ttlMs: number;
  private readonly renewIntervalMs: number;
  private readonly retryIntervalMs: number;
  private readonly holderId: string;
  private readonly listeners = new Set<(event: LeaseEvent) => void>();
  private grant: (LeaseGrant & { validUntil: number }) | undefined;
  private campaigning = false;
  private closed = false;
  private renewTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly connection: RedisConnection,
    private readonly keys: RedisKeys,
    options: LeaseOptions,
    private readonly releaseConnection: () => Promise<void> = async () => undefined,
  ) {
    keys.lease(options.role);
    this.role = options.role;
    this.ttlMs = positive("ttlMs", options.ttlMs ?? 8_000);
    this.renewIntervalMs = positive("renewIntervalMs", options.renewIntervalMs ?? Math.min(2_000, this.ttlMs / 4));
    this.retryIntervalMs = positive("retryIntervalMs", options.retryIntervalMs ?? 1_000);
    if (this.renewIntervalMs >= this.ttlMs) throw new ValidationError({ message: "renewIntervalMs must be shorter than ttlMs" });
    this.holderId = options.holderId ?? `${hostname()}:${process.pid}`;
  }

  /** The grant while this holder believes it holds the lease (its TTL has not run out since the last renewal). */
  get held(): LeaseGrant | undefined {
    const grant = this.grant;
    if (grant === undefined || ServerClock.now() >= grant.validUntil) return undefined;
    return { role: grant.role, fence: grant.fence, token: grant.token };
  }

  /** Subscribes to the lease's events; returns the unsubscribe function. */
  subscribe(listener: (event: LeaseEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** One attempt: the grant if this holder got the lease (or held it already), `undefined` if another holds it. */
  async tryAcquire(): Promise<LeaseGrant | undefined> {
    if (this.closed) return undefined;
    if (this.held) return this.held;
    const token = `${this.holderId}:${randomUUID()}`;
    const sentAt = ServerClock.now();
    const reply = await this.connection.runBefore("lease:acquire", (deadline) =>
      this.connection.script(ACQUIRE, [this.keys.lease(this.role), this.keys.fence(this.role)], [deadline, token, this.ttlMs]),
    );
    if (reply === -1) throw late(this.connection, "lease:acquire");
    const fence = Number(reply);
    if (!fence || this.closed) return undefined;
    this.grant = { role: this.role, fence, token, validUntil: this.validFrom(sentAt) };
    this.emit({ type: "lease:acquired", role: this.role, fence });
    this.scheduleRenewal();
    return this.held;
  }

  /** Keeps trying to acquire the lease (every `retryIntervalMs`) whenever this holder does not hold it, until released. */
  start(): void {
    if (this.campaigning || this.closed) return;
    this.campaigning = true;
    this.attempt();
  }

  /**
   * Campaigns (see {@link Lease.start}) until this holder holds the lease. Rejects when `signal` aborts, and then stops
   * the campaign if this call started it.
   */
  async acquire(options: { signal?: AbortSignal } = {}): Promise<LeaseGrant> {
    const started = !this.campaigning;
    this.start();
    const held = this.held;
    if (held) return held;
    return new Promise<LeaseGrant>((resolve, reject) => {
      const onAbort = () => {
        off();
        if (started && this.grant === undefined) {
          this.campaigning = false;
          clearTimeout(this.retryTimer);
        }
        reject(options.signal?.reason ?? new Error("aborted"));
      };
      const off = this.subscribe((event) => {
        const grant = this.held;
        if (event.type !== "lease:acquired" || !grant) return;
        off();
        options.signal?.removeEventListener("abort", onAbort);
        resolve(grant);
      });
      if (options.signal?.aborted) onAbort();
      else options.signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /**
   * Sets (or, with `null`, deletes) the role's fenced `key` with this holder's fencing token. False, and the lease
   * counted as lost, when Redis refused it (someone acquired the lease since); false without a write when this holder
   * does not believe it holds the lease.
   */
  async fencedWrite(key: string, value: string | null): Promise<boolean> {
    const grant = this.grant;
    if (grant === undefined || this.held === undefined) return false;
    const accepted = await fencedWrite(this.connection, this.keys, { role: this.role, fence: grant.fence, key, value });
    if (!accepted) this.lose(grant, "fenced-out");
    return accepted;
  }

  /** Stops campaigning and gives the lease up if this holder holds it (compare-and-delete). */
  async release(): Promise<void> {
    this.campaigning = false;
    clearTimeout(this.retryTimer);
    clearTimeout(this.renewTimer);
    const grant = this.grant;
    if (grant === undefined) return;
    this.grant = undefined;
    try {
      await this.connection.run("lease:release", () => this.connection.script(RELEASE, [this.keys.lease(this.role)], [grant.token]), { onTimeout: "unknown" });
    } finally {
      this.emit({ type: "lease:released", role: this.role, fence: grant.fence });
    }
  }

  /** Releases the lease (best effort: if Redis does not answer, it expires after its TTL) and the connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.release().catch(() => undefined);
    this.closed = true;
    this.listeners.clear();
    await this.releaseConnection();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Until when a grant renewed by a request sent at `sentAt` is believed valid: the TTL less a margin for drift. */
  private validFrom(sentAt: number): number {
    return sentAt + this.ttlMs - Math.min(this.ttlMs * 0.1, 500);
  }

  private attempt(): void {
    if (!this.campaigning || this.closed || this.grant !== undefined) return;
    this.tryAcquire()
      .catch(() => undefined)
      .then((grant) => {
        if (grant === undefined && this.campaigning && !this.closed) {
          this.retryTimer = setTimeout(() => this.attempt(), this.retryIntervalMs);
          this.retryTimer.unref();
        }
      });
  }

  private scheduleRenewal(delayMs = this.renewIntervalMs): void {
    clearTimeout(this.renewTimer);
    this.renewTimer = setTimeout(() => void this.renew(), delayMs);
    this.renewTimer.unref();
  }

  private async renew(): Promise<void> {
    const grant = this.grant;
    if (grant === undefined || this.closed) return;
    const sentAt = ServerClock.now();
    try {
      const renewed = await this.connection.run("lease:renew", () => this.connection.script(RENEW, [this.keys.lease(this.role)], [grant.token, this.ttlMs]), {
        onTimeout: "unknown",
      });
      if (this.grant !== grant) return;
      if (renewed !== 1) return this.lose(grant, "taken");
      grant.validUntil = this.validFrom(sentAt);
    } catch {
      // Redis did not answer: the grant stays believed until its TTL runs out, then it is lost.
      if (this.grant !== grant) return;
      const leftMs = grant.validUntil - ServerClock.now();
      if (leftMs <= 0) return this.lose(grant, "expired");
      // Try again soon enough to report the loss when the TTL runs out.
      return this.scheduleRenewal(Math.min(this.renewIntervalMs, leftMs));
    }
    this.scheduleRenewal();
  }

  private lose(grant: LeaseGrant, reason: "taken" | "expired" | "fenced-out"): void {
    if (this.grant !== grant) return;
    this.grant = undefined;
    clearTimeout(this.renewTimer);
    this.emit({ type: "lease:lost", role: this.role, fence: grant.fence, reason });
    if (this.campaigning && !this.closed) {
      this.retryTimer = setTimeout(() => this.attempt(), this.retryIntervalMs);
      this.retryTimer.unref();
    }
  }

  private emit(event: LeaseEvent): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch {
        // A listener's failure is its own.
      }
    }
  }
}
