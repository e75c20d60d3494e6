/**
 * Several `mcpstore run api` processes sharing one registry through a real redis-server (127.0.0.1, no persistence):
 * a change on one instance is served by the others, only the holder of the config role writes mcp.json, another
 * instance takes the role over when the holder dies, and two namespaces share nothing.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startHttpFixture, startRedisServer, type HttpFixture, type RedisServer } from "@mcpstore/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApi, type RunningApi } from "./run-cli.js";

const TOKEN = "shared-instances-admin-token-0123";
const headers = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };
let redis: RedisServer;
let remote: HttpFixture;
let directory: string;
const running: RunningApi[] = [];

beforeAll(async () => {
  [redis, remote] = await Promise.all([startRedisServer(), startHttpFixture({ transports: "streamable-http" })]);
  directory = mkdtempSync(join(tmpdir(), "mcpstore-shared-"));
});
afterAll(async () => {
  await Promise.all(running.map((api) => api.stop()));
  await Promise.all([redis?.stop(), remote?.close()]);
  rmSync(directory, { recursive: true, force: true });
});

async function instance(namespace: string, config: string): Promise<RunningApi> {
  const api = await startApi(["--config", config, "--redis", redis.url, "--namespace", namespace], { cwd: directory, env: { MCPSTORE_ADMIN_TOKEN: TOKEN } });
  running.push(api);
  return api;
}

const api = (base: RunningApi, path: string, method = "GET", body?: unknown) =>
  fetch(`${base.url}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) }).then(async (response) => ({
    status: response.status,
    json: (await response.json()) as any,
  }));

/** Polls until `check` holds; resolves with how long it took (ms), or rejects after `timeoutMs`. */
async function within(timeoutMs: number, check: () => Promise<boolean>): Promise<number> {
  const started = performance.now();
  while (!(await check())) {
    if (performance.now() - started > timeoutMs) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return performance.now() - started;
}

const serviceNames = async (base: RunningApi) => ((await api(base, "/for_store/list_services")).json.services as Array<{ name: string }>).map((service) => service.name).sort();
const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((values.length * p) / 100))]!;

