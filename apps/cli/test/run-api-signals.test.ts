import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { listProcesses, misbehavingFixtureConfig, processesMatching, type MisbehavingFixtureOptions } from "@mcpstore/testing";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { CLI_PATH, cleanEnv, startApi } from "./run-cli.js";

// `mcpstore run api` stopped by a signal leaves no process behind: at any time (services still starting, a tool call
// in flight), and at once on a second signal. The fixture servers are started with a marker on their command line
// and in process groups of their own; what is checked is the process table, by marker and by group.

const directory = mkdtempSync(join(tmpdir(), "mcpstore-signals-"));
const TOKEN = "signals-admin-token-0123456789";
const children: ChildProcess[] = [];
const markers: string[] = [];
let configs = 0;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A config file of `count` misbehaving fixtures with a fresh marker; returns both. */
function writeConfig(count: number, options: (index: number) => MisbehavingFixtureOptions): { config: string; marker: string } {
  const marker = `signals-${process.pid}-${++configs}`;
  markers.push(marker);
  const mcpServers: Record<string, unknown> = {};
  for (let index = 0; index < count; index++) {
    const { name: _name, ...entry } = misbehavingFixtureConfig(`s${index}`, { marker, ...options(index) });
    mcpServers[`s${index}`] = entry;
  }
  const config = join(directory, `mcp-${configs}.json`);
  writeFileSync(config, JSON.stringify({ mcpServers }));
  return { config, marker };
}

/** How a run ended, and when (`performance.now()`). */
interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  at: number;
}

