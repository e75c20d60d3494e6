import { execFile, spawn } from "node:child_process";
import { chmod, chown, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { stdioFixtureConfig } from "@mcpstore/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConfigFileError, MCPStore, ServiceExistsError, type SetupStoreOptions } from "../src/index.js";
import { captureLogger } from "./helpers.js";

const here = dirname(fileURLToPath(import.meta.url));
const run = promisify(execFile);
const fixture = stdioFixtureConfig("x");
const unreachable = { url: "http://127.0.0.1:9/mcp", transport: "streamable-http" as const };

let directory: string;
let file: string;
const stores: MCPStore[] = [];

beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), "mcpstore-config-"));
  file = join(directory, "mcp.json");
});
afterEach(async () => {
  await Promise.all(stores.splice(0).map((store) => store.close()));
  await rm(directory, { recursive: true, force: true });
});

async function open(options: SetupStoreOptions = {}) {
  const store = await MCPStore.setupStore({ mcpConfigFile: file, logger: captureLogger(), monitoring: { enableReconnection: false }, ...options });
  stores.push(store);
  return store;
}

const readJson = async (path = file) => JSON.parse(await readFile(path, "utf8")) as Record<string, any>;
const text = (result: { content: Array<{ type: string; text?: string }> }) => result.content.map((part) => part.text).join("");

