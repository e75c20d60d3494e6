/**
 * The examples of the seed guide (`best-practices.zh.md`, the original Python MCPStore's best practices), every section
 * from 架构设计 to 部署: 架构设计 (architecture), 服务配置 (service config), 性能优化 (performance), 安全 (security),
 * 错误处理 (error handling), 监控和日志 (monitoring and logging), 测试 (testing) and 部署 (deployment), translated to
 * our TypeScript API and run against real MCP servers: the fixture servers of `@mcpstore/testing` (stdio, and HTTP on
 * 127.0.0.1) and the reference `@modelcontextprotocol/server-filesystem` from node_modules.
 *
 * Some examples are ported in more depth elsewhere, and only sampled here: the retry decorator and `RobustMCPStore`
 * (seed-guide.test.ts), the mocked unit tests (seed-pytest.test.ts), the `/health` endpoints (@mcpstore/server,
 * packages/server/test/health.test.ts) and the Prometheus metrics (@mcpstore/plugin-prometheus).
 *
 * Substitutions (the seed's remote hosts, container engine and Python libraries do not exist here):
 * - every fake URL (`https://api.com/mcp`, `https://research.com/mcp`, `https://weather.example.com/mcp`,
 *   `https://api1.com/mcp`, `https://secure-api.com/mcp`, ...) becomes an HTTP fixture on 127.0.0.1;
 * - the seed's config paths (`config/prod/mcp.json`, `projects/project_a/mcp.json`, ...) live under a temporary
 *   directory;
 * - `npx -y @modelcontextprotocol/server-filesystem /workspace` runs the same server from node_modules with this
 *   Node binary, on a temporary workspace (nothing is downloaded at run time);
 * - `weather_get_current({ city })` becomes `weather_echo({ text: city })`: a fixture service named `weather` whose
 *   `echo` tool stands in for `get_current` (same call shape: `{service}_{tool}` name, one string argument);
 * - Python's `logging` becomes a JSON-lines {@link Logger}, and the seed's FastAPI health app two functions over
 *   `checkServices()`; `prometheus_client` becomes the store events a metrics plugin reads;
 * - the Dockerfile and docker-compose.yml are checked as text: no container engine runs here.
 */
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { quietLogger, startHttpFixture, stdioFixtureConfig, type HttpFixture, type HttpFixtureOptions } from "@mcpstore/testing";
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished, vi } from "vitest";
import {
  MCPStore,
  MCPStoreError,
  ServiceNotFoundError,
  TimeoutError,
  ToolExecutionError,
  ToolNotFoundError,
  ValidationError,
  createConsoleLogger,
  monitoringPresets,
  type Logger,
  type MonitoringOptions,
  type ServiceConfig,
  type ServiceContext,
  type SetupStoreOptions,
  type ToolCallResult,
} from "../src/index.js";
import { cleanups } from "./helpers.js";

const WAIT = { timeoutMs: 15_000 };

/** Everything a test opened (stores, fixtures, temp dirs), closed after it. */
// The shared cleanups of ./helpers.js run after each test (in reverse order); environment stubs are undone here.
afterEach(() => {
  vi.unstubAllEnvs();
});

async function setupStore(options: SetupStoreOptions = {}): Promise<MCPStore> {
  const store = await MCPStore.setupStore({ mcpConfigFile: false, logger: quietLogger, ...options });
  cleanups.push(() => store.close());
  return store;
}

async function httpFixture(options: HttpFixtureOptions = {}): Promise<HttpFixture> {
  const fixture = await startHttpFixture(options);
  cleanups.push(() => fixture.close());
  return fixture;
}

function tempDir(prefix: string): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), prefix)));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The text parts of a tool result, joined. */
function textOf(result: ToolCallResult): string {
  return result.content
    .filter((part): part is { type: "text"; text: string } => part.type === "text")
    .map((part) => part.text)
    .join("\n");
}

/** The reference filesystem server of the seed's `local-filesystem` entry, as installed in node_modules. */
const filesystemServerPath = fileURLToPath(new URL("../node_modules/@modelcontextprotocol/server-filesystem/dist/index.js", import.meta.url));

// ---------------------------------------------------------------------------------------------------------------
// 🎯 架构设计最佳实践 (architecture)
// ---------------------------------------------------------------------------------------------------------------
describe("seed 架构设计 · 1. 上下文选择策略: Store 模式 vs Agent 模式", () => {
  it("single application: store mode — store.forStore().addService({ name: 'global-tool', url })", async () => {
    // Seed: context.add_service({"name": "global-tool", "url": "https://api.com/mcp"}); the URL is an HTTP fixture.
    // No `transport` is given, as in the seed: Streamable HTTP is tried first.
    const api = await httpFixture();
    const store = await setupStore();
    const context = store.forStore();
    await context.addService({ name: "global-tool", url: api.url });

    const service = await context.waitService("global-tool", WAIT);
    expect(service.state).toBe("healthy");
    expect(service.transport).toBe("streamable-http");
    expect(service.agentId).toBeUndefined();

    const names = (await context.listTools()).map((tool) => tool.name);
    expect(names).toContain("global-tool_echo");
    const result = await context.callTool("global-tool_echo", { text: "hello from the store" });
    expect(textOf(result)).toBe("hello from the store");
    expect((await context.checkServices()).success).toBe(true);
  });

  it("multi-agent system: agent mode — each agent adds and sees only its own services", async () => {
    // Seed: research_agent adds research-tools (https://research.com/mcp), analysis_agent adds analysis-tools
    // (https://analysis.com/mcp). Both URLs are HTTP fixtures on 127.0.0.1 (analysis over SSE, to cover both transports).
    const research = await httpFixture({ name: "research", transports: "streamable-http" });
    const analysis = await httpFixture({ name: "analysis", transports: "sse" });
    const store = await setupStore();

    const agent1Context = store.forAgent("research_agent");
    await agent1Context.addService({ name: "research-tools", url: research.url });
    const agent2Context = store.forAgent("analysis_agent");
    await agent2Context.addService({ name: "analysis-tools", url: analysis.sseUrl, transport: "sse" });

    const [researchInfo, analysisInfo] = await Promise.all([
      agent1Context.waitService("research-tools", WAIT),
      agent2Context.waitService("analysis-tools", WAIT),
    ]);
    expect(researchInfo).toMatchObject({ state: "healthy", agentId: "research_agent", transport: "streamable-http" });
    expect(researchInfo.serverInfo?.name).toBe("research");
    expect(analysisInfo).toMatchObject({ state: "healthy", agentId: "analysis_agent", transport: "sse" });
    expect(analysisInfo.serverInfo?.name).toBe("analysis");

    // Each agent sees only its own services and tools, under their local names.
    expect((await agent1Context.listServices()).map((service) => service.name)).toEqual(["research-tools"]);
    expect((await agent2Context.listServices()).map((service) => service.name)).toEqual(["analysis-tools"]);
    expect((await agent1Context.listTools()).every((tool) => tool.serviceName === "research-tools")).toBe(true);
    expect((await agent2Context.listTools()).every((tool) => tool.name.startsWith("analysis-tools_"))).toBe(true);

    // Neither can reach the other's service or tools.
    await expect(agent1Context.getService("analysis-tools")).rejects.toBeInstanceOf(ServiceNotFoundError);
    await expect(agent1Context.callTool("analysis-tools_echo", { text: "x" })).rejects.toBeInstanceOf(ToolNotFoundError);
    await expect(agent2Context.callTool("research-tools_echo", { text: "x" })).rejects.toBeInstanceOf(ToolNotFoundError);
    expect(textOf(await agent2Context.callTool("analysis-tools_echo", { text: "analysed" }))).toBe("analysed");

    // The store scope holds none of the agents' services, and lists the agents.
    expect(await store.forStore().listServices()).toEqual([]);
    expect(await store.forStore().listTools()).toEqual([]);
    const agents = await store.forStore().listAgents();
    expect(agents.map((agent) => agent.agentId).sort()).toEqual(["analysis_agent", "research_agent"]);
    expect(agents.every((agent) => agent.serviceCount === 1 && agent.toolCount > 0)).toBe(true);
  });
});

