import { prometheusPlugin } from "@mcpstore/plugin-prometheus";
import { fixtureCliPath, startHttpFixture, stdioFixtureConfig, type HttpFixture } from "@mcpstore/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SCOPE_ROUTES, type ScopeRoute } from "../src/index.js";
import { ADMIN_TOKEN, ALICE_TOKEN, BOB_TOKEN, registeredRoutes, startTestApi, type HttpResponse, type TestApi } from "./helpers.js";

// What an agent token must never manage, tried against every route: another agent's services, the store scope and the
// admin-only routes (the matrix is built from SCOPE_ROUTES and the app's routes, so a new route is tried too); moving
// credentials an admin set to a server of its own; running commands; `${VAR}` placeholders; local, link-local and
// private destinations. Every attempt is a request that would succeed with the right token (the controls check that);
// none may succeed, nothing may change in any scope, and the agent's own server (`recorder`, on 127.0.0.1) must receive
// nothing at all, so neither the admin's secrets. Refused destinations are refused before any packet is sent: the
// private and link-local ones are IP literals judged without a lookup, and host names go to a lookup injected here,
// which answers loopback only.

const SECRET = "Bearer sk-live-cross-0123456789abcdef";
const KEY = "key-cross-0123456789abcdef";
const COMPOSED_VALUE = "composed-cross-0123456789abcdef";
const LEAKS = ["sk-live-cross", KEY, COMPOSED_VALUE];
process.env.MCPSTORE_CROSS_AGENT_KEY = COMPOSED_VALUE;

const AGENTS = [
  { agentId: "alice", token: ALICE_TOKEN, service: "gh" },
  { agentId: "bob", token: BOB_TOKEN, service: "bobs" },
] as const;
/** The service each scope's examples name. */
const TARGET: Record<string, string> = { store: "vault", alice: "gh", bob: "bobs" };

let home: HttpFixture;
let recorder: HttpFixture;
let api: TestApi;
let egressApi: TestApi;
const metrics = prometheusPlugin();

interface Attempt {
  label: string;
  status: number;
  succeeded: boolean;
}
const attempts: Attempt[] = [];
const tally = { matrix: 0, credentials: 0, egress: 0 };

/** Sends one attempt and records it: it succeeded when the answer is a 2xx (for a batch: when an item was added). */
async function attempt(kind: keyof typeof tally, target: TestApi, label: string, path: string, method: string, token: string, body?: unknown): Promise<HttpResponse> {
  const response = await target.send(path, { token, method, ...(body !== undefined ? { body } : {}) });
  const results = (response.json as { results?: Array<{ success: boolean }> } | undefined)?.results;
  const succeeded = response.status < 300 && (!Array.isArray(results) || results.some((result) => result.success));
  attempts.push({ label: `${label}: ${method} ${path} → ${response.status} ${response.text.slice(0, 160)}`, status: response.status, succeeded });
  tally[kind]++;
  expect(response.status, `${label}: ${response.text}`).toBeLessThan(500);
  for (const leak of LEAKS) expect(response.text, label).not.toContain(leak);
  if (response.status >= 400) expect(response.json, label).toEqual({ error: expect.objectContaining({ code: expect.any(String), message: expect.any(String) }) });
  return response;
}

/** Every service of every scope, with its config (as shown) and when it was added: a change or a re-add shows. */
async function snapshot(target: TestApi): Promise<unknown> {
  const scopes: Record<string, unknown> = {};
  const shown = (services: Array<{ name: string; config: unknown; addedAt: string }>) => services.map(({ name, config, addedAt }) => ({ name, config, addedAt }));
  scopes.store = shown(await target.store.forStore().listServices());
  for (const { agentId } of await target.store.forStore().listAgents()) scopes[agentId] = shown(await target.store.forAgent(agentId).listServices());
  return scopes;
}

