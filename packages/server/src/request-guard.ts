import { ApiError } from "./api-error.js";

/** Host names that always pass: a page of another site that rebinds its DNS to 127.0.0.1 still sends its own name. */
export const LOOPBACK_HOSTS: readonly string[] = ["localhost", "127.0.0.1", "[::1]"];

/** Options of {@link RequestGuard}. */
export interface RequestGuardOptions {
  /**
   * `Host` values accepted besides the loopback names: `name` (any port) or `name:port`. `"any"` accepts every host,
   * for a server behind a proxy that checks it. Default: loopback names only.
   */
  allowedHosts?: readonly string[] | "any";
  /** Browser origins allowed to call the API besides the API's own (`https://dashboard.example.com`). */
  allowedOrigins?: readonly string[];
}

/** `host` (`name` or `name:port`, lower-cased) split into name and the whole. */
function parseHostHeader(value: string): { name: string; host: string } | undefined {
  const host = value.trim().toLowerCase();
  const match = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::(\d{1,5}))?$/.exec(host);
  return match ? { name: match[1]!, host } : undefined;
}

/**
 * Checks `Host` and `Origin` before anything else, against DNS rebinding and cross-site requests from browsers: the
 * `Host` must be a loopback name or an allowed host, and an `Origin`, when sent, must be the API's own or allowed.
 */
export class RequestGuard {
  private readonly hostNames = new Set<string>(LOOPBACK_HOSTS);
  private readonly hostsWithPort = new Set<string>();
  private readonly anyHost: boolean;
  private readonly origins: Set<string>;

  constructor(options: RequestGuardOptions = {}) {
    this.anyHost = options.allowedHosts === "any";
    if (options.allowedHosts !== "any") {
      for (const entry of options.allowedHosts ?? []) {
        const parsed = parseHostHeader(entry);
        if (!parsed) throw new TypeError(`allowedHosts: ${JSON.stringify(entry)} is not a host name or host:port`);
        (parsed.name === parsed.host ? this.hostNames : this.hostsWithPort).add(parsed.host);
      }
    }
    this.origins = new Set(
      (options.allowedOrigins ?? []).map((origin) => {
        try {
          return new URL(origin).origin;
        } catch {
          throw new TypeError(`allowedOrigins: ${JSON.stringify(origin)} is not an origin such as https://example.com`);
        }
      }),
    );
  }

  /** The error to answer with, or `undefined` when the request may go on. */
  check(hostHeader: string | undefined, originHeader: string | undefined): ApiError | undefined {
    const host = hostHeader === undefined ? undefined : parseHostHeader(hostHeader);
    if (!host) return new ApiError("HOST_NOT_ALLOWED", { message: "The Host header is missing or malformed" });
    if (!this.anyHost && !this.hostNames.has(host.name) && !this.hostsWithPort.has(host.host)) {
      return new ApiError("HOST_NOT_ALLOWED", {
        message: `Host "${host.host}" is not allowed; start the API with --allowed-hosts (MCPSTORE_ALLOWED_HOSTS) to allow it`,
      });
    }
    if (originHeader === undefined) return undefined;
    let origin: URL | undefined;
    try {
      origin = originHeader === "null" ? undefined : new URL(originHeader);
    } catch {
      origin = undefined;
    }
    if (origin && (this.origins.has(origin.origin) || sameHost(origin, host.host))) return undefined;
    return new ApiError("ORIGIN_NOT_ALLOWED", {
      message: "Cross-origin requests are refused; start the API with --allowed-origins (MCPSTORE_ALLOWED_ORIGINS) to allow an origin",
    });
  }
}

/** Whether a browser origin is the API's own host (default ports compare equal). */
function sameHost(origin: URL, host: string): boolean {
  try {
    return new URL(`${origin.protocol}//${host}`).host === origin.host;
  } catch {
    return false;
  }
}
