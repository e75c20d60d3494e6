import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ConnectionError, monitoringPresets, ServiceUnavailableError, TimeoutError } from "../src/index.js";
import { ProbeLimiter } from "../src/connection/probe-limiter.js";
import { DEGRADED_PROBE_SECONDS, LIST_CHANGED_DEBOUNCE_MS, RECONNECT_BASE_MS } from "../src/connection/service-connection.js";
import { UNREACHABLE_JITTER } from "../src/connection/reconnect-schedule.js";
import { createConnection, FakeServer } from "./lifecycle-harness.js";

// The lifecycle's schedules (probes, backoff, the unreachable cycle, the stable period, catalogue refreshes) with fake
// timers and in-memory servers: exact times, no waiting.

const connections: Array<{ close(): Promise<void> }> = [];
beforeEach(() => {
  vi.useFakeTimers({ now: new Date("2026-01-01T00:00:00Z") });
});
afterEach(async () => {
  for (const connection of connections.splice(0)) await connection.close();
  vi.useRealTimers();
  vi.restoreAllMocks();
});

function harness(options: Parameters<typeof createConnection>[0] = {}) {
  const created = createConnection(options);
  connections.push(created.connection);
  return created;
}

async function connected(options: Parameters<typeof createConnection>[0] = {}) {
  const created = harness(options);
  created.connection.start();
  await vi.advanceTimersByTimeAsync(0);
  expect(created.connection.state).toBe("healthy");
  return created;
}

describe("probes", () => {
  it("ping every healthCheckSeconds, and record the probe time", async () => {
    const { connection, server } = await connected({ monitoring: { healthCheckSeconds: 10 } });
    expect(server.pings).toBe(0);
    await vi.advanceTimersByTimeAsync(9_999);
    expect(server.pings).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(server.pings).toBe(1);
    expect(connection.lastProbeAt).toBe(Date.now());
    expect(connection.lifecycleInfo().lastProbeAt).toBe(new Date(Date.now()).toISOString());
    await vi.advanceTimersByTimeAsync(20_000);
    expect(server.pings).toBe(3);
  });

  it("fall back to tools/list for a server without ping, and keep using it", async () => {
    const server = new FakeServer();
    server.noPing = true;
    const { connection } = await connected({ server, monitoring: { healthCheckSeconds: 10 } });
    const listsAfterConnect = server.listTools;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(server.listTools).toBe(listsAfterConnect + 1);
    expect(connection.state).toBe("healthy");
    await vi.advanceTimersByTimeAsync(10_000);
    expect(server.listTools).toBe(listsAfterConnect + 2);
  });

  it("time out after probeTimeoutSeconds: degraded, probed again sooner, then reconnecting", async () => {
    vi.spyOn(Math, "random").mockReturnValue(0.5);
    const { connection, server, states } = await connected({ monitoring: { healthCheckSeconds: 30, probeTimeoutSeconds: 2 } });
    server.mode = "silent";
    await vi.advanceTimersByTimeAsync(30_000 + 1_999);
    expect(connection.state).toBe("healthy");
    await vi.advanceTimersByTimeAsync(1);
    expect(connection.state).toBe("degraded");
    expect(states.at(-1)).toMatchObject({ previous: "healthy", state: "degraded", reason: expect.stringMatching(/probe failed.*timed out/i) });
    // While degraded the next probe comes after DEGRADED_PROBE_SECONDS, not healthCheckSeconds.
    await vi.advanceTimersByTimeAsync(DEGRADED_PROBE_SECONDS * 1000 + 1_999);
    expect(connection.state).toBe("degraded");
    await vi.advanceTimersByTimeAsync(1);
    expect(connection.state).toBe("reconnecting");
    expect(connection.attempts).toBe(1);
    // Full jitter: random (0.5) × min(cap, base × 2^0).
    expect(connection.nextAttemptAt).toBe(Date.now() + 0.5 * RECONNECT_BASE_MS);
  });

  it("a successful probe makes a degraded service healthy again", async () => {
    const { connection, server, states } = await connected({ monitoring: { healthCheckSeconds: 30, probeTimeoutSeconds: 2 } });
    server.mode = "silent";
    await vi.advanceTimersByTimeAsync(32_000);
    expect(connection.state).toBe("degraded");
    server.mode = "ok";
    await vi.advanceTimersByTimeAsync(DEGRADED_PROBE_SECONDS * 1000);
    expect(connection.state).toBe("healthy");
    expect(states.at(-1)).toMatchObject({ previous: "degraded", state: "healthy", reason: "probe answered" });
  });

  it("never run more than maxConcurrentProbes at once across services", async () => {
    const limiter = new ProbeLimiter(2);
    const server = new FakeServer();
    server.pingDelayMs = 1000;
    for (let index = 0; index < 6; index++) await connected({ server, probeLimiter: limiter, monitoring: { healthCheckSeconds: 10 } });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(server.pingsInFlight).toBe(2);
    expect(limiter.queued).toBe(4);
    await vi.advanceTimersByTimeAsync(3_000);
    expect(server.pings).toBe(6);
    expect(server.maxPingsInFlight).toBe(2);
  });

  it("count real calls: a timed-out call degrades the service, a successful one makes it healthy", async () => {
    const { connection, states } = await connected({ monitoring: { healthCheckSeconds: 600 } });
    const call = connection.callTool("sleep", { ms: 5_000 }, { timeoutMs: 100 }).catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(100);
    expect(TimeoutError.isInstance(await call)).toBe(true);
    expect(connection.state).toBe("degraded");
    const echo = connection.callTool("echo", { text: "hi" });
    await vi.advanceTimersByTimeAsync(0);
    await echo;
    expect(connection.state).toBe("healthy");
    expect(states.map((change) => change.state)).toEqual(["healthy", "degraded", "healthy"]);
  });
});