const remote = (name: string, headers?: Record<string, string>) => ({ name, url: home.url, transport: "streamable-http" as const, ...(headers ? { headers } : {}) });

beforeAll(async () => {
  home = await startHttpFixture();
  recorder = await startHttpFixture();
  // Agents may reach the recorder: only the credential rule stands between the admin's secrets and it.
  api = await startTestApi({ services: false, plugins: [metrics], metrics, authFailureLimit: false, agentPolicy: { allowEgress: [`127.0.0.1:${recorder.port}`] } });
  const admin = { store: api.store.forStore(), alice: api.store.forAgent("alice"), bob: api.store.forAgent("bob") };
  await admin.store.addService(remote("vault", { Authorization: SECRET }));
  await admin.alice.addService([
    remote("gh", { Authorization: SECRET }),
    remote("gh2", { Authorization: SECRET, "X-Api-Key": KEY }),
    remote("gh_composed", { Authorization: "Bearer sk-${MCPSTORE_CROSS_AGENT_KEY}" }),
    stdioFixtureConfig("local", { env: { API_TOKEN: SECRET } }),
  ]);
  await admin.bob.addService(remote("bobs", { Authorization: SECRET }));
  // The store's default agent policy (no exceptions), with a resolver that answers loopback for every name.
  egressApi = await startTestApi({ services: false, authFailureLimit: false, agentPolicy: { lookup: async () => [{ address: "127.0.0.1", family: 4 }] } });
  await egressApi.store.forAgent("alice").addService(remote("plain"));
  const waits = [["store", "vault"], ["alice", "gh"], ["alice", "gh2"], ["alice", "gh_composed"], ["alice", "local"], ["bob", "bobs"]] as const;
  await Promise.all([
    ...waits.map(([scope, name]) => admin[scope].waitService(name, { timeoutMs: 20_000 })),
    egressApi.store.forAgent("alice").waitService("plain", { timeoutMs: 20_000 }),
  ]);
}, 60_000);

afterAll(async () => {
  await api?.close();
  await egressApi?.close();
  await recorder?.close();
  await home?.close();
});

// The matrix.

/** A request for a route that would succeed against `scope` with the right token. */
function example(route: ScopeRoute, scope: string): { name?: string; query?: string; body?: unknown } {
  const service = TARGET[scope]!;
  switch (route.operation) {
    case "addService":
    case "batchAddServices":
      return { body: { name: "intruder", url: recorder.url } };
    case "updateService":
      return { name: service, body: { url: recorder.url, transport: "streamable-http", headers: { Authorization: SECRET } } };
    case "patchService":
      return { name: service, body: { url: recorder.url } };
    case "waitService":
      return { name: service, body: { timeoutMs: 5_000 } };
    case "getTool":
      return { name: `${service}_echo` };
    case "callTool":
      return { body: { tool: `${service}_echo`, args: { text: "hi" } } };
    case "getPrompt":
      return { body: { name: `${service}_greet`, args: { name: "x" } } };
    case "readResource":
      return { query: `?uri=fixture%3A%2F%2Freadme&service=${service}` };
    case "listTools":
    case "listResources":
    case "listPrompts":
      return { query: `?service=${service}` };
    default:
      return route.path.includes(":name") ? { name: service } : {};
  }
}

/** Routes whose example leaves everything as it was: the admin's token runs them as controls. */
const MUTATING = new Set(["addService", "batchAddServices", "updateService", "patchService", "removeService", "restartService"]);

const fill = (route: ScopeRoute, prefix: string, name: string | undefined, query = "") => `${prefix}${route.path.replace(":name", name ?? "")}${query}`;

