/**
 * Three `mcpstore run api` processes on one namespace of a real redis-server: a stdio service runs as exactly one
 * process cluster-wide (on the holder of its lease), every instance calls it, and when the instance running it is
 * killed (SIGKILL) another one runs it within 10 s, still one process, and calls work again.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { processesMatching, startRedisServer, stdioFixtureConfig, type RedisServer } from "@mcpstore/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApi, type RunningApi } from "./run-cli.js";

const TOKEN = "placement-admin-token-0123456789";
const headers = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };
let redis: RedisServer;
let directory: string;
const running: RunningApi[] = [];

beforeAll(async () => {
  redis = await startRedisServer();
  directory = mkdtempSync(join(tmpdir(), "mcpstore-placement-"));
});
afterAll(async () => {
  await Promise.all(running.map((api) => api.stop()));
  await redis?.stop();
  rmSync(directory, { recursive: true, force: true });
});

const api = (base: RunningApi, path: string, method = "GET", body?: unknown) =>
  fetch(`${base.url}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) }).then(async (response) => ({
    status: response.status,
    json: (await response.json()) as any,
  }));

async function within(timeoutMs: number, what: string, check: () => Promise<boolean>): Promise<number> {
  const started = performance.now();
  while (!(await check().catch(() => false))) {
    if (performance.now() - started > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return Math.round(performance.now() - started);
}

/** The instance a placed service runs on: its `runsOn` is `host:pid:id`, the pid of that `mcpstore run api`. */
const runnerPid = (info: { placement?: { runsOn?: string } }) => Number(info.placement?.runsOn?.split(":")[1]);

describe("a stdio service across three instances", () => {
  it("runs one process; when its instance is killed another runs it within 10 s, one process, and calls work again", async () => {
    const config = join(directory, "mcp.json");
    writeFileSync(config, JSON.stringify({ mcpServers: {} }));
    for (let i = 0; i < 3; i++) {
      running.push(await startApi(["--config", config, "--redis", redis.url, "--namespace", "placed"], { cwd: directory, env: { MCPSTORE_ADMIN_TOKEN: TOKEN } }));
    }
    const marker = `cluster-${randomUUID().slice(0, 8)}`;
    expect((await api(running[0]!, "/for_store/add_service", "POST", stdioFixtureConfig("tools", { serverName: marker }))).status).toBe(200);
    const healthyEverywhere = (instances: RunningApi[]) =>
      within(10_000, "healthy on every instance", async () => {
        const infos = await Promise.all(instances.map((instance) => api(instance, "/for_store/get_service/tools")));
        return infos.every((info) => info.status === 200 && info.json.service.state === "healthy" && runnerPid(info.json.service) > 0);
      });
    await healthyEverywhere(running);
    await within(5_000, "one process", async () => processesMatching(marker).length === 1);

    const callOn = (instance: RunningApi, text: string) => api(instance, "/for_store/call_tool", "POST", { tool: "tools_echo", args: { text } });
    for (const [index, instance] of running.entries()) {
      expect((await callOn(instance, `hello ${index}`)).json.content).toEqual([{ type: "text", text: `hello ${index}` }]);
    }

    const info = (await api(running[1]!, "/for_store/get_service/tools")).json.service;
    const victim = running.find((instance) => instance.child.pid === runnerPid(info))!;
    expect(victim).toBeDefined();
    victim.child.kill("SIGKILL");
    await new Promise((resolve) => victim.child.once("exit", resolve));
    const survivors = running.filter((instance) => instance !== victim);
    const survivorPids = survivors.map((instance) => instance.child.pid);
    const tookMs = await within(12_000, "another instance runs it", async () => {
      const infos = await Promise.all(survivors.map((instance) => api(instance, "/for_store/get_service/tools")));
      return infos.every((entry) => entry.json.service.state === "healthy" && survivorPids.includes(runnerPid(entry.json.service)));
    });
    console.log(`takeover after kill -9 of the running instance: ${tookMs} ms`);
    expect(tookMs).toBeLessThan(10_000 + 1_000);
    // The killed instance's process loses its stdin and exits; the new one is the only one left.
    await within(5_000, "one process again", async () => processesMatching(marker).length === 1);
    for (const instance of survivors) {
      expect((await callOn(instance, "again")).json.content).toEqual([{ type: "text", text: "again" }]);
    }
    expect(processesMatching(marker)).toHaveLength(1);
  }, 90_000);
});
