import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { quietLogger } from "@mcpstore/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MCPStore } from "../src/index.js";
import { ConfigFile } from "../src/config/config-file.js";

const here = dirname(fileURLToPath(import.meta.url));
// Port 9 (discard) on loopback: nothing listens, so the services fail fast without spawning anything.
const unreachable = { url: "http://127.0.0.1:9/mcp", transport: "streamable-http" as const };
const COUNT = 50;

let directory: string;
let file: string;
beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), "mcpstore-race-"));
  file = join(directory, "mcp.json");
  await writeFile(file, '{\n  "mcpServers": {}\n}\n');
});
afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

/** mulberry32: a small seeded generator, so that a failing interleaving can be replayed from its seed. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Saves the file the way an editor does: read, edit, write a temp file, rename; without the lock. It is synchronous,
 * so that it is one step as seen by the store: the test checks the store, not the window between an editor's own read
 * and write, in which no editor that ignores the lock can avoid overwriting a write.
 */
function editByHand(name: string): void {
  const document = JSON.parse(readFileSync(file, "utf8")) as { mcpServers: Record<string, unknown> };
  document.mcpServers[name] = unreachable;
  const temporary = join(directory, ".mcp.json.editor.tmp");
  writeFileSync(temporary, `${JSON.stringify(document, null, 2)}\n`);
  renameSync(temporary, file);
}

/** Starts the lock contender and resolves once it has held the lock. */
async function contendLock(): Promise<ChildProcess> {
  const child = spawn(process.execPath, [join(here, "fixtures/lock-holder.mjs"), file], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once("data", () => resolve());
    child.once("exit", (code) => reject(new Error(`the lock holder exited with ${String(code)} before it held the lock`)));
  });
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

const names = (prefix: string) => Array.from({ length: COUNT }, (_, index) => `${prefix}-${index}`);

describe("edits by hand while the store writes the file", () => {
  it(`the store learns of all ${COUNT} hand edits made among ${COUNT} API writes, with another process contending the lock`, async () => {
    const seed = Number(process.env.RACE_SEED ?? Math.floor(Math.random() * 2 ** 32));
    console.log("seed", seed);
    const random = seeded(seed);
    const actions = [...names("hand"), ...names("api")];
    for (let index = actions.length - 1; index > 0; index--) {
      const other = Math.floor(random() * (index + 1));
      [actions[index], actions[other]] = [actions[other]!, actions[index]!];
    }

    const holder = await contendLock();
    let store: MCPStore | undefined;
    try {
      store = await MCPStore.setupStore({ mcpConfigFile: file, logger: quietLogger, monitoring: { enableReconnection: false } });
      const context = store.forStore();
      const writes: Array<Promise<unknown>> = [];
      for (const name of actions) {
        if (name.startsWith("api-")) writes.push(context.addService({ name, ...unreachable }));
        else editByHand(name);
        // Bursts: sometimes the next action follows at once, sometimes after a turn of the event loop or a few ms.
        const pause = random();
        if (pause < 0.4) continue;
        await new Promise((resolve) => (pause < 0.6 ? setImmediate(resolve) : setTimeout(resolve, random() * 15)));
      }
      const failed = (await Promise.allSettled(writes)).flatMap((result) => (result.status === "rejected" ? [String(result.reason)] : []));
      expect(failed, `seed ${seed}: failed API writes`).toEqual([]);

      const deadline = Date.now() + 20_000;
      let listed = new Set<string>();
      while (Date.now() < deadline) {
        listed = new Set((await context.listServices()).map((service) => service.name));
        if (actions.every((name) => listed.has(name))) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const inFile = new Set(Object.keys((JSON.parse(await readFile(file, "utf8")) as { mcpServers: object }).mcpServers));
      const missing = (set: Set<string>, prefix: string) => names(prefix).filter((name) => !set.has(name));
      // One assertion over all four, so that a failure shows what was lost where.
      expect(
        { apiNotInFile: missing(inFile, "api"), handNotInFile: missing(inFile, "hand"), handNotInStore: missing(listed, "hand"), apiNotInStore: missing(listed, "api") },
        `seed ${seed}`,
      ).toEqual({ apiNotInFile: [], handNotInFile: [], handNotInStore: [], apiNotInStore: [] });
    } finally {
      await stop(holder);
      await store?.close();
    }
  }, 60_000);

  it("delivers an edit that a queued write read first, numbered after that write", async () => {
    const config = new ConfigFile(file, quietLogger);
    await config.read();
    const delivered: Array<{ seq: number; names: string[] }> = [];
    const errors: Error[] = [];
    config.watch(
      (parsed, seq) => {
        delivered.push({ seq, names: parsed.entries.map((entry) => entry.name).sort() });
      },
      (error) => errors.push(error),
    );
    try {
      const first = await config.apply({ kind: "add", agentId: undefined, configs: [{ name: "a", ...unreachable }] });
      await new Promise((resolve) => setTimeout(resolve, 100));
      await config.serialize(async () => undefined);
      // The queue is idle. Hold it, edit by hand and queue a write: the watcher's read of the edit comes after the
      // write, which reads the edit too. That read must still be delivered, with the write in it.
      let unblock!: () => void;
      void config.serialize(() => new Promise<void>((resolve) => (unblock = resolve)));
      editByHand("h");
      const writing = config.apply({ kind: "add", agentId: undefined, configs: [{ name: "b", ...unreachable }] });
      await new Promise((resolve) => setTimeout(resolve, 100));
      unblock();
      const second = await writing;
      const deadline = Date.now() + 5_000;
      while (delivered.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(errors).toEqual([]);
      expect(delivered.map((delivery) => delivery.names)).toEqual([["a", "b", "h"]]);
      expect(second).toBeGreaterThan(first);
      expect(delivered[0]!.seq).toBe(second + 1);
    } finally {
      await config.close();
    }
  });
});
