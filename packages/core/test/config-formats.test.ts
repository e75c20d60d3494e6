import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startHttpFixture, stdioFixtureConfig } from "@mcpstore/testing";
import { parse as parseJsonc } from "jsonc-parser";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { inspectConfigFile, MCPStore, ValidationError, type SetupStoreOptions } from "../src/index.js";
import { assertStoreServiceName } from "../src/config/config-format.js";
import { captureLogger, text } from "./helpers.js";

// Config files written by other tools (VS Code, Cursor, Python MCPStore) and the `.env` beside the file: what loads,
// what is refused, and what a rewrite of another service leaves in the file.

const fixture = stdioFixtureConfig("x");
const unreachable = { url: "http://127.0.0.1:9/mcp", transport: "streamable-http" as const };
// Remote services with automatic transport point at a live server, so that none is left mid-fallback at close.
let http: Awaited<ReturnType<typeof startHttpFixture>>;
beforeAll(async () => {
  http = await startHttpFixture();
});
afterAll(() => http.close());

let directory: string;
let file: string;
const cleanups: Array<() => Promise<unknown>> = [];

beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), "mcpstore-formats-"));
  file = join(directory, "mcp.json");
});
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
  await rm(directory, { recursive: true, force: true });
});

async function open(options: SetupStoreOptions = {}) {
  const store = await MCPStore.setupStore({ mcpConfigFile: file, logger: captureLogger(), monitoring: { enableReconnection: false }, ...options });
  cleanups.push(() => store.close());
  return store;
}

const readJsonc = async () => parseJsonc(await readFile(file, "utf8"), [], { allowTrailingComma: true }) as Record<string, any>;

/** Sets process variables for one test. */
function setEnv(variables: Record<string, string>) {
  for (const [key, value] of Object.entries(variables)) process.env[key] = value;
  cleanups.push(async () => {
    for (const key of Object.keys(variables)) delete process.env[key];
  });
}

