import { cpus, loadavg } from "node:os";
import { performance } from "node:perf_hooks";
import { MCPStore } from "@mcpstore/core";
import { quietLogger, stdioFixtureConfig } from "@mcpstore/testing";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { formatCount, formatDuration, formatRatio, formatTable } from "./format-table.js";
import { measureLatency, measureThroughput, type LatencySummary } from "./measure.js";
import "./batch-add.js";

// MCPStore against a raw MCP SDK client, both talking to the @mcpstore/testing fixture over stdio, in one run. Each
// side has its own server process (a stdio server serves one client); the sides alternate batch by batch. This prints
// numbers and never fails on speed.

const CALL_ITERATIONS = 2_000;
const CONCURRENCY = 100;
const CONCURRENT_ROUNDS = 60;
const LIST_ITERATIONS = 5_000;
// The raw client's listTools() goes over stdio (and, for the 1,000-tool server, takes tens of ms): fewer iterations.
const RAW_LIST_ITERATIONS = 1_000;
const BIG_RAW_LIST_ITERATIONS = 100;
const BIG_TOOL_COUNT = 1_000;
const CALL_TARGET_RATIO = 1.1;
const BIG_LIST_TARGET_MS = 0.1;


async function connectRawClient(config: { command: string; args: string[] }): Promise<Client> {
  const client = new Client({ name: "mcpstore-bench-raw", version: "0.0.0" }, { capabilities: {} });
  await client.connect(new StdioClientTransport({ command: config.command, args: config.args, stderr: "ignore" }));
  // The store lists tools once when it connects, which also primes the SDK's output-schema validators; do the same.
  await client.listTools();
  return client;
}

async function startStore(serviceName: string, extraTools: number): Promise<MCPStore> {
  const store = await MCPStore.setupStore({ mcpConfigFile: false, logger: quietLogger });
  try {
    const context = store.forStore();
    await context.addService(stdioFixtureConfig(serviceName, { extraTools }));
    await context.waitService(serviceName);
    return store;
  } catch (error) {
    await store.close();
    throw error;
  }
}

const verdict = (met: boolean) => (met ? "met" : "MISSED");

function latencyRow(label: string, summary: LatencySummary, ratio = ""): string[] {
  return [
    label,
    formatCount(summary.iterations),
    formatDuration(summary.medianMs),
    formatDuration(summary.p99Ms),
    formatDuration(summary.cpuPerOperationMs),
    ratio,
  ];
}

