import { startHttpFixture, stdioFixtureConfig, type HttpFixture } from "@mcpstore/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ConnectionError,
  MCPStore,
  ServiceExistsError,
  ServiceNotFoundError,
  ToolNotFoundError,
  ValidationError,
  type ServiceContext,
} from "../src/index.js";
import { createTestStore } from "./helpers.js";

let store: MCPStore;
let context: ServiceContext;
let http: HttpFixture;

beforeAll(async () => {
  http = await startHttpFixture({ transports: "streamable-http" });
  store = await createTestStore();
  context = store.forStore();
  await context.addService([stdioFixtureConfig("good"), { name: "remote", url: http.url, transport: "streamable-http" }]);
  await Promise.all([context.waitService("good"), context.waitService("remote")]);
});

afterAll(async () => {
  await store.close();
  await http.close();
});

/** The store still serves what it had: both services healthy and callable. */
async function expectNothingLost() {
  const services = await context.listServices();
  expect(services.filter((service) => service.name === "good" || service.name === "remote").map((service) => [service.name, service.state])).toEqual([
    ["good", "healthy"],
    ["remote", "healthy"],
  ]);
  expect(await context.callTool("good_echo", { text: "still here" })).toEqual({ content: [{ type: "text", text: "still here" }] });
}

async function validationIssues(promise: Promise<unknown>) {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(ValidationError.isInstance(error)).toBe(true);
  return { error: error as ValidationError, issues: (error as ValidationError).details?.issues as Array<{ path: string; message: string }> };
}

describe("bad service configs", () => {
  it("rejects a service with both command and url", async () => {
    const { error } = await validationIssues(context.addService({ name: "both", command: "node", url: "http://127.0.0.1:1/mcp" }));
    expect(error.message).toContain('"both"');
    expect(error.message).toMatch(/both `command` and `url`/);
    await expectNothingLost();
  });

  it("rejects a service with neither command nor url", async () => {
    const { error } = await validationIssues(context.addService({ name: "neither" } as never));
    expect(error.message).toMatch(/needs either `command`.*or `url`/);
    await expectNothingLost();
  });

  it("rejects an unknown transport, naming the field", async () => {
    const { issues } = await validationIssues(context.addService({ name: "t", url: "http://127.0.0.1:1/mcp", transport: "websocket" } as never));
    expect(issues).toEqual([{ path: "services.t.transport", message: "must be one of streamable-http, sse" }]);
  });

  it("rejects a number where a string belongs, a negative timeout and a header with CR/LF", async () => {
    const { issues } = await validationIssues(
      context.addService({ name: "x", url: "http://127.0.0.1:1/mcp", timeout: -1, headers: { "X-Evil": "a\r\nInjected: 1" } } as never),
    );
    expect(issues.map((issue) => issue.path).sort()).toEqual(["services.x.headers.X-Evil", "services.x.timeout"]);
    const numeric = await validationIssues(context.addService({ name: "n", command: 42 } as never));
    expect(numeric.issues[0]?.path).toBe("services.n.command");
  });

  it("rejects a bad service name", async () => {
    const { issues } = await validationIssues(context.addService({ name: "../etc", command: "node" }));
    expect(issues[0]?.path).toBe("services.../etc.name");
  });

  it("rejects a duplicate service name without touching the existing one", async () => {
    const error = await context.addService(stdioFixtureConfig("good")).catch((caught: unknown) => caught);
    expect(ServiceExistsError.isInstance(error)).toBe(true);
    expect((error as ServiceExistsError).serviceName).toBe("good");
    await expectNothingLost();
  });

  it("adds nothing when one config of a list is invalid", async () => {
    const { error } = await validationIssues(context.addService([stdioFixtureConfig("fine-one"), { name: "broken", url: "not a url" }]));
    expect(error.message).toContain("services.broken.url");
    await expect(context.getService("fine-one")).rejects.toThrow(ServiceNotFoundError);
    await expectNothingLost();
  });

  it("batchAddServices keeps the good ones and reports the bad ones", async () => {
    const result = await context.batchAddServices({
      mcpServers: {
        "batch-good": { command: process.execPath, args: stdioFixtureConfig("x").args },
        "batch-bad": { command: "node", url: "http://127.0.0.1:1/mcp" },
        good: { command: "node" },
      },
    });
    expect(result.success).toBe(false);
    expect(result.results.map((entry) => [entry.name, entry.success])).toEqual([
      ["batch-good", true],
      ["batch-bad", false],
      ["good", false],
    ]);
    const failures = result.results.filter((entry) => !entry.success) as Array<{ error: { code: string } }>;
    expect(failures.map((failure) => failure.error.code)).toEqual(["VALIDATION_ERROR", "SERVICE_EXISTS"]);
    await context.waitService("batch-good");
    expect((await context.callTool("batch-good_add", { a: 2, b: 3 })).structuredContent).toEqual({ sum: 5 });
    await context.removeService("batch-good");
    await expectNothingLost();
  });

  it("rejects input of no accepted shape", async () => {
    await expect(context.addService("nope" as never)).rejects.toThrow(ValidationError);
    await expect(context.addService({ mcpServers: [] } as never)).rejects.toThrow(/mcpServers/);
  });
});

