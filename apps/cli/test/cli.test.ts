import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fixtureCliPath } from "@mcpstore/testing";
import { afterAll, describe, expect, it } from "vitest";
import { CLI_PATH, cleanEnv, runCli } from "./run-cli.js";

// Every command, run as a subprocess on a config file in a temp directory (never the user's ~/.mcpstore): output and
// exit status.

const directory = mkdtempSync(join(tmpdir(), "mcpstore-cli-"));
const config = join(directory, "mcp.json");
const run = (...args: string[]) => runCli(["--config", config, ...args], { cwd: directory });
const fixture = ["--", process.execPath, fixtureCliPath];

afterAll(() => rmSync(directory, { recursive: true, force: true }));

describe("usage", () => {
  it("prints help and version, and exits 2 on bad usage", async () => {
    const help = await runCli(["--help"], { cwd: directory });
    expect(help.code).toBe(0);
    for (const command of ["run", "add", "list", "get", "remove", "tools", "call", "check", "config"]) expect(help.stdout).toContain(command);
    expect(help.stdout).toContain("Exit status");
    const version = await runCli(["--version"], { cwd: directory });
    expect(version).toMatchObject({ code: 0, stdout: expect.stringMatching(/^\d+\.\d+\.\d+\n$/) });
    expect((await runCli(["frobnicate"], { cwd: directory })).code).toBe(2);
    expect((await runCli(["call"], { cwd: directory })).code).toBe(2);
    expect((await runCli(["list", "--wait", "soon"], { cwd: directory })).code).toBe(2);
  });
});

