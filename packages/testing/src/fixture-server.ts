import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";

/** Options of {@link createFixtureServer}. */
export interface FixtureServerOptions {
  /** Server name announced at `initialize`. Default `"fixture"`. */
  name?: string;
  /** Extra generated tools `tool_0000`, `tool_0001`, ... (each echoes `text`), for catalogue benchmarks. Default 0. */
  extraTools?: number;
}

/** A 1×1 transparent PNG, returned by the `image` tool. */
export const FIXTURE_PNG_BASE64 =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=";

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        reject(new Error("cancelled"));
      },
      { once: true },
    );
  });

/**
 * A well-behaved MCP server for tests: tools that echo, add, sleep, report progress, return an error result, return an
 * image, and add or remove tools at run time (announcing `notifications/tools/list_changed`); one resource and one
 * prompt. Build one per connection.
 */
export function createFixtureServer(options: FixtureServerOptions = {}): McpServer {
  const server = new McpServer(
    { name: options.name ?? "fixture", version: "1.0.0" },
    { capabilities: { tools: { listChanged: true }, resources: {}, prompts: {}, logging: {} } },
  );

  server.registerTool(
    "echo",
    { description: "Echo the given text back.", inputSchema: { text: z.string().describe("Text to echo") } },
    async ({ text }) => ({ content: [{ type: "text", text }] }),
  );

  server.registerTool(
    "add",
    {
      description: "Add two numbers.",
      inputSchema: { a: z.number(), b: z.number() },
      outputSchema: { sum: z.number() },
    },
    async ({ a, b }) => ({
      content: [{ type: "text", text: String(a + b) }],
      structuredContent: { sum: a + b },
    }),
  );

  server.registerTool(
    "sleep",
    { description: "Wait for `ms` milliseconds, then answer.", inputSchema: { ms: z.number().int().min(0) } },
    async ({ ms }, extra) => {
      await sleep(ms, extra.signal);
      return { content: [{ type: "text", text: `slept ${ms}` }] };
    },
  );

  server.registerTool(
    "progress",
    {
      description: "Report `steps` progress notifications, `delayMs` apart, then answer.",
      inputSchema: { steps: z.number().int().min(1).max(100), delayMs: z.number().int().min(0).default(10) },
    },
    async ({ steps, delayMs }, extra) => {
      const progressToken = extra._meta?.progressToken;
      for (let step = 1; step <= steps; step++) {
        await sleep(delayMs, extra.signal);
        if (progressToken !== undefined) {
          await extra.sendNotification({
            method: "notifications/progress",
            params: { progressToken, progress: step, total: steps, message: `step ${step}` },
          });
        }
      }
      return { content: [{ type: "text", text: `done ${steps}` }] };
    },
  );

  server.registerTool(
    "fail",
    { description: "Return an error result (isError: true).", inputSchema: { message: z.string().optional() } },
    async ({ message }) => ({ isError: true, content: [{ type: "text", text: message ?? "failed on purpose" }] }),
  );

  server.registerTool("image", { description: "Return a 1x1 PNG image." }, async () => ({
    content: [{ type: "image", data: FIXTURE_PNG_BASE64, mimeType: "image/png" }],
  }));

  server.registerTool(
    "env",
    { description: "Return the value of an environment variable of the server process.", inputSchema: { name: z.string() } },
    async ({ name }) => ({ content: [{ type: "text", text: process.env[name] ?? "" }] }),
  );

  server.registerTool("cwd", { description: "Return the working directory of the server process." }, async () => ({
    content: [{ type: "text", text: process.cwd() }],
  }));

  const dynamicTools = new Map<string, ReturnType<McpServer["registerTool"]>>();
  server.registerTool(
    "add_tool",
    {
      description: "Register a new tool `name` that echoes `text`, and announce the change.",
      inputSchema: { name: z.string().regex(/^[A-Za-z0-9_-]{1,40}$/) },
    },
    async ({ name }) => {
      if (!dynamicTools.has(name)) {
        dynamicTools.set(
          name,
          server.registerTool(name, { description: `Added at run time.`, inputSchema: { text: z.string() } }, async ({ text }) => ({
            content: [{ type: "text", text: `${name}: ${text}` }],
          })),
        );
      }
      return { content: [{ type: "text", text: `added ${name}` }] };
    },
  );
  server.registerTool(
    "remove_tool",
    { description: "Remove a tool added by add_tool, and announce the change.", inputSchema: { name: z.string() } },
    async ({ name }) => {
      dynamicTools.get(name)?.remove();
      dynamicTools.delete(name);
      return { content: [{ type: "text", text: `removed ${name}` }] };
    },
  );

  for (let index = 0; index < (options.extraTools ?? 0); index++) {
    const toolName = `tool_${String(index).padStart(4, "0")}`;
    server.registerTool(
      toolName,
      { description: `Generated tool number ${index}.`, inputSchema: { text: z.string().optional() } },
      async ({ text }) => ({ content: [{ type: "text", text: `${toolName} ${text ?? ""}` }] }),
    );
  }

  server.registerResource(
    "readme",
    "fixture://readme",
    { description: "A short text resource.", mimeType: "text/plain" },
    async (uri) => ({ contents: [{ uri: uri.href, mimeType: "text/plain", text: "fixture readme" }] }),
  );

  server.registerPrompt(
    "greet",
    { description: "Greet someone.", argsSchema: { name: z.string() } },
    ({ name }) => ({ messages: [{ role: "user", content: { type: "text", text: `Hello, ${name}!` } }] }),
  );

  return server;
}
