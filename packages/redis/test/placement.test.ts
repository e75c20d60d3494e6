import { randomUUID } from "node:crypto";
import { AbortedError, MCPStore, TimeoutError, ToolExecutionError } from "@mcpstore/core";
import { processesMatching, quietLogger, stdioFixtureConfig } from "@mcpstore/testing";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { redisDriver, type RedisDriver } from "../src/index.js";
import { freshNamespace, sleep, waitUntil } from "./helpers.js";
import { startRedisServer, type RedisServer } from "./redis-server.js";

// Two stores in this process sharing one namespace, as two instances would: a stdio service runs on one of them only
// (the holder of its lease), and the other forwards its calls there. The process-level tests (kill -9 of the owner,
// three instances) are in apps/cli/test/placement.test.ts.

let server: RedisServer;
const opened: Array<{ close(): Promise<void> }> = [];
beforeAll(async () => {
  server = await startRedisServer();
});
afterEach(async () => {
  for (const item of opened.splice(0).reverse()) await item.close();
});
afterAll(async () => {
  await server?.stop();
});

async function instance(namespace: string): Promise<{ store: MCPStore; shared: RedisDriver }> {
  const shared = redisDriver({ namespace, url: server.url });
  const store = await MCPStore.setupStore({ mcpConfigFile: false, shared, logger: quietLogger });
  opened.push(shared, store);
  return { store, shared };
}

/** A stdio fixture whose processes can be counted by the marker in their arguments. */
function placedFixture(name: string, extra: Record<string, unknown> = {}) {
  const marker = `placed-${randomUUID().slice(0, 8)}`;
  return { marker, config: { ...stdioFixtureConfig(name, { serverName: marker }), ...extra } };
}

describe("placement of stdio services across instances", () => {
  it("runs one process cluster-wide; the other instance's calls are forwarded with the same results, errors and progress", async () => {
    const namespace = freshNamespace("placed");
    const [a, b] = [await instance(namespace), await instance(namespace)];
    const { marker, config } = placedFixture("svc");
    await a.store.forStore().addService(config);
    const onA = await a.store.forStore().waitService("svc", { timeoutMs: 10_000 });
    await waitUntil(async () => (await b.store.forStore().listServices()).some((service) => service.name === "svc"), 5_000, "svc listed on B");
    const onB = await b.store.forStore().waitService("svc", { timeoutMs: 10_000 });
    const runner = onA.placement?.runsOn;
    expect([a.shared.placement.instanceId, b.shared.placement.instanceId]).toContain(runner);
    expect(onB.placement?.runsOn).toBe(runner);
    expect((await b.store.forStore().getService("svc")).placement?.runsOn).toBe(runner);
    expect(onB.state).toBe("healthy");
    await sleep(300);
    expect(processesMatching(marker)).toHaveLength(1);

    // The instance that does not run it forwards: same results, same errors, progress, time limits and aborts.
    const [running, follower] = runner === a.shared.placement.instanceId ? [a.store.forStore(), b.store.forStore()] : [b.store.forStore(), a.store.forStore()];
    expect(await follower.callTool("svc_add", { a: 2, b: 40 })).toEqual(await running.callTool("svc_add", { a: 2, b: 40 }));
    expect(await follower.callTool("svc_fail", { message: "no" })).toEqual(await running.callTool("svc_fail", { message: "no" }));
    await expect(follower.callTool("svc_fail", { message: "no" }, { throwOnError: true })).rejects.toBeInstanceOf(ToolExecutionError);

    const progress: number[] = [];
    const done = await follower.callTool("svc_progress", { steps: 4, delayMs: 5 }, { onProgress: (update) => progress.push(update.progress) });
    expect(done.content).toEqual([{ type: "text", text: "done 4" }]);
    expect(progress).toEqual([1, 2, 3, 4]);

    // The typed errors of a call made there come back as the same classes here.
    await expect(follower.callTool("svc_sleep", { ms: 5_000 }, { timeoutMs: 300 })).rejects.toBeInstanceOf(TimeoutError);
    const controller = new AbortController();
    const started = performance.now();
    const aborted = follower.callTool("svc_sleep", { ms: 5_000 }, { signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    await expect(aborted).rejects.toBeInstanceOf(AbortedError);
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(processesMatching(marker)).toHaveLength(1);
  });

  it('runs a copy on every instance for placement "every-instance"', async () => {
    const namespace = freshNamespace("every");
    const [a, b] = [await instance(namespace), await instance(namespace)];
    const { marker, config } = placedFixture("copy", { placement: "every-instance" });
    await a.store.forStore().addService(config);
    await a.store.forStore().waitService("copy", { timeoutMs: 10_000 });
    await waitUntil(async () => (await b.store.forStore().listServices()).some((service) => service.name === "copy"), 5_000, "copy listed on B");
    await b.store.forStore().waitService("copy", { timeoutMs: 10_000 });
    await waitUntil(() => processesMatching(marker).length === 2, 5_000, "two processes");
    expect((await b.store.forStore().getService("copy")).placement).toBeUndefined();
  });

  it("hands the process over when the running instance closes: the other runs it within 10 s, one process, calls work again", async () => {
    const namespace = freshNamespace("handover");
    const [a, b] = [await instance(namespace), await instance(namespace)];
    const { marker, config } = placedFixture("moving");
    await a.store.forStore().addService(config);
    await a.store.forStore().waitService("moving", { timeoutMs: 10_000 });
    await waitUntil(async () => (await b.store.forStore().listServices()).some((service) => service.name === "moving"), 5_000, "listed on B");
    await b.store.forStore().waitService("moving", { timeoutMs: 10_000 });
    expect(processesMatching(marker)).toHaveLength(1);

    // Close whichever runs it; the other takes it over.
    const runsOnA = (await a.store.forStore().getService("moving")).placement?.runsOn === a.shared.placement.instanceId;
    const [gone, kept] = runsOnA ? [a, b] : [b, a];
    const oldPid = (await kept.store.forStore().getService("moving")).pid;
    await gone.store.close();
    const tookMs = await waitUntil(async () => (await kept.store.forStore().getService("moving")).placement?.runsOn === kept.shared.placement.instanceId, 10_000, "the other runs it");
    await kept.store.forStore().waitService("moving", { timeoutMs: 10_000 });
    expect(processesMatching(marker)).toHaveLength(1);
    expect((await kept.store.forStore().getService("moving")).pid).not.toBe(oldPid);
    expect((await kept.store.forStore().callTool("moving_echo", { text: "still here" })).content).toEqual([{ type: "text", text: "still here" }]);
    console.log(`handover after a graceful close: ${tookMs} ms`);
  });

  it("removes the process when a follower removes the service", async () => {
    const namespace = freshNamespace("remove");
    const [a, b] = [await instance(namespace), await instance(namespace)];
    const { marker, config } = placedFixture("gone");
    await a.store.forStore().addService(config);
    await a.store.forStore().waitService("gone", { timeoutMs: 10_000 });
    await waitUntil(async () => (await b.store.forStore().listServices()).some((service) => service.name === "gone"), 5_000, "listed on B");
    await b.store.forStore().removeService("gone");
    await waitUntil(() => processesMatching(marker).length === 0, 5_000, "process gone");
    await waitUntil(async () => (await a.store.forStore().listServices()).length === 0, 5_000, "gone on A");
  });
});
