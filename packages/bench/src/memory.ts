import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { performance } from "node:perf_hooks";
import { MCPStore } from "@mcpstore/core";
import { quietLogger, stdioFixtureConfig } from "@mcpstore/testing";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { formatRatio, formatTable } from "./format-table.js";

// Memory per connected server: SERVERS stdio fixture servers with TOOLS_PER_SERVER tools each, held by one MCPStore or
// by as many raw SDK clients. Each side is measured in its own `node --expose-gc` child process, so the two never
// share a heap: settled heap and RSS (after gc) before connecting and after, divided by SERVERS. Sides alternate
// run by run; the medians are printed. Only the client side counts: each server is a process of its own.
// Prints numbers; never fails on memory.

const SERVERS = 20;
const TOOLS_PER_SERVER = 50;
// The fixture always has 10 tools of its own; `extraTools` adds generated ones on top.
const EXTRA_TOOLS = TOOLS_PER_SERVER - 10;
const RUNS = 5;
const CHILD_TIMEOUT_MS = 60_000;
const HEAP_TARGET_RATIO = 1.2;
const RSS_TARGET_MB = 0.3;
const MB = 1024 * 1024;

type Side = "store" | "raw";

/** What one child process measured, in bytes per server. */
interface SideSample {
  side: Side;
  heapPerServerBytes: number;
  rssPerServerBytes: number;
}

interface Connected {
  toolCount: number;
  close(): Promise<void>;
}

const configs = (prefix: string, count: number) =>
  Array.from({ length: count }, (_, index) => stdioFixtureConfig(`${prefix}${index}`, { extraTools: EXTRA_TOOLS }));

async function connectStore(count: number, prefix: string): Promise<Connected> {
  const store = await MCPStore.setupStore({ mcpConfigFile: false, logger: quietLogger });
  try {
    const context = store.forStore();
    const services = configs(prefix, count);
    await context.addService(services);
    await Promise.all(services.map((service) => context.waitService(service.name, { timeoutMs: 30_000 })));
    return { toolCount: (await context.listTools()).length, close: () => store.close() };
  } catch (error) {
    await store.close();
    throw error;
  }
}

async function connectRawClients(count: number, prefix: string): Promise<Connected> {
  const clients: Client[] = [];
  const close = async () => {
    await Promise.allSettled(clients.map((client) => client.close()));
  };
  try {
    const listed = await Promise.all(
      configs(prefix, count).map(async ({ command, args }) => {
        const client = new Client({ name: "mcpstore-bench-raw", version: "0.0.0" }, { capabilities: {} });
        clients.push(client);
        await client.connect(new StdioClientTransport({ command, args, stderr: "ignore" }));
        // As in index.ts: list once (which primes the SDK's output-schema validators), keep nothing.
        return (await client.listTools()).tools.length;
      }),
    );
    return { toolCount: listed.reduce((sum, each) => sum + each, 0), close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** Heap used and RSS once garbage collection has nothing left to do (weak references and finalizers need turns). */
async function settledMemory(): Promise<{ heapUsed: number; rss: number }> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error("memory.ts --side needs node --expose-gc");
  for (let pass = 0; pass < 4; pass++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  const { heapUsed, rss } = process.memoryUsage();
  return { heapUsed, rss };
}

/** The child process: one side, measured once. */
async function measureSide(side: Side): Promise<SideSample> {
  const connect = side === "store" ? connectStore : connectRawClients;
  // One server connected and closed first, so that code compiled and modules loaded on first use land in the baseline;
  // then a pause, since a closed connection lingers for a 100 ms timer after its process exits.
  await (await connect(1, "warmup")).close();
  await new Promise((resolve) => setTimeout(resolve, 250));
  const before = await settledMemory();
  const connected = await connect(SERVERS, "svc");
  try {
    const after = await settledMemory();
    if (connected.toolCount !== SERVERS * TOOLS_PER_SERVER) {
      throw new Error(`${side}: ${connected.toolCount} tools, expected ${SERVERS * TOOLS_PER_SERVER}`);
    }
    return { side, heapPerServerBytes: (after.heapUsed - before.heapUsed) / SERVERS, rssPerServerBytes: (after.rss - before.rss) / SERVERS };
  } finally {
    await connected.close();
  }
}

/** Runs one side in a fresh `node --expose-gc` process and reads its one line of JSON. */
function runChild(side: Side): Promise<SideSample> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--expose-gc", fileURLToPath(import.meta.url), "--side", side], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), CHILD_TIMEOUT_MS);
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(JSON.parse(stdout) as SideSample);
      else reject(new Error(`memory child (${side}) exited with ${signal ?? code}: ${stdout}`));
    });
  });
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const megabytes = (bytes: number) => `${(bytes / MB).toFixed(3)} MB`;
const range = (values: number[]) => `${(Math.min(...values) / MB).toFixed(3)}–${(Math.max(...values) / MB).toFixed(3)}`;
const verdict = (met: boolean) => (met ? "met" : "MISSED");

