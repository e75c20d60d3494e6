import { request as httpRequest } from "node:http";
import { MCPStore, type AgentPolicyOptions, type Logger, type Plugin } from "@mcpstore/core";
import { stdioFixtureConfig } from "@mcpstore/testing";
import { createApp, serve, type CreateAppOptions, type McpStoreApp, type RunningServer } from "../src/index.js";

export const ADMIN_TOKEN = "admin-token-0123456789abcdef";
export const ALICE_TOKEN = "alice-token-0123456789abcdef";
export const BOB_TOKEN = "bob-token-0123456789abcdef";
export const TOKENS = { admin: [ADMIN_TOKEN], agents: { alice: [ALICE_TOKEN], bob: [BOB_TOKEN] } };

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** A response read off a real socket. */
export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** The body as JSON, or `undefined` when it is not JSON. */
  json: any;
}

/** Options of {@link send}. */
export interface SendOptions {
  method?: string;
  token?: string;
  /** A value sent as JSON, or a string sent as it is. */
  body?: unknown;
  headers?: Record<string, string>;
}

/**
 * One HTTP request over a real socket with node:http (fetch would not let a test set `Host`). `Host` defaults to
 * the URL's; `Content-Type: application/json` is set for a non-string body.
 */
export function send(baseUrl: string, path: string, options: SendOptions = {}): Promise<HttpResponse> {
  // The path goes out as it is (not resolved against the URL), so that tests can send `..` and `//`.
  const url = new URL(baseUrl);
  const body = options.body === undefined ? undefined : typeof options.body === "string" ? options.body : JSON.stringify(options.body);
  const headers: Record<string, string> = {
    ...(options.token !== undefined ? { authorization: `Bearer ${options.token}` } : {}),
    ...(body !== undefined && typeof options.body !== "string" ? { "content-type": "application/json" } : {}),
    ...(body !== undefined && options.headers?.["transfer-encoding"] === undefined ? { "content-length": String(Buffer.byteLength(body)) } : {}),
    ...options.headers,
  };
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      { host: url.hostname, port: url.port, path, method: options.method ?? (body === undefined ? "GET" : "POST"), headers, agent: false },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: response.statusCode ?? 0, headers: response.headers, text, json });
        });
        response.on("error", reject);
      },
    );
    request.on("error", reject);
    if (body !== undefined) request.write(body);
    request.end();
  });
}

/** A store with fixture services, its app and a server on 127.0.0.1. */
export interface TestApi {
  store: MCPStore;
  app: McpStoreApp;
  server: RunningServer;
  url: string;
  send(path: string, options?: SendOptions): Promise<HttpResponse>;
  close(): Promise<void>;
}

/** Options of {@link startTestApi}. */
export interface StartTestApiOptions extends Partial<CreateAppOptions> {
  /** Services to add and wait for: `store` (demo) and agent `alice` (notes) by default. */
  services?: boolean;
  plugins?: Plugin[];
  /**
   * The store's agent limits. Default: the defaults, with agents allowed to reach 127.0.0.1 (where every fixture of
   * these tests listens; the egress tests pass their own).
   */
  agentPolicy?: AgentPolicyOptions;
}

/**
 * Starts a store (in memory) with the stdio fixture as `demo` in the store scope and `notes` in alice's scope, and the
 * API over it on a free port of 127.0.0.1.
 */
export async function startTestApi(options: StartTestApiOptions = {}): Promise<TestApi> {
  const { services = true, plugins = [], agentPolicy = { allowEgress: ["127.0.0.1:*"] }, ...appOptions } = options;
  const store = await MCPStore.setupStore({ mcpConfigFile: false, logger: silentLogger, plugins, agentPolicy });
  try {
    if (services) {
      await store.forStore().addService(stdioFixtureConfig("demo"));
      await store.forAgent("alice").addService(stdioFixtureConfig("notes"));
      await Promise.all([store.forStore().waitService("demo", { timeoutMs: 20_000 }), store.forAgent("alice").waitService("notes", { timeoutMs: 20_000 })]);
    }
    const app = createApp(store, { tokens: TOKENS, logger: silentLogger, ...appOptions });
    const server = await serve(app, { port: 0 });
    return {
      store,
      app,
      server,
      url: server.url,
      send: (path, sendOptions) => send(server.url, path, sendOptions),
      close: async () => {
        await server.close();
        await store.close();
      },
    };
  } catch (error) {
    await store.close();
    throw error;
  }
}

/** Every route the app registered (middleware left out), as `METHOD path`. */
export function registeredRoutes(app: McpStoreApp): string[] {
  return [...new Set(app.routes.filter((route) => route.method !== "ALL").map((route) => `${route.method} ${route.path}`))].sort();
}