describe("reconnection", () => {
  it("backs off exponentially with full jitter from 0.5 s up to reconnectionSeconds, then retries every reconnectionSeconds", async () => {
    vi.spyOn(Math, "random").mockReturnValue(0.999);
    const server = new FakeServer();
    server.mode = "refuse";
    const { connection, states } = harness({ server, monitoring: { reconnectionSeconds: 3, maxReconnectAttempts: 5 } });
    connection.start();
    await vi.advanceTimersByTimeAsync(0);
    const delays: number[] = [];
    for (let attempt = 1; attempt < 5; attempt++) {
      expect(connection.state).toBe("reconnecting");
      expect(connection.attempts).toBe(attempt);
      const delay = connection.nextAttemptAt! - Date.now();
      delays.push(delay);
      await vi.advanceTimersByTimeAsync(delay);
    }
    // 0.999 × min(3000, 500 × 2^(attempt − 1)).
    expect(delays).toEqual([499.5, 999, 1998, 2997]);
    expect(server.connectAttempts).toBe(5);
    expect(connection.state).toBe("unreachable");
    expect(connection.attempts).toBe(5);
    // Unreachable: the next attempt is reconnectionSeconds away, jittered by ±10 % (0.999 → +9.98 %).
    expect(connection.nextAttemptAt! - Date.now()).toBeCloseTo(3000 * (1 + UNREACHABLE_JITTER * (2 * 0.999 - 1)), 2);
    expect(connection.lastError).toMatch(/ECONNREFUSED/);
    expect(states.map((change) => change.state)).toEqual(["reconnecting", "unreachable"]);
    expect(states[0]).toMatchObject({ previous: "initializing", reason: expect.stringMatching(/ECONNREFUSED/) });
    // Still down after one interval: tried again, and again one interval later; up at the next one.
    await vi.advanceTimersByTimeAsync(3_300);
    expect(server.connectAttempts).toBe(6);
    expect(connection.state).toBe("unreachable");
    server.mode = "ok";
    await vi.advanceTimersByTimeAsync(3_300);
    expect(server.connectAttempts).toBe(7);
    expect(connection.state).toBe("healthy");
    expect(states.at(-1)).toMatchObject({ previous: "unreachable", state: "healthy", reason: "connected" });
  });

  for (const [preset, seconds] of [
    ["production", 120],
    ["development", 30],
  ] as const) {
    it(`with the ${preset} preset a dead server is tried again about every ${seconds} s (the seed's reconnection_seconds)`, async () => {
      // Math.random is not mocked: the real jitter.
      const server = new FakeServer();
      server.mode = "refuse";
      const { connection } = harness({ server, monitoring: monitoringPresets[preset] });
      connection.start();
      await vi.advanceTimersByTimeAsync(0);
      const gaps: number[] = [];
      let last = Date.now();
      let attempts = server.connectAttempts;
      while (gaps.length < 30) {
        await vi.advanceTimersByTimeAsync(connection.nextAttemptAt! - Date.now());
        expect(server.connectAttempts).toBe(attempts + 1);
        attempts = server.connectAttempts;
        gaps.push(Date.now() - last);
        last = Date.now();
      }
      // The default maxReconnectAttempts (5): four backoff delays within 0.5, 1, 2 and 4 s, then unreachable.
      const backoff = gaps.slice(0, 4);
      backoff.forEach((gap, index) => expect(gap).toBeLessThanOrEqual(RECONNECT_BASE_MS * 2 ** index));
      expect(connection.state).toBe("unreachable");
      const cycle = gaps.slice(4);
      for (const gap of cycle) {
        expect(gap).toBeGreaterThanOrEqual(seconds * 1000 * (1 - UNREACHABLE_JITTER));
        expect(gap).toBeLessThanOrEqual(seconds * 1000 * (1 + UNREACHABLE_JITTER));
      }
      // Jittered, not in step: the gaps differ, and average out at the seed's interval.
      expect(new Set(cycle).size).toBeGreaterThan(1);
      const mean = cycle.reduce((sum, gap) => sum + gap, 0) / cycle.length;
      expect(Math.abs(mean - seconds * 1000)).toBeLessThan(seconds * 1000 * 0.05);
    });
  }

  it("the deprecated unreachableRetrySeconds, when given, still sets an exact interval for an unreachable service", async () => {
    const server = new FakeServer();
    server.mode = "refuse";
    const { connection } = harness({ server, monitoring: { reconnectionSeconds: 3, maxReconnectAttempts: 1, unreachableRetrySeconds: 100 } });
    connection.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(connection.state).toBe("unreachable");
    expect(connection.nextAttemptAt! - Date.now()).toBe(100_000);
    await vi.advanceTimersByTimeAsync(100_000);
    expect(server.connectAttempts).toBe(2);
    expect(connection.nextAttemptAt! - Date.now()).toBe(100_000);
  });

  it("a call to an unreachable service fails at once and retries the connection at once", async () => {
    const server = new FakeServer();
    server.mode = "refuse";
    const { connection } = harness({ server, monitoring: { ...monitoringPresets.production, maxReconnectAttempts: 1 } });
    connection.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(connection.state).toBe("unreachable");
    expect(connection.nextAttemptAt! - Date.now()).toBeGreaterThanOrEqual(108_000);
    server.mode = "ok";
    const error = await connection.callTool("echo", { text: "x" }).catch((caught: unknown) => caught);
    expect(ServiceUnavailableError.isInstance(error)).toBe(true);
    expect((error as ServiceUnavailableError).details).toMatchObject({ state: "unreachable" });
    await vi.advanceTimersByTimeAsync(0);
    // Long before the two-minute interval: the call itself brought it back.
    expect(connection.state).toBe("healthy");
    expect(server.connectAttempts).toBe(2);
    expect(await connection.callTool("echo", { text: "x" })).toMatchObject({ content: [{ type: "text", text: "x" }] });
  });

  it("a call to a reconnecting service fails at once", async () => {
    const { connection, server } = await connected({ monitoring: { reconnectionSeconds: 60 } });
    vi.spyOn(Math, "random").mockReturnValue(0.9);
    await server.dropConnection();
    expect(connection.state).toBe("reconnecting");
    const started = Date.now();
    const error = await connection.callTool("echo", { text: "x" }).catch((caught: unknown) => caught);
    expect(ServiceUnavailableError.isInstance(error)).toBe(true);
    expect(Date.now()).toBe(started);
    // A connection error too: retrying on connection errors (the seed's retry_on_failure) retries these.
    expect(error).toBeInstanceOf(ConnectionError);
    expect(ConnectionError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: "SERVICE_UNAVAILABLE", name: "ServiceUnavailableError" });
  });

  it("resets the attempt count only after stableSeconds connected, so a flapping server backs off further", async () => {
    vi.spyOn(Math, "random").mockReturnValue(1 - Number.EPSILON);
    const { connection, server } = await connected({ monitoring: { stableSeconds: 60, reconnectionSeconds: 60, maxReconnectAttempts: 10 } });
    const bounds: number[] = [];
    for (let flap = 1; flap <= 3; flap++) {
      await server.dropConnection();
      expect(connection.attempts).toBe(flap);
      bounds.push(Math.round(connection.nextAttemptAt! - Date.now()));
      await vi.advanceTimersByTimeAsync(connection.nextAttemptAt! - Date.now());
      expect(connection.state).toBe("healthy");
      await vi.advanceTimersByTimeAsync(59_000);
    }
    expect(bounds).toEqual([500, 1000, 2000]);
    expect(connection.attempts).toBe(3);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(connection.attempts).toBe(0);
  });

  it("a server that keeps dropping becomes unreachable after maxReconnectAttempts losses", async () => {
    const { connection, server, states } = await connected({ monitoring: { maxReconnectAttempts: 3 } });
    for (let flap = 1; flap <= 3; flap++) {
      await server.dropConnection();
      if (connection.state === "reconnecting") await vi.advanceTimersByTimeAsync(connection.nextAttemptAt! - Date.now());
    }
    expect(connection.state).toBe("unreachable");
    expect(states.filter((change) => change.state === "reconnecting")).toHaveLength(2);
    // Then every reconnectionSeconds (default 60), jittered ±10 %.
    const next = connection.nextAttemptAt! - Date.now();
    expect(next).toBeGreaterThanOrEqual(54_000);
    expect(next).toBeLessThanOrEqual(66_000);
  });

  it("refreshes the catalogue after each reconnection only with updateToolsOnReconnection", async () => {
    for (const updateToolsOnReconnection of [true, false]) {
      const created = await connected({ monitoring: { updateToolsOnReconnection } });
      expect(created.catalogues).toBe(1);
      await created.server.dropConnection();
      await vi.advanceTimersByTimeAsync(RECONNECT_BASE_MS);
      expect(created.connection.state).toBe("healthy");
      expect(created.catalogues).toBe(updateToolsOnReconnection ? 2 : 1);
    }
  });

  it("with enableReconnection false, a lost service is unreachable and nothing is scheduled", async () => {
    const { connection, server } = await connected({ monitoring: { enableReconnection: false } });
    await server.dropConnection();
    expect(connection.state).toBe("unreachable");
    expect(connection.nextAttemptAt).toBeUndefined();
    await vi.advanceTimersByTimeAsync(3_600_000);
    expect(server.connectAttempts).toBe(1);
  });
});