describe("config", () => {
  it("path: --config, else MCPSTORE_CONFIG (also from .env), else ~/.mcpstore/mcp.json", async () => {
    expect((await run("config", "path")).stdout).toBe(`${config}\n`);
    const fromEnv = await runCli(["config", "path"], { cwd: directory, env: { MCPSTORE_CONFIG: join(directory, "env.json") } });
    expect(fromEnv.stdout).toBe(`${join(directory, "env.json")}\n`);
    const home = mkdtempSync(join(tmpdir(), "mcpstore-home-"));
    try {
      expect((await runCli(["config", "path"], { cwd: home })).stdout).toBe(`${join(home, ".mcpstore", "mcp.json")}\n`);
      writeFileSync(join(home, ".env"), `MCPSTORE_CONFIG=${join(home, "dotenv.json")}\n`);
      expect((await runCli(["config", "path", "--json"], { cwd: home })).stdout).toContain(JSON.stringify(join(home, "dotenv.json")));
      // The real environment wins over .env.
      expect((await runCli(["config", "path"], { cwd: home, env: { MCPSTORE_CONFIG: join(home, "real.json") } })).stdout).toBe(`${join(home, "real.json")}\n`);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it("validate: exit 8 without a file; init creates one (0600) and refuses to overwrite it", async () => {
    const missing = await run("config", "validate");
    expect(missing.code).toBe(8);
    expect(missing.stderr).toContain("config init");
    const init = await run("config", "init");
    expect(init).toMatchObject({ code: 0, stdout: `Created ${config}\n` });
    expect(statSync(config).mode & 0o777).toBe(0o600);
    expect((await run("config", "init")).code).toBe(5);
    expect((await run("config", "init", "--force")).code).toBe(0);
    const valid = await run("config", "validate");
    expect(valid).toMatchObject({ code: 0, stdout: `${config}: valid, 0 services\n` });
  });

  it("validate: exit 3 with each problem, exit 8 when the file does not parse", async () => {
    const other = join(directory, "problems.json");
    writeFileSync(other, JSON.stringify({ mcpServers: { good: { url: "https://example.com/mcp" }, bad: { url: "ftp://example.com" }, none: {} } }));
    const result = await runCli(["config", "validate", "--config", other], { cwd: directory });
    expect(result.code).toBe(3);
    expect(result.stdout).toContain("2 problems (1 service would load)");
    expect(result.stdout).toContain("mcpServers.bad.url");
    const json = await runCli(["--json", "config", "validate", "--config", other], { cwd: directory });
    expect(JSON.parse(json.stdout)).toMatchObject({ valid: false, services: [{ name: "good", kind: "remote" }] });
    // JSONC (VS Code, Cursor): comments and trailing commas are fine; a missing comma is not.
    writeFileSync(other, '{ "mcpServers": { "x": { "url": "https://a" }, } } // jsonc');
    expect((await runCli(["config", "validate", "--config", other], { cwd: directory })).code).toBe(0);
    writeFileSync(other, '{ "mcpServers": { "x": { "url": "https://a" } "y": {} } }');
    const broken = await runCli(["config", "validate", "--config", other], { cwd: directory });
    expect(broken.code).toBe(8);
    expect(broken.stderr).toMatch(/problems\.json:1:\d+/);
  });
});

describe("services and tools", () => {
  it("add: a local server, waiting for it; exit 5 for a taken name, 3 for a bad config, 2 for bad usage", async () => {
    const added = await run("add", "demo", ...fixture);
    expect(added.stderr).toBe("");
    expect(added).toMatchObject({ code: 0, stdout: `Added demo to ${config}: healthy, 10 tools\n` });
    expect(JSON.parse(readFileSync(config, "utf8")).mcpServers.demo).toEqual({ command: process.execPath, args: [fixtureCliPath] });
    expect((await run("add", "demo", ...fixture)).code).toBe(5);
    const bad = await run("add", "bad", "--from-json", '{"url":"ftp://example.com"}');
    expect(bad.code).toBe(3);
    expect(bad.stderr).toContain("url");
    expect((await run("add", "nothing")).code).toBe(2);
    expect((await run("add", "x", "--env", "NOEQUALS", ...fixture)).code).toBe(2);
    const agent = await run("add", "notes", "--for-agent", "alice", "--env", "NOTE=${NOTE_VALUE:-x}", ...fixture);
    expect(agent.code).toBe(0);
    expect(agent.stdout).toContain("Added notes for agent alice");
    expect(JSON.parse(readFileSync(config, "utf8")).agents.alice.mcpServers.notes.env).toEqual({ NOTE: "${NOTE_VALUE:-x}" });
  });

  it("list: a table for people, JSON for scripts, per scope", async () => {
    const table = await run("list");
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^NAME\s+STATE\s+TRANSPORT\s+TOOLS\s+ERROR\ndemo\s+healthy\s+stdio\s+10\s+-\n/);
    expect(table.stdout).toContain("Agents: alice (1 service)");
    const json = JSON.parse((await run("list", "--json")).stdout);
    expect(json.services).toEqual([expect.objectContaining({ name: "demo", state: "healthy" })]);
    expect(json.agents).toEqual([{ agentId: "alice", serviceCount: 1, toolCount: 10 }]);
    const agent = await run("list", "--for-agent", "alice");
    expect(agent.stdout).toMatch(/\nnotes\s+healthy/);
    expect((await run("list", "--for-agent", "not valid!")).code).toBe(3);
  });

  it("get: one service with its tools; exit 4 when there is none", async () => {
    const result = await run("get", "demo");
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/state:\s+healthy/);
    expect(result.stdout).toMatch(/TOOL\s+DESCRIPTION\ndemo_echo\s+Echo the given text back\./);
    expect(JSON.parse((await run("get", "demo", "--json")).stdout).tools).toHaveLength(10);
    const missing = await run("get", "nope");
    expect(missing.code).toBe(4);
    expect(missing.stderr).toContain("SERVICE_NOT_FOUND");
  });

  it("tools: every tool of a scope, or of one service", async () => {
    const result = await run("tools");
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^NAME\s+SERVICE\s+DESCRIPTION\n/);
    expect(result.stdout).toMatch(/demo_add\s+demo\s+Add two numbers\./);
    const json = JSON.parse((await run("tools", "--json", "--for-agent", "alice", "--service", "notes")).stdout);
    expect(json.tools.map((tool: { name: string }) => tool.name)).toContain("notes_echo");
  });

  it("call: prints the result; exit 7 for an error result, 4 for no such tool, 3 for bad arguments, 2 for bad --args", async () => {
    const echoed = await run("call", "demo_echo", "--args", '{"text":"hello from the CLI"}');
    expect(echoed).toMatchObject({ code: 0, stdout: "hello from the CLI\n" });
    const json = JSON.parse((await run("call", "add", "--args", '{"a":2,"b":40}', "--json")).stdout);
    expect(json.structuredContent).toEqual({ sum: 42 });
    const failed = await run("call", "demo_fail", "--args", '{"message":"boom"}');
    expect(failed.code).toBe(7);
    expect(failed.stderr).toContain("returned an error result");
    expect((await run("call", "nope")).code).toBe(4);
    expect((await run("call", "demo_add", "--args", '{"a":"two"}')).code).toBe(3);
    expect((await run("call", "demo_echo", "--args", "{text}")).code).toBe(2);
    expect((await run("call", "demo_echo", "--args", "[1]")).code).toBe(2);
    const agent = await run("call", "notes_echo", "--for-agent", "alice", "--args", '{"text":"agent"}');
    expect(agent.stdout).toBe("agent\n");
  });

  it("check: exit 0 when every service answers, 6 when one does not", async () => {
    const healthy = await run("check");
    expect(healthy.code).toBe(0);
    expect(healthy.stdout).toMatch(/demo\s+healthy\s+yes\s+[\d.]+ ms/);
    expect((await run("add", "broken", "--wait", "0", "--", process.execPath, "-e", "process.exit(3)")).code).toBe(0);
    const unhealthy = await run("check", "--wait", "5");
    expect(unhealthy.code).toBe(6);
    expect(unhealthy.stdout).toMatch(/broken\s+\w+\s+no/);
    expect(JSON.parse((await run("check", "--json", "--wait", "5")).stdout).success).toBe(false);
  });

  it("remove: stops and forgets a service; exit 4 the second time", async () => {
    expect(await run("remove", "broken")).toMatchObject({ code: 0, stdout: `Removed broken from ${config}\n` });
    expect(JSON.parse(readFileSync(config, "utf8")).mcpServers.broken).toBeUndefined();
    expect((await run("rm", "broken")).code).toBe(4);
    expect((await run("remove", "notes", "--for-agent", "alice", "--json")).stdout).toContain('"removed": "notes"');
  });

  it("config show: the effective config with secrets as placeholders or ***", async () => {
    await run("add", "secret", "https://example.com/mcp", "--wait", "0", "-H", "Authorization: Bearer literal-secret", "-H", "X-Key: ${API_KEY}");
    const shown = await run("config", "show");
    expect(shown.code).toBe(0);
    const document = JSON.parse(shown.stdout);
    expect(document.mcpServers.secret.headers).toEqual({ Authorization: "***", "X-Key": "${API_KEY}" });
    expect(shown.stdout).not.toContain("literal-secret");
    expect(document.mcpServers.demo).toBeDefined();
    await run("remove", "secret");
  });
});