describe("JSONC (VS Code, Cursor)", () => {
  it("loads comments and trailing commas, and keeps them when another service is rewritten", async () => {
    const content = `{
  // Workspace servers
  "servers": {
    /* the local one */
    "fx": {
      "type": "stdio",
      "command": ${JSON.stringify(fixture.command)},
      "args": ${JSON.stringify(fixture.args)}, // the fixture
    },
    "web": { "type": "http", "url": "${http.url}", },
  },
  "inputs": [],
}
`;
    await writeFile(file, content);
    const context = (await open()).forStore();
    await context.waitService("fx", { timeoutMs: 15_000 });
    await context.patchService("web", { timeout: 9 });
    const after = await readFile(file, "utf8");
    // Everything before "web" is byte for byte as written.
    expect(after.slice(0, after.indexOf('"web"'))).toBe(content.slice(0, content.indexOf('"web"')));
    expect(after).toContain("// Workspace servers");
    expect((await readJsonc()).servers.web).toEqual({ type: "http", url: http.url, timeout: 9 });
    expect((await inspectConfigFile(file)).problems).toEqual([]);
  });

  it("reads ${env:NAME} as ${NAME}, and writes it back as ${env:NAME}", async () => {
    setEnv({ MCPSTORE_TEST_EDITOR_VALUE: "from the environment" });
    await writeFile(
      file,
      JSON.stringify({
        mcpServers: { fx: { ...fixture, env: { VALUE: "${env:MCPSTORE_TEST_EDITOR_VALUE}" } } },
        servers: { remote: { type: "http", url: http.url, headers: { Authorization: "Bearer ${env:MCPSTORE_TEST_EDITOR_VALUE}" } } },
      }),
    );
    const context = (await open()).forStore();
    await context.waitService("fx", { timeoutMs: 15_000 });
    expect(text(await context.callTool("fx_env", { name: "VALUE" }))).toBe("from the environment");
    expect((await context.getService("fx")).config.env).toEqual({ VALUE: "${MCPSTORE_TEST_EDITOR_VALUE}" });
    await context.patchService("fx", { description: "d" });
    await context.patchService("remote", { timeout: 5 });
    const document = await readJsonc();
    expect(document.mcpServers.fx.env).toEqual({ VALUE: "${env:MCPSTORE_TEST_EDITOR_VALUE}" });
    expect(document.servers.remote.headers).toEqual({ Authorization: "Bearer ${env:MCPSTORE_TEST_EDITOR_VALUE}" });
  });

  it("reports ${input:...} and ${workspaceFolder} as problems naming the service and the variable, and skips the entry", async () => {
    const content = JSON.stringify(
      {
        inputs: [{ type: "promptString", id: "api-key", password: true }],
        servers: {
          prompted: { type: "http", url: http.url, headers: { Authorization: "Bearer ${input:api-key}" } },
          workspace: { type: "stdio", command: fixture.command, args: [...fixture.args, "${workspaceFolder}/data"] },
          fine: { type: "http", url: http.url },
        },
        mcpServers: { cursor: { ...fixture, env: { ROOT: "${workspaceFolder}" } } },
      },
      null,
      2,
    );
    await writeFile(file, content);
    const inspection = await inspectConfigFile(file);
    expect(inspection.services.map((service) => service.name)).toEqual(["fine"]);
    expect(inspection.problems.map((problem) => problem.serviceName)).toEqual(["cursor", "prompted", "workspace"]);
    expect(inspection.problems[0]!.message).toMatch(/mcpServers\.cursor: service "cursor" uses \$\{workspaceFolder\}.*skipped/);
    expect(inspection.problems[1]!.message).toMatch(/servers\.prompted: service "prompted" uses \$\{input:api-key\}.*cannot prompt/);
    expect(inspection.problems[2]!.message).toContain("${workspaceFolder}");

    const store = await open();
    expect((await store.forStore().listServices()).map((service) => service.name)).toEqual(["fine"]);
    expect(store.getConfigStatus().problems.map((problem) => problem.serviceName)).toEqual(["cursor", "prompted", "workspace"]);
    // The skipped entries stay in the file as written, and their names stay taken.
    await store.forStore().patchService("fine", { timeout: 3 });
    const document = await readJsonc();
    expect(document.servers.prompted).toEqual(JSON.parse(content).servers.prompted);
    await expect(store.forStore().addService({ name: "prompted", ...unreachable })).rejects.toMatchObject({ code: "SERVICE_EXISTS" });
  });
});

describe("VS Code remote services", () => {
  it('"type": "http" is automatic (Streamable HTTP, then SSE), and stays so after a round trip', async () => {
    const sseOnly = await startHttpFixture({ transports: "sse" });
    cleanups.push(() => sseOnly.close());
    await writeFile(file, JSON.stringify({ servers: { legacy: { type: "http", url: sseOnly.sseUrl }, remote: { url: http.url } } }, null, 2));
    const store = await open();
    const context = store.forStore();
    expect((await context.getService("legacy")).config.transport).toBeUndefined();
    // Pinned to Streamable HTTP, this SSE-only server would not connect.
    expect((await context.waitService("legacy", { timeoutMs: 15_000 })).transport).toBe("sse");
    await context.patchService("legacy", { timeout: 20 });
    await context.patchService("remote", { timeout: 5 });
    const document = await readJsonc();
    expect(document.servers.legacy).toEqual({ type: "http", url: sseOnly.sseUrl, timeout: 20 });
    expect(document.servers.remote).toEqual({ type: "http", url: http.url, timeout: 5 });
    await store.close();

    const reread = await open();
    expect((await reread.forStore().getService("legacy")).config.transport).toBeUndefined();
    expect((await reread.forStore().getService("remote")).config.transport).toBeUndefined();
    expect((await reread.forStore().waitService("legacy", { timeoutMs: 15_000 })).transport).toBe("sse");
  });

  it('"type": "sse" stays SSE, and cwd stays cwd', async () => {
    await writeFile(file, JSON.stringify({ servers: { old: { type: "sse", url: http.sseUrl }, fx: { type: "stdio", ...fixture, cwd: "." } } }));
    const context = (await open()).forStore();
    expect((await context.getService("old")).config.transport).toBe("sse");
    await context.patchService("old", { timeout: 2 });
    await context.patchService("fx", { description: "d" });
    const document = await readJsonc();
    expect(document.servers.old).toEqual({ type: "sse", url: http.sseUrl, timeout: 2 });
    expect(document.servers.fx).toEqual({ type: "stdio", command: fixture.command, args: fixture.args, cwd: ".", description: "d" });
  });
});

