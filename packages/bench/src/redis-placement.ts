import { fork, type ChildProcess } from "node:child_process";
import { cpus } from "node:os";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { MCPStore } from "@mcpstore/core";
import { redisDriver, type RedisDriver } from "@mcpstore/redis";
import { createApp, serve } from "@mcpstore/server";
import { quietLogger, startHttpFixture, startRedisServer, stdioFixtureConfig } from "@mcpstore/testing";
import autocannon from "autocannon";
import { formatCount, formatDuration, formatTable } from "./format-table.js";
import { measureLatency, type LatencySummary } from "./measure.js";

// Several instances on one Redis namespace, side by side in one run, against a redis-server of the bench's own:
// (c) a call forwarded to the instance running a stdio service (placement "owner") against the same call made on that
//     instance itself: two stores in this process, batches alternating; the extra latency is the forwarding's cost;
// (d) calls per second to a Streamable HTTP fixture through the REST API of 1, 2 and 3 instances (each its own process,
//     `node dist/redis-placement.js --instance`), one autocannon per instance at once, summed.
// Prints numbers; never fails on speed.

const CALL_ITERATIONS = 2_000;
const FORWARD_TARGET_MS = 1;
const LOAD_SECONDS = 5;
const CONNECTIONS_PER_INSTANCE = 10;
const TOKEN = "bench-placement-token-0123456789ab";
const NAMESPACE = "bench-placement";

function latencyRow(label: string, summary: LatencySummary, extra = ""): string[] {
  return [label, formatCount(summary.iterations), formatDuration(summary.medianMs), formatDuration(summary.p99Ms), formatDuration(summary.cpuPerOperationMs), extra];
}

async function setupStore(shared: RedisDriver): Promise<MCPStore> {
  return MCPStore.setupStore({ mcpConfigFile: false, logger: quietLogger, shared });
}

/** One API instance in a process of its own: prints its URL on stdout's first line (IPC message), serves until killed. */
async function runInstance(redisUrl: string): Promise<void> {
  const store = await setupStore(redisDriver({ url: redisUrl, namespace: NAMESPACE }));
  const server = await serve(createApp(store, { tokens: { admin: [TOKEN], agents: {} }, logger: quietLogger }), { port: 0 });
  process.send?.({ url: server.url });
  process.on("disconnect", () => void server.close().then(() => store.close()).finally(() => process.exit(0)));
}

function startInstance(redisUrl: string): Promise<{ child: ChildProcess; url: string }> {
  const child = fork(fileURLToPath(import.meta.url), ["--instance", redisUrl], { stdio: ["ignore", "ignore", "inherit", "ipc"] });
  return new Promise((resolve, reject) => {
    child.once("message", (message) => resolve({ child, url: (message as { url: string }).url }));
    child.once("exit", (code) => reject(new Error(`instance exited with ${code}`)));
  });
}

async function loadAll(urls: string[]): Promise<{ requests: number; p99: number; errors: number }> {
  const body = JSON.stringify({ tool: "remote_echo", args: { text: "hi" } });
  const results = await Promise.all(
    urls.map((url) =>
      autocannon({
        url: `${url}/for_store/call_tool`,
        method: "POST",
        body,
        connections: CONNECTIONS_PER_INSTANCE,
        duration: LOAD_SECONDS,
        workers: 1,
        headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      }),
    ),
  );
  return {
    requests: results.reduce((sum, result) => sum + result.requests.average, 0),
    p99: Math.max(...results.map((result) => result.latency.p99)),
    errors: results.reduce((sum, result) => sum + result.non2xx + result.errors, 0),
  };
}

async function main(): Promise<void> {
  console.log(`\n@mcpstore/redis placement bench, ${new Date().toISOString()}, Node ${process.version}, ${cpus().length} cores\n`);
  const redis = await startRedisServer();
  const remote = await startHttpFixture({ transports: "streamable-http" });
  const stores: MCPStore[] = [];
  const instances: ChildProcess[] = [];
  try {
    // (c) forwarded vs on the running instance.
    const [sharedA, sharedB] = [redisDriver({ url: redis.url, namespace: `${NAMESPACE}-calls` }), redisDriver({ url: redis.url, namespace: `${NAMESPACE}-calls` })];
    const [a, b] = [await setupStore(sharedA), await setupStore(sharedB)];
    stores.push(a, b);
    await a.forStore().addService(stdioFixtureConfig("svc"));
    await a.forStore().waitService("svc", { timeoutMs: 10_000 });
    const deadline = performance.now() + 10_000;
    while ((await b.forStore().listTools()).length === 0 || (await b.forStore().getService("svc")).state !== "healthy") {
      if (performance.now() > deadline) throw new Error("svc not ready on B");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const runsOn = (await a.forStore().getService("svc")).placement?.runsOn;
    const [owner, follower] = runsOn === sharedA.placement.instanceId ? [a, b] : [b, a];
    const args = { text: "x" };
    // measureLatency alternates the two sides batch by batch, so that load on the machine hits both alike.
    const [ownerSummary, forwardedSummary] = await measureLatency([
      { run: () => owner.forStore().callTool("svc_echo", args), iterations: CALL_ITERATIONS },
      { run: () => follower.forStore().callTool("svc_echo", args), iterations: CALL_ITERATIONS },
    ]);
    console.log(formatTable(["callTool echo (stdio)", "calls", "p50", "p99", "CPU/op", ""], [latencyRow("  on the running instance", ownerSummary!), latencyRow("  forwarded through Redis", forwardedSummary!)]));
    const extra = forwardedSummary!.medianMs - ownerSummary!.medianMs;
    console.log(`Forwarding adds ${formatDuration(extra)} at p50 (target ≤ ${FORWARD_TARGET_MS} ms: ${extra <= FORWARD_TARGET_MS ? "met" : "MISSED"}).\n`);
    await Promise.all(stores.splice(0).map((store) => store.close()));

    // (d) calls/s through 1, 2 and 3 instances.
    const urls: string[] = [];
    const rows: string[][] = [];
    const seed = await setupStore(redisDriver({ url: redis.url, namespace: NAMESPACE }));
    stores.push(seed);
    await seed.forStore().addService({ name: "remote", url: remote.url });
    await seed.forStore().waitService("remote", { timeoutMs: 10_000 });
    for (let count = 1; count <= 3; count++) {
      const started = await startInstance(redis.url);
      instances.push(started.child);
      urls.push(started.url);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const result = await loadAll(urls);
      rows.push([`  ${count} instance${count > 1 ? "s" : ""}`, formatCount(result.requests), formatDuration(result.p99), formatCount(result.errors)]);
    }
    console.log(formatTable([`POST /for_store/call_tool, ${CONNECTIONS_PER_INSTANCE} connections per instance, ${LOAD_SECONDS} s`, "calls/s (sum)", "p99 (worst)", "non-2xx+errors"], rows));
    console.log(`The instances, the fixture, Redis and autocannon share this machine's ${cpus().length} cores: more instances add CPU contention here, not capacity.`);
  } finally {
    for (const child of instances) child.disconnect();
    await Promise.all(stores.map((store) => store.close()));
    await remote.close();
    await redis.stop();
  }
}

if (process.argv[2] === "--instance") void runInstance(process.argv[3]!);
else
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