describe("seed 架构设计 · 1. 数据空间隔离 (data-space isolation)", () => {
  it("different projects: two stores share nothing", async () => {
    // Seed: setup_store(mcp_config_file="projects/project_a/mcp.json") and ".../project_b/mcp.json", here under a
    // temporary directory.
    const [serverA, serverB] = await Promise.all([httpFixture({ name: "project-a" }), httpFixture({ name: "project-b" })]);
    const root = await mkdtemp(join(tmpdir(), "mcpstore-projects-"));
    onTestFinished(() => rm(root, { recursive: true, force: true }));
    const fileA = join(root, "projects/project_a/mcp.json");
    const fileB = join(root, "projects/project_b/mcp.json");
    const projectAStore = await setupStore({ mcpConfigFile: fileA });
    const projectBStore = await setupStore({ mcpConfigFile: fileB });

    await projectAStore.forStore().addService({ name: "project-tools", url: serverA.url });
    await projectAStore.forAgent("agent_a").addService({ name: "agent-tools", url: serverA.url });
    await projectAStore.forStore().waitService("project-tools", WAIT);
    await projectAStore.forAgent("agent_a").waitService("agent-tools", WAIT);

    // Nothing of A is visible in B: services, tools, agents.
    expect(await projectBStore.forStore().listServices()).toEqual([]);
    expect(await projectBStore.forStore().listTools()).toEqual([]);
    expect(await projectBStore.forStore().listAgents()).toEqual([]);
    expect(await projectBStore.forAgent("agent_a").listServices()).toEqual([]);
    await expect(projectBStore.forStore().getService("project-tools")).rejects.toBeInstanceOf(ServiceNotFoundError);
    await expect(projectBStore.forStore().callTool("project-tools_echo", { text: "x" })).rejects.toBeInstanceOf(ToolNotFoundError);

    // B may use the same service name for its own server without any clash.
    await projectBStore.forStore().addService({ name: "project-tools", url: serverB.url });
    const b = await projectBStore.forStore().waitService("project-tools", WAIT);
    expect(b.serverInfo?.name).toBe("project-b");
    expect((await projectAStore.forStore().getService("project-tools")).serverInfo?.name).toBe("project-a");

    // Each project's file holds only its own services.
    const documentA = JSON.parse(await readFile(fileA, "utf8"));
    const documentB = JSON.parse(await readFile(fileB, "utf8"));
    expect(Object.keys(documentA.mcpServers)).toEqual(["project-tools"]);
    expect(Object.keys(documentA.agents)).toEqual(["agent_a"]);
    expect(documentA.mcpServers["project-tools"].url).toBe(serverA.url);
    expect(documentB.mcpServers["project-tools"].url).toBe(serverB.url);
    expect(documentB.agents).toBeUndefined();

    // Closing A leaves B working.
    await projectAStore.close();
    expect(textOf(await projectBStore.forStore().callTool("project-tools_echo", { text: "still here" }))).toBe("still here");
    expect((await projectBStore.forStore().getService("project-tools")).state).toBe("healthy");
  });

  it("environment isolation: a dev store and a prod store, each with its monitoring preset", async () => {
    // Seed: dev_store / prod_store on config/dev/mcp.json and config/prod/mcp.json, under a temporary directory.
    const [devServer, prodServer] = await Promise.all([httpFixture({ name: "dev" }), httpFixture({ name: "prod" })]);
    const root = tempDir("mcpstore-environments-");
    const devFile = join(root, "config/dev/mcp.json");
    const prodFile = join(root, "config/prod/mcp.json");
    const devStore = await setupStore({ mcpConfigFile: devFile, monitoring: monitoringPresets.development });
    const prodStore = await setupStore({ mcpConfigFile: prodFile, monitoring: monitoringPresets.production });
    await devStore.forStore().addService({ name: "tools", url: devServer.url });
    await prodStore.forStore().addService({ name: "tools", url: prodServer.url });
    const [dev, prod] = await Promise.all([devStore.forStore().waitService("tools", WAIT), prodStore.forStore().waitService("tools", WAIT)]);
    expect(dev.serverInfo?.name).toBe("dev");
    expect(prod.serverInfo?.name).toBe("prod");
    await devStore.forStore().removeService("tools");
    expect(await devStore.forStore().listServices()).toEqual([]);
    expect((await prodStore.forStore().listServices()).map((service) => service.name)).toEqual(["tools"]);
    // Each environment's file holds its own server only.
    expect(JSON.parse(await readFile(devFile, "utf8")).mcpServers).toEqual({});
    expect(JSON.parse(await readFile(prodFile, "utf8")).mcpServers.tools.url).toBe(prodServer.url);
  });
});

