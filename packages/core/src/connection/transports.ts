import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { FetchLike } from "@modelcontextprotocol/sdk/shared/transport.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { ServiceConfig } from "../config/service-config.js";
import { StdioTransport, type ProcessExit } from "./stdio-transport.js";
import { splitUrlCredentials } from "./url-credentials.js";
import type { TransportKind } from "../types.js";

/** The transport kinds to try for a config, in order: stdio, the one named, or Streamable HTTP then SSE. */
export function transportCandidates(config: ServiceConfig): TransportKind[] {
  if (config.command !== undefined) return ["stdio"];
  if (config.transport) return [config.transport];
  return ["streamable-http", "sse"];
}

/** Callbacks a transport reports to, besides the SDK's `Transport` ones. */
export interface TransportHooks {
  /** A line the stdio process wrote to stderr. */
  onStderrLine?: (line: string) => void;
  /** A stdout line of the stdio process that was not an MCP message, and was dropped. */
  onDroppedLine?: (sample: string) => void;
  /** The stdio process exited (on its own, or stopped when the transport closed). */
  onProcessExit?: (exit: ProcessExit) => void;
  /**
   * A remote server's standing event stream (the GET stream of Streamable HTTP, the SSE stream) ended or broke: a hint
   * that the server went away, which the SDK may notice only much later.
   */
  onEventStreamEnd?: () => void;
  /** The fetch remote requests go through (the egress guard of an agent-set destination). Default: the global one. */
  fetch?: FetchLike;
}

/**
 * Builds an (unstarted) transport of `kind` for `config`. Credentials in a remote `url` (`https://user:pass@host/mcp`)
 * are sent as an `Authorization: Basic` header and never inside the URL given to fetch; an explicit `Authorization`
 * header of the config wins over them.
 */
export function createTransport(config: ServiceConfig, kind: TransportKind, hooks: TransportHooks = {}): Transport {
  if (kind === "stdio") {
    return new StdioTransport({
      command: config.command!,
      args: config.args ?? [],
      // A minimal default environment (PATH, HOME, ...) plus the service's own, never the store's secrets.
      ...(config.env ? { env: config.env } : {}),
      ...(config.working_dir ? { cwd: config.working_dir } : {}),
      ...(hooks.onStderrLine ? { onStderrLine: hooks.onStderrLine } : {}),
      ...(hooks.onDroppedLine ? { onDroppedLine: hooks.onDroppedLine } : {}),
      ...(hooks.onProcessExit ? { onExit: hooks.onProcessExit } : {}),
    });
  }
  const { url, authorization } = splitUrlCredentials(config.url!);
  const headers = requestHeaders(config.headers, authorization);
  const requestInit: RequestInit = headers ? { headers } : {};
  // The global fetch is looked up per request, as before: whoever replaced it since (a test's guard) is honoured.
  const retrying = retryAfterFetch({ fetch: isolateAbortSignals(hooks.fetch ?? ((url, init) => globalThis.fetch(url, init))) });
  const fetch = hooks.onEventStreamEnd ? watchEventStreams(retrying, hooks.onEventStreamEnd) : retrying;
  return kind === "sse" ? new SSEClientTransport(url, { requestInit, fetch }) : new StreamableHTTPClientTransport(url, { requestInit, fetch });
}

/**
 * Hop-by-hop headers that fetch manages itself and rejects when given (`Keep-Alive: timeout=60` makes every request
 * fail). Connections are kept alive and pooled anyway, so these are dropped.
 */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "upgrade", "te", "trailer", "proxy-connection", "host", "content-length"]);

/**
 * The configured headers that can be sent, without hop-by-hop ones, plus `Authorization: {authorization}` (the URL's
 * credentials) unless the config has an `Authorization` header of its own, in any case.
 */
export function requestHeaders(headers: Record<string, string> | undefined, authorization?: string): Record<string, string> | undefined {
  if (!headers && authorization === undefined) return undefined;
  const sendable = Object.fromEntries(Object.entries(headers ?? {}).filter(([name]) => !HOP_BY_HOP.has(name.toLowerCase())));
  const explicit = Object.keys(sendable).some((name) => name.toLowerCase() === "authorization");
  return authorization === undefined || explicit ? sendable : { ...sendable, Authorization: authorization };
}

/** Options of {@link retryAfterFetch}. */
export interface RetryAfterOptions {
  /** The fetch to wrap. Default: the global `fetch`. */
  fetch?: FetchLike;
  /** Longest `Retry-After` honoured, in milliseconds; a longer one is returned as the 429 it is. Default 30,000. */
  maxWaitMs?: number;
  /** Retries of one request. Default 3. */
  maxRetries?: number;
}

