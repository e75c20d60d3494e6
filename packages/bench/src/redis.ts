import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { cpus } from "node:os";
import { performance } from "node:perf_hooks";
import { MCPStore, type ServiceConfig, type ServiceContext } from "@mcpstore/core";
import { redisDriver, type RedisDriver } from "@mcpstore/redis";
import { quietLogger, REDIS_SERVER_BIN, startHttpFixture, startRedisServer } from "@mcpstore/testing";
import { formatCount, formatDuration, formatRatio, formatTable } from "./format-table.js";
import { measureLatency, type LatencySummary } from "./measure.js";

// @mcpstore/redis, side by side in one run, against a redis-server of the bench's own on 127.0.0.1:
// (a) cached listTools over 1,000 tools (one Streamable HTTP fixture with 990 generated tools on top of its 10) with
//     the Redis cache driver (reads answered from its local copy) against the memory driver;
// (b) propagation of an add from store A to store B, two stores in this process sharing one namespace through two
//     redisDriver instances (each its own connections): from A's addService call until B's listServices() and
//     listTools() show the service; then of a remove, until B's listServices() no longer does.
// Prints numbers; never fails on speed.

const EXTRA_TOOLS = 990;
const LIST_ITERATIONS = 5_000;
const PROPAGATION_SAMPLES = 100;
const PROPAGATION_WARMUP = 5;
const PROPAGATION_TIMEOUT_MS = 10_000;
const LIST_TARGET_RATIO = 1.5;
const PROPAGATION_TARGET_P99_MS = 500;

const verdict = (met: boolean) => (met ? "met" : "MISSED");
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `redis-server --version`, shortened (e.g. `Redis server v=7.0.15`). */
function redisVersion(): string {
  try {
    return execFileSync(REDIS_SERVER_BIN, ["--version"], { encoding: "utf8", timeout: 5_000 }).split(" sha=")[0]!.trim();
  } catch {
    return "Redis (unknown version)";
  }
}

/** Nearest rank, as measure.ts does. */
function percentile(values: readonly number[], fraction: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1))]!;
}

function latencyRow(label: string, summary: LatencySummary, ratio = ""): string[] {
  return [label, formatCount(summary.iterations), formatDuration(summary.medianMs), formatDuration(summary.p99Ms), formatDuration(summary.cpuPerOperationMs), ratio];
}

/** A store in memory only, or on a namespace of Redis through `shared`. */
function setupStore(shared?: RedisDriver): Promise<MCPStore> {
  return MCPStore.setupStore({
    mcpConfigFile: false,
    logger: quietLogger,
    ...(shared ? { desiredState: shared.desiredState, cache: shared.cache } : {}),
  });
}

/** Polls `check` every millisecond until it holds; resolves with the time since `since` (ms). */
async function until(check: () => Promise<boolean>, since: number, what: string): Promise<number> {
  while (!(await check())) {
    if (performance.now() - since > PROPAGATION_TIMEOUT_MS) throw new Error(`${what} not seen within ${PROPAGATION_TIMEOUT_MS} ms`);
    await sleep(1);
  }
  return performance.now() - since;
}

interface PropagationSample {
  returnedMs: number;
  servicesMs: number;
  toolsMs: number;
  removedMs: number;
}

/** One add on A seen on B, then its remove. */
async function propagate(a: ServiceContext, b: ServiceContext, config: ServiceConfig): Promise<PropagationSample> {
  const name = config.name;
  const addedAt = performance.now();
  let servicesMs: number | undefined;
  const seen = until(
    async () => {
      servicesMs ??= (await b.listServices()).some((service) => service.name === name) ? performance.now() - addedAt : undefined;
      return servicesMs !== undefined && (await b.listTools()).some((tool) => tool.serviceName === name);
    },
    addedAt,
    `${name} on B`,
  );
  await a.addService(config);
  const returnedMs = performance.now() - addedAt;
  const toolsMs = await seen;
  const removedAt = performance.now();
  await a.removeService(name);
  const removedMs = await until(async () => !(await b.listServices()).some((service) => service.name === name), removedAt, `${name} gone from B`);
  return { returnedMs, servicesMs: servicesMs!, toolsMs, removedMs };
}

