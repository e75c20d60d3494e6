/**
 * The seed guide (`best-practices.zh.md`) carried over exactly, where seed-examples.test.ts could only approximate:
 * - 错误处理 (error handling): the seed's `MCPStoreManager` (`safe_add_service`, `safe_call_tool`) and its
 *   `retry_on_failure` decorator with `RobustMCPStore`, ported line by line, against a Streamable HTTP fixture that is
 *   down (its port closed) and then up on the same port. `add_service` raising `ConnectionError` is
 *   `addService(config, { wait: true })`; `call_tool` raising `ToolExecutionError` is `callTool(..., { throwOnError })`.
 * - 服务配置 (service config): `${VAR}` anywhere in `url`, the host and port too.
 * - 性能优化 (performance): `batch_add_services` is the cheap path (one write of the config file, parallel connects)
 *   that the seed promises against `for config in ...: add_service(config)`.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { quietLogger, startHttpFixture, type HttpFixture } from "@mcpstore/testing";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  ConnectionError,
  MCPStore,
  ServiceExistsError,
  TimeoutError,
  ToolExecutionError,
  ToolNotFoundError,
  ValidationError,
  type RegistryPersistence,
  type ServiceConfig,
  type ServiceContext,
  type SetupStoreOptions,
  type ToolCallResult,
} from "../src/index.js";
import { cleanups } from "./helpers.js";
import { ConfigFile } from "../src/config/config-file.js";
import type { RegistryChange } from "../src/config/registry-change.js";


// The shared cleanups of ./helpers.js run after each test (in reverse order); environment stubs are undone here.
afterEach(() => {
  vi.unstubAllEnvs();
});

async function setupStore(options: SetupStoreOptions = {}): Promise<MCPStore> {
  const store = await MCPStore.setupStore({ mcpConfigFile: false, logger: quietLogger, ...options });
  cleanups.push(() => store.close());
  return store;
}

async function tempDir(): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), "mcpstore-seed-guide-"));
  cleanups.push(() => rm(directory, { recursive: true, force: true }));
  return directory;
}

/**
 * A Streamable HTTP fixture that is down now (its port is closed) and can be brought up on that same port: what a
 * server that is not started yet, or restarting, looks like.
 */
async function downServer(): Promise<{ url: string; port: number; up(): Promise<HttpFixture> }> {
  const probe = await startHttpFixture({ transports: "streamable-http" });
  const { port, url } = probe;
  await probe.close();
  let fixture: HttpFixture | undefined;
  cleanups.push(() => fixture?.close());
  return {
    url,
    port,
    up: async () => (fixture ??= await startHttpFixture({ port, transports: "streamable-http", name: "revived" })),
  };
}

/** Python's `logging.getLogger(__name__)`: what each level got, for assertions. */
function seedLogger() {
  const lines: Array<{ level: "critical" | "error" | "warning" | "info"; message: string }> = [];
  const at = (level: (typeof lines)[number]["level"]) => (message: string) => void lines.push({ level, message });
  return { lines, critical: at("critical"), error: at("error"), warning: at("warning"), info: at("info") };
}
type SeedLogger = ReturnType<typeof seedLogger>;

const textOf = (result: ToolCallResult | null) => (result?.content ?? []).map((part) => (part.type === "text" ? part.text : "")).join("");
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------------------------
// 🔧 错误处理最佳实践 · 1. 分层错误处理
// ---------------------------------------------------------------------------------------------------------------

/** The seed's `MCPStoreManager`, in TypeScript. */
class MCPStoreManager {
  private constructor(
    readonly store: MCPStore,
    readonly context: ServiceContext,
    private readonly logger: SeedLogger,
  ) {}

  static async create(options: SetupStoreOptions, logger: SeedLogger): Promise<MCPStoreManager> {
    try {
      const store = await MCPStore.setupStore({ logger: quietLogger, ...options });
      cleanups.push(() => store.close());
      return new MCPStoreManager(store, store.forStore(), logger);
    } catch (error) {
      logger.critical(`Failed to initialize MCPStore: ${(error as Error).message}`);
      throw error;
    }
  }

