import { performance } from "node:perf_hooks";
import { DynamicStructuredTool, type StructuredTool } from "@langchain/core/tools";
import { MultiServerMCPClient } from "@langchain/mcp-adapters";
import { MCPStore } from "@mcpstore/core";
import { toLangChainTools } from "@mcpstore/langchain";
import { toAiSdkTools } from "@mcpstore/vercel-ai";
import { quietLogger, stdioFixtureConfig } from "@mcpstore/testing";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { formatCount, formatDuration, formatRatio, formatTable } from "./format-table.js";
import { measureLatency, type LatencySummary } from "./measure.js";

// LangChain tools from MCPStore (@mcpstore/langchain) against @langchain/mcp-adapters' MultiServerMCPClient, on the
// same fixture servers over stdio (each side spawns its own processes), in one run; and the AI SDK ToolSet of
// @mcpstore/vercel-ai on the same store. Prints numbers; never fails on speed.

const SERVICES = 20;
const EXTRA_TOOLS = 50;
// One cold round per side keeps the run near a minute on a busy 2-core machine (each round starts 20 processes a side);
// the gap it measures (parallel vs one-by-one connects) is far larger than the noise.
const COLD_ROUNDS = 1;
const WARM_ITERATIONS = 30;
const CALL_ITERATIONS = 2_000;
const CALL_TARGET_RATIO = 1.1;

const configs = Array.from({ length: SERVICES }, (_, index) => stdioFixtureConfig(`svc${String(index).padStart(2, "0")}`, { extraTools: EXTRA_TOOLS }));

/** Ours, from nothing: a store, 20 services connected (in parallel), then the LangChain tools from the catalogue. */
async function ourColdBuild(): Promise<{ store: MCPStore; tools: StructuredTool[] }> {
  const store = await MCPStore.setupStore({ mcpConfigFile: false, logger: quietLogger });
  const context = store.forStore();
  await context.addService(configs);
  await Promise.all(configs.map((config) => context.waitService(config.name, { timeoutMs: 60_000 })));
  return { store, tools: await toLangChainTools(context) };
}

/** Theirs, from nothing: a MultiServerMCPClient over the same 20 servers, then `getTools()`. */
async function theirColdBuild(): Promise<{ client: MultiServerMCPClient; tools: StructuredTool[] }> {
  const client = new MultiServerMCPClient({
    mcpServers: Object.fromEntries(configs.map((config) => [config.name, { transport: "stdio" as const, command: config.command, args: config.args, stderr: "ignore" as const }])),
    prefixToolNameWithServerName: true,
  });
  return { client, tools: await client.getTools() };
}

async function timed<T>(operation: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await operation();
  return { value, ms: performance.now() - started };
}

const find = (tools: StructuredTool[], pattern: RegExp) => {
  const tool = tools.find((candidate) => pattern.test(candidate.name));
  if (!tool) throw new Error(`no tool matching ${pattern}`);
  return tool;
};

const row = (label: string, summary: LatencySummary, note = "") => [
  label,
  formatCount(summary.iterations),
  formatDuration(summary.medianMs),
  formatDuration(summary.p99Ms),
  Number.isNaN(summary.cpuPerOperationMs) ? "" : formatDuration(summary.cpuPerOperationMs),
  note,
];

/** Median and maximum of a few wall-clock samples (the cold builds), as a summary without CPU time. */
function summarizeFew(samplesMs: number[]): LatencySummary {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const middle = sorted.length / 2;
  const medianMs = sorted.length % 2 === 1 ? sorted[Math.floor(middle)]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return { iterations: sorted.length, medianMs, p99Ms: sorted.at(-1)!, cpuPerOperationMs: Number.NaN };
}