describe("bad agent ids", () => {
  it.each(["../x", "a b", "x".repeat(200), "", "a/b", "a.b"])("rejects %j before it reaches anything", (agentId) => {
    expect(() => store.forAgent(agentId)).toThrow(ValidationError);
  });

  it("accepts the documented alphabet", () => {
    expect(store.forAgent("research_agent-1").agentId).toBe("research_agent-1");
  });
});

describe("bad tool calls", () => {
  it.each([
    ["an array", [1, 2]],
    ["a string", "text"],
    ["null", null],
    ["a number", 7],
  ])("rejects arguments that are %s", async (_label, args) => {
    const error = await context.callTool("good_echo", args as never).catch((caught: unknown) => caught);
    expect(ValidationError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/must be a JSON object/);
  });

  it("rejects arguments that break the schema, listing every path, before anything is sent", async () => {
    const requestsBefore = http.receivedHeaders.length;
    const error = (await context.callTool("remote_add", { a: "one", c: 3 }).catch((caught: unknown) => caught)) as ValidationError;
    expect(ValidationError.isInstance(error)).toBe(true);
    const issues = error.details?.issues as Array<{ path: string }>;
    expect(issues.map((issue) => issue.path).sort()).toEqual(["a", "b"]);
    expect(error.message).toContain("remote_add");
    expect(http.receivedHeaders.length).toBe(requestsBefore);
  });

  it("rejects an unknown tool", async () => {
    const error = await context.callTool("good_nope", {}).catch((caught: unknown) => caught);
    expect(ToolNotFoundError.isInstance(error)).toBe(true);
    expect((error as Error).message).toContain('"good_nope"');
    await expect(context.getTool("nope")).rejects.toThrow(ToolNotFoundError);
  });

  it("rejects an ambiguous bare tool name, listing the full names", async () => {
    const error = (await context.callTool("echo", { text: "x" }).catch((caught: unknown) => caught)) as ToolNotFoundError;
    expect(ToolNotFoundError.isInstance(error)).toBe(true);
    expect(error.details?.candidates).toEqual(["good_echo", "remote_echo"]);
  });
});

describe("unknown services", () => {
  it("every service method names the missing service", async () => {
    for (const attempt of [
      () => context.getService("ghost"),
      () => context.removeService("ghost"),
      () => context.restartService("ghost"),
      () => context.waitService("ghost"),
      () => context.updateService("ghost", { command: "node" }),
      () => context.patchService("ghost", { timeout: 5 }),
      () => context.listTools({ service: "ghost" }),
    ]) {
      const error = await attempt().catch((caught: unknown) => caught);
      expect(ServiceNotFoundError.isInstance(error)).toBe(true);
      expect((error as ServiceNotFoundError).serviceName).toBe("ghost");
    }
    await expectNothingLost();
  });
});

describe("a command that does not exist", () => {
  it("shows a failed state with the reason; waiting rejects; the store keeps serving", async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      await context.addService({ name: "missing", command: "/nonexistent/mcp-server-binary", args: ["--x"] });
      const waited = await context.waitService("missing", { timeoutMs: 10_000 }).catch((caught: unknown) => caught);
      expect(ConnectionError.isInstance(waited)).toBe(true);
      expect((waited as Error).message).toMatch(/ENOENT/);
      const info = await context.getService("missing");
      expect(info.state).toBe("unreachable");
      expect(info.lastError).toMatch(/ENOENT/);
      const call = await context.callTool("missing_anything", {}).catch((caught: unknown) => caught);
      expect(ToolNotFoundError.isInstance(call)).toBe(true);
      await expectNothingLost();
      await context.removeService("missing");
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(unhandled).toEqual([]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });
});

describe("bad store options", () => {
  it("rejects bad monitoring values, naming the key", async () => {
    await expect(MCPStore.setupStore({ mcpConfigFile: false, monitoring: { healthCheckSeconds: -5 } })).rejects.toThrow(/monitoring\.healthCheckSeconds/);
    await expect(MCPStore.setupStore({ mcpConfigFile: false, monitoring: { nonsense: 1 } as never })).rejects.toThrow(ValidationError);
  });

  it("rejects a bad connect timeout", async () => {
    await expect(MCPStore.setupStore({ mcpConfigFile: false, connectTimeoutMs: 0 })).rejects.toThrow(/connectTimeoutMs/);
  });
});