  /** 安全添加服务 */
  async safeAddService(config: ServiceConfig): Promise<boolean> {
    try {
      await this.context.addService(config, { wait: true });
      this.logger.info(`Service ${config.name} added successfully`);
      return true;
    } catch (error) {
      if (ValidationError.isInstance(error)) {
        this.logger.error(`Service configuration invalid: ${error.message}`);
        return false;
      }
      if (ConnectionError.isInstance(error)) {
        this.logger.warning(`Service connection failed: ${error.message}`);
        return false;
      }
      this.logger.error(`Unexpected error adding service: ${(error as Error).message}`);
      return false;
    }
  }

  /** 安全调用工具 */
  async safeCallTool(toolName: string, args: Record<string, unknown>): Promise<ToolCallResult | null> {
    try {
      return await this.context.callTool(toolName, args, { throwOnError: true });
    } catch (error) {
      if (ToolNotFoundError.isInstance(error)) {
        this.logger.warning(`Tool ${toolName} not found`);
        return null;
      }
      if (ToolExecutionError.isInstance(error)) {
        this.logger.error(`Tool ${toolName} execution failed: ${error.message}`);
        return null;
      }
      this.logger.error(`Unexpected error calling tool ${toolName}: ${(error as Error).message}`);
      return null;
    }
  }
}

