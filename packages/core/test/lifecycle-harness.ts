import { createFixtureServer } from "@mcpstore/testing";
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { resolveMonitoring, type Logger, type MonitoringOptions, type ServiceState } from "../src/index.js";
import type { ProbeLimiter } from "../src/connection/probe-limiter.js";
import { ServiceConnection } from "../src/connection/service-connection.js";

/** How the in-memory server of a {@link FakeServer} behaves. */
export type FakeServerMode = "ok" | "refuse" | "silent";

export const quietLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * An in-process fixture server reached through in-memory transports, one per connection attempt, that can refuse
 * connections, go silent, drop its connection, answer pings slowly, or not know `ping` at all. Counts what it sees.
 * Works under fake timers.
 */
export class FakeServer {
  mode: FakeServerMode = "ok";
  /** Delay of ping answers, in milliseconds. */
  pingDelayMs = 0;
  /** Answer `ping` with "method not found". */
  noPing = false;
  connectAttempts = 0;
  pings = 0;
  listTools = 0;
  pingsInFlight = 0;
  maxPingsInFlight = 0;
  server: McpServer | undefined;
  private serverSide: InMemoryTransport | undefined;

  readonly createTransport = (): Transport => {
    this.connectAttempts++;
    if (this.mode === "refuse") {
      return {
        start: async () => {
          throw Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:9"), { code: "ECONNREFUSED" });
        },
        send: async () => undefined,
        close: async () => undefined,
      };
    }
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    const server = createFixtureServer({ name: "fake" });
    void server.connect(serverSide);
    const deliver = serverSide.onmessage!;
    serverSide.onmessage = (message: JSONRPCMessage, extra) => {
      if (this.mode === "silent") return;
      if ("method" in message && message.method === "tools/list") this.listTools++;
      if ("method" in message && message.method === "ping" && "id" in message) {
        if (this.noPing) {
          void serverSide.send({ jsonrpc: "2.0", id: message.id, error: { code: -32601, message: "Method not found" } });
          return;
        }
        this.pings++;
        if (this.pingDelayMs === 0) {
          deliver(message, extra);
          return;
        }
        this.pingsInFlight++;
        this.maxPingsInFlight = Math.max(this.maxPingsInFlight, this.pingsInFlight);
        setTimeout(() => {
          this.pingsInFlight--;
          deliver(message, extra);
        }, this.pingDelayMs);
        return;
      }
      deliver(message, extra);
    };
    this.server = server;
    this.serverSide = serverSide;
    return clientSide;
  };

  /** Drops the current connection, as a crashed process would. */
  async dropConnection(): Promise<void> {
    await this.serverSide?.close();
  }
}

/** Options of {@link createConnection}. */
export interface HarnessOptions {
  monitoring?: MonitoringOptions;
  connectTimeoutMs?: number;
  probeLimiter?: ProbeLimiter;
  server?: FakeServer;
  timeoutSeconds?: number;
}

/** A {@link ServiceConnection} to a {@link FakeServer}, recording its state changes and catalogue refreshes. */
export function createConnection(options: HarnessOptions = {}) {
  const server = options.server ?? new FakeServer();
  const states: Array<{ previous: ServiceState; state: ServiceState; reason: string | undefined; at: number }> = [];
  let catalogues = 0;
  const connection = new ServiceConnection({
    config: { name: "svc", url: "http://127.0.0.1:9/mcp", transport: "streamable-http", ...(options.timeoutSeconds ? { timeout: options.timeoutSeconds } : {}) },
    ref: { serviceName: "svc" },
    monitoring: resolveMonitoring(options.monitoring),
    logger: quietLogger,
    connectTimeoutMs: options.connectTimeoutMs ?? 1000,
    ...(options.probeLimiter ? { probeLimiter: options.probeLimiter } : {}),
    createTransport: server.createTransport,
    onStateChange: (previous, state, reason) => states.push({ previous, state, reason, at: Date.now() }),
    onCatalogue: async () => {
      catalogues++;
    },
    onInfoChange: () => undefined,
  });
  return {
    connection,
    server,
    states,
    get catalogues() {
      return catalogues;
    },
  };
}
