import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterEach, describe, expect, it } from "vitest";
import { startHttpFixture, stdioFixtureConfig, type HttpFixture } from "../src/index.js";

// The fixtures are checked with the raw SDK client, so that store tests can trust them.
let fixture: HttpFixture | undefined;
let client: Client | undefined;
afterEach(async () => {
  await client?.close();
  await fixture?.close();
  client = fixture = undefined;
});

const tools = ["echo", "add", "sleep", "progress", "fail", "image", "env", "cwd", "add_tool", "remove_tool"];

describe("fixture server", () => {
  it("serves over stdio (from the built CLI), with generated extra tools", async () => {
    const config = stdioFixtureConfig("fx", { extraTools: 3 });
    client = new Client({ name: "test", version: "1" });
    await client.connect(new StdioClientTransport({ command: config.command, args: config.args }));
    const listed = await client.listTools();
    expect(listed.tools.map((tool) => tool.name)).toEqual([...tools, "tool_0000", "tool_0001", "tool_0002"]);
    expect(await client.callTool({ name: "add", arguments: { a: 2, b: 3 } })).toMatchObject({ structuredContent: { sum: 5 } });
  });

  it("serves Streamable HTTP on 127.0.0.1 and enforces required headers", async () => {
    fixture = await startHttpFixture({ transports: "streamable-http", requireHeaders: { authorization: "Bearer t" } });
    expect(fixture.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    const denied = new Client({ name: "test", version: "1" });
    await expect(denied.connect(new StreamableHTTPClientTransport(new URL(fixture.url)))).rejects.toThrow();
    client = new Client({ name: "test", version: "1" });
    await client.connect(new StreamableHTTPClientTransport(new URL(fixture.url), { requestInit: { headers: { Authorization: "Bearer t" } } }));
    expect(await client.callTool({ name: "echo", arguments: { text: "hi" } })).toEqual({ content: [{ type: "text", text: "hi" }] });
  });

  it("serves SSE and announces tools added at run time", async () => {
    fixture = await startHttpFixture({ transports: "sse" });
    client = new Client({ name: "test", version: "1" });
    let changed = 0;
    await client.connect(new SSEClientTransport(new URL(fixture.sseUrl)));
    const { ToolListChangedNotificationSchema } = await import("@modelcontextprotocol/sdk/types.js");
    const announced = new Promise<void>((resolve) =>
      client!.setNotificationHandler(ToolListChangedNotificationSchema, async () => {
        changed++;
        resolve();
      }),
    );
    await client.callTool({ name: "add_tool", arguments: { name: "later" } });
    await announced;
    expect(changed).toBeGreaterThan(0);
    expect((await client.listTools()).tools.map((tool) => tool.name)).toContain("later");
  });
});