describe("seed 错误处理 · 1. 分层错误处理 (MCPStoreManager)", () => {
  it("__init__: a store that cannot be set up is logged as critical and raised", async () => {
    const logger = seedLogger();
    const directory = await tempDir();
    const file = join(directory, "mcp.json");
    await writeFile(file, '{"mcpServers": {');
    const error = await MCPStoreManager.create({ mcpConfigFile: file }, logger).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Error);
    expect(logger.lines).toEqual([{ level: "critical", message: expect.stringContaining("Failed to initialize MCPStore:") }]);
  });

  it("safe_add_service: invalid → ValidationError branch; server down → ConnectionError branch; server up → added", async () => {
    const logger = seedLogger();
    const server = await downServer();
    const directory = await tempDir();
    const file = join(directory, "mcp.json");
    const manager = await MCPStoreManager.create({ mcpConfigFile: file }, logger);
    const config: ServiceConfig = { name: "weather-api", url: server.url, transport: "streamable-http", timeout: 1 };

    expect(await manager.safeAddService({ name: "weather-api", url: "not a url" })).toBe(false);
    expect(logger.lines.at(-1)).toEqual({ level: "error", message: expect.stringContaining("Service configuration invalid:") });

    // Down: the add waits for the service's own timeout (1 s), then raises ConnectionError.
    let started = Date.now();
    expect(await manager.safeAddService(config)).toBe(false);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(logger.lines.at(-1)).toEqual({ level: "warning", message: expect.stringMatching(/^Service connection failed: .*weather-api/) });
    expect((await manager.context.getService("weather-api")).state).toMatch(/reconnecting|unreachable/);

    // Up on the same port: the same call again replaces the service that never connected (no SERVICE_EXISTS).
    await server.up();
    started = Date.now();
    expect(await manager.safeAddService(config)).toBe(true);
    expect(logger.lines.at(-1)).toEqual({ level: "info", message: "Service weather-api added successfully" });
    const services = await manager.context.listServices();
    expect(services.map((service) => [service.name, service.state])).toEqual([["weather-api", "healthy"]]);
    expect(services[0]!.serverInfo?.name).toBe("revived");
    // The file holds it once, as given.
    const document = JSON.parse(await readFile(file, "utf8")) as { mcpServers: Record<string, unknown> };
    expect(document.mcpServers).toEqual({ "weather-api": { url: server.url, transport: "streamable-http", timeout: 1 } });

    // Once it has worked, adding the name again is SERVICE_EXISTS: it is never replaced behind the caller's back.
    expect(await manager.safeAddService(config)).toBe(false);
    expect(logger.lines.at(-1)).toEqual({ level: "error", message: expect.stringMatching(/^Unexpected error adding service: .*already exists/) });
  });

  it("safe_call_tool: a result; ToolNotFoundError branch; ToolExecutionError branch (isError with throwOnError)", async () => {
    const logger = seedLogger();
    const server = await downServer();
    await server.up();
    const manager = await MCPStoreManager.create({ mcpConfigFile: false }, logger);
    expect(await manager.safeAddService({ name: "weather", url: server.url })).toBe(true);

    expect(textOf(await manager.safeCallTool("weather_echo", { text: "北京" }))).toBe("北京");
    expect(await manager.safeCallTool("weather_get_forecast", {})).toBeNull();
    expect(logger.lines.at(-1)).toEqual({ level: "warning", message: "Tool weather_get_forecast not found" });
    expect(await manager.safeCallTool("weather_fail", { message: "no data for Atlantis" })).toBeNull();
    expect(logger.lines.at(-1)).toEqual({ level: "error", message: expect.stringMatching(/^Tool weather_fail execution failed: .*no data for Atlantis/) });
    // Arguments the tool's schema refuses are neither: the catch-all branch.
    expect(await manager.safeCallTool("weather_echo", { text: 42 })).toBeNull();
    expect(logger.lines.at(-1)).toEqual({ level: "error", message: expect.stringMatching(/^Unexpected error calling tool weather_echo: /) });
    // Without throwOnError an error result is returned as is (the seed's call_tool raises; ours opts in).
    expect((await manager.context.callTool("weather_fail", {})).isError).toBe(true);
    await expect(manager.context.callTool("weather_fail", {}, { throwOnError: true })).rejects.toBeInstanceOf(ToolExecutionError);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// 🔧 错误处理最佳实践 · 2. 重试机制
// ---------------------------------------------------------------------------------------------------------------

/** The seed's `retry_on_failure(max_retries, delay)`: retries ConnectionError and TimeoutError, backing off 2^attempt. */
function retryOnFailure<Args extends unknown[], Result>(
  logger: SeedLogger,
  options: { maxRetries?: number; delaySeconds?: number },
  func: (...args: Args) => Promise<Result>,
): (...args: Args) => Promise<Result> {
  const { maxRetries = 3, delaySeconds = 1.0 } = options;
  return async (...args: Args) => {
    let lastException: unknown;
    for (let attempt = 0; attempt < maxRetries; attempt++) {
      try {
        return await func(...args);
      } catch (error) {
        if (ConnectionError.isInstance(error) || TimeoutError.isInstance(error)) {
          lastException = error;
          if (attempt < maxRetries - 1) {
            logger.warning(`Attempt ${attempt + 1} failed, retrying in ${delaySeconds}s: ${error.message}`);
            await sleep(delaySeconds * 2 ** attempt * 1000); // 指数退避
          } else {
            logger.error(`All ${maxRetries} attempts failed`);
          }
        } else {
          // 非网络错误不重试
          logger.error(`Non-retryable error: ${(error as Error).message}`);
          throw error;
        }
      }
    }
    throw lastException;
  };
}

/** The seed's `RobustMCPStore`. */
class RobustMCPStore {
  readonly context: ServiceContext;
  /** 带重试的服务添加 */
  readonly addService: (config: ServiceConfig) => Promise<unknown>;
  /** 带重试的工具调用 */
  readonly callTool: (toolName: string, args: Record<string, unknown>) => Promise<ToolCallResult>;

  constructor(store: MCPStore, logger: SeedLogger) {
    this.context = store.forStore();
    this.addService = retryOnFailure(logger, { maxRetries: 3, delaySeconds: 1.0 }, (config: ServiceConfig) => this.context.addService(config, { wait: true }));
    this.callTool = retryOnFailure(logger, { maxRetries: 2, delaySeconds: 0.5 }, (toolName: string, args: Record<string, unknown>) =>
      this.context.callTool(toolName, args, { throwOnError: true }),
    );
  }
}

describe("seed 错误处理 · 2. 重试机制 (retry_on_failure, RobustMCPStore)", () => {
  it("add_service: the first attempt raises ConnectionError, the retry after 1 s finds the server up and adds it", async () => {
    const logger = seedLogger();
    const server = await downServer();
    const robust = new RobustMCPStore(await setupStore(), logger);
    const config: ServiceConfig = { name: "research-tools", url: server.url, transport: "streamable-http", timeout: 0.5 };
    let attempts = 0;
    const counted = robust.context.addService.bind(robust.context);
    robust.context.addService = async (input, options) => {
      attempts++;
      // The server is up by the time the decorator tries again.
      if (attempts === 2) await server.up();
      return counted(input, options);
    };
    const started = Date.now();
    const added = (await robust.addService(config)) as Array<{ name: string; state: string }>;
    expect(added.map((service) => [service.name, service.state])).toEqual([["research-tools", "healthy"]]);
    expect(attempts).toBe(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    expect(logger.lines).toEqual([{ level: "warning", message: expect.stringMatching(/^Attempt 1 failed, retrying in 1s: .*research-tools/) }]);
    expect(textOf(await robust.callTool("research-tools_echo", { text: "found" }))).toBe("found");
    expect(await robust.context.listServices()).toHaveLength(1);
  });

  it("add_service: all 3 attempts fail (1 s, then 2 s apart) and the last ConnectionError is raised", async () => {
    const logger = seedLogger();
    const server = await downServer();
    const robust = new RobustMCPStore(await setupStore(), logger);
    const started = Date.now();
    const error = await robust.addService({ name: "never-up", url: server.url, transport: "streamable-http", timeout: 0.3 }).catch((caught: unknown) => caught);
    expect(ConnectionError.isInstance(error)).toBe(true);
    expect((error as ConnectionError).serviceName).toBe("never-up");
    expect(Date.now() - started).toBeGreaterThanOrEqual(3_000);
    expect(logger.lines.map((line) => line.message.replace(/:.*/, ""))).toEqual([
      "Attempt 1 failed, retrying in 1s",
      "Attempt 2 failed, retrying in 1s",
      "All 3 attempts failed",
    ]);
    // Each retry replaced the one before: one service, still trying in the background.
    expect((await robust.context.listServices()).map((service) => service.name)).toEqual(["never-up"]);
  });

  it("add_service: a ValidationError is not retried", async () => {
    const logger = seedLogger();
    const robust = new RobustMCPStore(await setupStore(), logger);
    const error = await robust.addService({ name: "bad", url: "ftp://example.com/mcp" }).catch((caught: unknown) => caught);
    expect(ValidationError.isInstance(error)).toBe(true);
    expect(logger.lines).toEqual([{ level: "error", message: expect.stringMatching(/^Non-retryable error: .*services\.bad\.url/) }]);
  });

  it("call_tool: a call to a service that lost its server is retried 0.5 s later, once the server is back", async () => {
    const logger = seedLogger();
    const server = await downServer();
    const first = await server.up();
    const store = await setupStore({ monitoring: { healthCheckSeconds: 0.2, probeTimeoutSeconds: 0.5, maxReconnectAttempts: 1 } });
    const robust = new RobustMCPStore(store, logger);
    await robust.addService({ name: "flaky", url: server.url, transport: "streamable-http" });
    await first.close();
    // Lost: unreachable, the next automatic attempt about reconnectionSeconds (60 s) away.
    await robust.context.waitService("flaky", { state: "unreachable", timeoutMs: 15_000 });
    const revived = await startHttpFixture({ port: server.port, transports: "streamable-http", name: "revived" });
    cleanups.push(() => revived.close());
    // The first call fails fast (ServiceUnavailableError, a ConnectionError) and starts a connection attempt at once;
    // the retry finds the service healthy again.
    expect(textOf(await robust.callTool("flaky_echo", { text: "again" }))).toBe("again");
    expect(logger.lines).toEqual([{ level: "warning", message: expect.stringMatching(/^Attempt 1 failed, retrying in 0.5s: .*flaky.*unreachable/) }]);
  });

  it("call_tool: a tool's own error (isError) is a ToolExecutionError, not retried", async () => {
    const logger = seedLogger();
    const server = await downServer();
    await server.up();
    const robust = new RobustMCPStore(await setupStore(), logger);
    await robust.addService({ name: "tools", url: server.url });
    const error = await robust.callTool("tools_fail", { message: "bad input" }).catch((caught: unknown) => caught);
    expect(ToolExecutionError.isInstance(error)).toBe(true);
    expect(logger.lines).toEqual([{ level: "error", message: expect.stringMatching(/^Non-retryable error: .*bad input/) }]);
  });
});

describe("addService({ wait }) and the replace rule", () => {
  it("wait: { timeoutMs } bounds the wait; a timeout is a ConnectionError with the TimeoutError as its cause", async () => {
    const server = await downServer();
    const context = (await setupStore()).forStore();
    const started = Date.now();
    const error = await context.addService({ name: "slow", url: server.url, transport: "streamable-http" }, { wait: { timeoutMs: 300 } }).catch((caught: unknown) => caught);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(ConnectionError.isInstance(error)).toBe(true);
    expect(TimeoutError.isInstance((error as Error).cause)).toBe(true);
    expect(error).toMatchObject({ code: "CONNECTION_ERROR", serviceName: "slow", details: { timeoutMs: 300 } });
  });

  it("without timeout or timeoutMs the wait is the store's connectTimeoutMs; unreachable before that rejects at once", async () => {
    const server = await downServer();
    const context = (await setupStore({ connectTimeoutMs: 400, monitoring: { maxReconnectAttempts: 50 } })).forStore();
    const started = Date.now();
    const error = await context.addService({ name: "down", url: server.url, transport: "streamable-http" }, { wait: true }).catch((caught: unknown) => caught);
    expect(ConnectionError.isInstance(error)).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(350);
    expect(Date.now() - started).toBeLessThan(3_000);
    // Unreachable (one attempt is all) rejects as soon as it is known, with why.
    const unreachable = await (await setupStore({ monitoring: { maxReconnectAttempts: 1 } }))
      .forStore()
      .addService({ name: "down", url: server.url, transport: "streamable-http" }, { wait: true })
      .catch((caught: unknown) => caught);
    expect(ConnectionError.isInstance(unreachable)).toBe(true);
    expect((unreachable as Error).message).toMatch(/unreachable/);
  });

  it("a service still in its first attempt, or one that ever was healthy, is not replaced: SERVICE_EXISTS", async () => {
    const server = await downServer();
    await server.up();
    const context = (await setupStore()).forStore();
    await context.addService({ name: "svc", url: server.url });
    // Still initializing.
    await expect(context.addService({ name: "svc", url: server.url, description: "other" })).rejects.toBeInstanceOf(ServiceExistsError);
    await context.waitService("svc");
    await expect(context.addService({ name: "svc", url: server.url })).rejects.toBeInstanceOf(ServiceExistsError);
    expect((await context.getService("svc")).config.description).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------------------------
// 服务配置最佳实践: ${VAR} anywhere in url
// ---------------------------------------------------------------------------------------------------------------
describe("seed 服务配置 · 环境变量管理: ${VAR} anywhere in url", () => {
  it("http://127.0.0.1:${PORT}/mcp and ${API_BASE}/mcp connect to the fixture the variables name; the file keeps the placeholders", async () => {
    const fixture = await startHttpFixture({ name: "from-env" });
    cleanups.push(() => fixture.close());
    vi.stubEnv("WEATHER_PORT", String(fixture.port));
    vi.stubEnv("API_BASE", `http://127.0.0.1:${fixture.port}`);
    const file = join(await tempDir(), "mcp.json");
    const context = (await setupStore({ mcpConfigFile: file })).forStore();
    await context.addService(
      [
        { name: "by-port", url: "http://127.0.0.1:${WEATHER_PORT}/mcp", transport: "streamable-http" },
        { name: "by-base", url: "${API_BASE}/mcp" },
        { name: "by-default", url: "http://${UNSET_HOST:-127.0.0.1}:${WEATHER_PORT}/mcp" },
      ],
      { wait: { timeoutMs: 15_000 } },
    );
    for (const name of ["by-port", "by-base", "by-default"]) {
      const service = await context.getService(name);
      expect(service.state).toBe("healthy");
      expect(service.serverInfo?.name).toBe("from-env");
      expect(textOf(await context.callTool(`${name}_echo`, { text: name }))).toBe(name);
    }
    expect((await context.getService("by-port")).config.url).toBe("http://127.0.0.1:${WEATHER_PORT}/mcp");
    const document = JSON.parse(await readFile(file, "utf8")) as { mcpServers: Record<string, { url: string }> };
    expect(document.mcpServers["by-base"]!.url).toBe("${API_BASE}/mcp");
    expect(await readFile(file, "utf8")).not.toContain(String(fixture.port));
  });

  it("a url still invalid once expanded leaves the service unreachable with a ValidationError-worded lastError naming service, field and placeholder", async () => {
    vi.stubEnv("BAD_PORT", "not-a-port");
    vi.stubEnv("SECRET_HOST_PART", "s3cr3t value");
    const context = (await setupStore()).forStore();
    await context.addService({ name: "bad-port", url: "http://127.0.0.1:${BAD_PORT}/mcp" });
    const info = await context.waitService("bad-port", { state: "unreachable", timeoutMs: 5_000 });
    expect(info.lastError).toBe('Invalid service "bad-port": services.bad-port.url "http://127.0.0.1:${BAD_PORT}/mcp" must be an http(s) URL once ${BAD_PORT} is expanded');
    // With wait, the add itself says so, as a ConnectionError (the service is there, unreachable, like a missing variable).
    const error = await context.addService({ name: "bad-host", url: "http://${SECRET_HOST_PART}/mcp" }, { wait: true }).catch((caught: unknown) => caught);
    expect(ConnectionError.isInstance(error)).toBe(true);
    expect((error as Error).message).toContain("services.bad-host.url");
    expect((error as Error).message).toContain("${SECRET_HOST_PART}");
    // The values never show.
    expect(JSON.stringify([error, (error as Error).message, await context.listServices()])).not.toContain("s3cr3t");
    // A missing variable in the host is the missing-variable error, as anywhere else.
    await context.addService({ name: "no-base", url: "${NO_SUCH_API_BASE}/mcp" });
    expect((await context.waitService("no-base", { state: "unreachable", timeoutMs: 5_000 })).lastError).toMatch(/NO_SUCH_API_BASE.*not set/);
  });

  it("before expansion only a url with placeholders is let through; a literal one is still checked at once", async () => {
    const context = (await setupStore()).forStore();
    for (const url of ["not a url", "ftp://example.com/mcp", "127.0.0.1:8080/mcp"]) {
      const error = await context.addService({ name: "literal", url }).catch((caught: unknown) => caught);
      expect(ValidationError.isInstance(error)).toBe(true);
      expect((error as ValidationError).details?.issues).toEqual([{ path: "services.literal.url", message: "must be an http(s) URL" }]);
    }
    const error = await context.addService({ name: "broken", url: "http://${HOST}/mcp\r\nX: 1" }).catch((caught: unknown) => caught);
    expect(ValidationError.isInstance(error)).toBe(true);
    expect(await context.listServices()).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// 🚀 性能优化最佳实践 · 1. 缓存策略: batch_add_services
// ---------------------------------------------------------------------------------------------------------------
describe("seed 性能优化 · batch_add_services is the cheap path", () => {
  /** The config file as the store uses it, counting its writes. */
  function countingPersistence(path: string) {
    const file = new ConfigFile(path, quietLogger);
    const changes: RegistryChange[] = [];
    const persistence: RegistryPersistence = {
      apply: (change) => {
        changes.push(change);
        return file.apply(change);
      },
    };
    return { persistence, changes };
  }

  it("20 services: validated first, one write of the config file with all the valid ones, connected in parallel", async () => {
    const fixture = await startHttpFixture();
    cleanups.push(() => fixture.close());
    const path = join(await tempDir(), "mcp.json");
    const { persistence, changes } = countingPersistence(path);
    const store = await setupStore({ persistence });
    const configs: ServiceConfig[] = Array.from({ length: 20 }, (_, index) => ({ name: `service${index + 1}`, url: fixture.url }));
    const connecting = new Set<string>();
    let mostConnecting = 0;
    store.on("service:added", (event) => {
      connecting.add(event.serviceName);
      mostConnecting = Math.max(mostConnecting, connecting.size);
    });
    store.on("service:state-changed", (event) => event.state === "healthy" && connecting.delete(event.serviceName));

    const result = await store.forStore().batchAddServices([
      ...configs.slice(0, 10),
      { name: "no-transport" } as ServiceConfig,
      { name: "service1", url: fixture.url },
      ...configs.slice(10),
    ]);

    expect(result.results.map((entry) => [entry.name, entry.success])).toEqual([
      ...configs.slice(0, 10).map((config) => [config.name, true]),
      ["no-transport", false],
      ["service1", false],
      ...configs.slice(10).map((config) => [config.name, true]),
    ]);
    const failures = result.results.filter((entry) => !entry.success) as Array<{ error: { code: string } }>;
    expect(failures.map((failure) => failure.error.code)).toEqual(["VALIDATION_ERROR", "SERVICE_EXISTS"]);
    // One write, with every valid config.
    expect(changes).toEqual([{ kind: "add", agentId: undefined, configs }]);
    const document = JSON.parse(await readFile(path, "utf8")) as { mcpServers: Record<string, unknown> };
    expect(Object.keys(document.mcpServers)).toEqual(configs.map((config) => config.name));
    // All 20 were connecting at once.
    expect(mostConnecting).toBe(20);
    await Promise.all(configs.map((config) => store.forStore().waitService(config.name, { timeoutMs: 15_000 })));
    expect(await store.forStore().listTools()).toHaveLength(20 * 10);
  });

  it("the seed's ❌ (one addService per config) writes the file once per service", async () => {
    const fixture = await startHttpFixture();
    cleanups.push(() => fixture.close());
    const { persistence, changes } = countingPersistence(join(await tempDir(), "mcp.json"));
    const context = (await setupStore({ persistence })).forStore();
    for (let index = 1; index <= 20; index++) await context.addService({ name: `service${index}`, url: fixture.url });
    expect(changes).toHaveLength(20);
  });

  it("a failed write fails every service of the batch, and adds none", async () => {
    const persistence: RegistryPersistence = {
      apply: async () => {
        throw new ValidationError({ message: "the disk said no (on purpose)" });
      },
    };
    const context = (await setupStore({ persistence })).forStore();
    const result = await context.batchAddServices([
      { name: "a", url: "http://127.0.0.1:9/mcp" },
      { name: "b", url: "http://127.0.0.1:9/mcp" },
    ]);
    expect(result.success).toBe(false);
    expect(result.results.map((entry) => !entry.success && entry.error.message)).toEqual(["the disk said no (on purpose)", "the disk said no (on purpose)"]);
    expect(await context.listServices()).toEqual([]);
  });
});
