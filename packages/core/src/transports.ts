import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { ServiceConfig } from "./service-config.js";
import type { TransportKind } from "./types.js";

/** The transport kinds to try for a config, in order: stdio, the one named, or Streamable HTTP then SSE. */
export function transportCandidates(config: ServiceConfig): TransportKind[] {
  if (config.command !== undefined) return ["stdio"];
  if (config.transport) return [config.transport];
  return ["streamable-http", "sse"];
}

/** Builds an (unstarted) SDK transport of `kind` for `config`. */
export function createTransport(config: ServiceConfig, kind: TransportKind): Transport {
  if (kind === "stdio") {
    return new StdioClientTransport({
      command: config.command!,
      args: config.args ?? [],
      // The SDK adds a minimal default environment (PATH, HOME, ...), never the store's own secrets.
      ...(config.env ? { env: config.env } : {}),
      ...(config.working_dir ? { cwd: config.working_dir } : {}),
      stderr: "pipe",
    });
  }
  const url = new URL(config.url!);
  const headers = requestHeaders(config.headers);
  const requestInit: RequestInit = headers ? { headers } : {};
  return kind === "sse" ? new SSEClientTransport(url, { requestInit }) : new StreamableHTTPClientTransport(url, { requestInit });
}

/**
 * Hop-by-hop headers that fetch manages itself and rejects when given (`Keep-Alive: timeout=60` makes every request
 * fail). Connections are kept alive and pooled anyway, so these are dropped.
 */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "upgrade", "te", "trailer", "proxy-connection", "host", "content-length"]);

/** The configured headers that can be sent, without hop-by-hop ones. */
export function requestHeaders(headers: Record<string, string> | undefined): Record<string, string> | undefined {
  if (!headers) return undefined;
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !HOP_BY_HOP.has(name.toLowerCase())));
}