/** Ways of spelling another agent's prefix: plain, encoded, upper-cased, through dot segments, a doubled slash. */
const foreignPrefixes = (self: string, other: string) => [
  `/for_agent/${other}`,
  `/for_agent/%${other.charCodeAt(0).toString(16)}${other.slice(1)}`,
  `/for_agent/${other.toUpperCase()}`,
  `/for_agent/${self}/../${other}`,
  `/for_agent/${self}/%2e%2e/${other}`,
  `/for_agent/${self}%2F..%2F${other}`,
  `//for_agent/${other}`,
];
const storePrefixes = (self: string) => ["/for_store", "/%66or_store", `/for_agent/${self}/../../for_store`, `/for_agent/${self}/%2e%2e/%2e%2e/for_store`];
/** Routes any token (or none) may use. */
const OPEN_ROUTES = new Set(["GET /health", "GET /docs", "GET /openapi.json"]);

describe("an agent token against every route it may not use", () => {
  it("covers every registered route", () => {
    const scoped = new Set(SCOPE_ROUTES.flatMap((route) => route.scopes.map((scope) => `${route.method} ${scope === "store" ? "/for_store" : "/for_agent/:agentId"}${route.path}`)));
    const other = registeredRoutes(api.app).filter((route) => !scoped.has(route) && !OPEN_ROUTES.has(route));
    // The admin-only routes outside the scopes, tried below; a new one fails here until it is listed.
    expect(other).toEqual(["GET /health/detailed", "GET /metrics"]);
  });

  it("the examples are real: the admin's token gets a 200 for each that changes nothing", async () => {
    for (const route of SCOPE_ROUTES.filter((candidate) => !MUTATING.has(candidate.operation))) {
      for (const scope of route.scopes.includes("agent") ? ["store", "alice", "bob"] : ["store"]) {
        if (!route.scopes.includes("store") && scope === "store") continue;
        const { name, query, body } = example(route, scope);
        const path = fill(route, scope === "store" ? "/for_store" : `/for_agent/${scope}`, name, query);
        const response = await api.send(path, { token: ADMIN_TOKEN, method: route.method, ...(body !== undefined ? { body } : {}) });
        expect(response.status, `${path}: ${response.text}`).toBe(200);
      }
    }
  });

  it("refuses each agent another agent's paths, the store scope and the admin routes, however spelled", async () => {
    const before = await snapshot(api);
    for (const { agentId, token } of AGENTS) {
      const other = agentId === "alice" ? "bob" : "alice";
      for (const route of SCOPE_ROUTES) {
        const targets = [
          ...(route.scopes.includes("agent") ? foreignPrefixes(agentId, other).map((prefix) => ({ prefix, scope: other })) : []),
          ...(route.scopes.includes("store") ? storePrefixes(agentId).map((prefix) => ({ prefix, scope: "store" })) : []),
        ];
        for (const { prefix, scope } of targets) {
          const { name, query, body } = example(route, scope);
          await attempt("matrix", api, `${agentId} → ${scope}`, fill(route, prefix, name, query), route.method, token, body);
        }
        // Through a name in its own scope.
        if (route.path.includes(":name") && route.scopes.includes("agent")) {
          const { body } = example(route, other);
          for (const name of [`..%2F${other}%2F${TARGET[other]}`, `%2e%2e%2F%2e%2e%2Ffor_agent%2F${other}%2F${TARGET[other]}`]) {
            await attempt("matrix", api, `${agentId} → ${other} by name`, fill(route, `/for_agent/${agentId}`, name), route.method, token, body);
          }
        }
      }
      for (const path of ["/health/detailed", "/metrics", "/health/detailed/", "/%6Detrics"]) await attempt("matrix", api, `${agentId} → admin route`, path, "GET", token);
    }
    expect(await snapshot(api)).toEqual(before);
  });
});

