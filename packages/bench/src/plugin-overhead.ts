import { performance } from "node:perf_hooks";
import { MCPStore, type Plugin } from "@mcpstore/core";
import { loggerPlugin } from "@mcpstore/plugin-logger";
import { prometheusPlugin } from "@mcpstore/plugin-prometheus";
import { quietLogger, stdioFixtureConfig } from "@mcpstore/testing";
import { formatCount, formatDuration, formatRatio, formatTable } from "./format-table.js";
import { measureLatency, measureThroughput, type LatencySummary, type ThroughputSummary } from "./measure.js";

// What @mcpstore/plugin-prometheus and @mcpstore/plugin-logger add to a call. Stores side by side, each with its own
// fixture process over stdio: no plugins, no plugins again (the control: how far two identical sides differ on this
// machine), Prometheus alone, and both plugins. The logger writes every line (level info) to /dev/null the way it
// writes to standard output by default (pino, one synchronous write per line). Prints numbers; never fails on speed.

const CALL_ITERATIONS = 4_000;
const CONCURRENCY = 100;
const CONCURRENT_ROUNDS = 50;
const TARGET_RATIO = 1.05;


async function startStore(plugins: Plugin[]): Promise<MCPStore> {
  const store = await MCPStore.setupStore({ mcpConfigFile: false, logger: quietLogger, plugins });
  await store.forStore().addService(stdioFixtureConfig("svc"));
  await store.forStore().waitService("svc");
  return store;
}

const verdict = (ratio: number) => `${formatRatio(ratio)} (target <= ${formatRatio(TARGET_RATIO)}: ${ratio <= TARGET_RATIO ? "met" : "MISSED"})`;

async function main(): Promise<void> {
  const started = performance.now();
  console.log(`MCPStore plugin overhead, ${new Date().toISOString()}, Node ${process.version}`);
  console.log("callTool echo over stdio; the logger writes every call's line (info) to /dev/null.\n");
  const prometheus = prometheusPlugin();
  const sides: Array<{ label: string; plugins: Plugin[] }> = [
    { label: "no plugins", plugins: [] },
    { label: "no plugins (control)", plugins: [] },
    { label: "prometheus", plugins: [prometheusPlugin()] },
    { label: "prometheus + logger", plugins: [prometheus, loggerPlugin({ level: "info", destination: "/dev/null" })] },
  ];
  const stores: MCPStore[] = [];
  try {
    // One after the other: a store that started and one that failed to must both be closed.
    for (const side of sides) stores.push(await startStore(side.plugins));
    const args = { text: "x" };
    const calls = stores.map((store) => () => store.forStore().callTool("svc_echo", args));

    const latency = await measureLatency(calls.map((run) => ({ run, iterations: CALL_ITERATIONS })));
    const throughput = await measureThroughput(calls, { rounds: CONCURRENT_ROUNDS, concurrency: CONCURRENCY });
    const base = { latency: latency[0]!, throughput: throughput[0]! };
    const latencyRow = (label: string, summary: LatencySummary, index: number) => [
      `  ${label}`,
      formatCount(summary.iterations),
      formatDuration(summary.medianMs),
      formatDuration(summary.p99Ms),
      formatDuration(summary.cpuPerOperationMs),
      index === 0 ? "" : formatRatio(summary.medianMs / base.latency.medianMs),
      index === 0 ? "" : formatRatio(summary.cpuPerOperationMs / base.latency.cpuPerOperationMs),
    ];
    const throughputRow = (label: string, summary: ThroughputSummary, index: number) => [
      `  ${label}`,
      formatCount(summary.calls),
      formatCount(summary.callsPerSecond),
      formatDuration(summary.cpuPerOperationMs),
      index === 0 ? "" : formatRatio(base.throughput.callsPerSecond / summary.callsPerSecond),
      index === 0 ? "" : formatRatio(summary.cpuPerOperationMs / base.throughput.cpuPerOperationMs),
    ];
    console.log(
      formatTable(
        ["callTool echo, sequential", "n", "median", "p99", "CPU/call", "median/none", "CPU/none"],
        sides.map((side, index) => latencyRow(side.label, latency[index]!, index)),
      ),
    );
    console.log();
    console.log(
      formatTable(
        [`${CONCURRENCY} concurrent`, "calls", "calls/s", "CPU/call", "none/this (calls/s)", "CPU/none"],
        sides.map((side, index) => throughputRow(side.label, throughput[index]!, index)),
      ),
    );
    const both = { latency: latency[3]!, throughput: throughput[3]! };
    const control = latency[1]!.medianMs / base.latency.medianMs;
    console.log();
    console.log(`both plugins / none, sequential median: ${verdict(both.latency.medianMs / base.latency.medianMs)} (control ${formatRatio(control)})`);
    console.log(`both plugins / none, CPU per call: ${formatRatio(both.latency.cpuPerOperationMs / base.latency.cpuPerOperationMs)} sequential, ${formatRatio(both.throughput.cpuPerOperationMs / base.throughput.cpuPerOperationMs)} at ${CONCURRENCY} concurrent`);
    console.log(`none / both plugins, ${CONCURRENCY} concurrent calls/s: ${verdict(base.throughput.callsPerSecond / both.throughput.callsPerSecond)}`);
    const counted = /mcpstore_tool_calls_total\{tool_name="svc_echo",status="success"\} (\d+)/.exec(await prometheus.metrics())?.[1];
    console.log(`(the Prometheus plugin counted ${counted ?? "?"} successful calls)`);
  } finally {
    await Promise.allSettled(stores.map((store) => store.close()));
  }
  console.log(`\nDone in ${((performance.now() - started) / 1000).toFixed(1)} s.`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