/** Milliseconds a `Retry-After` value (seconds, or an HTTP date) asks to wait; `undefined` when it is absent or bad. */
export function parseRetryAfterMs(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * A fetch that honours `429 Too Many Requests`: it waits as long as `Retry-After` says (when it says, and within
 * `maxWaitMs`) and sends the request again. Request bodies of MCP clients are strings, so they can be sent twice.
 */
export function retryAfterFetch(options: RetryAfterOptions = {}): FetchLike {
  const maxWaitMs = options.maxWaitMs ?? 30_000;
  const maxRetries = options.maxRetries ?? 3;
  return async (url, init) => {
    const base = options.fetch ?? fetch;
    for (let retry = 0; ; retry++) {
      const response = await base(url, init);
      if (response.status !== 429 || retry >= maxRetries) return response;
      const waitMs = parseRetryAfterMs(response.headers.get("retry-after"));
      if (waitMs === undefined || waitMs > maxWaitMs) return response;
      await response.body?.cancel().catch(() => undefined);
      await new Promise<void>((resolve, reject) => {
        const signal = init?.signal;
        if (signal?.aborted) return reject(signal.reason);
        const timer = setTimeout(() => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        }, waitMs);
        const onAbort = () => {
          clearTimeout(timer);
          reject(signal?.reason);
        };
        signal?.addEventListener("abort", onAbort, { once: true });
      });
    }
  };
}

/**
 * A fetch that reports when the body of a `GET` event stream ends or breaks. When a server shuts down, the SDK notices
 * its closed standing stream only when it tries to reopen it, and calls in flight wait meanwhile.
 */
export function watchEventStreams(base: FetchLike, onEnd: () => void): FetchLike {
  return async (url, init) => {
    const response = await base(url, init);
    const method = init?.method?.toUpperCase() ?? "GET";
    if (method !== "GET" || !response.ok || !response.body || !response.headers.get("content-type")?.includes("text/event-stream")) return response;
    // Cancelled by the reader (the client closing) is not a sign of anything: only an end or a break reports.
    return withBody(response, observeBody(response.body, { onEnd, onCancel: () => undefined, signal: init?.signal }));
  };
}

/**
 * A fetch that gives every request an abort signal of its own, linked to the caller's until the response body is
 * read to its end. The SDK passes one transport-wide signal to every request, and undici leaves a listener on it per
 * request until garbage collection: thousands on a busy connection, and a MaxListenersExceededWarning on stderr. Here
 * the caller's signal gets one listener in all, which aborts the requests still linked to it.
 */
export function isolateAbortSignals(base: FetchLike): FetchLike {
  const linked = new WeakMap<AbortSignal, Set<AbortController>>();
  const link = (parent: AbortSignal): { signal: AbortSignal; unlink: () => void } => {
    let requests = linked.get(parent);
    if (!requests) {
      const family = new Set<AbortController>();
      linked.set(parent, (requests = family));
      parent.addEventListener("abort", () => family.forEach((request) => request.abort(parent.reason)), { once: true });
    }
    const controller = new AbortController();
    requests.add(controller);
    return { signal: controller.signal, unlink: () => void requests.delete(controller) };
  };
  return async (url, init) => {
    const parent = init?.signal;
    if (!parent || parent.aborted) return base(url, init);
    const { signal, unlink } = link(parent);
    let response: Response;
    try {
      response = await base(url, { ...init, signal });
    } catch (error) {
      unlink();
      throw error;
    }
    if (!response.body) {
      unlink();
      return response;
    }
    return withBody(response, observeBody(response.body, { onEnd: unlink, onCancel: unlink, signal }));
  };
}

/**
 * `source` as a stream that calls `onEnd` when it ends or breaks, and `onCancel` when its reader cancels it or `signal`
 * aborts. An abort errors it here: undici cannot cancel a body that a reader holds locked, so the read would never end.
 */
function observeBody(source: ReadableStream<Uint8Array>, on: { onEnd: () => void; onCancel: () => void; signal?: AbortSignal | null }): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  let onAbort: (() => void) | undefined;
  const settle = (callback: () => void) => {
    if (onAbort) on.signal?.removeEventListener("abort", onAbort);
    callback();
  };
  return new ReadableStream<Uint8Array>({
    start(controller) {
      if (!on.signal) return;
      onAbort = () => {
        controller.error(on.signal!.reason);
        void reader.cancel(on.signal!.reason).catch(() => undefined);
        on.onCancel();
      };
      on.signal.addEventListener("abort", onAbort, { once: true });
    },
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) {
          controller.close();
          settle(on.onEnd);
        } else {
          controller.enqueue(value);
        }
      } catch (error) {
        if (on.signal?.aborted) return;
        controller.error(error);
        settle(on.onEnd);
      }
    },
    cancel(reason) {
      settle(on.onCancel);
      return reader.cancel(reason);
    },
  });
}

function withBody(response: Response, body: ReadableStream<Uint8Array>): Response {
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
}