describe("seed 架构设计 · 3. 监控配置最佳实践 (monitoring)", () => {
  // The seed's dicts, key by key in camelCase.
  const productionMonitoring: MonitoringOptions = {
    healthCheckSeconds: 60, // 生产环境较长间隔
    toolsUpdateHours: 4, // 4小时更新一次工具
    reconnectionSeconds: 120, // 2分钟重连间隔
    cleanupHours: 24, // 每天清理一次
    enableToolsUpdate: true,
    enableReconnection: true,
    updateToolsOnReconnection: true,
  };
  const developmentMonitoring: MonitoringOptions = {
    healthCheckSeconds: 15, // 开发环境快速检查
    toolsUpdateHours: 1, // 1小时更新一次
    reconnectionSeconds: 30, // 30秒重连间隔
    enableToolsUpdate: true,
    enableReconnection: true,
  };

  it("the presets hold the seed's values exactly", () => {
    expect(monitoringPresets.production).toEqual(productionMonitoring);
    expect(monitoringPresets.development).toEqual(developmentMonitoring);
  });

  it("setupStore({ monitoring: productionMonitoring }) runs a healthy store", async () => {
    // Seed: MCPStore.setup_store(mcp_config_file="config/prod/mcp.json", monitoring=production_monitoring), the file
    // written beforehand with the service in it.
    const server = await httpFixture();
    const configFile = join(tempDir("mcpstore-prod-"), "config/prod/mcp.json");
    mkdirSync(dirname(configFile), { recursive: true });
    writeFileSync(configFile, JSON.stringify({ mcpServers: { monitored: { url: server.url } } }, null, 2));
    const store = await setupStore({ mcpConfigFile: configFile, monitoring: productionMonitoring });
    await store.forStore().waitService("monitored", WAIT);
    const health = await store.forStore().checkServices();
    expect(health.success).toBe(true);
    expect(health.services).toEqual([expect.objectContaining({ name: "monitored", healthy: true, state: "healthy" })]);
  });

  it("a bad monitoring value is a ValidationError naming the key", async () => {
    await expect(MCPStore.setupStore({ mcpConfigFile: false, logger: quietLogger, monitoring: { healthCheckSeconds: -1 } })).rejects.toSatisfy(
      (error: unknown) => ValidationError.isInstance(error) && error.message.includes("monitoring.healthCheckSeconds"),
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------
// 服务配置最佳实践 (service config)
// ---------------------------------------------------------------------------------------------------------------
describe("seed 服务配置 · 配置文件组织 (the example mcp.json)", () => {
  it("loads the seed's mcp.json from a file (weather-api with a ${WEATHER_API_TOKEN} header, local-filesystem over stdio)", async () => {
    const token = `weather-${randomUUID()}`;
    vi.stubEnv("WEATHER_API_TOKEN", token);
    // https://weather.example.com/mcp → an HTTP fixture that answers only with the right bearer token.
    const weather = await httpFixture({ name: "weather", transports: "streamable-http", requireHeaders: { authorization: `Bearer ${token}` } });
    // /workspace → a temporary workspace with one file in it.
    const workspace = tempDir("mcpstore-seed-workspace-");
    writeFileSync(join(workspace, "notes.txt"), "seed notes");

    const mcpJson = {
      mcpServers: {
        "weather-api": {
          url: weather.url,
          transport: "streamable-http" as const,
          headers: {
            // As in the seed: a placeholder, expanded from process.env when the service starts.
            Authorization: "Bearer ${WEATHER_API_TOKEN}",
            "User-Agent": "MCPStore/1.0",
          },
          timeout: 30,
          description: "天气查询服务 - 提供全球天气信息",
          tags: ["weather", "external-api"],
          contact: "weather-team@example.com",
        },
        "local-filesystem": {
          // Seed: "command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/workspace"].
          command: process.execPath,
          args: [filesystemServerPath, workspace],
          env: { LOG_LEVEL: "info" },
          working_dir: workspace,
          description: "本地文件系统操作",
          tags: ["filesystem", "local"],
        },
      },
      version: "1.0.0",
      description: "Production MCPStore configuration",
      metadata: { environment: "production", team: "ai-platform", last_updated: "2024-01-01T00:00:00Z" },
    };

    const configFile = join(tempDir("mcpstore-seed-config-"), "mcp.json");
    writeFileSync(configFile, JSON.stringify(mcpJson, null, 2));
    const store = await setupStore({ mcpConfigFile: configFile });
    const context = store.forStore();
    expect((await context.listServices()).map((service) => service.name)).toEqual(["weather-api", "local-filesystem"]);
    const [weatherInfo, filesystemInfo] = await Promise.all([context.waitService("weather-api", WAIT), context.waitService("local-filesystem", WAIT)]);

    // weather-api: connected over the transport named, with both headers sent (the placeholder expanded: the fixture
    // answers nothing else); descriptive fields kept; the placeholder shown as written, the literal header as ***.
    expect(weatherInfo.transport).toBe("streamable-http");
    expect(weather.receivedHeaders.length).toBeGreaterThan(0);
    expect(weather.receivedHeaders.every((headers) => headers.authorization === `Bearer ${token}`)).toBe(true);
    expect(weather.receivedHeaders.some((headers) => headers["user-agent"] === "MCPStore/1.0")).toBe(true);
    expect(weatherInfo.config).toMatchObject({
      name: "weather-api",
      transport: "streamable-http",
      timeout: 30,
      description: "天气查询服务 - 提供全球天气信息",
      tags: ["weather", "external-api"],
      contact: "weather-team@example.com",
      headers: { Authorization: "Bearer ${WEATHER_API_TOKEN}", "User-Agent": "***" },
    });
    expect(textOf(await context.callTool("weather-api_echo", { text: "北京" }))).toBe("北京");
    // The file keeps the placeholder (and the seed's top-level fields); the token is never written to it.
    const written = await readFile(configFile, "utf8");
    expect(JSON.parse(written).mcpServers["weather-api"].headers.Authorization).toBe("Bearer ${WEATHER_API_TOKEN}");
    expect(written).not.toContain(token);

    // local-filesystem: the real filesystem server runs in the workspace and lists it.
    expect(filesystemInfo.transport).toBe("stdio");
    expect(filesystemInfo.config).toMatchObject({
      working_dir: workspace,
      env: { LOG_LEVEL: "***" },
      description: "本地文件系统操作",
      tags: ["filesystem", "local"],
    });
    const listing = await context.callTool("local-filesystem_list_directory", { path: workspace });
    expect(listing.isError).toBeFalsy();
    expect(textOf(listing)).toContain("notes.txt");

    // The secret appears nowhere the store shows.
    expect(JSON.stringify(await context.listServices())).not.toContain(token);
  });

  it("the .env beside mcp.json fills ${WEATHER_API_TOKEN} when the environment has no such variable", async () => {
    // Seed: "使用 .env 文件（不要提交到版本控制）". The process environment would win over the file.
    vi.stubEnv("WEATHER_API_TOKEN", undefined);
    const token = `dotenv-${randomUUID()}`;
    const weather = await httpFixture({ name: "weather", requireHeaders: { authorization: `Bearer ${token}` } });
    const dir = tempDir("mcpstore-seed-dotenv-");
    writeFileSync(join(dir, ".env"), `WEATHER_API_TOKEN=${token}\n`);
    const configFile = join(dir, "mcp.json");
    writeFileSync(configFile, JSON.stringify({ mcpServers: { "weather-api": { url: weather.url, headers: { Authorization: "Bearer ${WEATHER_API_TOKEN}" } } } }));
    const context = (await setupStore({ mcpConfigFile: configFile })).forStore();
    const info = await context.waitService("weather-api", WAIT);
    expect(info.config.headers).toEqual({ Authorization: "Bearer ${WEATHER_API_TOKEN}" });
    expect(weather.receivedHeaders.every((headers) => headers.authorization === `Bearer ${token}`)).toBe(true);
    expect(textOf(await context.callTool("weather-api_echo", { text: "上海" }))).toBe("上海");
    expect(process.env.WEATHER_API_TOKEN).toBeUndefined();
    expect(await readFile(configFile, "utf8")).not.toContain(token);
  });

  it("a stdio service gets its env and working_dir (LOG_LEVEL=info, /workspace)", async () => {
    // The `local-filesystem` entry's env/working_dir, checked on the fixture server, whose `env` and `cwd` tools report
    // what its process got.
    const workspace = tempDir("mcpstore-seed-cwd-");
    const store = await setupStore();
    const context = store.forStore();
    await context.addService({ mcpServers: { "local-tools": { ...stdioFixtureConfig("local-tools", { env: { LOG_LEVEL: "info" }, working_dir: workspace }) } } });
    await context.waitService("local-tools", WAIT);
    expect(textOf(await context.callTool("local-tools_env", { name: "LOG_LEVEL" }))).toBe("info");
    expect(textOf(await context.callTool("local-tools_cwd", {}))).toBe(workspace);
  });
});

describe("seed 服务配置 · 环境变量管理 (secrets in environment variables)", () => {
  it("WEATHER_API_TOKEN / DATABASE_URL / LOG_LEVEL reach the server, and are shown only as ***", async () => {
    // Seed: export WEATHER_API_TOKEN=..., DATABASE_URL=postgresql://user:pass@host:5432/db, LOG_LEVEL=info.
    const token = `your-secret-token-${randomUUID()}`;
    const databaseUrl = `postgresql://user:${randomUUID()}@host:5432/db`;
    vi.stubEnv("WEATHER_API_TOKEN", token);
    vi.stubEnv("DATABASE_URL", databaseUrl);
    vi.stubEnv("LOG_LEVEL", "info");

    const store = await setupStore();
    const context = store.forStore();
    // A stdio server gets only the env it is given (never the store's whole environment).
    await context.addService(
      stdioFixtureConfig("db-tools", { env: { DATABASE_URL: process.env.DATABASE_URL!, LOG_LEVEL: process.env.LOG_LEVEL! } }),
    );
    await context.waitService("db-tools", WAIT);
    expect(textOf(await context.callTool("db-tools_env", { name: "DATABASE_URL" }))).toBe(databaseUrl);
    expect(textOf(await context.callTool("db-tools_env", { name: "LOG_LEVEL" }))).toBe("info");
    expect(textOf(await context.callTool("db-tools_env", { name: "WEATHER_API_TOKEN" }))).toBe("");

    const shown = JSON.stringify([await context.listServices(), await context.getService("db-tools")]);
    expect(shown).not.toContain(databaseUrl);
    expect((await context.getService("db-tools")).config.env).toEqual({ DATABASE_URL: "***", LOG_LEVEL: "***" });
  });
});

// ---------------------------------------------------------------------------------------------------------------
// 🚀 性能优化最佳实践 (performance)
// ---------------------------------------------------------------------------------------------------------------
describe("seed 性能优化 · 1. 缓存策略 (cache first)", () => {
  it("listServices() and listTools() answer from the cache: fast, and without a request to any server", async () => {
    const [small, large] = await Promise.all([httpFixture(), httpFixture({ extraTools: 200 })]);
    const store = await setupStore({ monitoring: monitoringPresets.development });
    await store.forStore().addService([
      { name: "small", url: small.url },
      { name: "large", url: large.url },
    ]);
    await store.forStore().waitService("small", WAIT);
    await store.forStore().waitService("large", WAIT);

    const requestsBefore = small.receivedHeaders.length + large.receivedHeaders.length;
    let slowestMs = 0;
    const timed = async <T>(read: () => Promise<T>): Promise<T> => {
      const started = performance.now();
      const value = await read();
      slowestMs = Math.max(slowestMs, performance.now() - started);
      return value;
    };
    let services = await timed(() => store.forStore().listServices()); // < 100ms
    let tools = await timed(() => store.forStore().listTools()); // < 100ms
    for (let round = 0; round < 20; round++) {
      services = await timed(() => store.forStore().listServices());
      tools = await timed(() => store.forStore().listTools());
    }

    expect(services.map((service) => service.name)).toEqual(["small", "large"]);
    expect(tools.filter((tool) => tool.serviceName === "large").length).toBeGreaterThanOrEqual(200);
    expect(tools.some((tool) => tool.name === "small_echo")).toBe(true);
    // Every read took less than the seed's 100 ms.
    expect(slowestMs).toBeLessThan(100);
    // No read touched the network.
    expect(small.receivedHeaders.length + large.receivedHeaders.length).toBe(requestsBefore);
  });

  it("batchAddServices(servicesConfig) adds service1..3 and reports each", async () => {
    // Seed: https://api1.com/mcp, https://api2.com/mcp, https://api3.com/mcp → three HTTP fixtures.
    const [api1, api2, api3] = await Promise.all([
      httpFixture({ name: "api1" }),
      httpFixture({ name: "api2" }),
      httpFixture({ name: "api3" }),
    ]);
    const servicesConfig: ServiceConfig[] = [
      { name: "service1", url: api1.url },
      { name: "service2", url: api2.url },
      { name: "service3", url: api3.url },
    ];
    const store = await setupStore();
    const result = await store.forStore().batchAddServices(servicesConfig);

    expect(result.success).toBe(true);
    expect(result.results.map((entry) => [entry.name, entry.success])).toEqual([
      ["service1", true],
      ["service2", true],
      ["service3", true],
    ]);
    const infos = await Promise.all(servicesConfig.map((config) => store.forStore().waitService(config.name, WAIT)));
    expect(infos.map((info) => info.serverInfo?.name)).toEqual(["api1", "api2", "api3"]);
    const toolNames = (await store.forStore().listTools()).map((tool) => tool.name);
    expect(toolNames).toEqual(expect.arrayContaining(["service1_echo", "service2_echo", "service3_echo"]));
  });

  it("batchAddServices: one bad service never keeps the others out", async () => {
    const api = await httpFixture();
    const store = await setupStore();
    const result = await store.forStore().batchAddServices([
      { name: "service1", url: api.url },
      { name: "service2" } as ServiceConfig, // neither url nor command
      { name: "service1", url: api.url }, // name taken
      { name: "service3", url: api.url },
    ]);
    expect(result.success).toBe(false);
    expect(result.results.map((entry) => [entry.name, entry.success])).toEqual([
      ["service1", true],
      ["service2", false],
      ["service1", false],
      ["service3", true],
    ]);
    const [, bad, taken] = result.results;
    expect(bad?.success === false && bad.error.code).toBe("VALIDATION_ERROR");
    expect(taken?.success === false && taken.error.code).toBe("SERVICE_EXISTS");
    expect((await store.forStore().listServices()).map((service) => service.name)).toEqual(["service1", "service3"]);
  });
});

describe("seed 性能优化 · 2. 异步操作 (asyncio.gather → Promise.all)", () => {
  const cities = ["北京", "上海", "广州"];

  // Seed: context.call_tool_async("weather_get_current", {"city": city}). Stand-in: the fixture service `weather`,
  // whose `echo` tool answers with its `text` argument: weather_echo({ text: city }).
  async function efficientToolCalls(context: ServiceContext): Promise<ToolCallResult[]> {
    const tasks = cities.map((city) => context.callTool("weather_echo", { text: city }));
    return Promise.all(tasks);
  }
  async function inefficientToolCalls(context: ServiceContext): Promise<ToolCallResult[]> {
    const results: ToolCallResult[] = [];
    for (const city of cities) results.push(await context.callTool("weather_echo", { text: city }));
    return results;
  }

  let store: MCPStore;
  let context: ServiceContext;
  beforeAll(async () => {
    store = await MCPStore.setupStore({ mcpConfigFile: false, logger: quietLogger });
    context = store.forStore();
    await context.addService(stdioFixtureConfig("weather"));
    await context.waitService("weather", WAIT);
  });
  afterAll(() => store?.close());

  it("concurrent calls return each city's result, in order, like the serial ones", async () => {
    const concurrent = await efficientToolCalls(context);
    expect(concurrent.map(textOf)).toEqual(cities);
    expect(concurrent.every((result) => !result.isError)).toBe(true);
    expect((await inefficientToolCalls(context)).map(textOf)).toEqual(cities);
  });

  it("the calls really run concurrently on one connection", async () => {
    // Three 400 ms calls: together they take about 400 ms, one after another at least 1200 ms.
    let started = performance.now();
    const results = await Promise.all(cities.map(() => context.callTool("weather_sleep", { ms: 400 })));
    const concurrentMs = performance.now() - started;
    expect(results.map(textOf)).toEqual(["slept 400", "slept 400", "slept 400"]);

    started = performance.now();
    for (const _city of cities) await context.callTool("weather_sleep", { ms: 400 });
    const serialMs = performance.now() - started;

    expect(serialMs).toBeGreaterThanOrEqual(1200);
    expect(concurrentMs).toBeLessThan(900);
  });
});

describe("seed 性能优化 · 3. 连接管理 (connection timeout)", () => {
  it("external-api with timeout: 30 and the seed's keep-alive headers connects and answers", async () => {
    // Seed: https://api.example.com/mcp → an HTTP fixture. fetch rejects hop-by-hop headers such as Keep-Alive, so the
    // store drops them (connections are pooled and kept alive anyway); the config keeps them as written.
    const api = await httpFixture({ name: "external" });
    const serviceConfig: ServiceConfig = {
      name: "external-api",
      url: api.url,
      timeout: 30, // 30秒超时
      headers: {
        Connection: "keep-alive", // 保持连接
        "Keep-Alive": "timeout=60",
      },
    };
    const store = await setupStore();
    await store.forStore().addService(serviceConfig);
    const info = await store.forStore().waitService("external-api", WAIT);
    expect(info.config.timeout).toBe(30);
    expect(Object.keys(info.config.headers ?? {})).toEqual(["Connection", "Keep-Alive"]);
    expect(api.receivedHeaders.length).toBeGreaterThan(0);
    expect(api.receivedHeaders.every((headers) => headers["keep-alive"] === undefined)).toBe(true);
    expect(textOf(await store.forStore().callTool("external-api_echo", { text: "pong" }))).toBe("pong");
  });

  it("the service's `timeout` (seconds) bounds each call; a per-call timeoutMs overrides it", async () => {
    const api = await httpFixture({ name: "slow" });
    const store = await setupStore();
    const context = store.forStore();
    await context.addService({ name: "external-api", url: api.url, timeout: 0.5 });
    await context.waitService("external-api", WAIT);

    expect(textOf(await context.callTool("external-api_sleep", { ms: 50 }))).toBe("slept 50");
    const started = performance.now();
    await expect(context.callTool("external-api_sleep", { ms: 5_000 })).rejects.toBeInstanceOf(TimeoutError);
    expect(performance.now() - started).toBeLessThan(3_000);
    // The per-call option wins over the service's timeout.
    expect(textOf(await context.callTool("external-api_sleep", { ms: 800 }, { timeoutMs: 5_000 }))).toBe("slept 800");
  });
});

// ---------------------------------------------------------------------------------------------------------------
// 🔒 安全最佳实践 (security)
// ---------------------------------------------------------------------------------------------------------------
describe("seed 安全 · 1. 敏感信息管理 (secrets from environment variables)", () => {
  /** Seed: api_token = os.getenv("API_TOKEN"); raise if missing; headers {"Authorization": f"Bearer {api_token}"}. */
  function secureApiConfig(url: string): ServiceConfig {
    const apiToken = process.env.API_TOKEN;
    if (!apiToken) throw new Error("API_TOKEN environment variable is required");
    return { name: "secure-api", url, headers: { Authorization: `Bearer ${apiToken}` } };
  }

  it("the token from API_TOKEN is sent to the server and never shown", async () => {
    vi.stubEnv("API_TOKEN", "");
    expect(() => secureApiConfig("http://127.0.0.1:1/mcp")).toThrow("API_TOKEN environment variable is required");

    const apiToken = `secret-${randomUUID()}`;
    vi.stubEnv("API_TOKEN", apiToken);
    // https://secure-api.com/mcp → an HTTP fixture that rejects any other token with 401.
    const secureApi = await httpFixture({ name: "secure", requireHeaders: { authorization: `Bearer ${apiToken}` } });
    const store = await setupStore();
    const context = store.forStore();
    await context.addService(secureApiConfig(secureApi.url));
    await context.waitService("secure-api", WAIT);

    expect(secureApi.receivedHeaders.length).toBeGreaterThan(0);
    expect(secureApi.receivedHeaders.every((headers) => headers.authorization === `Bearer ${apiToken}`)).toBe(true);
    expect(textOf(await context.callTool("secure-api_echo", { text: "authorised" }))).toBe("authorised");

    const service = await context.getService("secure-api");
    expect(service.config.headers).toEqual({ Authorization: "***" });
    const shown = JSON.stringify([service, await context.listServices(), await context.listTools(), await context.checkServices()]);
    expect(shown).not.toContain(apiToken);

    // A tool error that echoes the secret is scrubbed before it reaches the caller.
    const failure = await context.callTool("secure-api_fail", { message: `rejected token ${apiToken}` }, { throwOnError: true }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ToolExecutionError);
    expect((failure as Error).message).not.toContain(apiToken);
  });

  it("a rejected token does not leak into the state, lastError or error messages", async () => {
    const rightToken = `right-${randomUUID()}`;
    const wrongToken = `wrong-${randomUUID()}`;
    vi.stubEnv("API_TOKEN", wrongToken);
    const secureApi = await httpFixture({ name: "secure", requireHeaders: { authorization: `Bearer ${rightToken}` } });
    const store = await setupStore({ monitoring: { maxReconnectAttempts: 1, reconnectionSeconds: 0.2 }, connectTimeoutMs: 3_000 });
    const context = store.forStore();
    await context.addService(secureApiConfig(secureApi.url));

    const waitError = await context.waitService("secure-api", { timeoutMs: 5_000 }).catch((error: unknown) => error);
    expect(MCPStoreError.isInstance(waitError)).toBe(true);
    expect(secureApi.receivedHeaders.some((headers) => headers.authorization === `Bearer ${wrongToken}`)).toBe(true);

    const service = await context.getService("secure-api");
    expect(service.state).not.toBe("healthy");
    const callError = await context.callTool("secure-api_echo", { text: "x" }).catch((error: unknown) => error);
    expect(MCPStoreError.isInstance(callError)).toBe(true);
    const shown = [
      (waitError as Error).message,
      (callError as Error).message,
      JSON.stringify(service),
      JSON.stringify(await context.listServices()),
      JSON.stringify(await context.checkServices()),
    ].join("\n");
    expect(shown).not.toContain(wrongToken);
  });
});

describe("seed 安全 · 2. 访问控制 (create_restricted_agent)", () => {
  it("each restricted agent gets only its allowed services", async () => {
    // Seed's get_service_config(service_name): a catalogue of known services. Their real hosts are HTTP fixtures
    // (search-api, wikipedia, arxiv, database, chart-generator) and a stdio fixture (calculator).
    const remote = await httpFixture({ name: "shared" });
    const knownServices: Record<string, ServiceConfig> = {
      "search-api": { name: "search-api", url: remote.url },
      wikipedia: { name: "wikipedia", url: remote.url },
      arxiv: { name: "arxiv", url: remote.url },
      database: { name: "database", url: remote.url },
      calculator: stdioFixtureConfig("calculator"),
      "chart-generator": { name: "chart-generator", url: remote.url },
    };
    const getServiceConfig = (serviceName: string): ServiceConfig => {
      const config = knownServices[serviceName];
      if (!config) throw new Error(`Unknown service ${serviceName}`);
      return config;
    };

    async function createRestrictedAgent(store: MCPStore, agentId: string, allowedServices: string[]): Promise<ServiceContext> {
      const agentContext = store.forAgent(agentId);
      // 只添加允许的服务
      for (const serviceName of allowedServices) {
        await agentContext.addService(getServiceConfig(serviceName));
      }
      return agentContext;
    }

    const store = await setupStore();
    const researchAgent = await createRestrictedAgent(store, "research_agent", ["search-api", "wikipedia", "arxiv"]);
    const analysisAgent = await createRestrictedAgent(store, "analysis_agent", ["database", "calculator", "chart-generator"]);
    await Promise.all([
      ...["search-api", "wikipedia", "arxiv"].map((name) => researchAgent.waitService(name, WAIT)),
      ...["database", "calculator", "chart-generator"].map((name) => analysisAgent.waitService(name, WAIT)),
    ]);

    expect((await researchAgent.listServices()).map((service) => service.name)).toEqual(["search-api", "wikipedia", "arxiv"]);
    expect((await analysisAgent.listServices()).map((service) => service.name)).toEqual(["database", "calculator", "chart-generator"]);
    const researchServices = new Set((await researchAgent.listTools()).map((tool) => tool.serviceName));
    expect([...researchServices].sort()).toEqual(["arxiv", "search-api", "wikipedia"]);

    // The analysis agent may calculate; the research agent may not, by full or bare name, nor see the service.
    const sum = await analysisAgent.callTool("calculator_add", { a: 2, b: 3 });
    expect(sum.structuredContent).toEqual({ sum: 5 });
    await expect(researchAgent.callTool("calculator_add", { a: 2, b: 3 })).rejects.toBeInstanceOf(ToolNotFoundError);
    await expect(researchAgent.getService("calculator")).rejects.toBeInstanceOf(ServiceNotFoundError);
    await expect(researchAgent.listTools({ service: "database" })).rejects.toBeInstanceOf(ServiceNotFoundError);
    await expect(analysisAgent.callTool("wikipedia_echo", { text: "x" })).rejects.toBeInstanceOf(ToolNotFoundError);
    expect(textOf(await researchAgent.callTool("wikipedia_echo", { text: "MCP" }))).toBe("MCP");

    // Nothing leaks into the store scope; listAgents (store scope only) sees both agents.
    expect(await store.forStore().listServices()).toEqual([]);
    await expect(researchAgent.listAgents()).rejects.toBeInstanceOf(ValidationError);
    const agents = await store.forStore().listAgents();
    expect(agents.map((agent) => [agent.agentId, agent.serviceCount]).sort()).toEqual([
      ["analysis_agent", 3],
      ["research_agent", 3],
    ]);
  });

  it("an agent id that is not ^[A-Za-z0-9_-]{1,64}$ is a ValidationError", async () => {
    const store = await setupStore();
    for (const bad of ["../other_agent", "a b", "", "x".repeat(65)]) {
      expect(() => store.forAgent(bad)).toThrow(ValidationError);
    }
  });
});

describe("seed 安全 · 3. 输入验证 (safe_tool_call)", () => {
  const errors: string[] = [];
  const logger = { error: (message: string) => void errors.push(message) };

  /** Seed's safe_tool_call, translated. */
  async function safeToolCall(context: ServiceContext, toolName: string, args: unknown): Promise<ToolCallResult> {
    // ✅ 验证工具名称
    const availableTools = new Set((await context.listTools()).map((tool) => tool.name));
    if (!availableTools.has(toolName)) throw new Error(`Tool ${toolName} not available`);
    // ✅ 验证参数
    if (args === null || typeof args !== "object" || Array.isArray(args)) throw new TypeError("Arguments must be a dictionary");
    // ✅ 参数清理
    const cleanedArgs = Object.fromEntries(Object.entries(args).filter(([key]) => !key.startsWith("_")));
    try {
      return await context.callTool(toolName, cleanedArgs);
    } catch (error) {
      // ✅ 记录错误但不暴露敏感信息
      logger.error(`Tool call failed: ${toolName}`);
      throw new Error("Tool execution failed", { cause: error });
    }
  }

  it("checks the tool name, the argument type, strips _keys, and wraps failures", async () => {
    const api = await httpFixture({ name: "safe" });
    const store = await setupStore();
    const context = store.forStore();
    await context.addService({ name: "tools", url: api.url });
    await context.waitService("tools", WAIT);

    await expect(safeToolCall(context, "tools_missing", {})).rejects.toThrow("Tool tools_missing not available");
    await expect(safeToolCall(context, "tools_echo", ["not", "a", "dict"])).rejects.toBeInstanceOf(TypeError);
    await expect(safeToolCall(context, "tools_echo", "text")).rejects.toBeInstanceOf(TypeError);

    // `_internal` is stripped before the call.
    const result = await safeToolCall(context, "tools_echo", { text: "clean", _internal: "drop me" });
    expect(textOf(result)).toBe("clean");

    // Bad arguments: the store's own check fails (a ValidationError naming the field), wrapped by safeToolCall.
    errors.length = 0;
    const failure = await safeToolCall(context, "tools_add", { a: "2", b: 3 }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).message).toBe("Tool execution failed");
    const cause = (failure as Error).cause;
    expect(cause).toBeInstanceOf(ValidationError);
    expect((cause as ValidationError).details?.issues).toEqual([expect.objectContaining({ path: "a" })]);
    expect(errors).toEqual(["Tool call failed: tools_add"]);
  });

  it("the store validates arguments itself before anything is sent to the server", async () => {
    const api = await httpFixture({ name: "strict" });
    const store = await setupStore();
    const context = store.forStore();
    await context.addService({ name: "tools", url: api.url });
    await context.waitService("tools", WAIT);

    const requestsBefore = api.receivedHeaders.length;
    await expect(context.callTool("tools_add", [1, 2] as unknown as Record<string, unknown>)).rejects.toBeInstanceOf(ValidationError);
    await expect(context.callTool("tools_add", { a: 1 })).rejects.toBeInstanceOf(ValidationError);
    await expect(context.callTool("tools_echo", { text: 42 })).rejects.toBeInstanceOf(ValidationError);
    await expect(context.callTool("tools_nope", {})).rejects.toBeInstanceOf(ToolNotFoundError);
    expect(api.receivedHeaders.length).toBe(requestsBefore);

    const sum = await context.callTool("tools_add", { a: 1, b: 2 });
    expect(sum.structuredContent).toEqual({ sum: 3 });
    expect(api.receivedHeaders.length).toBeGreaterThan(requestsBefore);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// 🔧 错误处理最佳实践 (error handling)
// ---------------------------------------------------------------------------------------------------------------
describe("seed 错误处理 · 1. 分层错误处理 (safe_call_tool)", () => {
  // The whole MCPStoreManager, the retry decorator `retry_on_failure` and `RobustMCPStore` are ported in
  // seed-guide.test.ts; here only the shape of safe_call_tool, with a ValidationError branch added: our store checks
  // the arguments against the tool's schema before anything is sent.
  it("a result, or null with one log line per branch: ValidationError, ToolNotFoundError, ToolExecutionError", async () => {
    const lines: Array<{ level: string; message: string }> = [];
    async function safeCallTool(context: ServiceContext, toolName: string, args: Record<string, unknown>): Promise<ToolCallResult | null> {
      try {
        // The seed's call_tool raises on a tool's error result; ours does with throwOnError.
        return await context.callTool(toolName, args, { throwOnError: true });
      } catch (error) {
        if (ValidationError.isInstance(error)) lines.push({ level: "warning", message: `Arguments of ${toolName} invalid: ${error.message}` });
        else if (ToolNotFoundError.isInstance(error)) lines.push({ level: "warning", message: `Tool ${toolName} not found` });
        else if (ToolExecutionError.isInstance(error)) lines.push({ level: "error", message: `Tool ${toolName} execution failed: ${error.message}` });
        else lines.push({ level: "error", message: `Unexpected error calling tool ${toolName}: ${(error as Error).message}` });
        return null;
      }
    }

    const weather = await httpFixture({ name: "weather" });
    const context = (await setupStore()).forStore();
    await context.addService({ name: "weather", url: weather.url }, { wait: WAIT });

    expect(textOf((await safeCallTool(context, "weather_echo", { text: "北京" }))!)).toBe("北京");
    expect(lines).toEqual([]);
    expect(await safeCallTool(context, "weather_echo", { text: 42 })).toBeNull();
    expect(await safeCallTool(context, "weather_get_forecast", {})).toBeNull();
    expect(await safeCallTool(context, "weather_fail", { message: "no data for Atlantis" })).toBeNull();
    expect(lines).toEqual([
      { level: "warning", message: expect.stringMatching(/^Arguments of weather_echo invalid: .*text/) },
      { level: "warning", message: "Tool weather_get_forecast not found" },
      { level: "error", message: expect.stringMatching(/^Tool weather_fail execution failed: .*no data for Atlantis/) },
    ]);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// 📊 监控和日志最佳实践 (monitoring and logging)
// ---------------------------------------------------------------------------------------------------------------

/** A logger that keeps JSON lines, in the format of `createConsoleLogger` (level, time, msg, then the fields). */
function jsonLinesLogger(): Logger & { entries: () => Array<Record<string, unknown>> } {
  const lines: string[] = [];
  const write = (level: string) => (fields: Record<string, unknown>, message: string) =>
    void lines.push(JSON.stringify({ level, time: new Date().toISOString(), msg: message, ...fields }));
  return {
    debug: write("debug"),
    info: write("info"),
    warn: write("warn"),
    error: write("error"),
    entries: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

describe("seed 监控和日志 · 1. 结构化日志 (StructuredLogger)", () => {
  /** Seed's StructuredLogger, over a {@link Logger}: the JSON goes in the fields, one line per entry. */
  class StructuredLogger {
    constructor(private readonly logger: Logger) {}
    logServiceEvent(eventType: string, serviceName: string, details: Record<string, unknown>): void {
      this.logger.info({ timestamp: new Date().toISOString(), event_type: eventType, service_name: serviceName, details }, eventType);
    }
    logToolCall(toolName: string, args: Record<string, unknown>, result: unknown, durationSeconds: number): void {
      this.logger.info(
        {
          timestamp: new Date().toISOString(),
          event_type: "tool_call",
          tool_name: toolName,
          args_count: Object.keys(args).length,
          success: result !== null,
          duration_ms: Math.round(durationSeconds * 1000 * 100) / 100,
        },
        "tool_call",
      );
    }
  }

  it("monitored_tool_call and the store's state changes, as JSON lines with structured fields", async () => {
    const output = jsonLinesLogger();
    const logger = new StructuredLogger(output);
    async function monitoredToolCall(context: ServiceContext, toolName: string, args: Record<string, unknown>): Promise<ToolCallResult> {
      const startTime = performance.now();
      try {
        const result = await context.callTool(toolName, args, { throwOnError: true });
        logger.logToolCall(toolName, args, result, (performance.now() - startTime) / 1000);
        return result;
      } catch (error) {
        logger.logToolCall(toolName, args, null, (performance.now() - startTime) / 1000);
        throw error;
      }
    }

    const weather = await httpFixture({ name: "weather" });
    // The same logger is the store's: its own entries are JSON lines too.
    const store = await setupStore({ logger: output });
    store.on("service:state-changed", (event) => logger.logServiceEvent("state_changed", event.serviceName, { previous: event.previous, state: event.state }));
    const context = store.forStore();
    await context.addService({ name: "weather", url: weather.url }, { wait: WAIT });
    await monitoredToolCall(context, "weather_sleep", { ms: 30 });
    await expect(monitoredToolCall(context, "weather_fail", {})).rejects.toBeInstanceOf(ToolExecutionError);

    const entries = output.entries();
    expect(entries.every((entry) => typeof entry.level === "string" && typeof entry.msg === "string" && !Number.isNaN(Date.parse(String(entry.time))))).toBe(true);
    expect(entries).toContainEqual(
      expect.objectContaining({ level: "info", event_type: "state_changed", service_name: "weather", details: expect.objectContaining({ state: "healthy" }) }),
    );
    const calls = entries.filter((entry) => entry.event_type === "tool_call");
    expect(calls).toEqual([
      expect.objectContaining({ tool_name: "weather_sleep", args_count: 1, success: true }),
      expect.objectContaining({ tool_name: "weather_fail", args_count: 0, success: false }),
    ]);
    expect(calls[0]!.duration_ms).toBeGreaterThanOrEqual(25);
  });

  it("the store logs structured fields of its own: a transport fallback names service, transport and fallback", async () => {
    // No `transport`, on an SSE-only server: Streamable HTTP is tried first, then SSE (logged at info).
    const analysis = await httpFixture({ name: "analysis", transports: "sse" });
    const output = jsonLinesLogger();
    const context = (await setupStore({ logger: output })).forStore();
    await context.addService({ name: "analysis-tools", url: analysis.sseUrl }, { wait: WAIT });
    expect((await context.getService("analysis-tools")).transport).toBe("sse");
    expect(output.entries()).toContainEqual(
      expect.objectContaining({ level: "info", service: "analysis-tools", transport: "streamable-http", fallback: "sse", msg: expect.stringContaining("falling back") }),
    );
  });

  it("createConsoleLogger writes one JSON line per entry on stderr, at its level and above", () => {
    const written: string[] = [];
    const spy = vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => (written.push(String(chunk)), true));
    try {
      const logger = createConsoleLogger("info");
      logger.debug({ service: "weather" }, "not written");
      logger.info({ service: "weather", durationMs: 12 }, "tool call done");
    } finally {
      spy.mockRestore();
    }
    expect(written).toHaveLength(1);
    expect(written[0]!.endsWith("\n")).toBe(true);
    expect(JSON.parse(written[0]!)).toEqual({ level: "info", time: expect.any(String), msg: "tool call done", service: "weather", durationMs: 12 });
  });
});

describe("seed 监控和日志 · 2. 健康检查端点 (health_check, detailed_health_check)", () => {
  // The HTTP endpoints (`GET /health`, `/health/detailed`) are @mcpstore/server's, tested in
  // packages/server/test/health.test.ts; here the seed's two handlers as functions over the core API.
  async function healthCheck(store: MCPStore) {
    const context = store.forStore();
    const services = await context.listServices();
    const tools = await context.listTools();
    return { status: "healthy", timestamp: new Date().toISOString(), services_count: services.length, tools_count: tools.length };
  }
  async function detailedHealthCheck(store: MCPStore) {
    const healthResult = await store.forStore().checkServices();
    return { status: healthResult.success ? "healthy" : "unhealthy", timestamp: new Date().toISOString(), details: healthResult };
  }

  it("counts and checkServices() details: healthy with a live server, unhealthy once one is down", async () => {
    const weather = await httpFixture({ name: "weather" });
    const store = await setupStore({ monitoring: { reconnectionSeconds: 30 } });
    const context = store.forStore();
    await context.addService({ name: "weather", url: weather.url }, { wait: WAIT });

    const basic = await healthCheck(store);
    expect(basic).toEqual({ status: "healthy", timestamp: expect.any(String), services_count: 1, tools_count: (await context.listTools()).length });
    expect(basic.tools_count).toBeGreaterThan(0);
    const detailed = await detailedHealthCheck(store);
    expect(detailed).toEqual({
      status: "healthy",
      timestamp: expect.any(String),
      details: { success: true, services: [{ name: "weather", state: "healthy", healthy: true, latencyMs: expect.any(Number) }] },
    });

    // A second service that is no MCP server (it exits at once): listed, and the detailed check says unhealthy.
    await context.addService({ name: "gone", command: "echo", args: ["bye"] });
    await context.waitService("gone", { state: "unreachable", timeoutMs: 10_000 });
    expect((await healthCheck(store)).services_count).toBe(2);
    const unhealthy = await detailedHealthCheck(store);
    expect(unhealthy.status).toBe("unhealthy");
    expect(unhealthy.details.success).toBe(false);
    expect(unhealthy.details.services).toContainEqual(expect.objectContaining({ name: "gone", healthy: false }));
    expect(unhealthy.details.services).toContainEqual(expect.objectContaining({ name: "weather", healthy: true }));
  });
});

// ---------------------------------------------------------------------------------------------------------------
// 🧪 测试最佳实践 (testing)
// ---------------------------------------------------------------------------------------------------------------
describe("seed 测试 · 2. 集成测试 (test_real_service_integration)", () => {
  // The mocked unit tests, and this one in depth (no respawn loop, retry on request), are in seed-pytest.test.ts.
  it("a temporary mcp.json holding `echo Hello, MCP!`: listed, not healthy, lastError says it exited before initialize", async () => {
    const configFile = join(tempDir("mcpstore-seed-integration-"), "mcp.json");
    writeFileSync(configFile, JSON.stringify({ mcpServers: { "test-service": { command: "echo", args: ["Hello, MCP!"] } } }));
    const context = (await setupStore({ mcpConfigFile: configFile, monitoring: { reconnectionSeconds: 30 } })).forStore();

    expect((await context.listServices()).map((service) => service.name)).toEqual(["test-service"]);
    await expect(context.waitService("test-service", { timeoutMs: 10_000 })).rejects.toSatisfy(MCPStoreError.isInstance);
    const info = await context.getService("test-service");
    expect(info.state).not.toBe("healthy");
    expect(info.lastError).toMatch(/exited .*before answering initialize/);
    expect(await context.listTools()).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// 📦 部署最佳实践 (deployment)
// ---------------------------------------------------------------------------------------------------------------
describe("seed 部署 · 1. 容器化部署 / 2. 生产环境配置 (Dockerfile and docker-compose.yml, as text)", () => {
  // No container engine runs here: the files are read, and each of the seed's points checked in them.
  const repositoryRoot = fileURLToPath(new URL("../../../", import.meta.url));
  let dockerfile = "";
  let compose = "";
  beforeAll(async () => {
    [dockerfile, compose] = await Promise.all([readFile(join(repositoryRoot, "Dockerfile"), "utf8"), readFile(join(repositoryRoot, "docker-compose.yml"), "utf8")]);
  });
  /** The instructions of the Dockerfile, continuation lines joined, comments left out. */
  const instructions = () => dockerfile.replace(/\s*\\\n\s*/g, " ").split("\n").filter((line) => line.trim() !== "" && !line.trimStart().startsWith("#"));

  it("Dockerfile: a Node base image, curl, a non-root user with uid 1000, the health check, port 18200, `run api --host 0.0.0.0`", () => {
    const lines = instructions();
    const from = lines.filter((line) => line.startsWith("FROM "));
    expect(from.at(-1)).toMatch(/^FROM node:20[\w.-]*\s*$/); // the seed's python:3.11-slim
    expect(lines).toContainEqual(expect.stringMatching(/^RUN apt-get update && apt-get install -y .*curl.* && rm -rf \/var\/lib\/apt\/lists\/\*/));
    // The image's `node` user has uid 1000; it is renamed mcpstore, as the seed's `useradd -m -u 1000 mcpstore`.
    expect(lines).toContainEqual(expect.stringMatching(/groupmod --new-name mcpstore node .*usermod --login mcpstore/));
    expect(lines).toContain("USER mcpstore");
    expect(lines).toContain("HEALTHCHECK --interval=30s --timeout=10s --start-period=5s --retries=3 CMD curl -f http://localhost:18200/health || exit 1");
    expect(lines).toContain("EXPOSE 18200");
    expect(lines.at(-1)).toBe('CMD ["node", "dist/cli.js", "run", "api", "--host", "0.0.0.0"]');
    expect(lines).toContainEqual(expect.stringMatching(/MCPSTORE_CONFIG=\/app\/config\/mcp\.json/));
    expect(lines).toContainEqual(expect.stringMatching(/LOG_LEVEL=info/));
  });

  it("docker-compose.yml: build, port 18200, the config volume, MCPSTORE_CONFIG / LOG_LEVEL, restart, the /health check, nginx", () => {
    expect(compose).toMatch(/^services:\n {2}mcpstore:\n {4}build: \.$/m);
    // Published on the host's loopback only (the seed: "18200:18200"); nginx is the way in.
    expect(compose).toContain('- "127.0.0.1:18200:18200"');
    // Read-write (the seed: :ro), so that services added through the API are saved.
    expect(compose).toMatch(/^ {6}- \.\/config:\/app\/config$/m);
    expect(compose).toContain("- MCPSTORE_CONFIG=/app/config/mcp.json");
    expect(compose).toContain("- LOG_LEVEL=info");
    expect(compose).toContain("restart: unless-stopped");
    expect(compose).toContain('test: ["CMD", "curl", "-f", "http://localhost:18200/health"]');
    for (const setting of ["interval: 30s", "timeout: 10s", "retries: 3", "start_period: 40s"]) expect(compose).toContain(setting);
    expect(compose).toMatch(/^ {2}nginx:\n {4}image: nginx:alpine$/m);
    for (const mapping of ['"80:80"', '"443:443"', "/etc/nginx/nginx.conf:ro", "./ssl:/etc/nginx/ssl:ro"]) expect(compose).toContain(mapping);
    expect(compose).toMatch(/depends_on:\n {6}mcpstore:\n {8}condition: service_healthy/);
  });

  it("the container's setup: MCPSTORE_CONFIG names the file, with the production preset", async () => {
    // As in the image: MCPSTORE_CONFIG=/app/config/mcp.json, here config/mcp.json in a temporary directory, created
    // as the compose file's comment says (`{ "mcpServers": {} }`); setupStore is given no path.
    const server = await httpFixture({ name: "prod" });
    const configFile = join(tempDir("mcpstore-container-"), "config/mcp.json");
    mkdirSync(dirname(configFile), { recursive: true });
    writeFileSync(configFile, '{ "mcpServers": {} }\n');
    vi.stubEnv("MCPSTORE_CONFIG", configFile);
    const store = await MCPStore.setupStore({ logger: quietLogger, monitoring: monitoringPresets.production });
    cleanups.push(() => store.close());
    expect(monitoringPresets.production).toMatchObject({ healthCheckSeconds: 60, toolsUpdateHours: 4, reconnectionSeconds: 120, cleanupHours: 24 });

    await store.forStore().addService({ name: "tools", url: server.url }, { wait: WAIT });
    expect(JSON.parse(await readFile(configFile, "utf8")).mcpServers.tools.url).toBe(server.url);
    expect((await store.forStore().checkServices()).success).toBe(true);
  });
});

describe("seed 部署 · 3. 监控和告警 (MCPStoreMetrics)", () => {
  // The seed's Prometheus metrics (mcpstore_active_services, mcpstore_tool_calls_total{tool_name,status},
  // mcpstore_response_time_seconds{operation}, ...) are @mcpstore/plugin-prometheus's, tested in that package. Here:
  // the store events such a plugin is built on fire for real calls, with what record_tool_call needs.
  it("tool:call-end carries durationMs and isError; service:state-changed gives the active-services gauge", async () => {
    const weather = await httpFixture({ name: "weather" });
    const store = await setupStore();
    const toolCalls = new Map<string, number>(); // mcpstore_tool_calls_total{tool_name,status}
    const responseTimesSeconds: number[] = []; // mcpstore_response_time_seconds{operation="tool_call"}
    const states = new Map<string, string>();
    const unsubscribers = [
      store.on("tool:call-end", (event) => {
        const key = `${event.toolName}|${event.isError ? "error" : "success"}`;
        toolCalls.set(key, (toolCalls.get(key) ?? 0) + 1);
        responseTimesSeconds.push(event.durationMs / 1000);
      }),
      store.on("service:state-changed", (event) => void states.set(event.serviceName, event.state)),
    ];
    onTestFinished(() => unsubscribers.forEach((unsubscribe) => unsubscribe()));
    const activeServices = () => [...states.values()].filter((state) => state === "healthy").length; // mcpstore_active_services

    const context = store.forStore();
    await context.addService({ name: "weather", url: weather.url }, { wait: WAIT });
    expect(activeServices()).toBe(1);
    await context.callTool("weather_sleep", { ms: 50 });
    await context.callTool("weather_echo", { text: "北京" });
    await context.callTool("weather_fail", {});

    expect(Object.fromEntries(toolCalls)).toEqual({ "weather_sleep|success": 1, "weather_echo|success": 1, "weather_fail|error": 1 });
    expect(responseTimesSeconds).toHaveLength(3);
    expect(responseTimesSeconds[0]).toBeGreaterThanOrEqual(0.045);
    await context.removeService("weather");
    await vi.waitFor(() => expect(activeServices()).toBe(0), { timeout: 5_000 });
  });
});
