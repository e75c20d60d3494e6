import { TimeoutError, ValidationError } from "@mcpstore/core";
import { Redis, type RedisOptions } from "ioredis";
import type { LuaScript } from "./lua-script.js";
import { CircuitBreaker } from "./circuit-breaker.js";
import { ServerClock } from "./server-clock.js";
import { SharedStateUnavailableError } from "./shared-state-unavailable-error.js";

/** An existing ioredis connection (its options are copied, the connection itself is left alone) or ioredis options. */
export type RedisInput = Redis | RedisOptions;

/** Options of {@link RedisConnection}. */
export interface RedisConnectionOptions {
  /** `redis://[user:password@]host:port[/db]` (or `rediss://`). */
  url?: string;
  /** A connection to copy the settings of, or options (merged under `url`'s). */
  redis?: RedisInput;
  /** The bound of every Redis operation, in milliseconds. */
  timeoutMs: number;
}

/** What a failed write can still do: see {@link SharedStateUnavailableError}'s `details.outcome`. */
export type WriteOutcome = "not-applied" | "unknown";

const TIMED_OUT = "Command timed out";

/**
 * The Lua lines that end a script with `lateReply` when Redis's clock is past the deadline in `ARGV[1]` (see
 * {@link RedisConnection.runBefore}).
 */
export function deadlineCheck(lateReply: string): string {
  return `local now = redis.call('TIME')
if tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) > tonumber(ARGV[1]) then return ${lateReply} end`;
}

/** A connection, also one made by another copy of ioredis (where `instanceof` would not tell). */
function isConnection(value: RedisInput | undefined): value is Redis {
  return value !== undefined && typeof (value as Redis).duplicate === "function" && typeof (value as Redis).sendCommand === "function";
}

/**
 * The connections of one `redisDriver`: one for commands, one per change feed for pub/sub. They are always this
 * package's own (a connection handed in is duplicated), so that their settings hold: every command times out after
 * `timeoutMs`, and no command is sent again after a reconnect (a write that timed out must not land twice or late).
 * The connection closes when every part that retained it has released it.
 */
export class RedisConnection {
  /** The connection for commands and scripts. */
  readonly command: Redis;
  /** Where Redis is, for messages: `host:port`, never a password. */
  readonly target: string;
  /** The bound of every operation, in milliseconds. */
  readonly timeoutMs: number;
  /** Fails operations at once while Redis has stopped answering (see {@link CircuitBreaker}). */
  readonly breaker = new CircuitBreaker();
  /** Redis's clock as seen from here, for deadlines of writes. */
  readonly clock = new ServerClock();
  /** The last connection error ioredis reported, for messages. */
  lastError: Error | undefined;
  private readonly subscribers = new Set<Redis>();
  private references = 0;
  private closing: Promise<void> | undefined;

  constructor(options: RedisConnectionOptions) {
    if (!Number.isFinite(options.timeoutMs) || options.timeoutMs <= 0) {
      throw new ValidationError({ message: `operationTimeoutMs must be a positive number of milliseconds, got ${String(options.timeoutMs)}` });
    }
    this.timeoutMs = options.timeoutMs;
    const overrides = this.overrides();
    if (isConnection(options.redis)) {
      if (options.url !== undefined) throw new ValidationError({ message: "give redisDriver a url or an existing connection, not both" });
      this.command = options.redis.duplicate(overrides);
    } else {
      this.command = new Redis(options.url ?? "redis://127.0.0.1:6379", { ...options.redis, ...overrides });
    }
    const { host, port, path } = this.command.options;
    this.target = path ? String(path) : `${host ?? "localhost"}:${port ?? 6379}`;
    this.watch(this.command);
  }

