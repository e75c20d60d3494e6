import { statSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { fixtureCliPath, startHttpFixture } from "@mcpstore/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SecretScrubber, UPSTREAM_BODY_CHARS } from "../src/connection/secret-scrubber.js";
import { MCPStore, redactServiceConfig, type ServiceConfig } from "../src/index.js";
import { captureLogger, cleanups } from "./helpers.js";

// Issue 13, item 4: one secret, given once through `${VAR}` in each place a config can hold one (a header, a URL
// password, a query parameter, a DSN argument, a DSN env value), never shows anywhere the store shows text.

const CANARY = "canary-7f3a9c1e5b";
const VARIABLE = "MCPSTORE_TEST_CANARY";
const PLACEHOLDER = `\${${VARIABLE}}`;
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
/** The derived secret the transport sends: as sensitive as the canary itself. */
const BASIC_TOKEN = basic("user", CANARY).slice("Basic ".length);

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return (server.address() as AddressInfo).port;
}

/** An upstream that answers 500 with a long body quoting the request's URL and headers back. */
async function startEchoing500(): Promise<number> {
  const server = createServer((request, response) => {
    request.resume();
    request.on("end", () => {
      const body = `upstream broke on ${request.url} with ${JSON.stringify(request.headers)} ${"padding ".repeat(200)}`;
      response.writeHead(500, { "content-type": "text/plain" }).end(body);
    });
  });
  return listen(server);
}

/** A port on 127.0.0.1 where nothing listens. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A remote service with the canary in a URL password, a query parameter and a header. */
const remote = (name: string, port: number): ServiceConfig => ({
  name,
  url: `http://user:${PLACEHOLDER}@127.0.0.1:${port}/mcp?api_key=${PLACEHOLDER}&mode=full`,
  transport: "streamable-http",
  headers: { "X-Api-Key": PLACEHOLDER },
});

/** A stdio service whose process prints its DSN argument and the start of its DSN env value to stderr, then `then`. */
const local = (name: string, then: string): ServiceConfig => ({
  name,
  command: process.execPath,
  args: ["-e", `process.stderr.write("connecting to " + process.argv[1] + " as " + process.env.DB.split("@")[0] + "\\n"); ${then}`, `postgres://u:${PLACEHOLDER}@db/x`],
  env: { DB: `postgres://admin:${PLACEHOLDER}@db/y` },
});
// Serves the fixture after printing (parseArgs then sees no arguments).
const SERVE = `process.argv.length = 1; import(${JSON.stringify(pathToFileURL(fixtureCliPath).href)});`;
const FAIL = "setTimeout(() => process.exit(1), 100);";

let directory: string;
beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), "mcpstore-secrets-"));
  process.env[VARIABLE] = CANARY;
});
afterEach(async () => {
  delete process.env[VARIABLE];
  await rm(directory, { recursive: true, force: true });
});

describe("the canary", () => {
  it("reaches the servers, and shows nowhere: file, logs, events, errors, service info, lastError, stderr tails", async () => {
    const fixture = await startHttpFixture({ transports: "streamable-http", requireHeaders: { authorization: basic("user", CANARY), "x-api-key": CANARY } });
    cleanups.push(() => fixture.close());
    const failingPort = await startEchoing500();
    const downPort = await closedPort();
    const file = join(directory, "mcp.json");
    const logger = captureLogger();
    const store = await MCPStore.setupStore({ mcpConfigFile: file, logger, monitoring: { enableReconnection: false } });
    cleanups.push(() => store.close());
    const context = store.forStore();
    const errors: unknown[] = [];
    const failing = ["remote-500", "remote-down", "local-fails"];

    await context.addService([remote("remote-ok", fixture.port), remote("remote-500", failingPort), remote("remote-down", downPort)]);
    await context.addService([local("local-ok", SERVE), local("local-fails", FAIL)]);
    await context.waitService("remote-ok", { timeoutMs: 15_000 });
    await context.waitService("local-ok", { timeoutMs: 15_000 });
    for (const name of failing) await context.waitService(name, { timeoutMs: 5_000 }).catch((error: unknown) => errors.push(error));
    await context.callTool("remote-ok_echo", { text: "hi" });
    await context.callTool("remote-500_echo", { text: "hi" }).catch((error: unknown) => errors.push(error));

    // The servers got what they need, the credentials of the URL as an Authorization header, not in the URL.
    expect(fixture.receivedHeaders.at(-1)?.authorization).toBe(basic("user", CANARY));
    expect(fixture.receivedUrls.length).toBeGreaterThan(0);
    for (const url of fixture.receivedUrls) expect(url).toBe(`/mcp?api_key=${CANARY}&mode=full`);

    const services = await context.listServices();
    const info = Object.fromEntries(services.map((service) => [service.name, service]));
    expect(info["remote-ok"]!.state).toBe("healthy");
    expect(info["local-ok"]!.state).toBe("healthy");
    for (const name of failing) expect({ name, lastError: info[name]!.lastError }).toEqual({ name, lastError: expect.any(String) });
    // The upstream's body is quoted, cut short.
    expect(info["remote-500"]!.lastError).toContain("upstream broke on /mcp?api_key=***");
    expect(info["remote-500"]!.lastError).not.toContain("padding ".repeat(30));
    expect(info["local-ok"]!.stderrTail).toContain("connecting to postgres://u:***@db/x as postgres://admin:***");
    expect(info["local-fails"]!.lastError).toContain("connecting to postgres://u:***@db/x");
    expect(info["remote-ok"]!.config.url).toBe(`http://user:${PLACEHOLDER}@127.0.0.1:${fixture.port}/mcp?api_key=${PLACEHOLDER}&mode=***`);

    const fileText = await readFile(file, "utf8");
    expect(fileText).toContain(PLACEHOLDER);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const haystacks: Record<string, string> = {
      file: fileText,
      logs: JSON.stringify(logger.entries),
      events: JSON.stringify(store.events().events, (_key, value: unknown) => (value instanceof Error ? { message: value.message } : value)),
      errors: errors.map((error) => `${(error as Error).message} ${JSON.stringify((error as { details?: unknown }).details ?? {})}`).join("\n"),
      services: JSON.stringify(services),
      getService: JSON.stringify(await Promise.all(services.map((service) => context.getService(service.name)))),
      checkServices: JSON.stringify(await context.checkServices()),
      exported: JSON.stringify(store.exportConfig()),
    };
    expect(errors.length).toBeGreaterThanOrEqual(failing.length);
    for (const [where, haystack] of Object.entries(haystacks)) {
      expect({ where, canary: haystack.includes(CANARY), basic: haystack.includes(BASIC_TOKEN) }).toEqual({ where, canary: false, basic: false });
    }
  });
});

