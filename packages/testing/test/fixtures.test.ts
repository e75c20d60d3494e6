import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { misbehavingFixtureConfig, startHttpFixture, stdioFixtureConfig, type HttpFixture, type MisbehavingFixtureOptions } from "../src/index.js";

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

/** A misbehaving fixture process, spoken to over raw stdio so that its exit can be timed. */
interface FixtureProcess {
  child: ChildProcessWithoutNullStreams;
  stderr: () => string;
  exited: Promise<{ code: number | null; atMs: number }>;
}

const running: ChildProcessWithoutNullStreams[] = [];
afterEach(() => {
  for (const child of running.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
});

/** Rejects after `ms`, so that no wait in these tests is unbounded. */
const within = <T>(promise: Promise<T>, ms: number, what: string) =>
  Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms).unref())]);

function startMisbehaving(options: MisbehavingFixtureOptions): FixtureProcess {
  const { command, args } = misbehavingFixtureConfig("fx", options);
  const child = spawn(command, args, { stdio: "pipe" });
  running.push(child);
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; atMs: number }>((resolve) =>
    child.on("exit", (code) => resolve({ code, atMs: performance.now() })),
  );
  return { child, stderr: () => stderr, exited };
}

/** Resolves when the process has answered `initialize` (so it is serving, and holds its lock if it takes one). */
function initialized(fixture: FixtureProcess): Promise<void> {
  const answered = new Promise<void>((resolve) => {
    let stdout = "";
    fixture.child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('"id":1')) resolve();
    });
  });
  const initialize = { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "test", version: "1" } };
  fixture.child.stdin.write(`${JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: initialize })}\n`);
  return within(answered, 10_000, "initialize answered");
}

describe("misbehaving fixture: slow-exit and lock-holder", () => {
  let directory: string | undefined;
  afterEach(() => {
    if (directory) rmSync(directory, { recursive: true, force: true });
    directory = undefined;
  });
  const lockPath = () => join((directory ??= mkdtempSync(join(tmpdir(), "mcpstore-lock-"))), "server.lock");

  it("slow-exit waits exitDelayMs after SIGTERM, and after stdin ends, before exiting", async () => {
    const exitDelayMs = 600;
    for (const trigger of ["SIGTERM", "stdin end"] as const) {
      const fixture = startMisbehaving({ mode: "slow-exit", exitDelayMs });
      await initialized(fixture);
      const askedAt = performance.now();
      if (trigger === "SIGTERM") fixture.child.kill("SIGTERM");
      else fixture.child.stdin.end();
      const { code, atMs } = await within(fixture.exited, exitDelayMs + 10_000, `exit after ${trigger}`);
      expect(code, trigger).toBe(0);
      expect(atMs - askedAt, trigger).toBeGreaterThanOrEqual(exitDelayMs);
    }
  });

  it("lock-holder: a second copy on the same lock exits 3 with LOCK HELD; the lock goes when the holder exits", async () => {
    const lockFile = lockPath();
    const first = startMisbehaving({ mode: "lock-holder", lockFile });
    await initialized(first);
    expect(readFileSync(lockFile, "utf8")).toBe(String(first.child.pid));

    const second = startMisbehaving({ mode: "lock-holder", lockFile });
    const { code } = await within(second.exited, 10_000, "second copy exits");
    expect(code).toBe(3);
    expect(second.stderr()).toContain(`LOCK HELD by ${first.child.pid}`);
    expect(readFileSync(lockFile, "utf8")).toBe(String(first.child.pid));

    first.child.kill("SIGTERM");
    expect((await within(first.exited, 10_000, "holder exits")).code).toBe(0);
    expect(existsSync(lockFile)).toBe(false);
  });

  it("lock-holder with exitDelayMs keeps the lock until it has exited, and a stale lock is taken over", async () => {
    const lockFile = lockPath();
    const slow = startMisbehaving({ mode: "lock-holder", lockFile, exitDelayMs: 800 });
    await initialized(slow);
    slow.child.kill("SIGTERM");
    // A successor started while the old server is still exiting fails loudly.
    const early = startMisbehaving({ mode: "lock-holder", lockFile });
    expect((await within(early.exited, 10_000, "early successor exits")).code).toBe(3);
    expect(early.stderr()).toContain(`LOCK HELD by ${slow.child.pid}`);
    await within(slow.exited, 10_000, "slow holder exits");
    expect(existsSync(lockFile)).toBe(false);

    // A lock left by a process that died without cleaning up (SIGKILL) is taken over.
    const killed = startMisbehaving({ mode: "lock-holder", lockFile });
    await initialized(killed);
    killed.child.kill("SIGKILL");
    await within(killed.exited, 10_000, "killed holder exits");
    expect(readFileSync(lockFile, "utf8")).toBe(String(killed.child.pid));
    const successor = startMisbehaving({ mode: "lock-holder", lockFile });
    await initialized(successor);
    expect(readFileSync(lockFile, "utf8")).toBe(String(successor.child.pid));
    successor.child.stdin.end();
    expect((await within(successor.exited, 10_000, "successor exits")).code).toBe(0);
    expect(existsSync(lockFile)).toBe(false);
  });

  it("lock-holder needs a lock file", () => {
    expect(() => misbehavingFixtureConfig("fx", { mode: "lock-holder" })).toThrow(/lockFile/);
  });
});
