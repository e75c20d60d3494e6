import { spawn } from "node:child_process";
import { performance } from "node:perf_hooks";
import { MCPStore } from "@mcpstore/core";
import { minimalShellServerConfig, quietLogger, stdioFixtureConfig } from "@mcpstore/testing";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { formatDuration, formatRatio, formatTable } from "./format-table.js";

// The service lifecycle: how long connecting many stdio servers at once takes next to one, and how fast a killed server
// is noticed and replaced. Two servers: the Node fixture (@mcpstore/testing; its start-up costs ~100 ms of CPU, so on
// few cores 50 of them measure the cores) and a minimal `sh` server that starts in milliseconds (what is left is the
// store's own work). Prints numbers; never fails on speed.

const MANY = 50;
const ROUNDS = 3;
const KILL_ROUNDS = 5;
const CONNECT_TARGET_RATIO = 1.5;
const FIRST_FAILURE_TARGET_MS = 100;

type Config = { name: string; command: string; args: string[] };

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const verdict = (met: boolean) => (met ? "met" : "MISSED");

/** Milliseconds from `addService` of `count` services to all of them healthy, in a fresh store. */
async function storeConnect(count: number, config: (index: number) => Config): Promise<number> {
  const store = await MCPStore.setupStore({ mcpConfigFile: false, logger: quietLogger });
  try {
    const context = store.forStore();
    const configs = Array.from({ length: count }, (_, index) => config(index));
    const started = performance.now();
    await context.addService(configs);
    await Promise.all(configs.map((each) => context.waitService(each.name, { timeoutMs: 120_000 })));
    return performance.now() - started;
  } finally {
    await store.close();
  }
}

let rawFailures = 0;

/** The same with raw SDK clients: connect and list tools, all at once. A failed connection is counted, not fatal. */
async function rawConnect(count: number, config: (index: number) => Config): Promise<number> {
  const clients: Client[] = [];
  try {
    const started = performance.now();
    const results = await Promise.allSettled(
      Array.from({ length: count }, async (_, index) => {
        const { command, args } = config(index);
        const client = new Client({ name: "bench-raw", version: "0.0.0" });
        clients.push(client);
        await client.connect(new StdioClientTransport({ command, args, stderr: "ignore" }));
        await client.listTools();
      }),
    );
    rawFailures += results.filter((result) => result.status === "rejected").length;
    return performance.now() - started;
  } finally {
    await Promise.allSettled(clients.map((client) => client.close()));
  }
}

/**
 * The floor under any stdio client: the time `child_process.spawn()` itself blocks the event loop (fork, then waiting
 * for the child to exec) for one process and for `MANY` in a row, with the minimal server's command.
 */
function spawnFloor(): { one: number; many: number } {
  const spawnOne = () => {
    const started = performance.now();
    const child = spawn("/bin/sh", ["-c", "read line"], { stdio: ["pipe", "ignore", "ignore"], detached: true });
    const elapsed = performance.now() - started;
    child.stdin.end();
    return elapsed;
  };
  const ones = Array.from({ length: 5 }, spawnOne);
  const many = Array.from({ length: MANY }, spawnOne).reduce((sum, each) => sum + each, 0);
  return { one: median(ones), many };
}

/** Median over rounds of one and of `MANY` connections. */
async function connectRows(label: string, config: (index: number) => Config, rounds: number): Promise<{ rows: string[][]; ratio: number }> {
  const one: number[] = [];
  const many: number[] = [];
  const rawOne: number[] = [];
  const rawMany: number[] = [];
  for (let round = 0; round < rounds; round++) {
    one.push(await storeConnect(1, config));
    many.push(await storeConnect(MANY, config));
    rawOne.push(await rawConnect(1, config));
    rawMany.push(await rawConnect(MANY, config));
  }
  const ratio = median(many) / median(one);
  return {
    ratio,
    rows: [
      [`  store, ${label}`, formatDuration(median(one)), formatDuration(median(many)), formatRatio(ratio)],
      [`  raw SDK clients, ${label}`, formatDuration(median(rawOne)), formatDuration(median(rawMany)), formatRatio(median(rawMany) / median(rawOne))],
    ],
  };
}

/**
 * Kills the service's process while calls run one after another; measures the time from the kill to the first call
 * that fails, and to the first that succeeds again (on a new process).
 */
