#!/usr/bin/env node
import { spawn } from "node:child_process";
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { z } from "zod";
import { createFixtureServer } from "./fixture-server.js";
import { MISBEHAVING_MODES, type MisbehavingMode } from "./misbehaving-modes.js";

// A stdio MCP server that misbehaves on purpose; `--mode` picks how (see MisbehavingMode). Every serving mode has the
// fixture server's tools plus `crash`, `hang`, `wait_for_cancel`, `cancellations`, `write_stdout_garbage` and `pid`.
const { values } = parseArgs({
  options: {
    mode: { type: "string", default: "normal" },
    "inner-mode": { type: "string", default: "normal" },
    name: { type: "string", default: "misbehaving" },
    "up-ms": { type: "string", default: "500" },
    "silent-after-ms": { type: "string", default: "300" },
    "huge-line-bytes": { type: "string", default: "1000000" },
    "flood-bytes": { type: "string", default: "1048576" },
    linger: { type: "boolean", default: false },
    "exit-delay-ms": { type: "string" },
    "lock-file": { type: "string" },
  },
});
const mode = values.mode as MisbehavingMode;
if (!MISBEHAVING_MODES.includes(mode)) {
  process.stderr.write(`unknown --mode ${mode}; one of ${MISBEHAVING_MODES.join(", ")}\n`);
  process.exit(2);
}

/** Keeps the process alive whatever happens to stdin (as servers with open sockets or timers do). */
const keepAlive = () => setInterval(() => undefined, 1 << 30);
const garbageLines = () => [
  "Server starting... (a console.log that should have gone to stderr)",
  "\u001b[32m✔\u001b[0m ready",
  "{ not json",
  JSON.stringify({ jsonrpc: "1.0", note: "json, but not JSON-RPC 2.0" }),
  JSON.stringify([1, 2, 3]),
];
const writeGarbage = () => {
  process.stdout.write(`${garbageLines().join("\n")}\n`);
  process.stdout.write(`${"x".repeat(Number(values["huge-line-bytes"]))}\n`);
};

/** True when a process with this pid exists (EPERM: it exists, but belongs to someone else). */
const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
};