describe("Python MCPStore names", () => {
  it("assertStoreServiceName refuses {name}_byagent_{id}, naming the service and the agent it would become", () => {
    expect(() => assertStoreServiceName("search")).not.toThrow();
    expect(() => assertStoreServiceName("my_byagent_")).not.toThrow();
    let error: unknown;
    try {
      assertStoreServiceName("search_byagent_bob");
    } catch (caught) {
      error = caught;
    }
    expect(ValidationError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ serviceName: "search_byagent_bob", message: expect.stringContaining('agent "bob"') });
  });

  // Needs `assertStoreServiceName` wired where the store scope validates names (ServiceRegistry.add).
  it("a store service named {name}_byagent_{id} is a ValidationError; an agent's is fine", async () => {
    const store = await open();
    const error = await store.forStore().addService({ name: "search_byagent_bob", ...unreachable }).catch((caught: unknown) => caught);
    expect(ValidationError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/"search_byagent_bob".*store scope.*agent "bob"/);
    const batch = await store.forStore().batchAddServices([{ name: "x_byagent_y", ...unreachable }]);
    expect(batch.results[0]).toMatchObject({ success: false, error: { code: "VALIDATION_ERROR" } });
    expect(await store.forStore().listServices()).toEqual([]);
    expect((await readFile(file, "utf8").catch(() => "")).includes("_byagent_")).toBe(false);
    await store.forAgent("alice").addService({ name: "search_byagent_bob", ...unreachable });
    expect((await readJsonc()).agents.alice.mcpServers).toHaveProperty("search_byagent_bob");
  });
});

describe(".env beside the config file", () => {
  it("fills placeholders of env and url; the process environment wins; envFile names another file", async () => {
    setEnv({ MCPSTORE_TEST_DOTENV_WINNER: "from the process" });
    await writeFile(join(directory, ".env"), "MCPSTORE_TEST_DOTENV_VALUE=from the dotenv\nMCPSTORE_TEST_DOTENV_WINNER=from the dotenv\nMCPSTORE_TEST_DOTENV_PATH=mcp\n");
    await writeFile(
      file,
      JSON.stringify({
        mcpServers: {
          fx: { ...fixture, env: { VALUE: "${MCPSTORE_TEST_DOTENV_VALUE}", WINNER: "${MCPSTORE_TEST_DOTENV_WINNER}" } },
          remote: { url: `http://127.0.0.1:${http.port}/\${MCPSTORE_TEST_DOTENV_PATH}` },
        },
      }),
    );
    const store = await open();
    const context = store.forStore();
    await Promise.all([context.waitService("fx", { timeoutMs: 15_000 }), context.waitService("remote", { timeoutMs: 15_000 })]);
    expect(text(await context.callTool("fx_env", { name: "VALUE" }))).toBe("from the dotenv");
    expect(text(await context.callTool("fx_env", { name: "WINNER" }))).toBe("from the process");
    expect(text(await context.callTool("remote_echo", { text: "via .env" }))).toBe("via .env");
    // Read by the store, not put into the process environment.
    expect(process.env.MCPSTORE_TEST_DOTENV_VALUE).toBeUndefined();
    await store.close();

    const other = join(directory, "other.env");
    await writeFile(other, "MCPSTORE_TEST_DOTENV_VALUE=from the other file\n");
    const named = (await open({ envFile: other })).forStore();
    await named.waitService("fx", { timeoutMs: 15_000 });
    expect(text(await named.callTool("fx_env", { name: "VALUE" }))).toBe("from the other file");
    await named.waitService("remote", { timeoutMs: 15_000 }).catch(() => undefined);
    expect((await named.getService("remote")).lastError).toMatch(/MCPSTORE_TEST_DOTENV_PATH/);
  });
});