async function killAndRecover(): Promise<{ toFailureMs: number[]; toSuccessMs: number[] }> {
  const store = await MCPStore.setupStore({ mcpConfigFile: false, logger: quietLogger, monitoring: { reconnectionSeconds: 1 } });
  const toFailureMs: number[] = [];
  const toSuccessMs: number[] = [];
  try {
    const context = store.forStore();
    await context.addService(stdioFixtureConfig("victim"));
    for (let round = 0; round < KILL_ROUNDS; round++) {
      const { pid } = await context.waitService("victim", { timeoutMs: 30_000 });
      // Calls in a loop, the way an agent keeps using a tool.
      let killedAt = 0;
      let failedAt = 0;
      const loop = (async () => {
        for (;;) {
          try {
            await context.callTool("victim_echo", { text: "x" });
            if (failedAt) return performance.now();
          } catch {
            if (killedAt && !failedAt) failedAt = performance.now();
            // Calls fail fast while the service reconnects: wait a little instead of spinning.
            await new Promise((resolve) => setTimeout(resolve, 1));
          }
        }
      })();
      await new Promise((resolve) => setTimeout(resolve, 100));
      killedAt = performance.now();
      process.kill(pid!, "SIGKILL");
      const recoveredAt = await loop;
      toFailureMs.push(failedAt - killedAt);
      toSuccessMs.push(recoveredAt - killedAt);
      await context.waitService("victim", { timeoutMs: 30_000 });
    }
  } finally {
    await store.close();
  }
  return { toFailureMs, toSuccessMs };
}

async function main(): Promise<void> {
  const started = performance.now();
  console.log(`MCPStore lifecycle bench, ${new Date().toISOString()}, Node ${process.version}`);
  console.log(
    `Connecting ${MANY} stdio servers at once vs one (until healthy: initialize + catalogue), median of ${ROUNDS} rounds (Node fixture: 1).\n`,
  );
  const floor = spawnFloor();
  const minimal = await connectRows("minimal sh server", (index) => minimalShellServerConfig(`sh${index}`), ROUNDS);
  // One round: 50 Node servers starting at once keep a small machine busy for a minute.
  const fixture = await connectRows("Node fixture server", (index) => stdioFixtureConfig(`node${index}`), 1);
  const floorRow = ["  spawn() alone, sh (the floor)", formatDuration(floor.one), formatDuration(floor.many), formatRatio(floor.many / floor.one)];
  console.log(formatTable(["connect", "one", `${MANY} at once`, `${MANY}/one`], [floorRow, ...minimal.rows, ...fixture.rows]));
  console.log(`Node's spawn() blocks until the child has exec'd: ${MANY} spawns take ${MANY}x one whatever the client does.`);
  if (rawFailures > 0) console.log(`(${rawFailures} raw SDK client connections failed; their rounds are timed all the same.)`);

  console.log(`\nSIGKILL of a stdio server while calls run one after another (reconnectionSeconds: 1), ${KILL_ROUNDS} rounds.\n`);
  const { toFailureMs, toSuccessMs } = await killAndRecover();
  console.log(
    formatTable(
      ["after SIGKILL", "median", "max"],
      [
        ["  first failed call", formatDuration(median(toFailureMs)), formatDuration(Math.max(...toFailureMs))],
        ["  next successful call (new process)", formatDuration(median(toSuccessMs)), formatDuration(Math.max(...toSuccessMs))],
      ],
    ),
  );
  console.log("\nTargets:");
  console.log(
    `  ${MANY} at once vs one, store, minimal server, <= ${formatRatio(CONNECT_TARGET_RATIO)}: ${formatRatio(minimal.ratio)}, ${verdict(minimal.ratio <= CONNECT_TARGET_RATIO)}`,
  );
  console.log(
    `  ${MANY} at once vs one, store, Node fixture, <= ${formatRatio(CONNECT_TARGET_RATIO)}: ${formatRatio(fixture.ratio)}, ${verdict(fixture.ratio <= CONNECT_TARGET_RATIO)}` +
      " (bound by the servers' start-up CPU: compare the raw SDK row)",
  );
  console.log(
    `  SIGKILL to first failed call < ${FIRST_FAILURE_TARGET_MS} ms: ${formatDuration(median(toFailureMs))} median, ${verdict(Math.max(...toFailureMs) < FIRST_FAILURE_TARGET_MS)}`,
  );
  console.log(`\nDone in ${((performance.now() - started) / 1000).toFixed(1)} s.`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
