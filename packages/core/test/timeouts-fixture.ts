import { createServer, type IncomingMessage, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import {
  CallToolRequestSchema,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListToolsRequestSchema,
  ReadResourceRequestSchema,
  type Tool,
} from "@modelcontextprotocol/sdk/types.js";

// A real MCP server over stateless Streamable HTTP on 127.0.0.1, for the timeout tests: slow answers on demand
// (initialize, resource reads, prompts, tool list pages), paging that never ends or repeats its cursor, and counts of
// what arrived (requests by method, `notifications/cancelled`).

/** What the server does; tests change it while the server runs. */
export interface TimeoutsFixtureSettings {
  /** Delay of every `initialize` after the first `slowInitializeAfter` ones, in milliseconds. Default 0. */
  initializeDelayMs: number;
  /** How many `initialize` requests are answered at once before `initializeDelayMs` applies. Default 0. */
  slowInitializeAfter: number;
  /** Delay of `resources/read`, in milliseconds. */
  readDelayMs: number;
  /** Delay of `prompts/get`, in milliseconds. */
  promptDelayMs: number;
  /**
   * The tool list's paging: a number of pages (page 0 has the base tools, page n ≥ 1 the tool `t_n`), `"endless"`
   * (always one more page), or `"repeat"` (every page after the first names the same next cursor). Default 1.
   */
  toolPages: number | "endless" | "repeat";
  /** Delay of each `tools/list` page, in milliseconds. Default 0. */
  pageDelayMs: number;
}

/** A running timeouts fixture. */
export interface TimeoutsFixture {
  /** Streamable HTTP endpoint. */
  url: string;
  settings: TimeoutsFixtureSettings;
  /** Requests received, by method. */
  requests: Record<string, number>;
  /** `notifications/cancelled` received. */
  cancellations: number;
  close(): Promise<void>;
}

const BASE_TOOLS: Tool[] = [
  { name: "echo", inputSchema: { type: "object", properties: { text: { type: "string" } }, required: ["text"] } },
  { name: "sleep", inputSchema: { type: "object", properties: { ms: { type: "number" } }, required: ["ms"] } },
  { name: "inspect", description: "Answers with the arguments it got, as JSON.", inputSchema: { type: "object" } },
];

/** Waits `ms`, without keeping the process alive for it. */
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

function createTimeoutsServer(fixture: TimeoutsFixture): Server {
  const server = new Server({ name: "timeouts", version: "1.0.0" }, { capabilities: { tools: {}, resources: {}, prompts: {} } });
  const { settings } = fixture;
  server.setRequestHandler(ListToolsRequestSchema, async (request) => {
    await sleep(settings.pageDelayMs);
    const cursor = request.params?.cursor;
    const index = cursor === undefined ? 0 : cursor === "again" ? 1 : Number(cursor.slice(1));
    const tools = index === 0 ? BASE_TOOLS : [{ name: `t_${index}`, inputSchema: { type: "object" as const } }];
    const { toolPages } = settings;
    const nextCursor = toolPages === "repeat" ? "again" : toolPages === "endless" || index + 1 < toolPages ? `p${index + 1}` : undefined;
    return { tools, ...(nextCursor ? { nextCursor } : {}) };
  });
  server.setRequestHandler(CallToolRequestSchema, async (request) => {
    const args = (request.params.arguments ?? {}) as Record<string, unknown>;
    if (request.params.name === "sleep") await sleep(Number(args.ms));
    const text = request.params.name === "inspect" ? JSON.stringify(args) : request.params.name === "sleep" ? `slept ${String(args.ms)}` : String(args.text);
    return { content: [{ type: "text", text }] };
  });
  server.setRequestHandler(ListResourcesRequestSchema, async () => ({ resources: [{ uri: "slow://doc", name: "doc" }] }));
  server.setRequestHandler(ReadResourceRequestSchema, async (request) => {
    await sleep(settings.readDelayMs);
    return { contents: [{ uri: request.params.uri, text: "the doc" }] };
  });
  server.setRequestHandler(ListPromptsRequestSchema, async () => ({ prompts: [{ name: "greet" }] }));
  server.setRequestHandler(GetPromptRequestSchema, async () => {
    await sleep(settings.promptDelayMs);
    return { messages: [{ role: "user", content: { type: "text", text: "hello" } }] };
  });
  return server;
}

async function readBody(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

/** Starts the fixture on a free port. */
export async function startTimeoutsFixture(settings: Partial<TimeoutsFixtureSettings> = {}): Promise<TimeoutsFixture> {
  let initializes = 0;
  const http: HttpServer = createServer((request, response) => {
    void (async () => {
      const body = request.method === "POST" ? await readBody(request) : undefined;
      for (const message of Array.isArray(body) ? body : body === undefined ? [] : [body]) {
        const method = (message as { method?: string }).method;
        if (method === undefined) continue;
        fixture.requests[method] = (fixture.requests[method] ?? 0) + 1;
        if (method === "notifications/cancelled") fixture.cancellations++;
        if (method === "initialize" && initializes++ >= fixture.settings.slowInitializeAfter) await sleep(fixture.settings.initializeDelayMs);
      }
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
      const server = createTimeoutsServer(fixture);
      response.on("close", () => void transport.close().then(() => server.close()));
      await server.connect(transport);
      await transport.handleRequest(request, response, body);
    })().catch((error: unknown) => {
      if (!response.headersSent) response.writeHead(500);
      response.end(String(error));
    });
  });
  await new Promise<void>((resolve, reject) => {
    http.once("error", reject);
    http.listen(0, "127.0.0.1", resolve);
  });
  const fixture: TimeoutsFixture = {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`,
    settings: { initializeDelayMs: 0, slowInitializeAfter: 0, readDelayMs: 0, promptDelayMs: 0, toolPages: 1, pageDelayMs: 0, ...settings },
    requests: {},
    cancellations: 0,
    close: async () => {
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
  return fixture;
}