describe("an agent moving, running or expanding what the admin set up", () => {
  const alice = (label: string, method: string, path: string, body: unknown) => attempt("credentials", api, label, `/for_agent/alice${path}`, method, ALICE_TOKEN, body);
  const command = { command: process.execPath, args: [fixtureCliPath] };

  it("refuses every move of the admin's credentials to another destination", async () => {
    const before = await snapshot(api);
    await alice("patch the url", "PATCH", "/patch_service/gh", { url: recorder.url });
    await alice("patch the url, the same header", "PATCH", "/patch_service/gh", { url: recorder.url, headers: { Authorization: SECRET } });
    await alice("update, the same header", "PUT", "/update_service/gh", { url: recorder.url, transport: "streamable-http", headers: { Authorization: SECRET } });
    await alice("update, an equivalent url", "PUT", "/update_service/gh", { url: `http://127.1:${recorder.port}/mcp`, transport: "streamable-http", headers: { Authorization: SECRET } });
    await alice("transport change", "PATCH", "/patch_service/gh", { transport: "sse" });
    await alice("transport and url change", "PATCH", "/patch_service/gh", { url: recorder.sseUrl, transport: "sse" });
    await alice("one header of two replaced", "PATCH", "/patch_service/gh2", { url: recorder.url, headers: { Authorization: "Bearer alice-own", "X-Api-Key": KEY } });
    await alice("composed header, url", "PATCH", "/patch_service/gh_composed", { url: recorder.url });
    await alice("composed header, re-sent", "PUT", "/update_service/gh_composed", { url: recorder.url, headers: { Authorization: "Bearer sk-${MCPSTORE_CROSS_AGENT_KEY}" } });
    await alice("re-add over it", "POST", "/add_service", { mcpServers: { gh: { url: recorder.url } } });
    await alice("batch re-add over it", "POST", "/batch_add_services", [{ name: "gh", url: recorder.url }]);
    // The record of who set what lives in the config: an agent cannot write it.
    await api.send("/for_agent/alice/patch_service/gh", { token: ALICE_TOKEN, method: "PATCH", body: { set_by_agent: ["destination", "credentials"] } });
    await alice("patch the url after claiming the credentials", "PATCH", "/patch_service/gh", { url: recorder.url });
    await alice("stdio env to a url", "PATCH", "/patch_service/local", { command: null, url: recorder.url });
    expect(await snapshot(api)).toEqual(before);
  });

  it("refuses every local (stdio) service and every change of one", async () => {
    const before = await snapshot(api);
    await alice("add a command", "POST", "/add_service", { name: "cmd", ...command });
    await alice("add a command in a list", "POST", "/add_service", [{ name: "cmd", ...command }]);
    await alice("add a command in mcpServers", "POST", "/add_service", { mcpServers: { cmd: command } });
    await alice("batch add a command", "POST", "/batch_add_services", { mcpServers: { cmd: command, ok: { url: recorder.url } } });
    await alice("update a remote to a command", "PUT", "/update_service/gh", command);
    await alice("patch a remote to a command", "PATCH", "/patch_service/gh", { ...command, url: null, transport: null, headers: null });
    await alice("patch the arguments", "PATCH", "/patch_service/local", { args: [fixtureCliPath, "--name", "mine"] });
    await alice("patch the env", "PATCH", "/patch_service/local", { env: { API_TOKEN: "mine" } });
    await alice("update the command line", "PUT", "/update_service/local", { ...command, env: { API_TOKEN: "mine" } });
    expect(await snapshot(api)).toEqual(before);
  });

  it("refuses every ${VAR} placeholder from an agent", async () => {
    const before = await snapshot(api);
    const header = { Authorization: "Bearer ${MCPSTORE_CROSS_AGENT_KEY}" };
    await alice("in a header", "POST", "/add_service", { name: "p1", url: recorder.url, headers: header });
    await alice("in the url", "POST", "/add_service", { name: "p2", url: `${recorder.url}?k=\${MCPSTORE_CROSS_AGENT_KEY}` });
    await alice("with a default", "POST", "/add_service", { name: "p3", url: recorder.url, headers: { Authorization: "${HOME:-x}" } });
    await alice("in mcpServers", "POST", "/add_service", { mcpServers: { p4: { url: recorder.url, headers: header } } });
    await alice("in a batch", "POST", "/batch_add_services", [{ name: "p5", url: recorder.url, headers: header }]);
    await alice("in a patch", "PATCH", "/patch_service/gh", { headers: header, url: recorder.url });
    await alice("in a field that is not expanded", "PATCH", "/patch_service/gh", { description: "${MCPSTORE_CROSS_AGENT_KEY}" });
    await alice("in an update", "PUT", "/update_service/gh", { url: recorder.url, headers: header });
    await alice("in a stdio env", "PATCH", "/patch_service/local", { env: { API_TOKEN: "${MCPSTORE_CROSS_AGENT_KEY}" } });
    expect(await snapshot(api)).toEqual(before);
  });
});