async function main(): Promise<void> {
  const started = performance.now();
  console.log(`\nFramework tools: @mcpstore/langchain vs @langchain/mcp-adapters (and @mcpstore/vercel-ai), ${SERVICES} stdio services × (${EXTRA_TOOLS} + 10) tools\n`);
  const closers: Array<() => Promise<unknown>> = [];
  try {
    // Cold builds, alternating sides, each round on fresh processes.
    const ourCold: number[] = [];
    const theirCold: number[] = [];
    let ours: Awaited<ReturnType<typeof ourColdBuild>> | undefined;
    let theirs: Awaited<ReturnType<typeof theirColdBuild>> | undefined;
    for (let round = 0; round < COLD_ROUNDS; round++) {
      const last = round === COLD_ROUNDS - 1;
      const runOurs = async () => {
        const { value, ms } = await timed(ourColdBuild);
        ourCold.push(ms);
        if (last) (ours = value), closers.push(() => value.store.close());
        else await value.store.close();
      };
      const runTheirs = async () => {
        const { value, ms } = await timed(theirColdBuild);
        theirCold.push(ms);
        if (last) (theirs = value), closers.push(() => value.client.close());
        else await value.client.close();
      };
      if (round % 2 === 0) await runOurs().then(runTheirs);
      else await runTheirs().then(runOurs);
    }
    if (!ours || !theirs) throw new Error("cold builds did not finish");
    if (ours.tools.length !== theirs.tools.length) throw new Error(`tool counts differ: ${ours.tools.length} vs ${theirs.tools.length}`);

    const context = ours.store.forStore();

    // One call: echo on the first service, through each side; the floor is a hand-written LangChain tool over a raw
    // SDK client, and below it the raw SDK call itself.
    const raw = new Client({ name: "bench-raw", version: "0.0.0" }, { capabilities: {} });
    await raw.connect(new StdioClientTransport({ command: configs[0]!.command, args: configs[0]!.args, stderr: "ignore" }));
    closers.push(() => raw.close());
    await raw.listTools();
    const echoSchema = (await context.getTool("svc00_echo")).inputSchema;
    const handWritten = new DynamicStructuredTool({
      name: "raw_echo",
      description: "echo over a raw SDK client",
      schema: structuredClone(echoSchema),
      func: async (args: Record<string, unknown>) => {
        const result = await raw.callTool({ name: "echo", arguments: args });
        return (result.content as Array<{ text?: string }>).map((part) => part.text ?? "").join("\n");
      },
    });
    const overStore = new DynamicStructuredTool({
      name: "store_echo",
      description: "echo over store.callTool",
      schema: structuredClone(echoSchema),
      func: async (args: Record<string, unknown>) => {
        const result = await context.callTool("svc00_echo", args);
        return (result.content as Array<{ text?: string }>).map((part) => part.text ?? "").join("\n");
      },
    });
    const aiSdkEcho = (await toAiSdkTools(context, { include: ["svc00_echo"] })).svc00_echo!;
    const aiSdkOptions = { toolCallId: "bench", messages: [] };
    const ourEcho = find(ours.tools, /^svc00_echo$/);
    const theirEcho = find(theirs.tools, /^svc00__echo$/);
    const input = { text: "x" };
    const outputs = [await ourEcho.invoke(input), await theirEcho.invoke(input), await handWritten.invoke(input), await overStore.invoke(input)];
    if (!outputs.every((output) => JSON.stringify(output).includes("x"))) throw new Error(`echo outputs differ: ${JSON.stringify(outputs)}`);
    const [ourCall, theirCall, floorCall, overStoreCall, rawCall, storeCall, aiSdkCall] = await measureLatency(
      [
        () => ourEcho.invoke(input),
        () => theirEcho.invoke(input),
        () => handWritten.invoke(input),
        () => overStore.invoke(input),
        () => raw.callTool({ name: "echo", arguments: input }),
        () => context.callTool("svc00_echo", input),
        async () => aiSdkEcho.execute!(input, aiSdkOptions),
      ].map((run) => ({ run, iterations: CALL_ITERATIONS })),
      { batchSize: 50 },
    );

    // Warm: read the list again from a connected store vs getTools() on a connected client (which returns its cache).
    const client = theirs.client;
    const [ourWarm, theirWarm, aiSdkWarm] = await measureLatency(
      [
        { run: () => toLangChainTools(context), iterations: WARM_ITERATIONS, warmup: 3 },
        { run: () => client.getTools(), iterations: WARM_ITERATIONS, warmup: 3 },
        { run: () => toAiSdkTools(context), iterations: WARM_ITERATIONS, warmup: 3 },
      ],
      { batchSize: 5 },
    );

    const ourColdSummary = summarizeFew(ourCold);
    const theirColdSummary = summarizeFew(theirCold);
    const toolCount = formatCount(ours.tools.length);
    console.log(
      formatTable(
        ["building LangChain tools", "n", "median", "p99 (max)", "CPU/op", "ours/theirs (median)"],
        [
          `cold: start ${SERVICES} servers, connect, list, build ${toolCount} tools`,
          row("  ours (toLangChainTools)", ourColdSummary, formatRatio(ourColdSummary.medianMs / theirColdSummary.medianMs)),
          row("  theirs (MultiServerMCPClient.getTools)", theirColdSummary),
          `warm: the list again, servers connected`,
          row("  ours (rebuilt from the cached catalogue: current)", ourWarm!, formatRatio(ourWarm!.medianMs / theirWarm!.medianMs)),
          row("  theirs (getTools: the list from connect time)", theirWarm!),
          row("  ours, AI SDK ToolSet (toAiSdkTools)", aiSdkWarm!),
        ],
      ),
    );
    console.log();
    const callRatio = ourCall!.medianMs / floorCall!.medianMs;
    console.log(
      formatTable(
        ["one tool call (echo, stdio)", "n", "median", "p99", "CPU/op", "median vs hand-written tool over raw SDK"],
        [
          row("  ours: LangChain tool → store", ourCall!, `${formatRatio(callRatio)} (target <= ${formatRatio(CALL_TARGET_RATIO)}: ${callRatio <= CALL_TARGET_RATIO ? "met" : "MISSED"})`),
          row("  theirs: mcp-adapters tool", theirCall!, formatRatio(theirCall!.medianMs / floorCall!.medianMs)),
          row("  hand-written LangChain tool over raw SDK", floorCall!),
          row("  hand-written LangChain tool over store.callTool", overStoreCall!, formatRatio(overStoreCall!.medianMs / floorCall!.medianMs)),
          row("  raw SDK client.callTool (no LangChain)", rawCall!, formatRatio(rawCall!.medianMs / floorCall!.medianMs)),
          row("  store.callTool (no LangChain)", storeCall!, formatRatio(storeCall!.medianMs / floorCall!.medianMs)),
          row("  ours: AI SDK tool execute → store", aiSdkCall!, `${formatRatio(aiSdkCall!.medianMs / storeCall!.medianMs)} of store.callTool`),
        ],
      ),
    );
    console.log();
    const coldFaster = ourColdSummary.medianMs < theirColdSummary.medianMs;
    const callFaster = ourCall!.medianMs < theirCall!.medianMs;
    console.log(`cold build, ours/theirs: ${formatRatio(ourColdSummary.medianMs / theirColdSummary.medianMs)} (target: ours faster: ${coldFaster ? "met" : "MISSED"})`);
    console.log(`tool call, ours/theirs: ${formatRatio(ourCall!.medianMs / theirCall!.medianMs)} (target: ours faster: ${callFaster ? "met" : "MISSED"})`);
    console.log(`tool call, ours/hand-written over raw SDK: ${formatRatio(callRatio)} (target <= ${formatRatio(CALL_TARGET_RATIO)}: ${callRatio <= CALL_TARGET_RATIO ? "met" : "MISSED"})`);
    console.log(
      `  of which the store (store.callTool vs raw SDK): ${formatRatio(storeCall!.medianMs / rawCall!.medianMs)}; the adapter (ours vs a hand-written tool over store.callTool): ${formatRatio(ourCall!.medianMs / overStoreCall!.medianMs)}`,
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