async function main(): Promise<void> {
  const started = performance.now();
  const redis = await startRedisServer();
  const closers: Array<() => Promise<unknown>> = [() => redis.stop()];
  const owned = <T extends { close(): Promise<unknown> }>(resource: T): T => {
    closers.unshift(() => resource.close());
    return resource;
  };
  try {
    console.log(`\n@mcpstore/redis bench, ${new Date().toISOString()}, Node ${process.version}, ${cpus().length} cores, ${redisVersion()} on 127.0.0.1 (no persistence)\n`);
    const [bigFixture, fixture] = await Promise.all([startHttpFixture({ transports: "streamable-http", extraTools: EXTRA_TOOLS }), startHttpFixture({ transports: "streamable-http" })]);
    owned(bigFixture);
    owned(fixture);

    // (a) cached listTools, memory driver against Redis driver.
    const listShared = owned(redisDriver({ url: redis.url, namespace: `bench-list-${randomUUID().slice(0, 8)}` }));
    await listShared.ready();
    const [memoryStore, redisStore] = await Promise.all([setupStore().then(owned), setupStore(listShared).then(owned)]);
    const big: ServiceConfig = { name: "big", url: bigFixture.url, transport: "streamable-http" };
    const [memoryContext, redisContext] = [memoryStore.forStore(), redisStore.forStore()];
    for (const context of [memoryContext, redisContext]) {
      await context.addService(big);
      await context.waitService("big", { timeoutMs: 30_000 });
    }
    const toolCounts = [(await memoryContext.listTools()).length, (await redisContext.listTools()).length];
    if (toolCounts[0] !== toolCounts[1]) throw new Error(`memory and Redis stores list different tool counts: ${toolCounts.join(" vs ")}`);
    const [memoryList, redisList] = await measureLatency([
      { run: () => memoryContext.listTools(), iterations: LIST_ITERATIONS },
      { run: () => redisContext.listTools(), iterations: LIST_ITERATIONS },
    ]);
    const listRatio = redisList!.medianMs / memoryList!.medianMs;

    // (b) propagation A → B through one namespace, two drivers (separate connections), two stores.
    const namespace = `bench-propagation-${randomUUID().slice(0, 8)}`;
    const [sharedA, sharedB] = [owned(redisDriver({ url: redis.url, namespace })), owned(redisDriver({ url: redis.url, namespace }))];
    await Promise.all([sharedA.ready(), sharedB.ready()]);
    const [storeA, storeB] = await Promise.all([setupStore(sharedA).then(owned), setupStore(sharedB).then(owned)]);
    const [a, b] = [storeA.forStore(), storeB.forStore()];
    const config = (index: number): ServiceConfig => ({ name: `svc${index}`, url: fixture.url, transport: "streamable-http" });
    for (let index = 0; index < PROPAGATION_WARMUP; index += 1) await propagate(a, b, config(index));
    const samples: PropagationSample[] = [];
    for (let index = 0; index < PROPAGATION_SAMPLES; index += 1) samples.push(await propagate(a, b, config(PROPAGATION_WARMUP + index)));
    const row = (label: string, pick: (sample: PropagationSample) => number) => {
      const values = samples.map(pick);
      return [label, formatCount(values.length), formatDuration(percentile(values, 0.5)), formatDuration(percentile(values, 0.99)), formatDuration(Math.max(...values))];
    };
    const servicesP99 = percentile(samples.map((sample) => sample.servicesMs), 0.99);
    const toolsP99 = percentile(samples.map((sample) => sample.toolsMs), 0.99);

    console.log(
      formatTable(
        ["cached listTools", "n", "median", "p99", "CPU/op", "redis/memory (median)"],
        [
          `${formatCount(toolCounts[0]!)} tools, one HTTP fixture service (extraTools: ${EXTRA_TOOLS})`,
          latencyRow("  memory driver", memoryList!),
          latencyRow("  Redis driver (local copy)", redisList!, formatRatio(listRatio)),
        ],
      ),
    );
    console.log();
    console.log(
      formatTable(
        ["propagation A → B (pub/sub healthy)", "n", "p50", "p99", "max"],
        [
          row("  A's addService returned", (sample) => sample.returnedMs),
          row("  add seen in B's listServices()", (sample) => sample.servicesMs),
          row("  add seen in B's listTools()", (sample) => sample.toolsMs),
          row("  remove gone from B's listServices()", (sample) => sample.removedMs),
        ],
      ),
    );
    console.log("\nCPU/op: CPU time of this process (user + system) per operation. Propagation: from A's addService call (or");
    console.log("removeService call), B polled every 1 ms; both stores, both drivers and the fixtures are in this process.");
    console.log(`Redis cache status on B after the run: ${JSON.stringify(sharedB.cache.status())}\n`);
    console.log("Targets:");
    console.log(`  cached listTools median, redis/memory <= ${formatRatio(LIST_TARGET_RATIO)}: ${formatRatio(listRatio)}, ${verdict(listRatio <= LIST_TARGET_RATIO)}`);
    console.log(
      `  propagation of an add, p99 <= ${PROPAGATION_TARGET_P99_MS} ms: listServices ${formatDuration(servicesP99)}, listTools ${formatDuration(toolsP99)}, ` +
        verdict(Math.max(servicesP99, toolsP99) <= PROPAGATION_TARGET_P99_MS),
    );
  } finally {
    for (const close of closers) await close().catch((error: unknown) => console.error(error));
  }
  console.log(`\nDone in ${((performance.now() - started) / 1000).toFixed(1)} s.`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
