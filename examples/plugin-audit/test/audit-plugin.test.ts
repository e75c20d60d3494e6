import { MCPStore, PluginVetoError, type Logger } from "@mcpstore/core";
import { stdioFixtureConfig } from "@mcpstore/testing";
import { afterEach, expect, it } from "vitest";
import { auditPlugin, type AuditEntry } from "../src/index.js";

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };
let store: MCPStore | undefined;
afterEach(async () => {
  await store?.close();
  store = undefined;
});

it("vetoes tools off the allow-list, per scope, and audits every call", async () => {
  const written: AuditEntry[] = [];
  const audit = auditPlugin({ allow: ["fx_echo", "fx_f*"], agents: { reader: ["fx_echo"] }, onEntry: (entry) => written.push(entry) });
  store = await MCPStore.setupStore({ mcpConfigFile: false, logger: quiet, plugins: [audit] });
  const context = store.forStore();
  const reader = store.forAgent("reader");
  await context.addService(stdioFixtureConfig("fx"));
  await reader.addService(stdioFixtureConfig("fx"));
  await context.waitService("fx");
  await reader.waitService("fx");

  await context.callTool("fx_echo", { text: "hi" });
  await context.callTool("fx_fail", {});
  const denied = await context.callTool("fx_add", { a: 1, b: 2 }).catch((error: unknown) => error);
  expect(PluginVetoError.isInstance(denied)).toBe(true);
  expect(denied).toMatchObject({ pluginName: "audit", reason: "fx_add is not on the allow-list", toolName: "fx_add" });
  await reader.callTool("echo", { text: "bare name" });
  await expect(reader.callTool("fx_fail", {})).rejects.toSatisfy(PluginVetoError.isInstance);

  expect(audit.trail.map((entry) => [entry.agentId ?? "store", entry.toolName, entry.outcome, entry.reason])).toEqual([
    ["store", "fx_echo", "succeeded", undefined],
    ["store", "fx_fail", "failed", "error result"],
    ["store", "fx_add", "denied", "fx_add is not on the allow-list"],
    ["reader", "fx_echo", "succeeded", undefined],
    ["reader", "fx_fail", "denied", "fx_fail is not on the allow-list"],
  ]);
  expect(written).toEqual(audit.trail);
  expect(JSON.stringify(audit.trail)).not.toContain("bare name");
});