async function main(): Promise<void> {
  const started = performance.now();
  console.log(`MCPStore memory per connected server, ${new Date().toISOString()}, Node ${process.version}`);
  console.log(
    `${SERVERS} stdio fixture servers, ${TOOLS_PER_SERVER} tools each: one MCPStore vs ${SERVERS} raw SDK clients (connect + listTools once),` +
      ` each side in its own node --expose-gc process, ${RUNS} runs, sides alternating.\n`,
  );
  const samples: SideSample[] = [];
  for (let run = 0; run < RUNS; run++) {
    const order: Side[] = run % 2 === 0 ? ["store", "raw"] : ["raw", "store"];
    for (const side of order) samples.push(await runChild(side));
  }
  const of = (side: Side, field: "heapPerServerBytes" | "rssPerServerBytes") =>
    samples.filter((sample) => sample.side === side).map((sample) => sample[field]);
  const heap = { store: median(of("store", "heapPerServerBytes")), raw: median(of("raw", "heapPerServerBytes")) };
  const rss = { store: median(of("store", "rssPerServerBytes")), raw: median(of("raw", "rssPerServerBytes")) };
  const heapRatio = heap.store / heap.raw;
  console.log(
    formatTable(
      ["per connected server (median)", "heap used", `heap, ${RUNS} runs`, "RSS", `RSS, ${RUNS} runs`],
      [
        ["  store", megabytes(heap.store), range(of("store", "heapPerServerBytes")), megabytes(rss.store), range(of("store", "rssPerServerBytes"))],
        ["  raw SDK clients", megabytes(heap.raw), range(of("raw", "heapPerServerBytes")), megabytes(rss.raw), range(of("raw", "rssPerServerBytes"))],
        ["  store/raw", formatRatio(heapRatio), "", formatRatio(rss.store / rss.raw), ""],
      ],
    ),
  );
  console.log(`\n(after - before) / ${SERVERS}, settled after gc, one server connected and closed before the baseline on both sides.`);
  console.log("Only the client process is measured: each server is a process of its own, on both sides.\n");
  console.log("Targets:");
  console.log(`  heap per server, store/raw <= ${formatRatio(HEAP_TARGET_RATIO)}: ${formatRatio(heapRatio)}, ${verdict(heapRatio <= HEAP_TARGET_RATIO)}`);
  console.log(`  RSS per server, store <= ${RSS_TARGET_MB.toFixed(1)} MB: ${megabytes(rss.store)}, ${verdict(rss.store <= RSS_TARGET_MB * MB)}`);
  console.log(`\nDone in ${((performance.now() - started) / 1000).toFixed(1)} s.`);
}

const { values } = parseArgs({ options: { side: { type: "string" } } });
const task =
  values.side === "store" || values.side === "raw"
    ? // Exits once the line is out: a handle left open by a closed client must not keep the child (and the bench) waiting.
      measureSide(values.side).then((sample) => process.stdout.write(JSON.stringify(sample), () => process.exit(0)))
    : values.side === undefined
      ? main()
      : Promise.reject(new Error(`--side must be store or raw, not ${values.side}`));
task.catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
