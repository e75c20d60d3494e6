import type { Logger } from "@mcpstore/core";
import type { Context } from "hono";
import type { ErrorBody } from "./error-status.js";

/** How many failed authentications a client may make before it is refused for a while. */
export interface AuthFailureLimit {
  /** Bad tokens a client may send in one window; the next request needing a token is a 429. Default 10. */
  max?: number;
  /** Length of a window, in milliseconds, from the client's first bad token; the refusal lasts until it ends. Default 60,000. */
  windowMs?: number;
  /** Clients tracked at once; past it, the oldest windows are forgotten first. Default 10,000 (about 2 MB at most). */
  maxClients?: number;
}

/** Options of {@link AuthThrottle}. */
export interface AuthThrottleOptions extends AuthFailureLimit {
  /** Take the client from the last `X-Forwarded-For` entry (the one the proxy in front appended). Default `false`. */
  trustProxy?: boolean;
  /** Where a client's refusal is logged (once per window). */
  logger?: Logger;
  /** The clock, in milliseconds. Default `performance.now`. */
  now?: () => number;
}

interface Window {
  endsAt: number;
  failures: number;
}

const positiveInteger = (value: number, name: string) => {
  if (!Number.isInteger(value) || value < 1) throw new TypeError(`authFailureLimit.${name} must be a positive integer, got ${String(value)}`);
  return value;
};

/**
 * Counts failed authentications per client and refuses a client that made too many: every request of its that needs
 * a token gets a 429 until its window ends, a valid token included (answering a right guess differently would tell
 * the guesser it found one). The client is the socket's address (an IPv6 one by its /64, which one host usually
 * owns whole). Windows live in a map kept in the order they started, so that ended ones are dropped from its front
 * and, at `maxClients`, the oldest goes first: many addresses cannot grow it without bound.
 */
export class AuthThrottle {
  private readonly windows = new Map<string, Window>();
  private readonly max: number;
  private readonly windowMs: number;
  private readonly maxClients: number;
  private readonly now: () => number;

  constructor(private readonly options: AuthThrottleOptions = {}) {
    this.max = positiveInteger(options.max ?? 10, "max");
    this.windowMs = positiveInteger(options.windowMs ?? 60_000, "windowMs");
    this.maxClients = positiveInteger(options.maxClients ?? 10_000, "maxClients");
    this.now = options.now ?? (() => performance.now());
  }

  /** Clients tracked now. */
  get size(): number {
    return this.windows.size;
  }

  /** Milliseconds until the client may try a token again; 0 when it may now. */
  retryAfterMs(client: string): number {
    const window = this.windows.get(client);
    if (!window) return 0;
    const left = window.endsAt - this.now();
    if (left <= 0) {
      this.windows.delete(client);
      return 0;
    }
    return window.failures >= this.max ? left : 0;
  }

  /** Counts one bad token from the client. */
  recordFailure(client: string): void {
    const now = this.now();
    const window = this.windows.get(client);
    if (window && window.endsAt > now) {
      window.failures++;
      if (window.failures === this.max) {
        this.options.logger?.warn({ client, failures: window.failures, retryAfterMs: Math.round(window.endsAt - now) }, "too many failed authentications: refusing the client for a while");
      }
      return;
    }
    // A new window goes to the back, so that the map stays ordered by the time windows end.
    this.windows.delete(client);
    for (const [key, oldest] of this.windows) {
      if (oldest.endsAt > now && this.windows.size < this.maxClients) break;
      this.windows.delete(key);
    }
    this.windows.set(client, { endsAt: now + this.windowMs, failures: 1 });
  }

  /** The client of a request: the Node socket's address, or with `trustProxy` the last `X-Forwarded-For` entry. */
  clientOf(c: Context): string {
    const forwarded = this.options.trustProxy ? c.req.header("x-forwarded-for")?.split(",").pop()?.trim() : undefined;
    // @hono/node-server passes { incoming, outgoing }; mounted elsewhere, an app may have no socket to read.
    const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
    return clientKey(forwarded || env?.incoming?.socket?.remoteAddress || "unknown");
  }

  /** The 429 for a client that must wait, or `undefined` when it may go on. */
  refusal(c: Context, client: string): Response | undefined {
    const waitMs = this.retryAfterMs(client);
    if (waitMs <= 0) return undefined;
    const retryAfterSeconds = Math.ceil(waitMs / 1000);
    const body: ErrorBody = {
      error: { code: "TOO_MANY_REQUESTS", message: `Too many failed authentications from this address: try again in ${retryAfterSeconds} s`, details: { retryAfterSeconds } },
    };
    return c.json(body, 429, { "Retry-After": String(retryAfterSeconds) });
  }
}

/** The key of an address: an IPv4-mapped IPv6 address as its IPv4 one, another IPv6 address as its /64. */
export function clientKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!address.includes(":")) return address;
  const [head = "", tail] = address.toLowerCase().split("%")[0]!.split("::");
  const left = head === "" ? [] : head.split(":");
  const right = tail === undefined || tail === "" ? [] : tail.split(":");
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right];
  return `${groups
    .slice(0, 4)
    .map((group) => group.replace(/^0+(?=.)/, ""))
    .join(":")}::/64`;
}
