import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { quietLogger, referenceServerEntry } from "@mcpstore/testing";

export { quietLogger };

export const everythingEntry = referenceServerEntry("everything");
export const filesystemEntry = referenceServerEntry("filesystem");

/** A port that was free a moment ago on 127.0.0.1 (listen on 0, read it, close). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
  return address.port;
}

/** A server-everything process serving Streamable HTTP (or legacy SSE) on `port`. */
export interface HttpEverything {
  child: ChildProcess;
  port: number;
  url: string;
  output: () => string;
  stop: () => Promise<void>;
}

/**
 * Starts server-everything with `streamableHttp` (or `sse`) on `port` (default: a free one) and resolves once it says it
 * is listening. It binds all interfaces; callers must only use `url` (127.0.0.1: `/mcp`, or `/sse` in SSE mode).
 * `stop()` kills it (SIGTERM, then SIGKILL) and waits for the exit; the process is also killed if the test process
 * exits first.
 */
export async function startHttpEverything(options: { mode?: "streamableHttp" | "sse"; port?: number; timeoutMs?: number } = {}): Promise<HttpEverything> {
  const { mode = "streamableHttp", timeoutMs = 15_000 } = options;
  const port = options.port ?? (await freePort());
  const child = spawn(process.execPath, [everythingEntry, mode], {
    env: { ...process.env, PORT: String(port) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  let output = "";
  const exited = once(child, "exit");
  const stop = async () => {
    process.off("exit", killOnExit);
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 3_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server-everything did not start on port ${port}:\n${output}`)), timeoutMs);
      const onData = (chunk: Buffer) => {
        output += chunk.toString("utf8");
        // "MCP Streamable HTTP Server listening on port N" / "Server is running on port N" (SSE).
        if (/(listening|running) on port/i.test(output)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on("data", onData);
      child.stderr!.on("data", onData);
      child.once("exit", (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`server-everything exited early (code ${code}, signal ${signal}):\n${output}`));
      });
      child.once("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return { child, port, url: `http://127.0.0.1:${port}${mode === "sse" ? "/sse" : "/mcp"}`, output: () => output, stop };
}

/** The text parts of a tool result, joined by newlines. */
export function textOf(result: { content?: unknown }): string {
  const content = (result.content ?? []) as Array<{ type: string; text?: string }>;
  return content
    .filter((part) => part.type === "text")
    .map((part) => part.text ?? "")
    .join("\n");
}

/**
 * Pids of the live server processes that this process started with `entry` as their script (Linux/macOS `ps`). Used to
 * check that the store starts and stops exactly the processes it should.
 */
export function childServerPids(entry: string): number[] {
  const table = execFileSync("ps", ["-A", "-o", "pid=,ppid=,stat=,args="], { encoding: "utf8" });
  const pids: number[] = [];
  for (const line of table.split("\n")) {
    const match = /^\s*(\d+)\s+(\d+)\s+(\S+)\s+(.*)$/.exec(line);
    if (!match) continue;
    const [, pid, ppid, stat, args] = match;
    if (Number(ppid) !== process.pid || stat!.startsWith("Z")) continue;
    if (args!.includes(entry)) pids.push(Number(pid));
  }
  return pids.sort((a, b) => a - b);
}
