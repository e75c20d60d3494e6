import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startHttpFixture, stdioFixtureConfig } from "@mcpstore/testing";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { runCli, startApi, type RunningApi } from "./run-cli.js";

const directory = mkdtempSync(join(tmpdir(), "mcpstore-run-api-"));
const config = join(directory, "mcp.json");
const TOKEN = "operator-chosen-admin-token-123";
const running: RunningApi[] = [];

writeFileSync(config, JSON.stringify({ mcpServers: { demo: stdioFixtureConfig("demo") }, agents: { alice: { mcpServers: { notes: stdioFixtureConfig("notes") } } } }));

async function start(args: string[], env: Record<string, string> = {}, cwd = directory): Promise<RunningApi> {
  const api = await startApi(args, { cwd, env });
  running.push(api);
  return api;
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

afterEach(async () => {
  await Promise.all(running.splice(0).map((api) => api.stop()));
});
afterAll(() => rmSync(directory, { recursive: true, force: true }));

describe("mcpstore run api", () => {
  it("serves the config file's services on 127.0.0.1 with the token from the environment, and stops cleanly on SIGTERM", async () => {
    const api = await start(["--config", config, "--metrics"], { MCPSTORE_ADMIN_TOKEN: TOKEN, MCPSTORE_AGENT_TOKENS: "alice=alice-token-0123456789" });
    expect(api.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(api.banner).toContain("1 store service, 1 agent");
    expect(api.banner).not.toContain(TOKEN);
    expect(api.banner).toContain('curl -H "Authorization: Bearer $MCPSTORE_ADMIN_TOKEN"');

    const health = await fetch(`${api.url}/health`);
    expect(await health.json()).toMatchObject({ status: "healthy", services_count: 1, tools_count: 10 });
    const headers = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };
    const call = await fetch(`${api.url}/for_store/call_tool`, { method: "POST", headers, body: JSON.stringify({ tool: "demo_echo", args: { text: "over HTTP" } }) });
    expect(await call.json()).toEqual({ content: [{ type: "text", text: "over HTTP" }] });
    const agentCall = await fetch(`${api.url}/for_agent/alice/list_tools`, { headers: { authorization: "Bearer alice-token-0123456789" } });
    expect(agentCall.status).toBe(200);
    expect((await fetch(`${api.url}/for_store/list_tools`, { headers: { authorization: "Bearer alice-token-0123456789" } })).status).toBe(403);
    const metrics = await fetch(`${api.url}/metrics`, { headers });
    expect(await metrics.text()).toContain('mcpstore_tool_calls_total{tool_name="demo_echo",status="success"} 1');

    const services = (await (await fetch(`${api.url}/for_store/list_services`, { headers })).json()) as { services: Array<{ pid?: number }> };
    const pid = services.services[0]!.pid!;
    expect(isAlive(pid)).toBe(true);
    expect(await api.stop()).toBe(0);
    expect(isAlive(pid)).toBe(false);
    // Request lines went to stderr as JSON, without the token.
    expect(api.stderr()).toContain('"path":"/for_store/call_tool"');
    expect(api.stderr()).not.toContain(TOKEN);
  });

  it("generates and prints an admin token when none is configured", async () => {
    const api = await start(["--config", config]);
    const token = /token {4}(\S+)/.exec(api.banner)?.[1];
    expect(token).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(api.banner).toContain(`curl -H "Authorization: Bearer ${token}"`);
    expect((await fetch(`${api.url}/for_store/list_services`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    expect((await fetch(`${api.url}/for_store/list_services`)).status).toBe(401);
  });

  it("takes tokens from a tokens file, and can refuse local services", async () => {
    const tokensFile = join(directory, "tokens.json");
    writeFileSync(tokensFile, JSON.stringify({ admin: ["file-admin-token-0123456789"], agents: { bob: "file-bob-token-0123456789" } }), { mode: 0o600 });
    const api = await start(["--config", config, "--tokens-file", tokensFile, "--no-stdio"]);
    const headers = { authorization: "Bearer file-admin-token-0123456789", "content-type": "application/json" };
    const refused = await fetch(`${api.url}/for_store/add_service`, { method: "POST", headers, body: JSON.stringify(stdioFixtureConfig("more")) });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("STDIO_DISABLED");
    expect((await fetch(`${api.url}/for_agent/bob/list_services`, { headers: { authorization: "Bearer file-bob-token-0123456789" } })).status).toBe(200);
  });

  it("accepts the hosts it is told to, and refuses others", async () => {
    const api = await start(["--config", config, "--allowed-hosts", "mcp.internal"], { MCPSTORE_ADMIN_TOKEN: TOKEN });
    const port = new URL(api.url).port;
    const { request } = await import("node:http");
    const status = (host: string) =>
      new Promise<number>((resolve, reject) => {
        request({ host: "127.0.0.1", port, path: "/health", headers: { host } }, (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
        })
          .on("error", reject)
          .end();
      });
    expect(await status("mcp.internal")).toBe(200);
    expect(await status("localhost")).toBe(200);
    expect(await status("elsewhere.example.com")).toBe(403);
  });

  it("fails with a clear message when the port is taken or the tokens are bad", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const taken = await runCli(["--config", config, "run", "api", "--port", String(port)], { cwd: directory, env: { MCPSTORE_ADMIN_TOKEN: TOKEN } });
      expect(taken.code).toBe(1);
      expect(taken.stderr).toContain("EADDRINUSE");
    } finally {
      blocker.close();
    }
    const badTokens = await runCli(["--config", config, "run", "api", "--port", "0"], { cwd: directory, env: { MCPSTORE_AGENT_TOKENS: "no-equals" } });
    expect(badTokens.code).toBe(3);
    const badFile = await runCli(["--config", config, "run", "api", "--port", "0", "--tokens-file", join(directory, "none.json")], { cwd: directory });
    expect(badFile.code).toBe(8);
  });

  it("limits agent tokens: no local destinations unless --allow-egress opens one, and --max-agent-services", async () => {
    const remote = await startHttpFixture({ transports: "streamable-http" });
    try {
      const env = { MCPSTORE_ADMIN_TOKEN: TOKEN, MCPSTORE_AGENT_TOKENS: "carol=carol-token-0123456789" };
      const add = (api: RunningApi, name: string) =>
        fetch(`${api.url}/for_agent/carol/add_service`, {
          method: "POST",
          headers: { authorization: "Bearer carol-token-0123456789", "content-type": "application/json" },
          body: JSON.stringify({ name, url: remote.url }),
        });
      const closed = await start(["--config", config]);
      expect((await add(closed, "local")).status).toBe(401);
      await closed.stop();
      const strict = await start(["--config", config], env);
      const refused = await add(strict, "local");
      expect(refused.status).toBe(403);
      expect(((await refused.json()) as { error: { details: { rule: string } } }).error.details.rule).toBe("egress:loopback");
      await strict.stop();
      const open = await start(["--config", config, "--allow-egress", `127.0.0.1:${remote.port}`, "--max-agent-services", "1"], env);
      expect((await add(open, "first")).status).toBe(200);
      expect((await add(open, "second")).status).toBe(429);
    } finally {
      await remote.close();
    }
  });
});

describe("the README quick start", () => {
  it("starts the API on examples/api/mcp.json and answers the documented curl calls", async () => {
    const example = join(dirname(fileURLToPath(import.meta.url)), "../../../examples/api");
    const api = await start(["--config", "mcp.json"], { MCPSTORE_ADMIN_TOKEN: TOKEN }, example);
    expect(api.banner).toContain("1 store service, 1 agent");
    const headers = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };
    const tools = (await (await fetch(`${api.url}/for_store/list_tools`, { headers })).json()) as { tools: Array<{ name: string }> };
    expect(tools.tools.map((tool) => tool.name)).toContain("demo_echo");
    const call = await fetch(`${api.url}/for_store/call_tool`, { method: "POST", headers, body: JSON.stringify({ tool: "demo_add", args: { a: 20, b: 22 } }) });
    expect(((await call.json()) as { structuredContent: unknown }).structuredContent).toEqual({ sum: 42 });
    const agent = await fetch(`${api.url}/for_agent/alice/call_tool`, { method: "POST", headers, body: JSON.stringify({ tool: "notes_echo", args: { text: "hi alice" } }) });
    expect(await agent.json()).toEqual({ content: [{ type: "text", text: "hi alice" }] });
  });
});
