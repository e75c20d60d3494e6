import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { CallToolRequestSchema, ListToolsRequestSchema, type Tool } from "@modelcontextprotocol/sdk/types.js";

/**
 * Tools whose input schemas trip up converters and strict providers, as real servers send them: `$ref` into `$defs`
 * (`lookup`), a recursive `$ref` into draft-07 `definitions` (`tree`), and arrays without `items` and nested objects
 * without `type` (`lookup.tags`, `tree.options`).
 */
export const AWKWARD_SCHEMA_TOOLS: Tool[] = [
  {
    name: "lookup",
    description: "Look up an address.",
    inputSchema: {
      type: "object",
      properties: {
        address: { $ref: "#/$defs/Address", description: "Where to look" },
        tags: { type: "array", description: "Free-form tags" },
      },
      required: ["address"],
      $defs: { Address: { type: "object", properties: { city: { type: "string" }, zip: { type: "string" } }, required: ["city"] } },
    },
  },
  {
    name: "tree",
    description: "Count the nodes of a tree.",
    inputSchema: {
      $schema: "http://json-schema.org/draft-07/schema#",
      type: "object",
      properties: {
        root: { $ref: "#/definitions/Node" },
        options: { properties: { depthFirst: { type: "boolean" } } },
      },
      required: ["root"],
      definitions: {
        Node: { type: "object", description: "A node", properties: { name: { type: "string" }, children: { type: "array", items: { $ref: "#/definitions/Node" } } }, required: ["name"] },
      },
    },
  },
];

type Node = { name: string; children?: Node[] };
const countNodes = (node: Node): number => 1 + (node.children ?? []).reduce((sum, child) => sum + countNodes(child), 0);

function createAwkwardSchemaServer(): Server {
  const server = new Server({ name: "awkward-schemas", version: "1.0.0" }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: AWKWARD_SCHEMA_TOOLS }));
  server.setRequestHandler(CallToolRequestSchema, async (request) => {
    const args = (request.params.arguments ?? {}) as Record<string, unknown>;
    if (request.params.name === "lookup") {
      const address = args.address as { city: string; zip?: string };
      const tags = (args.tags as unknown[] | undefined) ?? [];
      return { content: [{ type: "text", text: `${address.city}${address.zip ? ` ${address.zip}` : ""} (${tags.length} tags)` }] };
    }
    if (request.params.name === "tree") return { content: [{ type: "text", text: `${countNodes(args.root as Node)} nodes` }] };
    return { isError: true, content: [{ type: "text", text: `unknown tool ${request.params.name}` }] };
  });
  return server;
}

/** A running awkward-schema server. */
export interface AwkwardSchemaFixture {
  /** Streamable HTTP endpoint on 127.0.0.1. */
  url: string;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Serves {@link AWKWARD_SCHEMA_TOOLS} over stateless Streamable HTTP on 127.0.0.1 (a free port). */
export async function startAwkwardSchemaFixture(): Promise<AwkwardSchemaFixture> {
  const http: HttpServer = createServer((request, response) => {
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    const server = createAwkwardSchemaServer();
    response.on("close", () => void transport.close().then(() => server.close()));
    server
      .connect(transport)
      .then(() => transport.handleRequest(request, response))
      .catch((error: unknown) => {
        if (!response.headersSent) response.writeHead(500);
        response.end(String(error));
      });
  });
  await new Promise<void>((resolve, reject) => {
    http.once("error", reject);
    http.listen(0, "127.0.0.1", resolve);
  });
  const close = async () => {
    http.closeAllConnections();
    await new Promise<void>((resolve) => http.close(() => resolve()));
  };
  return { url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`, close, [Symbol.asyncDispose]: close };
}
