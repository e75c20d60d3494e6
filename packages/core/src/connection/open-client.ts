import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js";
import { clampDelay } from "./clamp-delay.js";
import type { ServiceConfig } from "../config/service-config.js";
import type { TransportKind } from "../types.js";
import { closeClient } from "./close-client.js";
import { fallsBackToSse, toConnectError } from "./error-classification.js";
import { OutputSchemaValidator } from "./output-schema-validator.js";
import { transportCandidates } from "./transports.js";

const CLIENT_INFO = { name: "mcpstore", version: "0.1.0" };
/** One output-schema validator for every client (see {@link OutputSchemaValidator}). */
const OUTPUT_SCHEMA_VALIDATOR = new OutputSchemaValidator();

/** What {@link openClient} needs from its connection. */
export interface OpenClientOptions {
  config: ServiceConfig;
  /** Time limit of connecting and initialising, in milliseconds. */
  connectTimeoutMs: number;
  /** Builds an unstarted transport of `kind`. */
  buildTransport(kind: TransportKind): Transport;
  /** Each transport, before it connects: closing it cuts a connection under way short. */
  onTransport(transport: Transport): void;
  /** True once the connection is closed for good: whatever was opened is closed again. */
  isClosed(): boolean;
  /** Aborted when the connection closes: an attempt under way ends at once. */
  closedSignal?: AbortSignal;
  /** A client has connected over `kind`, before it counts as open (to subscribe to it). */
  onConnected(client: Client, kind: TransportKind): void;
  /** When given, loads the catalogue on the connected client; the client counts as open only once it resolves. */
  loadCatalogue?: (client: Client) => Promise<void>;
  /** Connecting over `kind` failed with `error`; `next` is tried now. */
  onFallback(kind: TransportKind, next: TransportKind, error: unknown): void;
}

/** How {@link openClient} ended: with an open client, with the last failure, or because the connection closed. */
export type OpenedClient = { client: Client; kind: TransportKind } | { failure: unknown } | { closed: true };

/**
 * Opens a client for a service, trying its transport kinds in order (stdio; the one named; or Streamable HTTP, then
 * SSE when the server looks like an old one) until one connects, initialises and, when asked, loads the catalogue. A
 * client that is not returned is closed.
 */
export async function openClient(options: OpenClientOptions): Promise<OpenedClient> {
  const candidates = transportCandidates(options.config);
  let lastFailure: unknown;
  for (const [index, kind] of candidates.entries()) {
    const client = new Client(CLIENT_INFO, { capabilities: {}, jsonSchemaValidator: OUTPUT_SCHEMA_VALIDATOR });
    let transport: Transport;
    try {
      transport = options.buildTransport(kind);
    } catch (error) {
      lastFailure = error;
      break;
    }
    options.onTransport(transport);
    try {
      await connectWithin(client, transport, options.connectTimeoutMs, options.closedSignal);
    } catch (error) {
      lastFailure = toConnectError(error, kind);
      await closeClient(client);
      if (options.isClosed()) return { closed: true };
      const next = candidates[index + 1];
      // Only an old server's answer (or none) moves on to SSE: a 401 or 403 is reported, not hidden by SSE's 404.
      if (!next || !fallsBackToSse(error)) break;
      options.onFallback(kind, next, error);
      continue;
    }
    if (options.isClosed()) {
      await closeClient(client);
      return { closed: true };
    }
    options.onConnected(client, kind);
    if (options.loadCatalogue) {
      try {
        await options.loadCatalogue(client);
      } catch (error) {
        lastFailure = error;
        await closeClient(client);
        if (options.isClosed()) return { closed: true };
        break;
      }
      if (options.isClosed()) {
        await closeClient(client);
        return { closed: true };
      }
    }
    return { client, kind };
  }
  return { failure: lastFailure };
}

/**
 * `client.connect` within the connect timeout, start of the transport included: the SDK's own timer starts only when
 * `initialize` is sent, so an SSE server that never sends its endpoint event would otherwise hold the attempt forever.
 */
async function connectWithin(client: Client, transport: Transport, timeoutMs: number, closedSignal: AbortSignal | undefined): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  let onClosed: (() => void) | undefined;
  const cutShort = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(new McpError(ErrorCode.RequestTimeout, `Connecting timed out after ${Math.round(timeoutMs)} ms`, { timeout: timeoutMs }));
      void transport.close().catch(() => undefined);
    }, clampDelay(timeoutMs));
    // A closed SSE transport never settles its start(): the attempt ends when the connection closes, not 30 s later.
    onClosed = () => reject(new McpError(ErrorCode.ConnectionClosed, "The connection was closed while connecting"));
    if (closedSignal?.aborted) onClosed();
    else closedSignal?.addEventListener("abort", onClosed, { once: true });
  });
  try {
    await Promise.race([client.connect(transport, { timeout: timeoutMs }), cutShort]);
  } finally {
    clearTimeout(timer);
    if (onClosed) closedSignal?.removeEventListener("abort", onClosed);
  }
}
