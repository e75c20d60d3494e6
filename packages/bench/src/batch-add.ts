import { watch } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { MCPStore, type ServiceConfig } from "@mcpstore/core";
import { quietLogger, startHttpFixture } from "@mcpstore/testing";
import { formatCount, formatDuration, formatRatio, formatTable } from "./format-table.js";

// The seed's 性能优化 advice, measured: `batch_add_services(services_config)` (✅) against one `add_service(config)` per
// service (❌), for SERVICES services on one Streamable HTTP fixture, each store with its own mcp.json in a temp
// directory. File writes are counted as renames of mcp.json seen by fs.watch (every write is atomic: a temp file
// renamed over it). Times: until the call(s) returned, and until every service was healthy. Sides alternate round by
// round; medians are printed. Prints numbers; never fails on speed.
//
// index.ts imports this file; it runs once index.ts's own sections are done (on `beforeExit`), so that the two never
// share the machine.

const SERVICES = 20;
const ROUNDS = 7;
/** How long after the last operation fs.watch events are still collected. */
const WATCH_SETTLE_MS = 200;

type Side = "single" | "batch";

interface Sample {
  writes: number;
  returnedMs: number;
  healthyMs: number;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function runSide(side: Side, configs: ServiceConfig[]): Promise<Sample> {
  const directory = await mkdtemp(join(tmpdir(), "mcpstore-bench-batch-"));
  const file = join(directory, "mcp.json");
  let writes = 0;
  const watcher = watch(directory, (eventType, filename) => {
    if (eventType === "rename" && filename === "mcp.json") writes++;
  });
  const store = await MCPStore.setupStore({ mcpConfigFile: file, logger: quietLogger });
  try {
    const context = store.forStore();
    const started = performance.now();
    if (side === "batch") {
      const result = await context.batchAddServices(configs);
      if (!result.success) throw new Error(`batchAddServices failed: ${JSON.stringify(result.results.filter((entry) => !entry.success))}`);
    } else {
      for (const config of configs) await context.addService(config);
    }
    const returnedMs = performance.now() - started;
    await Promise.all(configs.map((config) => context.waitService(config.name, { timeoutMs: 30_000 })));
    const healthyMs = performance.now() - started;
    await new Promise((resolve) => setTimeout(resolve, WATCH_SETTLE_MS));
    return { writes, returnedMs, healthyMs };
  } finally {
    watcher.close();
    await store.close();
    await rm(directory, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  console.log(`\nMCPStore batchAddServices vs one addService per service, ${new Date().toISOString()}, Node ${process.version}`);
  console.log(`${SERVICES} services on one Streamable HTTP fixture; each store writes its own mcp.json; ${ROUNDS} rounds per side.\n`);
  const fixture = await startHttpFixture({ transports: "streamable-http" });
  try {
    const configs: ServiceConfig[] = Array.from({ length: SERVICES }, (_, index) => ({ name: `service${index + 1}`, url: fixture.url, transport: "streamable-http" }));
    const samples: Record<Side, Sample[]> = { single: [], batch: [] };
    // One untimed round per side: the JIT, the fixture and the file system warm up.
    await runSide("single", configs);
    await runSide("batch", configs);
    for (let round = 0; round < ROUNDS; round++) {
      const order: Side[] = round % 2 === 0 ? ["single", "batch"] : ["batch", "single"];
      for (const side of order) samples[side].push(await runSide(side, configs));
    }
    const summary = (side: Side) => ({
      writes: median(samples[side].map((sample) => sample.writes)),
      returnedMs: median(samples[side].map((sample) => sample.returnedMs)),
      healthyMs: median(samples[side].map((sample) => sample.healthyMs)),
    });
    const single = summary("single");
    const batch = summary("batch");
    const row = (label: string, values: ReturnType<typeof summary>) => [label, formatCount(values.writes), formatDuration(values.returnedMs), formatDuration(values.healthyMs)];
    console.log(
      formatTable(
        [`${SERVICES} services (median of ${ROUNDS})`, "mcp.json writes", "call(s) returned", "all healthy"],
        [
          row(`  ${SERVICES} × addService (the seed's ❌)`, single),
          row("  batchAddServices (the seed's ✅)", batch),
          [
            "  single/batch",
            formatRatio(single.writes / batch.writes),
            formatRatio(single.returnedMs / batch.returnedMs),
            formatRatio(single.healthyMs / batch.healthyMs),
          ],
        ],
      ),
    );
    const writeCounts = (side: Side) => [...new Set(samples[side].map((sample) => sample.writes))].join(", ");
    console.log(`\nWrites seen per round: single ${writeCounts("single")}; batch ${writeCounts("batch")} (each write is one locked, fsynced, atomic rename).`);
  } finally {
    await fixture.close();
  }
  console.log(`Done in ${((performance.now() - started) / 1000).toFixed(1)} s.`);
}

process.once("beforeExit", () => {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
});