async function until<T>(read: () => Promise<T>, accept: (value: T) => boolean, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (accept(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

// The seed's example file, with its remote service moved to a closed port of this machine: the store connects to what it
// loads, and a test must not send a packet (nor a DNS query) off it.
const SEED_FILE = `{
  "mcpServers": {
    "weather-api": {
      "url": "http://127.0.0.1:9/mcp",
      "transport": "streamable-http",
      "headers": {
        "Authorization": "Bearer \${WEATHER_API_TOKEN}",
        "User-Agent": "MCPStore/1.0"
      },
      "timeout": 30,
      "description": "天气查询服务 - 提供全球天气信息",
      "tags": ["weather", "external-api"],
      "contact": "weather-team@example.com"
    },
    "local-filesystem": {
      "command": "npx",
      "args": ["-y", "@modelcontextprotocol/server-filesystem", "/workspace"],
      "env": {
        "LOG_LEVEL": "info"
      },
      "working_dir": "/workspace",
      "description": "本地文件系统操作",
      "tags": ["filesystem", "local"]
    }
  },
  "version": "1.0.0",
  "description": "Production MCPStore configuration",
  "metadata": {
    "environment": "production",
    "team": "ai-platform",
    "last_updated": "2024-01-01T00:00:00Z"
  }
}
`;

describe("the seed's mcp.json", () => {
  it("loads as it is, with both services, and survives a rewrite byte for byte outside the change", async () => {
    // No network and no downloads here: a stand-in `npx` on PATH runs the filesystem server from node_modules.
    const bin = join(directory, "bin");
    await mkdir(bin);
    const server = join(here, "../node_modules/@modelcontextprotocol/server-filesystem/dist/index.js");
    await writeFile(join(bin, "npx"), `#!/bin/sh\nshift 2\nexec "${process.execPath}" "${server}" "$@"\n`, { mode: 0o755 });
    const previousPath = process.env.PATH;
    process.env.PATH = `${bin}:${previousPath}`;
    process.env.WEATHER_API_TOKEN = "seed-token-value";
    try {
      await writeFile(file, SEED_FILE);
      const store = await open();
      const context = store.forStore();
      const services = await context.listServices();
      expect(services.map((service) => service.name)).toEqual(["weather-api", "local-filesystem"]);
      expect(store.getConfigStatus()).toEqual({ path: file, problems: [] });
      const weather = await context.getService("weather-api");
      expect(weather.config).toMatchObject({ timeout: 30, tags: ["weather", "external-api"], contact: "weather-team@example.com" });
      expect(weather.config.headers).toEqual({ Authorization: "Bearer ${WEATHER_API_TOKEN}", "User-Agent": "***" });
      // /workspace does not exist on a test machine: the service fails with that reason, the store stays up.
      const filesystem = await until(() => context.getService("local-filesystem"), (info) => info.state !== "initializing");
      expect(filesystem.config).toMatchObject({ command: "npx", working_dir: "/workspace", description: "本地文件系统操作" });
      expect(["healthy", "unreachable"]).toContain(filesystem.state);
      await context.addService({ name: "extra", ...unreachable });
      const rewritten = await readFile(file, "utf8");
      expect(rewritten.replace(/,\n    "extra": \{[^}]*\}/, "")).toBe(SEED_FILE);
      expect(rewritten).not.toContain("seed-token-value");
    } finally {
      process.env.PATH = previousPath;
      delete process.env.WEATHER_API_TOKEN;
    }
  });

  it("runs the filesystem service end to end when its directory exists", async () => {
    const workspace = join(directory, "workspace");
    await mkdir(workspace);
    await writeFile(join(workspace, "hello.txt"), "hi");
    const server = join(here, "../node_modules/@modelcontextprotocol/server-filesystem/dist/index.js");
    const seed = JSON.parse(SEED_FILE);
    seed.mcpServers["local-filesystem"] = { ...seed.mcpServers["local-filesystem"], command: process.execPath, args: [server, workspace], working_dir: workspace };
    await writeFile(file, JSON.stringify(seed, null, 2));
    const context = (await open()).forStore();
    await context.waitService("local-filesystem", { timeoutMs: 20_000 });
    expect(text(await context.callTool("local-filesystem_list_directory", { path: workspace }))).toContain("hello.txt");
  });
});

describe("persistence through the API", () => {
  it("persists add, update, patch and remove, for store and agent services, before the promise resolves", async () => {
    const store = await open();
    await store.forStore().addService({ name: "a", ...unreachable, description: "first" });
    expect((await readJson()).mcpServers.a).toEqual({ ...unreachable, description: "first" });
    await store.forAgent("bot").addService({ name: "b", ...unreachable });
    expect((await readJson()).agents.bot.mcpServers.b).toEqual(unreachable);
    await store.forStore().updateService("a", { ...unreachable, timeout: 5 });
    expect((await readJson()).mcpServers.a).toEqual({ ...unreachable, timeout: 5 });
    await store.forAgent("bot").patchService("b", { tags: ["x"] });
    expect((await readJson()).agents.bot.mcpServers.b).toEqual({ ...unreachable, tags: ["x"] });
    await store.forAgent("bot").removeService("b");
    expect((await readJson()).agents.bot.mcpServers).toEqual({});
    await store.forStore().removeService("a");
    expect((await readJson()).mcpServers).toEqual({});
  });

  it("creates the file (and its directory) on first write, and a second store on it sees the services", async () => {
    file = join(directory, "nested", "deeper", "mcp.json");
    const first = await open();
    expect(await stat(file).catch(() => undefined)).toBeUndefined();
    await first.forStore().addService({ name: "kept", ...unreachable });
    await first.close();
    const second = await open();
    expect((await second.forStore().listServices()).map((service) => service.name)).toEqual(["kept"]);
  });

  it("keeps mode 0600 once the file holds headers or env", async () => {
    const store = await open();
    await store.forStore().addService({ name: "plain", ...unreachable });
    await store.forStore().addService({ name: "secret", ...unreachable, headers: { Authorization: "Bearer ${TOKEN:-x}" } });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it("is mode 0600 from the first write, even without headers or env, and a looser file becomes 0600 when written", async () => {
    const store = await open();
    await store.forStore().addService({ name: "plain", ...unreachable });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    await chmod(file, 0o644);
    await store.forStore().patchService("plain", { tags: ["x"] });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    // No temp file is left beside it.
    expect((await readdir(directory)).filter((name) => name.endsWith(".tmp"))).toEqual([]);
  });

  it("writes all 50 of 50 concurrent addService calls", async () => {
    const context = (await open()).forStore();
    await Promise.all(Array.from({ length: 50 }, (_, index) => context.addService({ name: `s${index}`, ...unreachable })));
    expect(Object.keys((await readJson()).mcpServers).sort()).toEqual(Array.from({ length: 50 }, (_, index) => `s${index}`).sort());
    expect((await readdir(directory)).filter((name) => name.endsWith(".tmp") || name.endsWith(".lock"))).toEqual([]);
  });

  it("two processes adding services to one file at once lose nothing", async () => {
    const writer = join(here, "fixtures/config-writer.mjs");
    await Promise.all([run(process.execPath, [writer, file, "left", "20"]), run(process.execPath, [writer, file, "right", "20"])]);
    const names = Object.keys((await readJson()).mcpServers);
    expect(names).toHaveLength(40);
    for (const side of ["left", "right"]) for (let index = 0; index < 20; index++) expect(names).toContain(`${side}-${index}`);
  });

  it("a store killed with SIGKILL in the middle of 200 writes leaves a file that parses and holds every resolved write (20 times)", async () => {
    const writer = join(here, "fixtures/config-writer.mjs");
    for (let round = 0; round < 20; round++) {
      const roundFile = join(directory, `round-${round}.json`);
      const child = spawn(process.execPath, [writer, roundFile, "w", "200"], { stdio: ["ignore", "pipe", "inherit"] });
      const resolved: number[] = [];
      const killAfter = 5 + Math.floor(Math.random() * 60);
      await new Promise<void>((resolve) => {
        let buffer = "";
        child.stdout.on("data", (chunk: Buffer) => {
          buffer += chunk.toString();
          const lines = buffer.split("\n");
          buffer = lines.pop() ?? "";
          for (const line of lines) resolved.push(Number(line.slice(3)));
          if (resolved.length >= killAfter && child.exitCode === null) child.kill("SIGKILL");
        });
        child.on("exit", () => resolve());
      });
      const document = JSON.parse(await readFile(roundFile, "utf8"));
      for (const index of resolved) expect(document.mcpServers).toHaveProperty(`w-${index}`);
    }
  }, 120_000);

  it("a read-only directory is a clear error, and the in-memory state is unchanged", async () => {
    await writeFile(file, JSON.stringify({ mcpServers: { existing: unreachable } }, null, 2));
    await chmod(directory, 0o555);
    try {
      let outcome: { error?: { code: string; message: string }; services: string[] };
      if (process.getuid?.() === 0) {
        // root writes anywhere: run the store as "nobody", which cannot write this directory.
        await chmod(file, 0o644);
        const script = join(here, "fixtures/readonly-check.mjs");
        const { stdout } = await run(process.execPath, [script, file], { uid: 65534, gid: 65534 });
        outcome = JSON.parse(stdout);
      } else {
        const context = (await open()).forStore();
        const error = (await context.addService({ name: "new-one", ...unreachable }).catch((caught: unknown) => caught)) as ConfigFileError;
        outcome = { error: { code: error.code, message: error.message }, services: (await context.listServices()).map((service) => service.name) };
      }
      expect(outcome.error?.code).toBe("CONFIG_FILE_ERROR");
      expect(outcome.error?.message).toContain(file);
      expect(outcome.error?.message).toMatch(/EACCES|EROFS|permission/i);
      expect(outcome.services).toEqual(["existing"]);
      expect(Object.keys((await readJson()).mcpServers)).toEqual(["existing"]);
    } finally {
      await chmod(directory, 0o755);
    }
  });
});

describe("bad files", () => {
  it.each([
    ["truncated JSON", '{\n  "mcpServers": {\n    "a": {"command": "node"', /mcp\.json:3:\d+: invalid JSON/],
    ["an array at the top", '[{"mcpServers": {}}]', /mcp\.json:1:1: the top level must be an object/],
    ["duplicate keys", '{\n  "mcpServers": {\n    "a": {"command": "node"},\n    "a": {"command": "python"}\n  }\n}', /mcp\.json:4:5: duplicate key "a"/],
  ])("rejects %s with the line and column, and never rewrites the file", async (_label, content, message) => {
    await writeFile(file, content);
    const error = await open().catch((caught: unknown) => caught);
    expect(ConfigFileError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(message);
    expect(await readFile(file, "utf8")).toBe(content);
  });

  it("reports a bad entry with its service and field, skips it, and loads the good ones", async () => {
    await writeFile(
      file,
      JSON.stringify({
        mcpServers: {
          good: unreachable,
          numeric: { command: 42 },
          negative: { ...unreachable, timeout: -1 },
          injected: { ...unreachable, headers: { "X-A": "a\r\nInjected: yes" } },
        },
      }),
    );
    const store = await open();
    expect((await store.forStore().listServices()).map((service) => service.name)).toEqual(["good"]);
    const problems = store.getConfigStatus().problems;
    expect(problems.map((problem) => problem.serviceName)).toEqual(["numeric", "negative", "injected"]);
    expect(problems.map((problem) => problem.issues?.[0]?.path)).toEqual(["mcpServers.numeric.command", "mcpServers.negative.timeout", "mcpServers.injected.headers.X-A"]);
    // The bad entries stay in the file as they were when the store writes.
    await store.forStore().addService({ name: "later", ...unreachable });
    expect((await readJson()).mcpServers.numeric).toEqual({ command: 42 });
  });
});

describe("variables", () => {
  it("expands ${VAR} and ${VAR:-default} when the service starts, and writes back the placeholder", async () => {
    process.env.MCPSTORE_TEST_GREETING = "hello from env";
    try {
      const context = (await open()).forStore();
      await context.addService({ ...fixture, name: "fx", env: { GREETING: "${MCPSTORE_TEST_GREETING}", OTHER: "${MCPSTORE_TEST_UNSET:-fallback}" } });
      await context.waitService("fx", { timeoutMs: 15_000 });
      expect(text(await context.callTool("fx_env", { name: "GREETING" }))).toBe("hello from env");
      expect(text(await context.callTool("fx_env", { name: "OTHER" }))).toBe("fallback");
      expect((await readJson()).mcpServers.fx.env).toEqual({ GREETING: "${MCPSTORE_TEST_GREETING}", OTHER: "${MCPSTORE_TEST_UNSET:-fallback}" });
      expect((await context.getService("fx")).config.env).toEqual({ GREETING: "${MCPSTORE_TEST_GREETING}", OTHER: "${MCPSTORE_TEST_UNSET:-fallback}" });
    } finally {
      delete process.env.MCPSTORE_TEST_GREETING;
    }
  });

  it("a missing variable fails that service with an error naming the variable and the service", async () => {
    await writeFile(file, JSON.stringify({ mcpServers: { needy: { ...unreachable, headers: { Authorization: "Bearer ${MCPSTORE_NOT_SET_ANYWHERE}" } }, fine: fixture } }));
    const context = (await open()).forStore();
    const error = await context.waitService("needy").catch((caught: unknown) => caught);
    expect((error as Error).message).toMatch(/needy.*MCPSTORE_NOT_SET_ANYWHERE|MCPSTORE_NOT_SET_ANYWHERE.*needy/);
    const info = await context.getService("needy");
    expect(info.state).toBe("unreachable");
    expect(info.lastError).toBe('Service "needy" needs the environment variable MCPSTORE_NOT_SET_ANYWHERE, which is not set');
    await context.waitService("fine", { timeoutMs: 15_000 });
  });

  it("loads variables from an envFile", async () => {
    const envFile = join(directory, ".env");
    await writeFile(envFile, "FROM_DOTENV=dotenv value\n");
    const context = (await open({ envFile })).forStore();
    await context.addService({ ...fixture, name: "fx", env: { VALUE: "${FROM_DOTENV}" } });
    await context.waitService("fx", { timeoutMs: 15_000 });
    expect(text(await context.callTool("fx_env", { name: "VALUE" }))).toBe("dotenv value");
    await expect(MCPStore.setupStore({ mcpConfigFile: false, envFile: join(directory, "missing.env") })).rejects.toThrow(/missing\.env/);
  });
});

describe("paths", () => {
  it("resolves a relative working_dir against the config file's directory", async () => {
    await mkdir(join(directory, "work"));
    await writeFile(file, JSON.stringify({ mcpServers: { fx: { ...fixture, working_dir: "work" } } }));
    const context = (await open()).forStore();
    await context.waitService("fx", { timeoutMs: 15_000 });
    const { realpath } = await import("node:fs/promises");
    expect(text(await context.callTool("fx_cwd"))).toBe(await realpath(join(directory, "work")));
    expect((await context.getService("fx")).config.working_dir).toBe("work");
  });
});

describe("edits by hand", () => {
  it("applies an edit as a diff: only changed services restart; a broken edit is reported and ignored until fixed", async () => {
    await writeFile(file, JSON.stringify({ mcpServers: { keep: { ...fixture, env: { N: "1" } }, change: { ...fixture, env: { N: "1" } } } }, null, 2));
    const store = await open();
    const context = store.forStore();
    await Promise.all([context.waitService("keep", { timeoutMs: 15_000 }), context.waitService("change", { timeoutMs: 15_000 })]);
    const restarted: string[] = [];
    store.on("service:state-changed", (event) => {
      if (event.state === "initializing") restarted.push(event.serviceName);
    });

    const document = await readJson();
    document.mcpServers.change.env.N = "2";
    document.mcpServers.added = unreachable;
    await writeFile(file, JSON.stringify(document, null, 2));
    await until(() => context.listServices(), (services) => services.some((service) => service.name === "added"));
    await context.waitService("change", { timeoutMs: 15_000 });
    expect(text(await context.callTool("change_env", { name: "N" }))).toBe("2");
    expect(restarted).toEqual(["change"]);

    await writeFile(file, '{ "mcpServers": { oops');
    await until(async () => store.getConfigStatus(), (status) => status.error !== undefined);
    expect(store.getConfigStatus().error).toMatch(/invalid JSON/);
    expect((await context.listServices()).map((service) => service.name)).toEqual(["keep", "change", "added"]);

    delete document.mcpServers.added;
    await writeFile(file, JSON.stringify(document, null, 2));
    await until(() => context.listServices(), (services) => !services.some((service) => service.name === "added"));
    expect((await context.listServices()).map((service) => service.name)).toEqual(["keep", "change"]);
    expect(store.getConfigStatus().error).toBeUndefined();
    expect(restarted).toEqual(["change"]);
  });
});

describe("other formats", () => {
  it("loads Claude Desktop / Cursor files", async () => {
    await writeFile(file, JSON.stringify({ mcpServers: { fx: { command: fixture.command, args: fixture.args, env: { A: "1" } } } }));
    const context = (await open()).forStore();
    await context.waitService("fx", { timeoutMs: 15_000 });
    expect(text(await context.callTool("fx_env", { name: "A" }))).toBe("1");
  });

  it("loads VS Code files (servers, type) and writes changes back in that form", async () => {
    await writeFile(file, JSON.stringify({ inputs: [], servers: { fx: { type: "stdio", command: fixture.command, args: fixture.args }, web: { type: "http", url: "http://127.0.0.1:9/mcp" }, old: { type: "sse", url: "http://127.0.0.1:9/sse" } } }));
    const store = await open();
    const context = store.forStore();
    expect((await context.getService("web")).config.transport).toBeUndefined();
    expect((await context.getService("old")).config.transport).toBe("sse");
    await context.waitService("fx", { timeoutMs: 15_000 });
    await context.patchService("web", { timeout: 9 });
    await context.addService({ name: "fresh", ...unreachable });
    const document = await readJson();
    expect(document.servers.web).toEqual({ type: "http", url: "http://127.0.0.1:9/mcp", timeout: 9 });
    expect(document.servers.fresh).toEqual({ type: "http", url: "http://127.0.0.1:9/mcp" });
    expect(document.inputs).toEqual([]);
  });

  it("loads Python MCPStore agent services ({name}_byagent_{agentId}) into their agent", async () => {
    await writeFile(file, JSON.stringify({ mcpServers: { global: unreachable, "search_byagent_research_agent": unreachable } }));
    const store = await open();
    expect((await store.forStore().listServices()).map((service) => service.name)).toEqual(["global"]);
    expect((await store.forAgent("research_agent").listServices()).map((service) => service.name)).toEqual(["search"]);
    await store.forAgent("research_agent").patchService("search", { description: "d" });
    expect((await readJson()).mcpServers["search_byagent_research_agent"]).toEqual({ ...unreachable, description: "d" });
  });
});

describe("data spaces", () => {
  it("two stores on two files share nothing", async () => {
    const projectA = await open({ mcpConfigFile: join(directory, "a", "mcp.json") });
    const projectB = await open({ mcpConfigFile: join(directory, "b", "mcp.json") });
    await projectA.forStore().addService({ name: "only-a", ...unreachable });
    expect(await projectB.forStore().listServices()).toEqual([]);
    expect((await readJson(join(directory, "b", "mcp.json")).catch(() => ({ mcpServers: {} }))).mcpServers).toEqual({});
    await projectB.forStore().addService({ name: "only-a", ...unreachable, description: "b's own" });
    expect((await projectA.forStore().getService("only-a")).config.description).toBeUndefined();
  });

  it("uses MCPSTORE_CONFIG when no path is given", async () => {
    const previous = process.env.MCPSTORE_CONFIG;
    process.env.MCPSTORE_CONFIG = file;
    try {
      const store = await MCPStore.setupStore({ logger: captureLogger() });
      stores.push(store);
      expect(store.getConfigStatus().path).toBe(file);
      await store.forStore().addService({ name: "via-env", ...unreachable });
      expect(Object.keys((await readJson()).mcpServers)).toEqual(["via-env"]);
    } finally {
      if (previous === undefined) delete process.env.MCPSTORE_CONFIG;
      else process.env.MCPSTORE_CONFIG = previous;
    }
  });

  it("a service already in the file (from another process) is a ServiceExistsError, not a lost write", async () => {
    const store = await open();
    await writeFile(file, JSON.stringify({ mcpServers: { taken: unreachable } }));
    // Add before the watcher has applied the edit: the file is re-read under the lock.
    const error = await store.forStore().addService({ name: "taken", ...unreachable, description: "mine" }).catch((caught: unknown) => caught);
    if (error !== undefined) expect(ServiceExistsError.isInstance(error)).toBe(true);
    expect((await readJson()).mcpServers.taken).toEqual(unreachable);
  });
});

describe("secrets", () => {
  it("a token set through ${VAR} never shows in the file, the export, events or error messages", async () => {
    const token = "tok-3f9a8c1d2e7b4a6f";
    process.env.MCPSTORE_SECRET_TOKEN = token;
    try {
      const store = await open();
      const seen: unknown[] = [];
      for (const name of ["service:added", "service:removed", "service:state-changed", "tools:refreshed", "tool:call-start", "tool:call-end", "tool:call-error"] as const) {
        store.on(name, (payload) => seen.push(payload));
      }
      const errors: unknown[] = [];
      const context = store.forStore();
      await context.addService({ ...fixture, name: "fx", env: { TOKEN: "${MCPSTORE_SECRET_TOKEN}" } });
      await context.addService({ name: "remote", ...unreachable, headers: { Authorization: "Bearer ${MCPSTORE_SECRET_TOKEN}" } });
      await context.waitService("fx", { timeoutMs: 15_000 });
      await context.waitService("remote").catch((error: unknown) => errors.push(error));
      // The expanded token reaches the process (the tool's result is the caller's own data).
      expect(text(await context.callTool("fx_env", { name: "TOKEN" }))).toBe(token);
      await context.callTool("fx_fail", { message: "plain failure" }, { throwOnError: true }).catch((error: unknown) => errors.push(error));
      await context.callTool("fx_echo", { text: 5 as never }).catch((error: unknown) => errors.push(error));
      await context.updateService("remote", { ...unreachable, headers: { Authorization: "Bearer ${MCPSTORE_SECRET_TOKEN}" }, timeout: 3 });
      await context.addService({ name: "fx", command: "x" }).catch((error: unknown) => errors.push(error));
      const exported = JSON.stringify(store.exportConfig());
      await context.removeService("remote");
      expect(errors.length).toBeGreaterThanOrEqual(3);
      const haystacks = {
        file: await readFile(file, "utf8"),
        exported,
        events: JSON.stringify(seen, (_key, value: unknown) => (value instanceof Error ? { message: value.message } : value)),
        errors: errors.map((error) => `${(error as Error).message} ${JSON.stringify((error as { details?: unknown }).details ?? {})}`).join("\n"),
        services: JSON.stringify(await context.listServices()),
      };
      for (const [where, haystack] of Object.entries(haystacks)) expect({ where, found: haystack.includes(token) }).toEqual({ where, found: false });
      expect(exported).toContain("${MCPSTORE_SECRET_TOKEN}");
    } finally {
      delete process.env.MCPSTORE_SECRET_TOKEN;
    }
  });
});