/** Takes the lock file (`wx`: fails if it exists) with this pid in it, or exits 3 if a live process holds it. */
function takeLock(lockFile: string): void {
  for (let attempt = 0; ; attempt++) {
    try {
      const descriptor = openSync(lockFile, "wx");
      writeSync(descriptor, String(process.pid));
      closeSync(descriptor);
      // Only our own lock is removed: a successor may have taken over the file after us.
      process.on("exit", () => {
        try {
          if (readFileSync(lockFile, "utf8") === String(process.pid)) unlinkSync(lockFile);
        } catch {
          // already gone
        }
      });
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    let holder = 0;
    try {
      holder = Number(readFileSync(lockFile, "utf8").trim());
    } catch {
      continue; // removed in between: try again
    }
    if (holder > 0 && isAlive(holder)) {
      process.stderr.write(`LOCK HELD by ${holder}\n`);
      process.exit(3);
    }
    // An empty file is a holder between its open and its write: give it a moment before calling the lock stale.
    if (!holder && attempt < 20) {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
      continue;
    }
    process.stderr.write(`taking over the stale lock of ${holder || "nobody"}\n`);
    try {
      unlinkSync(lockFile);
    } catch {
      // someone else removed it first
    }
  }
}

let exiting = false;
/** Exits 0 after `delayMs`, once, whatever asked first (SIGTERM, stdin's end). */
function exitAfter(delayMs: number): void {
  if (exiting) return;
  exiting = true;
  process.stderr.write(`exiting in ${delayMs} ms\n`);
  setTimeout(() => process.exit(0), delayMs);
}

async function serve(): Promise<void> {
  const server = createFixtureServer({ name: values.name });
  let cancellations = 0;
  let toolCalls = 0;
  server.registerTool("crash", { description: "Exit the process in the middle of this call." }, async () => {
    process.stderr.write("crashing on purpose\n");
    process.exit(1);
  });
  server.registerTool("hang", { description: "Never answer, even when cancelled." }, () => new Promise(() => undefined));
  server.registerTool("wait_for_cancel", { description: "Answer only when cancelled (counted by `cancellations`)." }, (extra) =>
    new Promise((resolve) => {
      extra.signal.addEventListener("abort", () => {
        cancellations++;
        resolve({ content: [{ type: "text", text: "cancelled" }] });
      });
    }),
  );
  server.registerTool("cancellations", { description: "How many `wait_for_cancel` calls were cancelled." }, async () => ({
    content: [{ type: "text", text: String(cancellations) }],
  }));
  server.registerTool(
    "write_stdout_garbage",
    { description: "Write non-MCP lines and one huge line to stdout, then answer.", inputSchema: { text: z.string().optional() } },
    async ({ text }) => {
      writeGarbage();
      return { content: [{ type: "text", text: text ?? "after garbage" }] };
    },
  );
  server.registerTool("pid", { description: "The server's pid and parent pid." }, async () => ({
    content: [{ type: "text", text: JSON.stringify({ pid: process.pid, ppid: process.ppid }) }],
  }));

  const transport = new StdioServerTransport();
  await server.connect(transport);
  if (mode === "crash-mid-call") {
    // Dies 50 ms into its first tool call, before answering it.
    const handle = transport.onmessage!;
    transport.onmessage = (message) => {
      if ("method" in message && message.method === "tools/call" && ++toolCalls === 1) {
        setTimeout(() => {
          process.stderr.write("crashing in the middle of a call\n");
          process.exit(1);
        }, 50);
      }
      handle(message);
    };
  }
  if (mode === "goes-silent") {
    // After a while, drop every message: requests (pings included) are never answered.
    setTimeout(() => {
      process.stderr.write("going silent\n");
      transport.onmessage = () => undefined;
    }, Number(values["silent-after-ms"]));
  }
  if (mode === "flap") {
    setTimeout(() => {
      process.stderr.write("flapping: exiting\n");
      process.exit(1);
    }, Number(values["up-ms"]));
  }
  if (mode === "garbage-stdout") {
    setInterval(() => process.stdout.write(`${garbageLines()[0]}\n`), 25).unref();
  }
  if (mode === "stderr-flood") {
    setInterval(() => process.stderr.write(`${"flood line ".repeat(8)}\n`.repeat(50)), 20);
  }
  if (mode === "slow-exit" || mode === "lock-holder") {
    const delayMs = Number(values["exit-delay-ms"] ?? (mode === "slow-exit" ? 1500 : 0));
    process.on("SIGTERM", () => exitAfter(delayMs));
    if (!values.linger) process.stdin.on("end", () => exitAfter(delayMs));
  }
  if (values.linger) keepAlive();
}

switch (mode) {
  case "no-initialize":
    // Reads everything, answers nothing, and outlives stdin.
    process.stdin.resume();
    keepAlive();
    break;
  case "exit-at-once":
    process.stderr.write("fatal: exiting at once on purpose\n");
    process.exit(1);
    break;
  case "garbage-stdout":
    writeGarbage();
    await serve();
    break;
  case "stderr-flood": {
    // Far more than a pipe holds: a store that does not drain stderr never sees `initialize` answered.
    // Written synchronously (Node would otherwise buffer it), as a C or Python server's stderr writes block.
    const line = `${"stderr flood ".repeat(7)}\n`;
    const flood = Buffer.from(line.repeat(Math.ceil(Number(values["flood-bytes"]) / line.length)));
    for (let offset = 0; offset < flood.length; ) {
      try {
        offset += writeSync(2, flood, offset, Math.min(65_536, flood.length - offset));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EAGAIN") throw error;
      }
    }
    await serve();
    break;
  }
  case "wrapper": {
    // Like `npx` or a shell script: the real server is a grandchild of the store, and signals are not forwarded.
    const child = spawn(
      process.execPath,
      [fileURLToPath(import.meta.url), "--mode", values["inner-mode"], "--name", values.name, "--up-ms", values["up-ms"], "--linger"],
      { stdio: "inherit" },
    );
    child.on("exit", (code) => process.exit(code ?? 1));
    break;
  }
  case "lock-holder":
    if (!values["lock-file"]) {
      process.stderr.write("--mode lock-holder needs --lock-file PATH\n");
      process.exit(2);
    }
    takeLock(values["lock-file"]);
    await serve();
    break;
  default:
    await serve();
}
