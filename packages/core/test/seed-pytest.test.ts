/**
 * The two pytest tests of the seed guide (`best-practices.zh.md`, section 测试策略: 单元测试 and 集成测试), as vitest
 * tests. The unit test replaces `MCPStore.setupStore` as the seed's `patch('mcpstore.MCPStore.setup_store')` does.
 * The integration test registers the seed's `{"command": "echo", "args": ["Hello, MCP!"]}` in a temporary mcp.json:
 * echo is no MCP server, and where the seed only checks that listing does not throw, this checks what a user should
 * see: the service listed, not healthy, and why.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ConnectionError, MCPStore } from "../src/index.js";
import { captureLogger, cleanups } from "./helpers.js";

describe("单元测试: MCPStore with setupStore mocked", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  /** The seed's `mock_store` fixture: `setupStore` resolves to a mock store whose `forStore()` is a mock context. */
  function mockStore() {
    const context = { addService: vi.fn(), listServices: vi.fn(), callTool: vi.fn() };
    const store = { forStore: vi.fn(() => context) };
    const setup = vi.spyOn(MCPStore, "setupStore").mockResolvedValue(store as unknown as MCPStore);
    return { store, context, setup };
  }

  it("test_service_registration", async () => {
    const { context, setup } = mockStore();
    context.addService.mockResolvedValue(context);
    context.listServices.mockResolvedValue([{ name: "test-service", state: "healthy" }]);

    const scope = (await MCPStore.setupStore()).forStore();
    await scope.addService({ name: "test-service", url: "https://test.com/mcp" });
    const services = await scope.listServices();

    expect(setup).toHaveBeenCalledOnce();
    expect(services).toHaveLength(1);
    expect(services[0]!.name).toBe("test-service");
    expect(context.addService).toHaveBeenCalledOnce();
  });

  it("test_tool_calling", async () => {
    const { context } = mockStore();
    context.callTool.mockResolvedValue({ result: "success" });

    const result = await (await MCPStore.setupStore()).forStore().callTool("test_tool", { param: "value" });

    expect((result as unknown as { result: string }).result).toBe("success");
    expect(context.callTool).toHaveBeenCalledExactlyOnceWith("test_tool", { param: "value" });
  });
});

describe("集成测试: a temporary mcp.json holding the seed's echo service", () => {
  it("test_real_service_integration: listed, not healthy, saying why; not respawned every few seconds", async () => {
    const directory = await mkdtemp(join(tmpdir(), "mcpstore-seed-pytest-"));
    cleanups.push(() => rm(directory, { recursive: true, force: true }));
    const configPath = join(directory, "mcp.json");
    await writeFile(configPath, JSON.stringify({ mcpServers: { "test-service": { command: "echo", args: ["Hello, MCP!"] } } }, null, 2));
    const store = await MCPStore.setupStore({
      mcpConfigFile: configPath,
      logger: captureLogger(),
      // A crash would be retried within a second or two (backoff from 0.5 s); an unreachable service after 30 s or more.
      monitoring: { reconnectionSeconds: 30, maxReconnectAttempts: 5 },
    });
    cleanups.push(() => store.close());
    const context = store.forStore();

    const services = await context.listServices();
    expect(services.map((service) => service.name)).toEqual(["test-service"]);
    const reason = "the process exited with code 0 before answering initialize; its stdout was not MCP (first line: \"Hello, MCP!\")";
    const waited = await context.waitService("test-service", { timeoutMs: 10_000 }).catch((caught: unknown) => caught);
    expect(ConnectionError.isInstance(waited)).toBe(true);
    expect((waited as Error).message).toBe(`Service "test-service" is unreachable: ${reason}`);
    const info = await context.getService("test-service");
    expect(info).toMatchObject({ state: "unreachable", attempts: 1, lastError: reason });
    // A configuration fault: the next attempt is on the long cycle.
    expect(Date.parse(info.nextAttemptAt!) - Date.now()).toBeGreaterThan(20_000);
    expect(await context.listTools()).toEqual([]);
    const [listed] = await context.listServices();
    expect(listed).toMatchObject({ name: "test-service", state: "unreachable", lastError: reason });
    expect((await context.checkServices()).success).toBe(false);

    // Not respawned meanwhile.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect((await context.getService("test-service")).attempts).toBe(1);

    // A request still triggers an attempt, which fails the same way.
    const read = await context.readResource("echo://nothing", { service: "test-service" }).catch((caught: unknown) => caught);
    expect((read as Error).message).toContain(reason);
    await vi.waitFor(async () => expect((await context.getService("test-service")).attempts).toBe(2), { timeout: 5000 });
    expect(await context.getService("test-service")).toMatchObject({ state: "unreachable", lastError: reason });
  });
});
