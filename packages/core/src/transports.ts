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
  const requestInit: RequestInit = config.headers ? { headers: { ...config.headers } } : {};
  return kind === "sse" ? new SSEClientTransport(url, { requestInit }) : new StreamableHTTPClientTransport(url, { requestInit });
}
