import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** Options of {@link startFaultProxy}. */
export interface FaultProxyOptions {
  /** Where requests go, e.g. an HTTP fixture's `url` (`http://127.0.0.1:{port}/mcp`); only its origin is used. */
  target: string;
  /** Port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  /** Answer `GET` (a client's standing event stream) with 405, as servers without that stream do. */
  refuseEventStreams?: boolean;
}

/** A running {@link startFaultProxy} proxy. */
export interface FaultProxy {
  /** The target URL with the proxy's origin. */
  url: string;
  port: number;
  /**
   * Answers the next `count` POSTs whose JSON-RPC method is `method` (default `tools/call`) with `429 Too Many Requests`
   * and `Retry-After: {retryAfter}` (seconds, or an HTTP date) instead of forwarding them.
   */
  rateLimit(count: number, retryAfter: string, method?: string): void;
  /** Requests answered 429 so far, with the time each was answered (ms since epoch). */
  readonly rateLimited: number[];
  /** Forwarded POSTs by JSON-RPC method, with the time each arrived. */
  readonly forwarded: Array<{ method: string | undefined; at: number }>;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** A reverse proxy on 127.0.0.1 in front of an HTTP MCP server that injects faults on demand (`429`s). */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const target = new URL(options.target);
  let limit: { count: number; retryAfter: string; method: string } | undefined;
  const rateLimited: number[] = [];
  const forwarded: FaultProxy["forwarded"] = [];

  const handle = async (incoming: IncomingMessage, outgoing: ServerResponse) => {
    if (options.refuseEventStreams && incoming.method === "GET") {
      outgoing.writeHead(405).end();
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of incoming) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    let method: string | undefined;
    if (incoming.method === "POST") {
      try {
        method = (JSON.parse(body.toString("utf8")) as { method?: string }).method;
      } catch {
        method = undefined;
      }
      if (limit && limit.count > 0 && method === limit.method) {
        limit.count--;
        rateLimited.push(Date.now());
        outgoing.writeHead(429, { "retry-after": limit.retryAfter, "content-type": "text/plain" }).end("slow down");
        return;
      }
      forwarded.push({ method, at: Date.now() });
    }
    const proxied = httpRequest(
      // A fresh connection per request: a pooled one may belong to a target that was restarted since.
      { host: target.hostname, port: target.port, method: incoming.method, path: incoming.url, headers: { ...incoming.headers, host: target.host }, agent: false },
      (response) => {
        outgoing.writeHead(response.statusCode ?? 502, response.headers);
        response.pipe(outgoing);
      },
    );
    proxied.on("error", () => {
      if (!outgoing.headersSent) outgoing.writeHead(502);
      outgoing.end();
    });
    outgoing.on("close", () => proxied.destroy());
    proxied.end(body);
  };

  const server: Server = createServer((incoming, outgoing) => {
    handle(incoming, outgoing).catch(() => {
      if (!outgoing.headersSent) outgoing.writeHead(500);
      outgoing.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", resolve);
  });
  const { port } = server.address() as AddressInfo;
  const close = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  const url = new URL(target.pathname + target.search, `http://127.0.0.1:${port}`).href;
  return {
    url,
    port,
    rateLimit(count, retryAfter, method = "tools/call") {
      limit = { count, retryAfter, method };
    },
    rateLimited,
    forwarded,
    close,
    [Symbol.asyncDispose]: close,
  };
}