/** Starts `mcpstore --config <config> ...args` (default `run api` on a free port) without waiting for its banner. */
function spawnCli(config: string, args: readonly string[] = ["run", "api", "--port", "0"]): { child: ChildProcess; ended: Promise<Ended>; stdout: () => string; stderr: () => string } {
  const child = spawn(process.execPath, [CLI_PATH, "--config", config, ...args], {
    cwd: directory,
    env: cleanEnv(directory, { MCPSTORE_ADMIN_TOKEN: TOKEN }),
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const ended = new Promise<Ended>((resolve) => child.on("exit", (code, signal) => resolve({ code, signal, at: performance.now() })));
  return { child, ended, stdout: () => stdout, stderr: () => stderr };
}

async function waitFor(what: string, predicate: () => boolean, timeoutMs: number): Promise<void> {
  const started = performance.now();
  while (!predicate()) {
    if (performance.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Resolves with how the run ended, or rejects when it is still running after `timeoutMs`. */
async function endsWithin(ended: Promise<Ended>, timeoutMs: number): Promise<Ended> {
  const timeout = sleep(timeoutMs).then(() => undefined);
  const result = await Promise.race([ended, timeout]);
  if (!result) throw new Error(`run api still running ${timeoutMs} ms after the signal`);
  return result;
}

/** Live processes of the run: those with the marker, and any other member of the groups seen. */
function leftovers(marker: string, groups: Set<number>): string[] {
  return listProcesses()
    .filter((entry) => entry.command.includes(marker) || groups.has(entry.pgid))
    .filter((entry) => entry.pid !== process.pid)
    .map((entry) => `${entry.pid} (group ${entry.pgid}): ${entry.command.slice(0, 160)}`);
}

/** The process groups of the fixtures running now (each server is the leader of its own). */
const groupsOf = (marker: string) => new Set(processesMatching(marker).map((entry) => entry.pgid));

/** What is left a short while after the run ended: SIGKILLed processes take a moment to leave the table. */
async function leftoversAfterExit(marker: string, groups: Set<number>): Promise<string[]> {
  for (let attempt = 0; attempt < 25 && leftovers(marker, groups).length > 0; attempt++) await sleep(20);
  return leftovers(marker, groups);
}

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  // Whatever a failed test left behind goes too: every group of a marked process.
  for (const marker of markers.splice(0)) {
    for (const entry of processesMatching(marker)) {
      try {
        process.kill(-entry.pgid, "SIGKILL");
      } catch {
        // gone already
      }
    }
  }
});
afterAll(() => rmSync(directory, { recursive: true, force: true }));

describe("mcpstore run api stopped by a signal", () => {
  it("SIGINT as the first of many services starts: stops, and leaves no process", async () => {
    // Half of them behind a wrapper that does not forward signals, as npx does: a grandchild in the same group.
    const { config, marker } = writeConfig(12, (index) => (index % 2 === 0 ? { mode: "no-initialize" } : { mode: "wrapper", innerMode: "no-initialize" }));
    const run = spawnCli(config);
    await waitFor("a first service process", () => processesMatching(marker).length > 0, 15_000);
    const groups = groupsOf(marker);
    run.child.kill("SIGINT");
    const ended = await endsWithin(run.ended, 15_000);
    for (const group of groupsOf(marker)) groups.add(group);
    expect(await leftoversAfterExit(marker, groups)).toEqual([]);
    expect(ended, run.stderr()).toMatchObject({ code: 0, signal: null });
    expect(run.stdout()).not.toContain("listening on");
  });

  it("SIGINT while services are slow to start (before the banner): stops at once, not after the wait", async () => {
    const { config, marker } = writeConfig(3, () => ({ mode: "wrapper", innerMode: "no-initialize" }));
    const run = spawnCli(config);
    // Each wrapper and its server: six processes, none of which will ever answer `initialize`.
    await waitFor("every service process", () => processesMatching(marker).length === 6, 15_000);
    await sleep(300);
    const groups = groupsOf(marker);
    expect(groups.size).toBe(3);
    expect(run.stdout()).toBe("");
    const signalled = performance.now();
    run.child.kill("SIGINT");
    const ended = await endsWithin(run.ended, 10_000);
    expect(await leftoversAfterExit(marker, groups)).toEqual([]);
    expect(ended, run.stderr()).toMatchObject({ code: 0, signal: null });
    // Well before the 15 s the banner waits for services.
    expect(ended.at - signalled).toBeLessThan(8_000);
  });

  it("SIGINT during a slow tool call: stops, and leaves no process", async () => {
    const { config, marker } = writeConfig(1, () => ({ mode: "wrapper", innerMode: "normal" }));
    const api = await startApi(["--config", config], { cwd: directory, env: { MCPSTORE_ADMIN_TOKEN: TOKEN } });
    children.push(api.child);
    const ended = new Promise<Ended>((resolve) => api.child.on("exit", (code, signal) => resolve({ code, signal, at: performance.now() })));
    const headers = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };
    const call = fetch(`${api.url}/for_store/call_tool`, { method: "POST", headers, body: JSON.stringify({ tool: "s0_hang", args: {} }) }).then(
      (response) => response.status,
      () => "cut",
    );
    await waitFor("the server and its wrapper", () => processesMatching(marker).length === 2, 10_000);
    await sleep(300);
    const groups = groupsOf(marker);
    expect(groups.size).toBe(1);
    api.child.kill("SIGINT");
    expect(await endsWithin(ended, 15_000), api.stderr()).toMatchObject({ code: 0, signal: null });
    await call;
    expect(await leftoversAfterExit(marker, groups)).toEqual([]);
  });

  it("a second SIGINT exits at once, every process of the run gone, while the first is still stopping", async () => {
    // Servers that take a minute to exit on SIGTERM, and a call that never ends: the graceful stop takes seconds.
    const { config, marker } = writeConfig(3, (index) => (index === 0 ? { mode: "wrapper", innerMode: "normal" } : { mode: "slow-exit", exitDelayMs: 60_000 }));
    const api = await startApi(["--config", config], { cwd: directory, env: { MCPSTORE_ADMIN_TOKEN: TOKEN } });
    children.push(api.child);
    const ended = new Promise<Ended>((resolve) => api.child.on("exit", (code, signal) => resolve({ code, signal, at: performance.now() })));
    const headers = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };
    const call = fetch(`${api.url}/for_store/call_tool`, { method: "POST", headers, body: JSON.stringify({ tool: "s1_hang", args: {} }) }).catch(() => undefined);
    await waitFor("every service process", () => processesMatching(marker).length === 4, 10_000);
    await sleep(300);
    const groups = groupsOf(marker);
    expect(groups.size).toBe(3);

    api.child.kill("SIGINT");
    await waitFor("the stop to begin", () => api.stderr().includes('"stopping"'), 5_000);
    await sleep(200);
    expect(api.child.exitCode).toBeNull();
    const second = performance.now();
    api.child.kill("SIGINT");
    const result = await endsWithin(ended, 5_000);
    expect(result.at - second, api.stderr()).toBeLessThan(1_500);
    expect(await leftoversAfterExit(marker, groups)).toEqual([]);
    // 128 + SIGINT, as a shell reports a command interrupted.
    expect(result).toMatchObject({ code: 130, signal: null });
    await call;
  });
});

describe("a one-shot command stopped by a signal", () => {
  it("SIGINT while `mcpstore list` waits for slow services: exits 130, and leaves no process", async () => {
    const { config, marker } = writeConfig(3, () => ({ mode: "wrapper", innerMode: "no-initialize" }));
    const run = spawnCli(config, ["list", "--wait", "30"]);
    await waitFor("every service process", () => processesMatching(marker).length === 6, 15_000);
    const groups = groupsOf(marker);
    run.child.kill("SIGINT");
    const ended = await endsWithin(run.ended, 10_000);
    expect(await leftoversAfterExit(marker, groups)).toEqual([]);
    expect(ended, run.stderr()).toMatchObject({ code: 130, signal: null });
  });
});