describe("catalogue refreshes", () => {
  it("every toolsUpdateHours when enableToolsUpdate is on", async () => {
    const on = await connected({ monitoring: { toolsUpdateHours: 1 } });
    const off = await connected({ monitoring: { toolsUpdateHours: 1, enableToolsUpdate: false } });
    await vi.advanceTimersByTimeAsync(3_600_000 - 1);
    expect(on.catalogues).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(on.catalogues).toBe(2);
    await vi.advanceTimersByTimeAsync(3_600_000);
    expect(on.catalogues).toBe(3);
    expect(off.catalogues).toBe(1);
  });

  it("once for a burst of list_changed notifications", async () => {
    const created = await connected();
    const before = created.catalogues;
    for (let index = 0; index < 5; index++) await created.server.server!.sendToolListChanged();
    await vi.advanceTimersByTimeAsync(LIST_CHANGED_DEBOUNCE_MS - 1);
    expect(created.catalogues).toBe(before);
    await vi.advanceTimersByTimeAsync(1);
    expect(created.catalogues).toBe(before + 1);
  });

  it("toolsUpdateHours beyond what a timer holds does not fire at once", async () => {
    const created = await connected({ monitoring: { toolsUpdateHours: 100_000 } });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(created.catalogues).toBe(1);
  });
});