describe("environment", () => {
  it("logs JSON lines on stderr at LOG_LEVEL, and nothing by default", async () => {
    const quiet = await run("list");
    expect(quiet.stderr).toBe("");
    const verbose = await runCli(["--config", config, "list"], { cwd: directory, env: { LOG_LEVEL: "debug" } });
    const lines = verbose.stderr.trim().split("\n").map((line) => JSON.parse(line) as { level: string; msg: string });
    expect(lines.some((line) => line.level === "info" && /demo is healthy/.test(line.msg))).toBe(true);
  });

  it("shows a spinner on a terminal while it waits for services", () => {
    // `script` gives the command a pseudo-terminal; the spinner is only drawn there.
    const command = `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI_PATH)} --config ${JSON.stringify(config)} tools`;
    const env = cleanEnv(directory, { TERM: "xterm", CI: undefined });
    delete env.CI;
    const output = execFileSync("script", ["-qec", command, "/dev/null"], {
      cwd: directory,
      env,
      encoding: "utf8",
      timeout: 60_000,
      stdio: ["ignore", "pipe", "pipe"],
    });
    expect(output).toContain("Waiting for 1 service (0 ready)");
    expect(output).toMatch(/demo_echo\s+demo/);
  });
});

describe("files", () => {
  it("left no file but the config", () => {
    expect(existsSync(join(directory, ".mcpstore"))).toBe(false);
  });
});