describe("SecretScrubber", () => {
  it("hides URL passwords, credential query values and the Basic token they make", () => {
    const url = "http://u:url%40pass-7@127.0.0.1:1/mcp?api_key=query-key-1&X-Api-Key=other-key-2&sig=sig%2Fvalue-3&page=22";
    const scrubber = new SecretScrubber({ name: "r", url });
    const token = Buffer.from("u:url@pass-7").toString("base64");
    expect(scrubber.scrub(`url@pass-7 url%40pass-7 query-key-1 other-key-2 sig/value-3 sig%2Fvalue-3 ${token} page=22`)).toBe("*** *** *** *** *** *** *** page=22");
  });

  it("hides DSN passwords and --password= values of args, and DSN passwords of env values", () => {
    const scrubber = new SecretScrubber({
      name: "l",
      command: "x",
      args: ["--db=mysql://root:arg-dsn-pass@h/db", "--password=hunter22", "--api-token", "tok-abcdef", "--verbose", "plain"],
      env: { DB: "postgres://u:env-dsn-pass@db/x" },
    });
    expect(scrubber.scrub("arg-dsn-pass hunter22 tok-abcdef env-dsn-pass plain verbose")).toBe("*** *** *** *** plain verbose");
  });

  it("hides credentials of any URL in a text, even ones not in the config", () => {
    const scrubber = new SecretScrubber({ name: "r", url: "http://127.0.0.1:1/mcp" });
    expect(scrubber.scrub("redirected to https://bot:p4ss@h.test/x?access_token=abc123&page=2, then postgres://u:pw@db/x")).toBe(
      "redirected to https://bot:***@h.test/x?access_token=***&page=2, then postgres://u:***@db/x",
    );
  });

  it("quotes an upstream's error body cut to 200 characters, on one line", () => {
    const scrubber = new SecretScrubber({ name: "r", url: "http://127.0.0.1:1/mcp", headers: { "X-Key": "header-secret-1" } });
    const body = `oops header-secret-1\n${"y".repeat(1000)}`;
    const described = scrubber.describe(new StreamableHTTPError(500, `Error POSTing to endpoint: ${body}`));
    expect(described).toMatch(/^HTTP 500: Streamable HTTP error: Error POSTing to endpoint: oops \*\*\* y+…$/);
    expect(described.split("endpoint: ")[1]).toHaveLength(UPSTREAM_BODY_CHARS + 1);
  });
});

describe("redactServiceConfig", () => {
  it("hides literal URL passwords and query values, keeping placeholders as written", () => {
    const redacted = redactServiceConfig({ name: "r", url: "http://u:pw-literal@127.0.0.1:${PORT}/mcp?api_key=k-literal&api_token=${TOKEN}&mode=full" });
    expect(redacted.url).toBe("http://u:***@127.0.0.1:${PORT}/mcp?api_key=***&api_token=${TOKEN}&mode=***");
    expect(redactServiceConfig({ name: "t", url: "https://ghp_token123@github.example/mcp" }).url).toBe("https://***@github.example/mcp");
  });

  it("hides DSN passwords and credential options in args", () => {
    const args = ["postgres://u:pw@db/x", "--password=pw2", "--api-key", "k", "postgres://u:${PW}@db/x", "--verbose", "plain"];
    expect(redactServiceConfig({ name: "l", command: "x", args }).args).toEqual([
      "postgres://u:***@db/x",
      "--password=***",
      "--api-key",
      "***",
      "postgres://u:${PW}@db/x",
      "--verbose",
      "plain",
    ]);
  });
});