  /** Takes a reference; the returned function gives it back (the last one closes the connection). Idempotent. */
  retain(): () => Promise<void> {
    this.references += 1;
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      this.references -= 1;
      if (this.references <= 0) await this.close();
    };
  }

  /** A new connection for pub/sub, with the same settings; closed with this one (or by `disconnect()` before). */
  createSubscriber(): Redis {
    const subscriber = this.command.duplicate({ ...this.overrides(), autoResubscribe: false, lazyConnect: true });
    this.watch(subscriber);
    this.subscribers.add(subscriber);
    subscriber.once("end", () => this.subscribers.delete(subscriber));
    return subscriber;
  }

  /**
   * Runs `work` bounded by the operation timeout; any failure becomes a {@link SharedStateUnavailableError} (with
   * `outcome` for writes). A reply error of Redis (a script's own error) is a refusal: `not-applied`.
   */
  async run<T>(operation: string, work: (redis: Redis) => Promise<T>, write?: { onTimeout: WriteOutcome }): Promise<T> {
    if (!this.breaker.admit()) {
      throw new SharedStateUnavailableError({
        message: `Redis at ${this.target} did not answer the last ${this.breaker.consecutiveFailures} operations: ${operation} not sent (tried again in ${this.breaker.openMs} ms)`,
        details: { operation, target: this.target, timeoutMs: this.timeoutMs, circuit: "open", ...(write ? { outcome: "not-applied" } : {}) },
      });
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(TIMED_OUT)), this.timeoutMs);
      timer.unref();
    });
    try {
      const result = await Promise.race([work(this.command), timeout]);
      this.breaker.success();
      return result;
    } catch (error) {
      // A reply error is Redis answering (a script refusing): only silence and broken connections open the circuit.
      if (error instanceof Error && error.name === "ReplyError") this.breaker.success();
      else this.breaker.failure();
      throw this.unavailable(operation, error, write);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Runs a write whose script takes a deadline (Redis Unix ms, see {@link deadlineCheck}) as its first argument: Redis
   * refuses it if it runs so late that its reply could not be back within the timeout (after a pause, a stalled
   * network). A timed-out write is thus `not-applied`, never applied later by surprise.
   */
  async runBefore<T>(operation: string, send: (deadline: number) => Promise<T>): Promise<T> {
    const startedAt = ServerClock.now();
    const marginMs = Math.max(20, this.timeoutMs * 0.2);
    return this.run(
      operation,
      async () => {
        if (!this.clock.known) await this.sampleClock();
        const budgetMs = this.timeoutMs - marginMs - (ServerClock.now() - startedAt);
        return send(Math.max(1, this.clock.deadline(budgetMs) ?? 1));
      },
      { onTimeout: "not-applied" },
    );
  }

  /** Runs a script on the command connection (call it inside {@link RedisConnection.run}). */
  script(script: LuaScript, keys: readonly string[], args: ReadonlyArray<string | number | Buffer>): Promise<unknown> {
    return script.run(this.command, keys, args);
  }

  /** Asks Redis for its time, to learn its clock (for deadlines); bounded like every operation. */
  async sampleClock(): Promise<void> {
    await this.run("time", async (redis) => {
      const sentAt = ServerClock.now();
      const time = await redis.time();
      this.clock.observe(sentAt, ServerClock.now(), [time[0] as string | number, time[1] as string | number]);
    });
  }

  /** The typed error of a failed operation. */
  unavailable(operation: string, cause: unknown, write?: { onTimeout: WriteOutcome }): SharedStateUnavailableError {
    const message = cause instanceof Error ? cause.message : String(cause);
    const timedOut = message === TIMED_OUT;
    const replyError = cause instanceof Error && cause.name === "ReplyError";
    const outcome: WriteOutcome | undefined = write === undefined ? undefined : timedOut ? write.onTimeout : replyError ? "not-applied" : "unknown";
    const reason = timedOut
      ? `did not answer ${operation} within ${this.timeoutMs} ms`
      : `failed on ${operation}: ${message}${this.lastError && this.lastError.message !== message ? ` (${this.lastError.message})` : ""}`;
    return new SharedStateUnavailableError({
      message: `Redis at ${this.target} ${reason}`,
      cause: timedOut ? new TimeoutError({ message: `Redis did not answer within ${this.timeoutMs} ms`, cause }) : cause,
      details: { operation, target: this.target, timeoutMs: this.timeoutMs, ...(outcome ? { outcome } : {}) },
    });
  }

  /** Closes every connection (a polite `QUIT`, bounded, then a hard disconnect). Safe to call twice. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const subscriber of this.subscribers) subscriber.disconnect();
      this.subscribers.clear();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.command.quit().catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, this.timeoutMs)))]);
      clearTimeout(timer);
      this.command.disconnect();
    })();
    return this.closing;
  }

  /** The settings this package needs on every connection, whatever the caller's. */
  private overrides(): RedisOptions {
    return {
      commandTimeout: this.timeoutMs,
      connectTimeout: Math.max(1_000, this.timeoutMs * 4),
      // A command that was sent and not answered is not sent again after a reconnect: its caller has its error.
      autoResendUnfulfilledCommands: false,
      // Commands queued while disconnected are failed after one reconnect attempt (they time out sooner anyway).
      maxRetriesPerRequest: 1,
      retryStrategy: (times: number) => Math.min(50 * times, 500),
    };
  }

  /** Keeps ioredis from printing unhandled error events, and remembers the last one for messages. */
  private watch(connection: Redis): void {
    connection.on("error", (error: Error) => {
      this.lastError = error;
    });
  }
}