async function main(): Promise<void> {
  const started = performance.now();
  const cpuModel = cpus()[0]?.model.trim() ?? "unknown CPU";
  console.log(`MCPStore bench, ${new Date().toISOString()}`);
  console.log(`Node ${process.version}, ${process.platform}/${process.arch}, ${cpus().length} cores (${cpuModel})`);
  console.log(`Load average before the run: ${loadavg().map((value) => value.toFixed(2)).join(" ")}`);
  console.log("Fixture: @mcpstore/testing over stdio; the store and the raw SDK client each spawn their own server process.\n");

  const closers: Array<() => Promise<void>> = [];
  try {
    // Whatever started gets closed, even when something else failed to start.
    const owned = <T extends { close(): Promise<void> }>(promise: Promise<T>) =>
      promise.then((resource) => {
        closers.push(() => resource.close());
        return resource;
      });
    const [store, bigStore, raw, control, bigRaw] = await Promise.all([
      owned(startStore("svc", 0)),
      owned(startStore("big", BIG_TOOL_COUNT)),
      owned(connectRawClient(stdioFixtureConfig("svc"))),
      // A second raw client, timed like the others: how far apart two identical sides land shows the run's noise.
      owned(connectRawClient(stdioFixtureConfig("svc"))),
      owned(connectRawClient(stdioFixtureConfig("big", { extraTools: BIG_TOOL_COUNT }))),
    ]);
    const context = store.forStore();
    const bigContext = bigStore.forStore();

    const echoArgs = { text: "x" };
    const storeCall = () => context.callTool("svc_echo", echoArgs);
    const rawCall = () => raw.callTool({ name: "echo", arguments: echoArgs });
    const controlCall = () => control.callTool({ name: "echo", arguments: echoArgs });
    const [storeEcho, rawEcho] = await Promise.all([storeCall(), rawCall()]);
    if (JSON.stringify(storeEcho.content) !== JSON.stringify(rawEcho.content)) {
      throw new Error(`The store and the raw client got different echoes: ${JSON.stringify(storeEcho)} vs ${JSON.stringify(rawEcho)}`);
    }
    const toolCount = (await context.listTools()).length;
    const bigToolCount = (await bigContext.listTools()).length;

    // Calls first: the raw client's listTools() compiles output-schema validators on every call and keeps them, and
    // the heap that leaves behind would tax whatever runs after it.
    const [storeCallLatency, rawCallLatency, controlCallLatency] = await measureLatency([
      { run: storeCall, iterations: CALL_ITERATIONS },
      { run: rawCall, iterations: CALL_ITERATIONS },
      { run: controlCall, iterations: CALL_ITERATIONS },
    ]);
    const [storeThroughput, rawThroughput] = await measureThroughput([storeCall, rawCall], {
      rounds: CONCURRENT_ROUNDS,
      concurrency: CONCURRENCY,
    });
    const [storeList, rawList] = await measureLatency([
      { run: () => context.listTools(), iterations: LIST_ITERATIONS },
      { run: () => raw.listTools(), iterations: RAW_LIST_ITERATIONS },
    ]);
    const [bigStoreList, bigRawList] = await measureLatency([
      { run: () => bigContext.listTools(), iterations: LIST_ITERATIONS },
      { run: () => bigRaw.listTools(), iterations: BIG_RAW_LIST_ITERATIONS },
    ]);

    const callRatio = storeCallLatency!.medianMs / rawCallLatency!.medianMs;
    const throughputRatio = storeThroughput!.callsPerSecond / rawThroughput!.callsPerSecond;
    const bigListMet = bigStoreList!.medianMs <= BIG_LIST_TARGET_MS;

    console.log(
      formatTable(
        ["latency", "n", "median", "p99", "CPU/op", "store/raw (median)"],
        [
          "callTool echo, one at a time",
          latencyRow("  store", storeCallLatency!, formatRatio(callRatio)),
          latencyRow("  raw SDK client", rawCallLatency!),
          latencyRow("  raw SDK client #2 (noise control)", controlCallLatency!, `${formatRatio(controlCallLatency!.medianMs / rawCallLatency!.medianMs)} (#2/raw)`),
          `listTools, ${toolCount} tools`,
          latencyRow("  store (cached)", storeList!, formatRatio(storeList!.medianMs / rawList!.medianMs)),
          latencyRow("  raw SDK client (stdio)", rawList!),
          `listTools, ${formatCount(bigToolCount)} tools (fixture with extraTools: ${BIG_TOOL_COUNT})`,
          latencyRow("  store (cached)", bigStoreList!, formatRatio(bigStoreList!.medianMs / bigRawList!.medianMs)),
          latencyRow("  raw SDK client (stdio)", bigRawList!),
        ],
      ),
    );
    console.log();
    console.log(
      formatTable(
        [`${CONCURRENCY} concurrent callTool echo`, "calls", "calls/s", "CPU/call", "store/raw (calls/s)"],
        [
          [
            "  store",
            formatCount(storeThroughput!.calls),
            formatCount(storeThroughput!.callsPerSecond),
            formatDuration(storeThroughput!.cpuPerOperationMs),
            formatRatio(throughputRatio),
          ],
          [
            "  raw SDK client",
            formatCount(rawThroughput!.calls),
            formatCount(rawThroughput!.callsPerSecond),
            formatDuration(rawThroughput!.cpuPerOperationMs),
            "",
          ],
        ],
      ),
    );
    console.log("\nCPU/op: CPU time of this process (user + system, all threads) per operation; it leaves out waiting.");
    console.log("calls/s: 100 divided by the median round's duration.");
    console.log("Noise control: a second raw client; its ratio to the first is what this machine's noise alone does to a ratio.\n");
    console.log("Targets:");
    console.log(
      `  callTool median, store/raw <= ${formatRatio(CALL_TARGET_RATIO)}: ${formatRatio(callRatio)}, ${verdict(callRatio <= CALL_TARGET_RATIO)}`,
    );
    console.log(
      `  cached listTools over ${formatCount(bigToolCount)} tools, median <= ${formatDuration(BIG_LIST_TARGET_MS)}: ` +
        `${formatDuration(bigStoreList!.medianMs)}, ${verdict(bigListMet)}`,
    );
  } finally {
    await Promise.allSettled(closers.map((close) => close()));
  }
  console.log(`\nDone in ${((performance.now() - started) / 1000).toFixed(1)} s.`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
