import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { SSEServerTransport } from "@modelcontextprotocol/sdk/server/sse.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { createFixtureServer, type FixtureServerOptions } from "./fixture-server.js";

/** Options of {@link startHttpFixture}. */
export interface HttpFixtureOptions extends FixtureServerOptions {
  /** Port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  /** Which endpoints to serve. Default `"both"`: Streamable HTTP at `/mcp`, SSE at `/sse` + `/messages`. */
  transports?: "streamable-http" | "sse" | "both";
  /** Headers every request must carry (e.g. `{ authorization: "Bearer x" }`); others get 401. */
  requireHeaders?: Record<string, string>;
}

/** A running HTTP fixture server. */
export interface HttpFixture {
  /** Streamable HTTP endpoint, `http://127.0.0.1:{port}/mcp`. */
  url: string;
  /** SSE endpoint, `http://127.0.0.1:{port}/sse`. */
  sseUrl: string;
  port: number;
  /** Headers of every request received, for assertions. */
  receivedHeaders: Record<string, string | string[] | undefined>[];
  /** Request target (path and query, as sent on the request line) of every request received, for assertions. */
  receivedUrls: string[];
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Starts the fixture MCP server over HTTP on 127.0.0.1 (Streamable HTTP, SSE, or both). */
export async function startHttpFixture(options: HttpFixtureOptions = {}): Promise<HttpFixture> {
  const mode = options.transports ?? "both";
  const streamable = new Map<string, StreamableHTTPServerTransport>();
  const sse = new Map<string, SSEServerTransport>();
  const receivedHeaders: HttpFixture["receivedHeaders"] = [];
  const receivedUrls: string[] = [];

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    receivedHeaders.push({ ...request.headers });
    receivedUrls.push(request.url ?? "");
    for (const [key, value] of Object.entries(options.requireHeaders ?? {})) {
      if (request.headers[key.toLowerCase()] !== value) {
        response.writeHead(401).end("unauthorized");
        return;
      }
    }
    const path = new URL(request.url ?? "/", "http://127.0.0.1").pathname;
    if (path === "/mcp" && mode !== "sse") {
      const sessionId = request.headers["mcp-session-id"];
      let transport = typeof sessionId === "string" ? streamable.get(sessionId) : undefined;
      if (!transport) {
        if (typeof sessionId === "string") {
          response.writeHead(404, { "content-type": "application/json" }).end(
            JSON.stringify({ jsonrpc: "2.0", error: { code: -32001, message: "Session not found" }, id: null }),
          );
          return;
        }
        const created = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          onsessioninitialized: (id) => {
            streamable.set(id, created);
          },
        });
        created.onclose = () => {
          if (created.sessionId) streamable.delete(created.sessionId);
        };
        await createFixtureServer(options).connect(created);
        transport = created;
      }
      await transport.handleRequest(request, response);
      return;
    }
    if (path === "/sse" && request.method === "GET" && mode !== "streamable-http") {
      const transport = new SSEServerTransport("/messages", response);
      sse.set(transport.sessionId, transport);
      transport.onclose = () => sse.delete(transport.sessionId);
      await createFixtureServer(options).connect(transport);
      return;
    }
    if (path === "/messages" && request.method === "POST" && mode !== "streamable-http") {
      const sessionId = new URL(request.url ?? "/", "http://127.0.0.1").searchParams.get("sessionId") ?? "";
      const transport = sse.get(sessionId);
      if (!transport) {
        response.writeHead(404).end("unknown session");
        return;
      }
      await transport.handlePostMessage(request, response);
      return;
    }
    response.writeHead(404).end("not found");
  };

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) response.writeHead(500);
      response.end(String(error));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", resolve);
  });
  const { port } = server.address() as AddressInfo;

  const close = async () => {
    await Promise.allSettled([...streamable.values()].map((transport) => transport.close()));
    await Promise.allSettled([...sse.values()].map((transport) => transport.close()));
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    sseUrl: `http://127.0.0.1:${port}/sse`,
    port,
    receivedHeaders,
    receivedUrls,
    close,
    [Symbol.asyncDispose]: close,
  };
}
