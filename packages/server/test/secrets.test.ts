import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { startHttpFixture, type HttpFixture } from "@mcpstore/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, ALICE_TOKEN, startTestApi, type HttpResponse, type TestApi } from "./helpers.js";

// Issue 13, item 4 over real HTTP: one secret, given through `${VAR}` in a header, a URL password, a query parameter
// and a DSN argument, never shows in a response of the API, whether the services work or fail.

const CANARY = "canary-7f3a9c1e5b";
const VARIABLE = "MCPSTORE_SERVER_TEST_CANARY";
const PLACEHOLDER = `\${${VARIABLE}}`;
const BASIC = `Basic ${Buffer.from(`user:${CANARY}`).toString("base64")}`;

let api: TestApi;
let fixture: HttpFixture;
let echoing: Server;
/** Every response of the API, searched for the canary. */
const responses: HttpResponse[] = [];

const listen = (server: Server) => new Promise<number>((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)));

const remote = (name: string, port: number) => ({
  name,
  url: `http://user:${PLACEHOLDER}@127.0.0.1:${port}/mcp?api_key=${PLACEHOLDER}`,
  transport: "streamable-http",
  headers: { "X-Api-Key": PLACEHOLDER },
});

/** Prints its DSN argument to stderr, then exits with code 1. */
const failingLocal = {
  name: "local-fails",
  command: process.execPath,
  args: ["-e", 'process.stderr.write("cannot reach " + process.argv[1] + "\\n"); setTimeout(() => process.exit(1), 100);', `postgres://u:${PLACEHOLDER}@db/x`],
};

beforeAll(async () => {
  process.env[VARIABLE] = CANARY;
  fixture = await startHttpFixture({ transports: "streamable-http", requireHeaders: { authorization: BASIC, "x-api-key": CANARY } });
  // An upstream that answers 500 quoting the request's URL and headers back.
  echoing = createServer((request, response) => {
    request.resume();
    request.on("end", () => response.writeHead(500).end(`failed ${request.url} ${JSON.stringify(request.headers)}`));
  });
  const echoingPort = await listen(echoing);
  const closed = createServer();
  const downPort = await listen(closed);
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  api = await startTestApi({ services: false });
  const add = async (path: string, body: unknown) => {
    const response = await api.send(path, { token: ADMIN_TOKEN, method: "POST", body });
    expect(response.status, response.text).toBe(200);
    responses.push(response);
  };
  await add("/for_store/add_service", [remote("remote-ok", fixture.port), remote("remote-500", echoingPort), remote("remote-down", downPort), failingLocal]);
  await add("/for_agent/alice/add_service", remote("alice-ok", fixture.port));
  await api.store.forStore().waitService("remote-ok", { timeoutMs: 15_000 });
  await api.store.forAgent("alice").waitService("alice-ok", { timeoutMs: 15_000 });
  // The failing ones keep retrying (with backoff): their first failure is enough.
  for (const name of ["remote-500", "remote-down", "local-fails"]) {
    const deadline = Date.now() + 10_000;
    while ((await api.store.forStore().getService(name)).lastError === undefined && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
  }
});

afterAll(async () => {
  delete process.env[VARIABLE];
  await api?.close();
  echoing?.closeAllConnections();
  await new Promise<void>((resolve) => (echoing ? echoing.close(() => resolve()) : resolve()));
  await fixture?.close();
});

describe("the canary over the API", () => {
  it("is in no response: list, get, check, health, call, and the errors of failed services", async () => {
    const admin = (path: string, options: { method?: string; body?: unknown } = {}) => api.send(path, { token: ADMIN_TOKEN, ...options });
    const list = await admin("/for_store/list_services");
    responses.push(list);
    for (const name of ["remote-ok", "remote-500", "remote-down", "local-fails"]) responses.push(await admin(`/for_store/get_service/${name}`));
    responses.push(await admin("/for_store/check_services"));
    responses.push(await admin("/health/detailed"));
    responses.push(await admin("/health"));
    const called = await admin("/for_store/call_tool", { method: "POST", body: { tool: "remote-ok_echo", args: { text: "hi" } } });
    const failed = await admin("/for_store/call_tool", { method: "POST", body: { tool: "remote-500_echo", args: { text: "hi" } } });
    expect([called.status, failed.status >= 400]).toEqual([200, true]);
    responses.push(called, failed);
    responses.push(await api.send("/for_agent/alice/list_services", { token: ALICE_TOKEN }));
    responses.push(await api.send("/for_agent/alice/get_service/alice-ok", { token: ALICE_TOKEN }));
    responses.push(await api.send("/for_agent/alice/check_services", { token: ALICE_TOKEN }));

    const services = Object.fromEntries(list.json.services.map((service: { name: string }) => [service.name, service]));
    expect(services["remote-ok"].state).toBe("healthy");
    for (const name of ["remote-500", "remote-down", "local-fails"]) expect({ name, lastError: services[name].lastError }).toEqual({ name, lastError: expect.any(String) });
    expect(services["remote-500"].lastError).toContain("failed /mcp?api_key=***");
    expect(services["local-fails"].stderrTail).toContain("cannot reach postgres://u:***@db/x");
    expect(fixture.receivedHeaders.at(-1)?.authorization).toBe(BASIC);
    for (const url of fixture.receivedUrls) expect(url).toBe(`/mcp?api_key=${CANARY}`);

    for (const response of responses) {
      expect({ body: response.text.slice(0, 300), canary: response.text.includes(CANARY), basic: response.text.includes(BASIC.slice(6)) }).toMatchObject({
        canary: false,
        basic: false,
      });
    }
  });
});
