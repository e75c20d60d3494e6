/**
 * Egress rules and quotas of agent tokens over real HTTP, with the store's default agent policy (agents may not reach
 * loopback, where these tests' fixtures listen): refusals are decided before any packet is sent.
 */
import { startHttpFixture, type HttpFixture } from "@mcpstore/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, ALICE_TOKEN, BOB_TOKEN, startTestApi, type TestApi } from "./helpers.js";

let fixture: HttpFixture;
beforeAll(async () => {
  fixture = await startHttpFixture({ transports: "streamable-http" });
});
afterAll(async () => {
  await fixture?.close();
});

describe("egress of agent tokens", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi({ services: false, agentPolicy: {} });
  });
  afterAll(async () => api?.close());

  it("refuses every local, link-local and private destination with a 403 naming the rule; the admin may", async () => {
    const urls = [fixture.url, "http://169.254.169.254/latest/meta-data/", "http://10.0.0.8/mcp", "http://192.168.1.1/mcp", "http://[fd00::1]/mcp", "http://0.0.0.0:1/mcp"];
    for (const url of urls) {
      for (const path of ["/add_service", "/batch_add_services"]) {
        const response = await api.send(`/for_agent/alice${path}`, { token: ALICE_TOKEN, method: "POST", body: { name: "sneaky", url } });
        expect(response.status, `${path} ${url}: ${response.text}`).toBe(403);
        expect(response.json).toMatchObject({ error: { code: "FORBIDDEN", details: { rule: expect.stringMatching(/^egress:/) } } });
      }
    }
    expect((await api.store.forAgent("alice").listServices()).length).toBe(0);
    const byAdmin = await api.send("/for_agent/alice/add_service", { token: ADMIN_TOKEN, method: "POST", body: { name: "admin-set", url: fixture.url } });
    expect(byAdmin.status, byAdmin.text).toBe(200);
    await api.store.forAgent("alice").waitService("admin-set", { timeoutMs: 15_000 });
    // Alice may use the admin's service, but not point it at a refused address.
    const moved = await api.send("/for_agent/alice/patch_service/admin-set", { token: ALICE_TOKEN, method: "PATCH", body: { url: "http://169.254.169.254/" } });
    expect(moved.status, moved.text).toBe(403);
    expect((await api.store.forAgent("alice").getService("admin-set")).config.url).toBe(fixture.url);
  });
});

describe("quotas of agent tokens", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi({ services: false, agentPolicy: { allowEgress: ["127.0.0.1:*"], maxServicesPerAgent: 2, maxConcurrentCallsPerAgent: 1 } });
  });
  afterAll(async () => api?.close());

  it("answers 429 past the services limit, per agent", async () => {
    for (const name of ["one", "two"]) {
      const added = await api.send("/for_agent/bob/add_service", { token: BOB_TOKEN, method: "POST", body: { name, url: fixture.url } });
      expect(added.status, added.text).toBe(200);
    }
    const third = await api.send("/for_agent/bob/add_service", { token: BOB_TOKEN, method: "POST", body: { name: "three", url: fixture.url } });
    expect(third.status).toBe(429);
    expect(third.json).toMatchObject({ error: { code: "QUOTA_EXCEEDED", details: { quota: "servicesPerAgent", limit: 2 } } });
    const alices = await api.send("/for_agent/alice/add_service", { token: ALICE_TOKEN, method: "POST", body: { name: "mine", url: fixture.url } });
    expect(alices.status, alices.text).toBe(200);
  });

  it("answers 429 with Retry-After when a call waited its whole time limit for a slot", async () => {
    await api.store.forAgent("alice").waitService("mine", { timeoutMs: 15_000 });
    const call = (args: unknown, timeoutMs: number) =>
      api.send("/for_agent/alice/call_tool", { token: ALICE_TOKEN, method: "POST", body: { tool: "mine_sleep", args, timeoutMs } });
    const slow = call({ ms: 1_000 }, 5_000);
    await new Promise((resolve) => setTimeout(resolve, 150));
    const refused = await call({ ms: 0 }, 300);
    expect(refused.status, refused.text).toBe(429);
    expect(refused.headers["retry-after"]).toBe("1");
    expect(refused.json).toMatchObject({ error: { code: "QUOTA_EXCEEDED", details: { quota: "concurrentCallsPerAgent" } } });
    // The admin's token is not limited.
    const admin = await api.send("/for_agent/alice/call_tool", { token: ADMIN_TOKEN, method: "POST", body: { tool: "mine_echo", args: { text: "hi" } } });
    expect(admin.status, admin.text).toBe(200);
    expect((await slow).status).toBe(200);
  });
});
