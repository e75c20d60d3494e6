import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { listProcesses, misbehavingFixtureConfig, processesMatching } from "@mcpstore/testing";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterEach, describe, expect, it } from "vitest";
import { StdioTransport, type StdioTransportOptions } from "../src/connection/stdio-transport.js";

// StdioTransport against real processes: process groups, stdout hygiene, stderr draining.

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function transportFor(config: { command: string; args: string[] }, options: Partial<StdioTransportOptions> = {}): StdioTransport {
  const transport = new StdioTransport({ command: config.command, args: config.args, ...options });
  cleanups.push(() => transport.close());
  return transport;
}

async function connect(transport: StdioTransport): Promise<Client> {
  const client = new Client({ name: "test", version: "1" });
  await client.connect(transport, { timeout: 10_000 });
  cleanups.push(() => client.close());
  return client;
}

async function until(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return true;
}

const text = (result: unknown) => ((result as { content: Array<{ text?: string }> }).content[0]?.text ?? "");

describe("StdioTransport", () => {
  it("starts the server in a process group of its own", async () => {
    const marker = `group-${randomUUID()}`;
    const transport = transportFor(misbehavingFixtureConfig("x", { marker }));
    const client = await connect(transport);
    const [server] = processesMatching(marker);
    expect(server?.pid).toBe(transport.pid);
    expect(server?.pgid).toBe(transport.pid);
    expect(server?.pgid).not.toBe(listProcesses().find((entry) => entry.pid === process.pid)?.pgid);
    expect(text(await client.callTool({ name: "echo", arguments: { text: "hi" } }))).toBe("hi");
  });

  it("close() stops a wrapper and the server it forked (SIGTERM to the group)", async () => {
    const marker = `wrap-${randomUUID()}`;
    const transport = transportFor(misbehavingFixtureConfig("x", { mode: "wrapper", marker }));
    const client = await connect(transport);
    const pid = JSON.parse(text(await client.callTool({ name: "pid", arguments: {} }))) as { pid: number; ppid: number };
    // The server answering is the grandchild; its parent is the wrapper the transport started.
    expect(pid.ppid).toBe(transport.pid);
    expect(processesMatching(marker)).toHaveLength(2);
    const started = Date.now();
    await transport.close();
    expect(Date.now() - started).toBeLessThan(1500);
    expect(processesMatching(marker)).toEqual([]);
  });

  it("SIGKILLs a group that ignores SIGTERM after killGraceMs", async () => {
    const marker = `stubborn-${randomUUID()}`;
    let ready = false;
    const transport = transportFor(
      {
        command: process.execPath,
        args: ["-e", `process.on("SIGTERM", () => {}); console.error("ready"); setInterval(() => {}, 1000); // ${marker}`],
      },
      { killGraceMs: 300, onStderrLine: (line) => (ready ||= line === "ready") },
    );
    await transport.start();
    expect(await until(() => ready, 5000)).toBe(true);
    const started = Date.now();
    await transport.close();
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(processesMatching(marker)).toEqual([]);
  });

  it("reports the connection closed when its process dies, even while a grandchild holds the pipes, and stops the grandchild", async () => {
    const marker = `orphan-${randomUUID()}`;
    const transport = transportFor(misbehavingFixtureConfig("x", { mode: "wrapper", marker }));
    await connect(transport);
    let closedAt: number | undefined;
    const previous = transport.onclose;
    transport.onclose = () => {
      closedAt = Date.now();
      previous?.();
    };
    const killedAt = Date.now();
    process.kill(transport.pid!, "SIGKILL");
    expect(await until(() => closedAt !== undefined, 2000)).toBe(true);
    expect(closedAt! - killedAt).toBeLessThan(500);
    expect(await until(() => processesMatching(marker).length === 0, 3000)).toBe(true);
  });

  it("drops and counts stdout lines that are not MCP messages (and a huge one), and the connection goes on", async () => {
    const dropped: string[] = [];
    const transport = transportFor(misbehavingFixtureConfig("x", { mode: "garbage-stdout", hugeLineBytes: 2_000_000 }), {
      onDroppedLine: (sample) => dropped.push(sample),
    });
    const client = await connect(transport);
    expect(text(await client.callTool({ name: "write_stdout_garbage", arguments: { text: "still here" } }))).toBe("still here");
    expect(text(await client.callTool({ name: "echo", arguments: { text: "and here" } }))).toBe("and here");
    expect(transport.droppedLines).toBeGreaterThanOrEqual(12);
    expect(dropped.length).toBe(transport.droppedLines);
    expect(dropped).toContain("{ not json");
    expect(dropped).toContain(JSON.stringify({ jsonrpc: "1.0", note: "json, but not JSON-RPC 2.0" }));
    expect(Math.max(...dropped.map((sample) => sample.length))).toBeLessThanOrEqual(120);
  });

  it("skips a line longer than maxLineBytes without holding it", async () => {
    const transport = transportFor(misbehavingFixtureConfig("x", { mode: "garbage-stdout", hugeLineBytes: 300_000 }), { maxLineBytes: 10_000 });
    const client = await connect(transport);
    const dropped = transport.droppedLines;
    expect(text(await client.callTool({ name: "write_stdout_garbage", arguments: {} }))).toBe("after garbage");
    expect(transport.droppedLines).toBeGreaterThan(dropped);
  });

  it("drains stderr, so a server flooding it still answers; lines are cut to maxStderrLineChars", async () => {
    const lines: string[] = [];
    const transport = transportFor(misbehavingFixtureConfig("x", { mode: "stderr-flood", floodBytes: 4 * 1024 * 1024 }), {
      onStderrLine: (line) => lines.push(line),
      maxStderrLineChars: 50,
    });
    const client = await connect(transport);
    expect(text(await client.callTool({ name: "echo", arguments: { text: "heard" } }))).toBe("heard");
    // The flood (4 MiB, written with blocking writes) had to be read entirely before `initialize` could be answered.
    expect(lines.length).toBeGreaterThan(45_000);
    expect(Math.max(...lines.map((line) => line.length))).toBe(50);
  });

  // Needs the built package (`pnpm test` builds first); without it this fails rather than being skipped.
  it(
    "kills the groups still running when the store's process exits",
    async () => {
      const marker = `exit-${randomUUID()}`;
      const config = misbehavingFixtureConfig("w", { mode: "wrapper", marker });
      // A store in a process of its own (the built package), which exits without closing it.
      const script = `
        import { MCPStore } from ${JSON.stringify(new URL("../dist/index.js", import.meta.url).href)};
        const quiet = { debug() {}, info() {}, warn() {}, error() {} };
        const store = await MCPStore.setupStore({ mcpConfigFile: false, logger: quiet });
        await store.forStore().addService(${JSON.stringify(config)});
        await store.forStore().waitService("w", { timeoutMs: 20000 });
        console.log((await store.forStore().getService("w")).pid);
        process.exit(0);
      `;
      const result = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", timeout: 30_000 });
      expect(result.status).toBe(0);
      expect(Number(result.stdout.trim())).toBeGreaterThan(0);
      // The wrapper does not read stdin and its server outlives stdin: only the exit hook can have stopped them.
      expect(await until(() => processesMatching(marker).length === 0, 3000)).toBe(true);
    },
  );

  it("hands a progress notification to the caller before the result that came in the same chunk", async () => {
    // A server that writes a call's last progress notification and its result in one write.
    const server = `
      require("node:readline").createInterface({ input: process.stdin }).on("line", (line) => {
        const message = JSON.parse(line);
        const send = (...messages) => process.stdout.write(messages.map((each) => JSON.stringify({ jsonrpc: "2.0", ...each }) + "\\n").join(""));
        if (message.method === "initialize") {
          send({ id: message.id, result: { protocolVersion: message.params.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: "x", version: "1" } } });
        } else if (message.method === "tools/call") {
          const progressToken = message.params._meta.progressToken;
          send({ method: "notifications/progress", params: { progressToken, progress: 1, total: 1 } }, { id: message.id, result: { content: [] } });
        }
      });`;
    const transport = transportFor({ command: process.execPath, args: ["-e", server] });
    const client = await connect(transport);
    for (let round = 0; round < 10; round++) {
      const progress: number[] = [];
      await client.callTool({ name: "x", arguments: {} }, undefined, { onprogress: (update) => progress.push(update.progress) });
      expect(progress).toEqual([1]);
    }
  });

  it("rejects start() when the command does not exist", async () => {
    const transport = transportFor({ command: "/nonexistent/mcp-server", args: [] });
    await expect(transport.start()).rejects.toMatchObject({ code: "ENOENT" });
  });
});
