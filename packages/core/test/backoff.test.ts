import { describe, expect, it, vi } from "vitest";
import { fullJitterBackoffMs, MAX_TIMER_DELAY_MS } from "../src/connection/backoff.js";
import { MCPStore, monitoringPresets, resolveMonitoring, ValidationError } from "../src/index.js";
import { ProbeLimiter } from "../src/connection/probe-limiter.js";
import { parseRetryAfterMs, retryAfterFetch } from "../src/connection/transports.js";

describe("fullJitterBackoffMs", () => {
  it("is a random share of min(cap, base × 2^(attempt − 1))", () => {
    const bound = (attempt: number) => fullJitterBackoffMs(attempt, { baseMs: 500, capMs: 30_000, random: () => 1 });
    expect([1, 2, 3, 4, 5, 6, 7, 8].map(bound)).toEqual([500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000]);
    expect(fullJitterBackoffMs(3, { baseMs: 500, capMs: 30_000, random: () => 0.25 })).toBe(500);
    expect(fullJitterBackoffMs(3, { baseMs: 500, capMs: 30_000, random: () => 0 })).toBe(0);
  });

  it("spreads delays over the whole range (full jitter), never above the cap", () => {
    const samples = Array.from({ length: 2000 }, () => fullJitterBackoffMs(10, { baseMs: 500, capMs: 2000 }));
    expect(Math.max(...samples)).toBeLessThanOrEqual(2000);
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(0);
    expect(samples.filter((sample) => sample < 500).length).toBeGreaterThan(300);
    expect(samples.filter((sample) => sample > 1500).length).toBeGreaterThan(300);
  });

  it("stays finite and within what a timer holds for huge attempt counts", () => {
    expect(fullJitterBackoffMs(10_000, { baseMs: 500, capMs: Number.MAX_SAFE_INTEGER, random: () => 1 })).toBe(MAX_TIMER_DELAY_MS);
    expect(fullJitterBackoffMs(0, { baseMs: 500, capMs: 1000, random: () => 1 })).toBe(500);
  });
});

describe("ProbeLimiter", () => {
  it("runs at most maxConcurrent probes, the rest in order", async () => {
    const limiter = new ProbeLimiter(2);
    const order: number[] = [];
    let running = 0;
    let peak = 0;
    const releases: Array<() => void> = [];
    const probes = [0, 1, 2, 3, 4].map((index) =>
      limiter.run(async () => {
        running++;
        peak = Math.max(peak, running);
        order.push(index);
        await new Promise<void>((resolve) => releases.push(resolve));
        running--;
        return index;
      }),
    );
    await Promise.resolve();
    expect(limiter.active).toBe(2);
    expect(limiter.queued).toBe(3);
    while (releases.length || limiter.active) {
      releases.shift()?.();
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(await Promise.all(probes)).toEqual([0, 1, 2, 3, 4]);
    expect(order).toEqual([0, 1, 2, 3, 4]);
    expect(peak).toBe(2);
    expect(limiter.active).toBe(0);
  });

  it("frees the slot of a probe that fails", async () => {
    const limiter = new ProbeLimiter(1);
    await expect(limiter.run(async () => Promise.reject(new Error("down")))).rejects.toThrow("down");
    expect(await limiter.run(async () => "next")).toBe("next");
    expect(limiter.active).toBe(0);
  });
});

describe("Retry-After", () => {
  it("parses seconds and HTTP dates", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(parseRetryAfterMs("3", now)).toBe(3000);
    expect(parseRetryAfterMs("0.5", now)).toBe(500);
    expect(parseRetryAfterMs("Thu, 01 Jan 2026 00:00:10 GMT", now)).toBe(10_000);
    expect(parseRetryAfterMs("Wed, 31 Dec 2025 00:00:00 GMT", now)).toBe(0);
    expect(parseRetryAfterMs(null, now)).toBeUndefined();
    expect(parseRetryAfterMs("soon", now)).toBeUndefined();
  });

  it("waits as long as a 429 says, then sends the same request again", async () => {
    vi.useFakeTimers();
    try {
      const answers = [new Response("slow down", { status: 429, headers: { "retry-after": "2" } }), new Response("ok", { status: 200 })];
      const seen: Array<{ body: unknown; at: number }> = [];
      const fetch = retryAfterFetch({
        fetch: async (_url, init) => {
          seen.push({ body: init?.body, at: Date.now() });
          return answers.shift()!;
        },
      });
      const pending = fetch("http://127.0.0.1:9/mcp", { method: "POST", body: '{"id":1}' });
      await vi.advanceTimersByTimeAsync(1_999);
      expect(seen).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(1);
      expect((await pending).status).toBe(200);
      expect(seen.map((request) => request.body)).toEqual(['{"id":1}', '{"id":1}']);
      expect(seen[1]!.at - seen[0]!.at).toBe(2000);
    } finally {
      vi.useRealTimers();
    }
  });

  it("returns the 429 when Retry-After is missing, too long, or retries run out", async () => {
    const always = (retryAfter?: string) => async () => new Response("no", { status: 429, headers: retryAfter ? { "retry-after": retryAfter } : {} });
    expect((await retryAfterFetch({ fetch: always() })("http://x")).status).toBe(429);
    expect((await retryAfterFetch({ fetch: always("120"), maxWaitMs: 30_000 })("http://x")).status).toBe(429);
    let calls = 0;
    const counted = retryAfterFetch({
      maxRetries: 2,
      fetch: async () => {
        calls++;
        return new Response("no", { status: 429, headers: { "retry-after": "0" } });
      },
    });
    expect((await counted("http://x")).status).toBe(429);
    expect(calls).toBe(3);
  });
});