describe("an agent pointing services at local, link-local and private addresses (the default policy)", () => {
  const DESTINATIONS = [
    "http://127.0.0.1:{port}/mcp", "http://127.1:{port}/mcp", "http://2130706433:{port}/mcp", "http://0x7f.1:{port}/mcp", "http://[::1]:{port}/mcp",
    "http://[::ffff:127.0.0.1]:{port}/mcp", "http://0.0.0.0:{port}/mcp", "http://[::]:{port}/mcp", "http://169.254.169.254/latest/meta-data/",
    "http://[::ffff:a9fe:a9fe]/", "http://[fe80::1]/mcp", "http://10.0.0.8/mcp", "http://172.16.0.1/mcp", "http://192.168.1.1/mcp", "http://[fd00::1]/mcp",
    "http://user:pw@10.0.0.1/mcp", "http://rebinding.example:{port}/mcp",
  ];

  it("refuses each one with a 403 naming the rule, before connecting, whatever the route", async () => {
    const before = await snapshot(egressApi);
    for (const template of DESTINATIONS) {
      const url = template.replace("{port}", String(recorder.port));
      const bodies: Array<[string, string, unknown]> = [
        ["/add_service", "POST", { name: "sneaky", url }],
        ["/add_service", "POST", { mcpServers: { sneaky: { url } } }],
        ["/batch_add_services", "POST", [{ name: "sneaky", url }]],
        ["/patch_service/plain", "PATCH", { url }],
        ["/update_service/plain", "PUT", { url, transport: "streamable-http" }],
      ];
      for (const [path, method, body] of bodies) {
        const response = await attempt("egress", egressApi, url, `/for_agent/alice${path}`, method, ALICE_TOKEN, body);
        const answer = response.json as { error?: unknown; results?: Array<{ error?: unknown }> };
        const refusal = answer.results?.[0]?.error ?? answer.error;
        expect(refusal, `${path} ${url}`).toMatchObject({ code: "FORBIDDEN", details: { rule: expect.stringMatching(/^egress:/) } });
      }
    }
    expect(await snapshot(egressApi)).toEqual(before);
  });
});

describe("the outcome", () => {
  it("no attempt succeeded, the agent's server received nothing, the admin's server got its secrets", async () => {
    // Time for a service that was (wrongly) restarted elsewhere to connect.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const succeeded = attempts.filter((entry) => entry.succeeded);
    console.log(`cross-agent attempts: ${attempts.length} (matrix ${tally.matrix}, credentials ${tally.credentials}, egress ${tally.egress}), succeeded: ${succeeded.length}`);
    expect(succeeded.map((entry) => entry.label)).toEqual([]);
    expect(attempts.length).toBeGreaterThan(400);
    const received = JSON.stringify(recorder.receivedHeaders);
    for (const leak of LEAKS) expect(received).not.toContain(leak);
    expect(recorder.receivedUrls).toEqual([]);
    // The check above means something: the admin's own server does get the secrets, composed one included.
    const atHome = JSON.stringify(home.receivedHeaders);
    expect(atHome).toContain(SECRET);
    expect(atHome).toContain(COMPOSED_VALUE);
  });
});
