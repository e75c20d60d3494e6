/**
 * Egress rules of agent-set destinations, against a real HTTP fixture on 127.0.0.1. No test here sends a packet to
 * any other address: refused IP addresses are refused before connecting, and host names resolve through an injected
 * lookup (never real DNS) whose private answers are refused before connecting too.
 */
import { startHttpFixture } from "@mcpstore/testing";
import { describe, expect, it } from "vitest";
import { ForbiddenError, type EgressLookup } from "../src/index.js";
import { allowedByList, refusedRange } from "../src/connection/egress-rules.js";
import { cleanups, storeWith, text, until } from "./helpers.js";

async function fixture() {
  const server = await startHttpFixture({ transports: "streamable-http" });
  cleanups.push(() => server.close());
  return server;
}

/** A lookup whose answers the test sets, recording every name asked. */
function scriptedLookup(answers: Record<string, string>) {
  const asked: string[] = [];
  const lookup: EgressLookup = async (hostname) => {
    asked.push(hostname);
    const address = answers[hostname];
    if (address === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" });
    return [{ address, family: address.includes(":") ? 6 : 4 }];
  };
  return { lookup, asked, answers };
}

describe("address ranges", () => {
  it("classifies every range of the rules, IPv4-mapped IPv6 included", () => {
    expect(refusedRange("127.0.0.1")).toBe("loopback");
    expect(refusedRange("::1")).toBe("loopback");
    expect(refusedRange("169.254.169.254")).toBe("link-local");
    expect(refusedRange("fe80::1")).toBe("link-local");
    for (const ip of ["10.0.0.1", "172.16.0.1", "172.31.255.255", "192.168.1.1", "fc00::1", "fd12::1"]) expect(refusedRange(ip)).toBe("private");
    expect(refusedRange("0.0.0.0")).toBe("unspecified");
    expect(refusedRange("::")).toBe("unspecified");
    expect(refusedRange("::ffff:10.0.0.1")).toBe("private");
    expect(refusedRange("::ffff:a9fe:a9fe")).toBe("link-local");
    for (const ip of ["8.8.8.8", "172.32.0.1", "2606:4700::1111", "192.169.0.1"]) expect(refusedRange(ip)).toBeUndefined();
  });

  it("matches allow-list globs by host and port", () => {
    expect(allowedByList(["127.0.0.1:8080"], "127.0.0.1", "8080")).toBe(true);
    expect(allowedByList(["127.0.0.1:8080"], "127.0.0.1", "8081")).toBe(false);
    expect(allowedByList(["*.internal.example"], "mcp.internal.example", "443")).toBe(true);
    expect(allowedByList(["*.internal.example"], "internal.example.evil", "443")).toBe(false);
    expect(allowedByList(["[::1]:*"], "[::1]", "9")).toBe(true);
    expect(allowedByList(["10.0.0.*"], "10.0.0.7", "80")).toBe(true);
  });
});

describe("agents' destinations", () => {
  it("refuses loopback, link-local, private and unspecified URLs with a 403 naming the rule, storing nothing", async () => {
    const store = await storeWith();
    const alice = store.forAgent("alice");
    const cases: Array<[string, string]> = [
      ["http://127.0.0.1:9/mcp", "egress:loopback"],
      ["http://[::1]:9/mcp", "egress:loopback"],
      ["http://2130706433:9/mcp", "egress:loopback"],
      ["http://169.254.169.254/latest/meta-data", "egress:link-local"],
      ["http://[fe80::1]/mcp", "egress:link-local"],
      ["http://10.0.0.5/mcp", "egress:private"],
      ["http://172.20.1.1/mcp", "egress:private"],
      ["http://192.168.0.10/mcp", "egress:private"],
      ["http://[fd00::5]/mcp", "egress:private"],
      ["http://[::ffff:10.0.0.1]/mcp", "egress:private"],
      ["http://0.0.0.0:9/mcp", "egress:unspecified"],
      ["http://[::]:9/mcp", "egress:unspecified"],
    ];
    for (const [url, rule] of cases) {
      const error = await alice.addService({ name: "svc", url }, { principal: "agent" }).catch((caught: unknown) => caught);
      expect(ForbiddenError.isInstance(error), url).toBe(true);
      expect((error as ForbiddenError).details).toMatchObject({ rule });
      expect((error as Error).message).toMatch(/--allow-egress/);
    }
    expect(await alice.listServices()).toEqual([]);
  });

  it("refuses a host name that resolves to a private address, and checks every service of a batch", async () => {
    const { lookup, asked } = scriptedLookup({ "intranet.test": "10.1.2.3" });
    const store = await storeWith({ agentPolicy: { lookup } });
    const alice = store.forAgent("alice");
    const error = await alice.addService({ name: "intra", url: "http://intranet.test/mcp" }, { principal: "agent" }).catch((caught: unknown) => caught);
    expect((error as ForbiddenError).details).toMatchObject({ rule: "egress:private" });
    expect((error as Error).message).toContain("resolves to 10.1.2.3");
    const batch = await alice.batchAddServices([{ name: "also-intra", url: "http://intranet.test/mcp" }], { principal: "agent" }).catch((caught: unknown) => caught);
    expect(ForbiddenError.isInstance(batch)).toBe(true);
    const unresolvable = await alice.addService({ name: "nowhere", url: "http://nowhere.test/mcp" }, { principal: "agent" }).catch((caught: unknown) => caught);
    expect((unresolvable as ForbiddenError).details).toMatchObject({ rule: "egress:unresolvable" });
    expect(asked).toEqual(["intranet.test", "intranet.test", "nowhere.test"]);
    expect(await alice.listServices()).toEqual([]);
  });

  it("lets the admin and the allow-list through, and connects an allowed agent service for real", async () => {
    const server = await fixture();
    const store = await storeWith({ agentPolicy: { allowEgress: [`127.0.0.1:${server.port}`] } });
    // The admin is not limited (and an agent scope's service set by the admin is the admin's).
    await store.forAgent("bob").addService({ name: "admin-set", url: server.url }, { wait: true });
    const alice = store.forAgent("alice");
    await alice.addService({ name: "allowed", url: server.url }, { principal: "agent", wait: true });
    expect(text(await alice.callTool("allowed_echo", { text: "through" }, { principal: "agent" }))).toBe("through");
    const otherPort = await alice.addService({ name: "other", url: `http://127.0.0.1:${server.port + 1}/mcp` }, { principal: "agent" }).catch((caught: unknown) => caught);
    expect(ForbiddenError.isInstance(otherPort)).toBe(true);
  });

  it("refuses an agent's patch or update that points a service at a refused address, changing nothing", async () => {
    const server = await fixture();
    const store = await storeWith({ agentPolicy: { allowEgress: [`127.0.0.1:${server.port}`] } });
    const alice = store.forAgent("alice");
    await alice.addService({ name: "svc", url: server.url }, { principal: "agent", wait: true });
    const patched = await alice.patchService("svc", { url: "http://169.254.169.254/mcp" }, { principal: "agent" }).catch((caught: unknown) => caught);
    expect((patched as ForbiddenError).details).toMatchObject({ rule: "egress:link-local" });
    const updated = await alice.updateService("svc", { name: "svc", url: "http://10.0.0.1/mcp" }, { principal: "agent" }).catch((caught: unknown) => caught);
    expect((updated as ForbiddenError).details).toMatchObject({ rule: "egress:private" });
    expect((await alice.getService("svc")).config.url).toBe(server.url);
    expect(text(await alice.callTool("svc_echo", { text: "still here" }))).toBe("still here");
  });

  it("checks the address at every connection: a name that rebinds to a private address is refused before connecting", async () => {
    const server = await fixture();
    const { lookup, asked, answers } = scriptedLookup({ "rebind.test": "127.0.0.1" });
    // The IP address (not the name) is allowed: the name passes only while it resolves to it.
    const store = await storeWith({ agentPolicy: { lookup, allowEgress: [`127.0.0.1:${server.port}`] } });
    const alice = store.forAgent("alice");
    const url = `http://rebind.test:${server.port}/mcp`;
    await alice.addService({ name: "rebind", url }, { principal: "agent", wait: true });
    expect(text(await alice.callTool("rebind_echo", { text: "first" }))).toBe("first");
    const lookupsBefore = asked.length;
    answers["rebind.test"] = "10.9.9.9";
    await alice.restartService("rebind");
    // The old connection said goodbye (its session's DELETE) on its own, checked socket; nothing is sent after that.
    const received = server.receivedHeaders.length;
    expect(await until(async () => /egress|10\.9\.9\.9/.test((await alice.getService("rebind")).lastError ?? ""), 10_000)).toBe(true);
    const info = await alice.getService("rebind");
    expect(info.state).not.toBe("healthy");
    expect(info.lastError).toContain("private");
    expect(asked.length).toBeGreaterThan(lookupsBefore);
    // Nothing more reached the only server there is: the new connections were refused before connecting.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(server.receivedHeaders.length).toBe(received);
  });

  it("validates the policy's options", async () => {
    await expect(storeWith({ agentPolicy: { maxServicesPerAgent: 0 } })).rejects.toThrow(/maxServicesPerAgent/);
    await expect(storeWith({ agentPolicy: { allowEgress: [""] } })).rejects.toThrow(/allowEgress/);
  });
});

describe("who set what, kept in the config", () => {
  it("records an agent's destination in the file, so a restarted store still checks it at every connection", async () => {
    const { mkdtempSync, readFileSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const server = await fixture();
    const configPath = join(mkdtempSync(join(tmpdir(), "mcpstore-egress-")), "mcp.json");
    const { lookup, answers } = scriptedLookup({ "svc.test": "127.0.0.1" });
    const agentPolicy = { lookup, allowEgress: [`127.0.0.1:${server.port}`] };
    const first = await storeWith({ mcpConfigFile: configPath, agentPolicy });
    await first.forAgent("alice").addService({ name: "svc", url: `http://svc.test:${server.port}/mcp` }, { principal: "agent", wait: true });
    await first.close();
    expect(readFileSync(configPath, "utf8")).toContain('"set_by_agent"');
    answers["svc.test"] = "192.168.7.7";
    const second = await storeWith({ mcpConfigFile: configPath, agentPolicy });
    expect(await until(async () => /private/.test((await second.forAgent("alice").getService("svc")).lastError ?? ""), 10_000)).toBe(true);
    // The agent cannot drop the record; an admin's full replacement makes the service the admin's.
    await second.forAgent("alice").patchService("svc", { set_by_agent: null, description: "x" } as never, { principal: "agent" }).catch(() => undefined);
    expect((await second.forAgent("alice").getService("svc")).config.set_by_agent).toEqual(["destination"]);
    // (To the fixture's address: an admin's destination is connected without the egress guard, through the system's DNS.)
    await second.forAgent("alice").updateService("svc", { url: server.url });
    expect((await second.forAgent("alice").getService("svc")).config.set_by_agent).toBeUndefined();
  });
});
