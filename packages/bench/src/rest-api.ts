import { Agent, request } from "node:http";
import { cpus } from "node:os";
import { performance } from "node:perf_hooks";
import { MCPStore } from "@mcpstore/core";
import { createApp, serve, type RunningServer } from "@mcpstore/server";
import { quietLogger, stdioFixtureConfig } from "@mcpstore/testing";
import autocannon from "autocannon";
import { formatCount, formatDuration, formatRatio, formatTable } from "./format-table.js";
import { measureLatency, type LatencySummary } from "./measure.js";

// What the REST API (@mcpstore/server) adds to the library: one store with the fixture over stdio, called directly and
// through the API on 127.0.0.1 (keep-alive, bearer token), side by side in one process: with node:http's client (the
// target is judged on it) and with fetch, whose client side costs more. Then autocannon (in a worker thread) loads
// GET /for_store/list_tools and, as the floor of the HTTP stack, GET /health. Prints numbers; never fails on speed.

const CALL_ITERATIONS = 2_000;
const LIST_ITERATIONS = 2_000;
const ADDED_TARGET_MS = 1;
const LOAD_SECONDS = 5;
const CONNECTIONS = 20;
const TOKEN = "bench-admin-token-0123456789abcdef";


function latencyRow(label: string, summary: LatencySummary, extra = ""): string[] {
  return [label, formatCount(summary.iterations), formatDuration(summary.medianMs), formatDuration(summary.p99Ms), formatDuration(summary.cpuPerOperationMs), extra];
}

async function load(url: string): Promise<autocannon.Result> {
  return autocannon({ url, connections: CONNECTIONS, duration: LOAD_SECONDS, workers: 1, headers: { authorization: `Bearer ${TOKEN}` } });
}

async function main(): Promise<void> {
  const started = performance.now();
  console.log(`MCPStore REST API vs library, ${new Date().toISOString()}, Node ${process.version}, ${cpus().length} cores`);
  console.log("callTool echo over stdio, through the library and through POST /for_store/call_tool on 127.0.0.1 (same process).\n");
  const store = await MCPStore.setupStore({ mcpConfigFile: false, logger: quietLogger });
  let server: RunningServer | undefined;
  try {
    const context = store.forStore();
    await context.addService(stdioFixtureConfig("svc"));
    await context.waitService("svc");
    server = await serve(createApp(store, { tokens: { admin: [TOKEN], agents: {} }, logger: quietLogger }), { port: 0 });
    const callUrl = `${server.url}/for_store/call_tool`;
    const listUrl = `${server.url}/for_store/list_tools`;
    const headers = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };
    const body = JSON.stringify({ tool: "svc_echo", args: { text: "x" } });

    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const { hostname, port } = new URL(server.url);
    /** One request with node:http over a kept-alive socket; resolves with the parsed JSON of a 200. */
    const httpJson = (method: string, path: string, payload?: string) =>
      new Promise<unknown>((resolve, reject) => {
        const outgoing = request({ host: hostname, port, path, method, agent, headers: payload === undefined ? headers : { ...headers, "content-length": Buffer.byteLength(payload) } }, (response) => {
          let text = "";
          response.setEncoding("utf8");
          response.on("data", (chunk: string) => (text += chunk));
          response.on("end", () => (response.statusCode === 200 ? resolve(JSON.parse(text)) : reject(new Error(`${path} answered ${response.statusCode}: ${text}`))));
        });
        outgoing.on("error", reject);
        outgoing.end(payload);
      });
    const libraryCall = () => context.callTool("svc_echo", { text: "x" });
    const httpCall = () => httpJson("POST", "/for_store/call_tool", body);
    const fetchCall = async () => {
      const response = await fetch(callUrl, { method: "POST", headers, body });
      if (response.status !== 200) throw new Error(`call_tool answered ${response.status}: ${await response.text()}`);
      return response.json();
    };
    const libraryList = () => context.listTools();
    const restList = () => httpJson("GET", "/for_store/list_tools");
    const [viaRest, viaLibrary] = await Promise.all([httpCall(), libraryCall()]);
    if (JSON.stringify((viaRest as { content: unknown }).content) !== JSON.stringify(viaLibrary.content)) throw new Error("The API and the library answered differently");

    const [libraryCallLatency, restCallLatency, fetchCallLatency] = await measureLatency([
      { run: libraryCall, iterations: CALL_ITERATIONS },
      { run: httpCall, iterations: CALL_ITERATIONS },
      { run: fetchCall, iterations: CALL_ITERATIONS },
    ]);
    const [libraryListLatency, restListLatency] = await measureLatency([
      { run: libraryList, iterations: LIST_ITERATIONS },
      { run: restList, iterations: LIST_ITERATIONS },
    ]);
    const addedCallMs = restCallLatency!.medianMs - libraryCallLatency!.medianMs;
    const addedListMs = restListLatency!.medianMs - libraryListLatency!.medianMs;

    console.log(
      formatTable(
        ["latency, one at a time", "n", "median", "p99", "CPU/op", "REST added (median)"],
        [
          "callTool echo",
          latencyRow("  library", libraryCallLatency!),
          latencyRow("  REST API, node:http client", restCallLatency!, `+${formatDuration(addedCallMs)} (${formatRatio(restCallLatency!.medianMs / libraryCallLatency!.medianMs)})`),
          latencyRow("  REST API, fetch client", fetchCallLatency!, `+${formatDuration(fetchCallLatency!.medianMs - libraryCallLatency!.medianMs)}`),
          `listTools (${(await libraryList()).length} tools, cached)`,
          latencyRow("  library", libraryListLatency!),
          latencyRow("  REST API, node:http client", restListLatency!, `+${formatDuration(addedListMs)}`),
        ],
      ),
    );
    console.log("\nCPU/op: CPU time of this process per operation; for the REST API it holds both the client and the server.\n");

    // autocannon generates load from a worker thread, so that the server's event loop has the main thread.
    const listLoad = await load(listUrl);
    const healthLoad = await load(`${server.url}/health`);
    const loadRow = (label: string, result: autocannon.Result) => [
      label,
      formatCount(result.requests.average),
      formatDuration(result.latency.p50),
      formatDuration(result.latency.p99),
      formatCount(result.non2xx + result.errors),
    ];
    console.log(
      formatTable(
        [`autocannon, ${CONNECTIONS} connections, ${LOAD_SECONDS} s`, "requests/s", "p50", "p99", "non-2xx+errors"],
        [loadRow("  GET /for_store/list_tools", listLoad), loadRow("  GET /health (HTTP stack floor)", healthLoad)],
      ),
    );
    console.log("\nTargets:");
    console.log(
      `  REST callTool adds <= ${formatDuration(ADDED_TARGET_MS)} at the median: +${formatDuration(addedCallMs)}, ${addedCallMs <= ADDED_TARGET_MS ? "met" : "MISSED"}`,
    );
    agent.destroy();
  } finally {
    await server?.close();
    await store.close();
  }
  console.log(`\nDone in ${((performance.now() - started) / 1000).toFixed(1)} s.`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