describe("instances sharing one namespace", () => {
  let a: RunningApi;
  let b: RunningApi;
  let config: string;

  beforeAll(async () => {
    config = join(directory, "mcp.json");
    writeFileSync(config, JSON.stringify({ mcpServers: {} }));
    a = await instance("team", config);
    b = await instance("team", config);
  }, 120_000);

  it("serves on B what was added on A (and callable there), and forgets on A what B removed, each within 1 s", async () => {
    const added: number[] = [];
    const removed: number[] = [];
    for (let i = 0; i < 10; i++) {
      const name = `svc${i}`;
      const response = await api(a, "/for_store/add_service", "POST", { name, url: remote.url });
      expect(response.status, JSON.stringify(response.json)).toBe(200);
      added.push(await within(5_000, async () => (await serviceNames(b)).includes(name)));
    }
    const call = await api(b, "/for_store/call_tool", "POST", { tool: "svc3_echo", args: { text: "from B" } });
    expect(call.status, JSON.stringify(call.json)).toBe(200);
    expect(call.json.content).toEqual([{ type: "text", text: "from B" }]);
    for (let i = 0; i < 10; i++) {
      const name = `svc${i}`;
      expect((await api(b, `/for_store/delete_service/${name}`, "DELETE")).status).toBe(200);
      removed.push(await within(5_000, async () => !(await serviceNames(a)).includes(name)));
    }
    console.log(`propagation A→B add p50 ${percentile(added, 50).toFixed(0)} ms p99 ${percentile(added, 99).toFixed(0)} ms; B→A remove p50 ${percentile(removed, 50).toFixed(0)} ms p99 ${percentile(removed, 99).toFixed(0)} ms`);
    // A liveness bound with a margin for this shared machine; the figures above are what the issue asks about.
    expect(percentile(added, 99)).toBeLessThan(1_000);
    expect(percentile(removed, 99)).toBeLessThan(1_000);
  }, 120_000);

  it("writes mcp.json from the holder of the config role only, and another instance takes the role when it dies", async () => {
    // A started first and holds the role. Frozen (its lease still valid), it writes nothing; B, which accepts the
    // change meanwhile, must not write the file either: the entry appears only once A goes on.
    a.child.kill("SIGSTOP");
    try {
      expect((await api(b, "/for_store/add_service", "POST", { name: "kept", url: remote.url })).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(readFileSync(config, "utf8")).not.toContain('"kept"');
    } finally {
      a.child.kill("SIGCONT");
    }
    await within(5_000, async () => readFileSync(config, "utf8").includes('"kept"'));
    const holder = readFileSync(config, "utf8");
    expect(holder.match(/"kept"/g)).toHaveLength(1);
    // Kill A hard (no lease release); whichever instance held the role, B must hold it within the lease's TTL.
    a.child.kill("SIGKILL");
    await a.stop();
    expect((await api(b, "/for_store/add_service", "POST", { name: "after", url: remote.url })).status).toBe(200);
    const took = await within(15_000, async () => readFileSync(config, "utf8").includes('"after"'));
    console.log(`config role taken over and the file written ${took.toFixed(0)} ms after the holder was killed`);
    expect(readFileSync(config, "utf8")).toContain('"kept"');
  }, 60_000);

  it("keeps serving while Redis is stopped for 5 s: calls work, adds are acknowledged or refused with a typed 503, none lost", async () => {
    const c = await instance("team", config);
    expect((await api(c, "/for_store/add_service", "POST", { name: "steady", url: remote.url })).status).toBe(200);
    await within(10_000, async () => (await api(b, "/for_store/call_tool", "POST", { tool: "steady_echo", args: { text: "up" } })).status === 200);
    const acknowledged: string[] = [];
    const refused: Array<{ status: number; code: string }> = [];
    let calls = 0;
    let failedCalls = 0;
    redis.pause();
    const until = Date.now() + 5_000;
    let i = 0;
    try {
      while (Date.now() < until) {
        const name = `load${i++}`;
        const [added, called] = await Promise.all([
          api(i % 2 ? b : c, "/for_store/add_service", "POST", { name, url: remote.url }),
          api(i % 2 ? c : b, "/for_store/call_tool", "POST", { tool: "steady_echo", args: { text: "during" } }),
        ]);
        if (added.status === 200) acknowledged.push(name);
        else refused.push({ status: added.status, code: added.json.error?.code });
        calls++;
        if (called.status !== 200) {
          failedCalls++;
          console.log(`call failed during the outage: ${called.status} ${JSON.stringify(called.json).slice(0, 300)}`);
        }
      }
      // Still stopped: the info served is the last synced one, and says so.
      const during = await api(b, "/for_store/get_service/steady");
      expect(during.json.service.stale).toBe(true);
    } finally {
      redis.resume();
    }
    console.log(`Redis stopped 5 s: ${acknowledged.length} adds acknowledged, ${refused.length} refused (${[...new Set(refused.map((r) => `${r.status} ${r.code}`))].join(", ")}); calls ${calls - failedCalls}/${calls} answered`);
    expect(failedCalls).toBe(0);
    for (const outcome of refused) expect(outcome).toEqual({ status: 503, code: "SHARED_STATE_UNAVAILABLE" });
    // Back: every acknowledged add is on every instance.
    await within(10_000, async () => {
      const [onB, onC] = await Promise.all([serviceNames(b), serviceNames(c)]);
      return acknowledged.every((name) => onB.includes(name) && onC.includes(name));
    });
    await within(5_000, async () => (await api(b, "/for_store/get_service/steady")).json.service.stale === undefined);
    expect((await api(b, "/for_store/add_service", "POST", { name: "after-outage", url: remote.url })).status).toBe(200);
    await within(5_000, async () => (await serviceNames(c)).includes("after-outage"));
  }, 90_000);

  it("shares nothing with another namespace", async () => {
    const other = await instance("other-team", join(directory, "other.json"));
    expect(await serviceNames(other)).toEqual([]);
    expect((await api(other, "/for_store/add_service", "POST", { name: "theirs", url: remote.url })).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await serviceNames(b)).not.toContain("theirs");
  }, 60_000);
});

describe("Redis at start-up", () => {
  it("fails fast, naming the address, when Redis does not answer", async () => {
    const error = await startApi(["--config", join(directory, "none.json"), "--redis", "redis://127.0.0.1:1"], { cwd: directory, env: { MCPSTORE_ADMIN_TOKEN: TOKEN }, timeoutMs: 20_000 }).catch(
      (caught: unknown) => caught as Error,
    );
    expect(String(error)).toMatch(/127\.0\.0\.1:1/);
  }, 30_000);
});