describe("monitoring options", () => {
  it("presets hold the seed's values exactly", () => {
    // From the seed's 监控配置 section, keys in camelCase.
    expect(monitoringPresets.production).toEqual({
      healthCheckSeconds: 60,
      toolsUpdateHours: 4,
      reconnectionSeconds: 120,
      cleanupHours: 24,
      enableToolsUpdate: true,
      enableReconnection: true,
      updateToolsOnReconnection: true,
    });
    expect(monitoringPresets.development).toEqual({
      healthCheckSeconds: 15,
      toolsUpdateHours: 1,
      reconnectionSeconds: 30,
      enableToolsUpdate: true,
      enableReconnection: true,
    });
  });

  it("fill in defaults, and keep what is given", () => {
    expect(resolveMonitoring(undefined)).toEqual({
      healthCheckSeconds: 30,
      toolsUpdateHours: 2,
      reconnectionSeconds: 60,
      cleanupHours: 24,
      enableToolsUpdate: true,
      enableReconnection: true,
      updateToolsOnReconnection: true,
      maxReconnectAttempts: 5,
      probeTimeoutSeconds: 10,
      maxConcurrentProbes: 8,
      stableSeconds: 60,
    });
    expect(resolveMonitoring(monitoringPresets.development)).toMatchObject({ ...monitoringPresets.development, cleanupHours: 24 });
  });

  it("reject bad values and unknown keys with a ValidationError naming the key", async () => {
    for (const [options, path] of [
      [{ healthCheckSeconds: 0 }, "monitoring.healthCheckSeconds"],
      [{ reconnectionSeconds: Number.POSITIVE_INFINITY }, "monitoring.reconnectionSeconds"],
      [{ enableReconnection: "yes" }, "monitoring.enableReconnection"],
      [{ maxConcurrentProbes: 0 }, "monitoring.maxConcurrentProbes"],
      [{ maxReconnectAttempts: 1.5 }, "monitoring.maxReconnectAttempts"],
      [{ health_check_seconds: 30 }, "monitoring"],
    ] as const) {
      const error = await MCPStore.setupStore({ mcpConfigFile: false, monitoring: options as never }).catch((caught: unknown) => caught);
      expect(ValidationError.isInstance(error)).toBe(true);
      expect((error as Error).message).toContain(path);
    }
  });
});
