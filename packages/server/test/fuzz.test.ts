import { Agent, request as httpRequest } from "node:http";
import { createServer } from "node:net";
import { prometheusPlugin } from "@mcpstore/plugin-prometheus";
import { startHttpFixture, type HttpFixture } from "@mcpstore/testing";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SCOPE_ROUTES, type ScopeRoute } from "../src/index.js";
import { ADMIN_TOKEN, ALICE_TOKEN, BOB_TOKEN, registeredRoutes, startTestApi, type TestApi } from "./helpers.js";

// Random bodies, raw texts, query strings and path names against every route of the app, with an admin token and
// with alice's, over a real socket: whatever comes in, the answer is a 2xx or a 4xx in the error shape, never a 5xx
// nor a stack trace. MCPSTORE_FUZZ_SEED and MCPSTORE_FUZZ_RUNS replay a failure or change the effort.
//
// Nothing may start a process or send a packet off 127.0.0.1:
// - local (stdio) services are turned off, so that no body can start a process (`demo` and alice's `notes` are started
//   by the test itself, through the library);
// - every string of every body (and of every raw text that parses as JSON) goes through `keepOnLoopback`: a string
//   that parses as a URL whose host is not a 127.x or [::1] literal, or that holds a `${` (a placeholder expands from
//   this process' environment, and `${X:-10.0.0.1}` would pick its own host), becomes a URL of a closed loopback port,
//   except the few placeholder strings below whose host is fixed. That holds for every token: the admin is not bound by
//   the egress rules, so its adds connect to whatever they name, and agents are allowed the fixture's port (so that
//   their valid adds get as far as connecting) and refused the rest of loopback. Host names are never used (their
//   lookup alone would send a packet to the resolver). The refusals of private and link-local addresses, which must be
//   decided without a packet, are checked in cross-agent.test.ts and agent-policy.test.ts.
// - routes that restart or wait get names of services that do not exist; `update`/`patch` target `web`, a remote
//   service on the fixture (re-set after each of those routes), never the stdio ones, which a URL body would replace;
//   services a fuzzed add created are removed after each run, so that the store stays small.

const SEED = Number(process.env.MCPSTORE_FUZZ_SEED ?? 20_613);
const RUNS = Number(process.env.MCPSTORE_FUZZ_RUNS ?? 2_000);
const SECRET = "Bearer sk-fuzz-0123456789abcdef";

let api: TestApi;
let fixture: HttpFixture;
let closedUrl: string;
let requests = 0;
const started = performance.now();
const metrics = prometheusPlugin();
const webConfig = () => ({ name: "web", url: fixture.url, transport: "streamable-http" as const, headers: { Authorization: SECRET } });

/** A port of 127.0.0.1 nobody listens on: connecting to it is refused at once. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

beforeAll(async () => {
  fixture = await startHttpFixture();
  closedUrl = `http://127.0.0.1:${await closedPort()}/mcp`;
  // The throttle of bad tokens (auth-throttle.test.ts) would turn every answer after the tenth bad token into a 429.
  api = await startTestApi({
    allowStdioServices: false,
    authFailureLimit: false,
    plugins: [metrics],
    metrics,
    agentPolicy: { allowEgress: [`127.0.0.1:${fixture.port}`] },
  });
  await api.store.forStore().addService(webConfig());
  await api.store.forAgent("alice").addService(webConfig());
  await Promise.all([api.store.forStore().waitService("web", { timeoutMs: 15_000 }), api.store.forAgent("alice").waitService("web", { timeoutMs: 15_000 })]);
}, 60_000);

afterAll(async () => {
  keepAlive.destroy();
  await api?.close();
  await fixture?.close();
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`fuzz: ${requests} requests over ${cases.length} routes (${RUNS} runs each), seed ${SEED}, ${seconds} s`);
});

// Requests.

/** A request as sent: the body is text, JSON or not. */
interface FuzzRequest { method: string; path: string; token?: string; body?: string; contentType?: string }
interface FuzzResponse { status: number; text: string; json: unknown }

/** One socket kept open: thousands of requests do not each pay a TCP handshake. */
const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });

function send(fuzzed: FuzzRequest, agent: Agent | false = keepAlive): Promise<FuzzResponse> {
  requests++;
  const url = new URL(api.url);
  const headers: Record<string, string> = {
    ...(fuzzed.token !== undefined ? { authorization: `Bearer ${fuzzed.token}` } : {}),
    ...(fuzzed.body !== undefined ? { "content-type": fuzzed.contentType ?? "application/json", "content-length": String(Buffer.byteLength(fuzzed.body)) } : {}),
  };
  return new Promise((resolve, reject) => {
    const request = httpRequest({ host: url.hostname, port: url.port, path: fuzzed.path, method: fuzzed.method, headers, agent }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: response.statusCode ?? 0, text, json });
      });
      response.on("error", reject);
    });
    request.on("error", (error) => {
      // A kept-alive socket the server closed between two requests: Node's documented case for one retry.
      if (request.reusedSocket && agent !== false) send(fuzzed, false).then(resolve, reject);
      else reject(error);
    });
    if (fuzzed.body !== undefined) request.write(fuzzed.body);
    request.end();
  });
}

function expectNoServerError(fuzzed: FuzzRequest, response: FuzzResponse): void {
  const label = `${fuzzed.method} ${fuzzed.path.slice(0, 200)} ${fuzzed.body?.slice(0, 300) ?? ""} → ${response.status} ${response.text.slice(0, 300)}`;
  expect(response.status, label).toBeLessThan(500);
  expect(response.text, label).not.toMatch(/\n\s+at |\bat [\w.<>]+ \(|node:internal/);
  // A HEAD answer has no body, by definition.
  if (response.status >= 400 && fuzzed.method !== "HEAD") {
    expect(response.json, label).toEqual({ error: expect.objectContaining({ code: expect.any(String), message: expect.any(String) }) });
  }
}

// Keeping every destination on loopback (see the top of the file).

const isLoopbackHost = (host: string) => /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || host === "[::1]";
/** Placeholder strings that cannot change where a request goes: the host comes before them, or they are not URLs. */
const fixedHostPlaceholders = () => [`${closedUrl}/\${MCPSTORE_FUZZ_UNSET}`, `${fixture.url}?v=\${HOME}`, "Bearer sk-${MCPSTORE_FUZZ_UNSET}"];

function safeString(value: string): string {
  if (fixedHostPlaceholders().includes(value)) return value;
  if (value.includes("${")) return closedUrl;
  try {
    return isLoopbackHost(new URL(value).hostname) ? value : closedUrl;
  } catch {
    return value;
  }
}

function keepOnLoopback(value: unknown): unknown {
  if (typeof value === "string") return safeString(value);
  if (Array.isArray(value)) return value.map(keepOnLoopback);
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value).map(([key, item]) => [key, keepOnLoopback(item)]);
    // fromEntries defines `__proto__` as an own key, as JSON.parse does.
    return Object.fromEntries(entries);
  }
  return value;
}

/** A raw text as it is, unless it parses as JSON: then its strings are kept on loopback too. */
function safeText(text: string): string {
  try {
    const parsed: unknown = JSON.parse(text);
    const safe = JSON.stringify(keepOnLoopback(parsed));
    return safe === JSON.stringify(parsed) ? text : safe;
  } catch {
    return text;
  }
}

// Generators.

// Bytes past 0x7e are sent percent-encoded, as clients do: raw, Node's parser refuses the request line (a 400 without
// a body) before the app sees it.
const visibleAscii = (excluded: string) => fc.integer({ min: 0x21, max: 0x7e }).map((code) => String.fromCharCode(code)).filter((char) => !excluded.includes(char));
/** Services the test started: a fuzzed name must not stop, restart or replace them (`%64emo` is `demo`). */
const STARTED_SERVICES = new Set(["demo", "notes", "web"]);
function decodedOrRaw(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
/** Segments sent as they are: odd encodings, traversal, NUL, slashes, long ones, unicode and invalid UTF-8. */
const oddSegment = fc.oneof(
  fc.constantFrom("..", ".", "%2e%2e", "%2E%2E%2F", "%00", "a%00b", "%2F", "a%2Fb", "..%2F..%2Fetc%2Fpasswd", "%", "%E0%A4%A", "%zz", "%C0%AF", "%EF%BF%BD"),
  fc.constantFrom("x".repeat(65), "y".repeat(300), "z".repeat(5_000), encodeURIComponent("名前🙂"), encodeURIComponent("ünïcødé"), "%F0%9F%99%82", "demo%20", "%6Dissing", "__proto__", "constructor", "a;b=c"),
  fc.string({ unit: "grapheme", minLength: 1, maxLength: 80 }).map(encodeURIComponent),
  fc.string({ unit: visibleAscii("/?#"), minLength: 1, maxLength: 40 }),
).filter((segment) => !STARTED_SERVICES.has(decodedOrRaw(segment)));
const querySuffix = fc.oneof(
  { weight: 3, arbitrary: fc.constant("") },
  fc.dictionary(
    fc.constantFrom("service", "uri", "name", "x", "__proto__", "service[]"),
    fc.oneof(fc.string({ unit: "grapheme", maxLength: 80 }), fc.constantFrom("demo", "notes", "web", "fixture://readme", "missing", "", "u".repeat(5_000), "s".repeat(65))),
    { maxKeys: 3 },
  ).map((query) => `?${new URLSearchParams(query).toString()}`),
  fc.constantFrom("?service=demo&service=notes", "?uri=%", "?uri=%E0%A4%A", "?service=%00", "?uri=fixture%3A%2F%2Freadme&service=demo", "?=", "?&&", "?service", "?uri=fixture://readme"),
  fc.string({ unit: visibleAscii("#"), maxLength: 60 }).map((raw) => `?${raw}`),
);

const urlValue = () =>
  fc.oneof(
    fc.constantFrom(fixture.url, fixture.sseUrl, closedUrl, `${closedUrl}?api_key=k&token=t`, closedUrl.replace("//", "//user:pw@"), ...fixedHostPlaceholders().slice(0, 2)),
    fc.constantFrom("http://", "https://", "ftp://127.0.0.1/", "", " ", "127.0.0.1", "//127.0.0.1/mcp", "http://[::1", "http://127.0.0.1:99999/", "http://[::1]:1/mcp"),
    fc.string({ maxLength: 40 }),
  );
const nameValue = fc.oneof(fc.constantFrom("fz_a", "fz-b", "fz.c", "demo", "web", "notes", ""), fc.stringMatching(/^[A-Za-z0-9_.-]{1,64}$/), fc.string({ maxLength: 70 }));
const scalar = fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constantFrom("demo_echo", "http://", "healthy", "demo", "-1"));
const stringMap = fc.dictionary(fc.oneof(fc.constantFrom("Authorization", "X-Api-Key", "bad name", "__proto__"), fc.string({ maxLength: 10 })), fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom(SECRET, "a\r\nb", "Bearer sk-${MCPSTORE_FUZZ_UNSET}", "${MCPSTORE_FUZZ_UNSET}")), { maxKeys: 3 });

/** Bodies aimed at each route's schema, mixed with bodies of any shape. */
function bodyFor(route: ScopeRoute): fc.Arbitrary<unknown> {
  const FIELDS = ["name", "command", "args", "env", "working_dir", "url", "transport", "headers", "timeout", "description", "tags", "mcpServers", "tool", "timeoutMs", "state", "uri", "service", "__proto__", "constructor"];
  const anyValue = fc.oneof(scalar, urlValue(), fc.array(scalar, { maxLength: 3 }), stringMap);
  const structured = fc.dictionary(fc.constantFrom(...FIELDS), anyValue, { maxKeys: 6 });
  const config = fc.record(
    {
      name: nameValue,
      url: urlValue(),
      command: fc.constantFrom("node", "/bin/sh", ""),
      args: fc.array(fc.string({ maxLength: 10 }), { maxLength: 3 }),
      transport: fc.oneof(fc.constantFrom("streamable-http", "sse", "http", "stdio"), fc.string({ maxLength: 8 })),
      headers: stringMap,
      timeout: fc.oneof(fc.double(), fc.integer({ min: -5, max: 100_000 })),
      tags: fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 }),
    },
    { requiredKeys: [] },
  );
  // Mostly valid remote configs, so that validation is passed and the store gets as far as connecting.
  const remote = fc.record(
    { name: nameValue, url: urlValue(), transport: fc.constantFrom("streamable-http", "sse", "http"), headers: stringMap, timeout: fc.integer({ min: 1, max: 120 }), description: fc.string({ maxLength: 20 }) },
    { requiredKeys: ["name", "url"] },
  );
  const generic = fc.oneof(fc.jsonValue({ maxDepth: 3 }), structured, fc.array(structured, { maxLength: 3 }));
  const patch = fc.dictionary(fc.constantFrom("url", "transport", "headers", "timeout", "command", "args", "env", "description", "name"), fc.oneof(fc.constant(null), anyValue), { maxKeys: 4 });
  const tool = fc.constantFrom("demo_echo", "demo_add", "demo_fail", "demo_image", "notes_echo", "echo", "add", "missing", "", "t".repeat(300));
  const specific: Record<string, fc.Arbitrary<unknown>> = {
    addService: fc.oneof(
      remote,
      config,
      fc.array(fc.oneof(remote, config), { minLength: 1, maxLength: 3 }),
      fc.record({ mcpServers: fc.dictionary(nameValue, fc.oneof(remote, config, scalar), { maxKeys: 3 }) }),
    ),
    // The name in an update must be the path's (or absent).
    updateService: fc.oneof(remote.map(({ name: _name, ...rest }) => rest), remote.map((entry) => ({ ...entry, name: "web" })), config),
    patchService: patch,
    waitService: fc.record({ state: fc.oneof(fc.constantFrom("healthy", "unreachable", "nope"), fc.array(fc.constantFrom("healthy", "degraded", "x"))), timeoutMs: scalar }, { requiredKeys: [] }),
    callTool: fc.oneof(
      fc.record({ tool: fc.constantFrom("demo_echo", "notes_echo", "echo"), args: fc.record({ text: fc.string({ unit: "grapheme", maxLength: 40 }) }), timeoutMs: fc.integer({ min: 10_000, max: 300_000 }) }, { requiredKeys: ["tool", "args"] }),
      fc.record({ tool: fc.constantFrom("demo_add", "notes_add", "add"), args: fc.record({ a: fc.double(), b: fc.double() }) }),
      fc.record({ tool, args: fc.oneof(fc.record({ message: fc.string({ maxLength: 20 }), name: fc.string({ maxLength: 10 }) }, { requiredKeys: [] }), structured, fc.jsonValue({ maxDepth: 2 })), timeoutMs: scalar }, { requiredKeys: ["tool"] }),
    ),
    getPrompt: fc.record({ name: fc.constantFrom("demo_greet", "notes_greet", "greet", "missing"), args: fc.oneof(fc.record({ name: fc.string({ unit: "grapheme", maxLength: 20 }) }), fc.dictionary(fc.string({ maxLength: 6 }), scalar), scalar) }, { requiredKeys: [] }),
  };
  specific.batchAddServices = specific.addService!;
  const bodies = fc.oneof(generic, specific[route.operation] ?? generic);
  // A real tool given a few milliseconds may rightly time out (a 504): valid time limits under 10 s are raised.
  const raised = (body: unknown) => {
    const limit = (body as { timeoutMs?: unknown } | null)?.timeoutMs;
    return Number.isInteger(limit) && (limit as number) > 0 && (limit as number) < 10_000 ? { ...(body as object), timeoutMs: 30_000 } : body;
  };
  return route.operation === "callTool" ? bodies.map(raised) : bodies;
}

/** Existing services a route may be pointed at: only where the fuzz cannot stop, replace or stall them. */
function existingNames(route: ScopeRoute, scope: "store" | "agent"): string[] {
  if (route.operation === "getService") return scope === "store" ? ["demo", "web"] : ["notes", "web"];
  if (route.operation === "updateService" || route.operation === "patchService") return ["web"];
  if (route.operation === "getTool") return ["demo_echo", "notes_echo", "echo"];
  return ["missing"];
}

type Who = "admin" | "alice";
const tokenOf = (who: Who) => (who === "admin" ? ADMIN_TOKEN : ALICE_TOKEN);

/** Requests for one route in one scope: token, agent segment, name, query and body all fuzzed. */
function requestsFor(route: ScopeRoute, scope: "store" | "agent"): fc.Arbitrary<FuzzRequest> {
  const who: fc.Arbitrary<Who> = scope === "agent" ? fc.constantFrom("admin", "alice") : fc.oneof({ weight: 19, arbitrary: fc.constant("admin" as const) }, fc.constant("alice" as const));
  const name = fc.oneof({ weight: 2, arbitrary: fc.constantFrom(...existingNames(route, scope)) }, oddSegment);
  const agentSegment = fc.oneof({ weight: 9, arbitrary: fc.constant("alice") }, fc.constantFrom("bob", "nobody"), oddSegment);
  const payload: fc.Arbitrary<{ body?: string; contentType?: string }> = fc.oneof(
    { weight: route.body ? 13 : 1, arbitrary: bodyFor(route).map((value) => ({ body: JSON.stringify(keepOnLoopback(value)) ?? "null" })) },
    {
      weight: route.body ? 4 : 1,
      arbitrary: fc.record({
        body: fc.oneof(fc.string({ maxLength: 60 }), fc.jsonValue({ maxDepth: 2 }).map((value) => `${JSON.stringify(value)}}`), fc.constantFrom("", " ", "null", "[]", "{}", "\u0000", "{\"a\":")).map(safeText),
        contentType: fc.constantFrom("application/json", "text/plain", "application/vnd.api+json", "application/json; charset=utf-16", "multipart/form-data", ""),
      }),
    },
    { weight: route.body ? 3 : 18, arbitrary: fc.constant({}) },
  );
  const method = fc.oneof({ weight: 19, arbitrary: fc.constant(route.method) }, fc.constantFrom("GET", "POST", "PUT", "PATCH", "DELETE"));
  return fc.record({ who, name, agentSegment, query: querySuffix, payload, method }).map(({ who, name, agentSegment, query, payload, method }) => {
    const prefix = scope === "store" ? "/for_store" : `/for_agent/${who === "alice" ? "alice" : agentSegment}`;
    return { method, path: `${prefix}${route.path.replace(":name", name)}${query}`, token: tokenOf(who), ...payload };
  });
}

// Routes outside the scopes, with any token or none, odd suffixes and bodies.
const OTHER_ROUTES = [
  { method: "GET", path: "/health" },
  { method: "GET", path: "/health/detailed" },
  { method: "GET", path: "/metrics" },
  { method: "GET", path: "/openapi.json" },
  { method: "GET", path: "/docs" },
] as const;

function otherRequests(route: { method: string; path: string }): fc.Arbitrary<FuzzRequest> {
  const token = fc.constantFrom(ADMIN_TOKEN, ALICE_TOKEN, BOB_TOKEN, undefined, "wrong-token", "", "x".repeat(600));
  const suffix = fc.oneof({ weight: 6, arbitrary: fc.constant("") }, fc.constant("/"), oddSegment.map((segment) => `/${segment}`), fc.constantFrom("%00", "/..", ".json", "//"));
  const body = fc.option(fc.jsonValue({ maxDepth: 2 }).map((value) => JSON.stringify(keepOnLoopback(value)) ?? "null"), { freq: 4 });
  const method = fc.oneof({ weight: 9, arbitrary: fc.constant(route.method) }, fc.constantFrom("POST", "PUT", "DELETE", "HEAD", "OPTIONS"));
  return fc.record({ token, suffix, query: querySuffix, body, method }).map(({ token, suffix, query, body, method }) => ({
    method,
    path: `${route.path}${suffix}${query}`,
    ...(token !== undefined ? { token } : {}),
    ...(body !== null && method !== "HEAD" ? { body } : {}),
  }));
}

/** Any path at all: the app's 404 in the error shape. */
const anyPathRequests: fc.Arbitrary<FuzzRequest> = fc
  .record({ segments: fc.array(fc.oneof(oddSegment, fc.constantFrom("for_store", "for_agent", "alice", "bob", "list_services", "")), { maxLength: 5 }), query: querySuffix })
  .map(({ segments, query }) => ({ method: "GET", path: `/${segments.join("/")}${query}`, token: ADMIN_TOKEN }));

// The cases.

interface FuzzCase {
  label: string;
  /** The route in `registeredRoutes()` form, for the coverage check. */
  route?: string;
  requests(): fc.Arbitrary<FuzzRequest>;
  scopeRoute?: ScopeRoute;
}

const cases: FuzzCase[] = [
  ...SCOPE_ROUTES.flatMap((route) =>
    route.scopes.map((scope) => {
      const pattern = `${scope === "store" ? "/for_store" : "/for_agent/:agentId"}${route.path}`;
      return { label: `${route.method} ${pattern}`, route: `${route.method} ${pattern}`, requests: () => requestsFor(route, scope), scopeRoute: route };
    }),
  ),
  ...OTHER_ROUTES.map((route) => ({ label: `${route.method} ${route.path}`, route: `${route.method} ${route.path}`, requests: () => otherRequests(route) })),
  { label: "any other path", requests: () => anyPathRequests },
];

/** Every service of every scope, as `scope/name`. */
async function serviceKeys(): Promise<string[]> {
  const keys = (await api.store.forStore().listServices()).map((service) => `store/${service.name}`);
  for (const { agentId } of await api.store.forStore().listAgents()) {
    keys.push(...(await api.store.forAgent(agentId).listServices()).map((service) => `${agentId}/${service.name}`));
  }
  return keys.sort();
}

/** Removes what a fuzzed add created (the admin may add under any agent, so every scope is looked at). */
async function removeAdded(baseline: readonly string[]): Promise<void> {
  for (const key of await serviceKeys()) {
    if (baseline.includes(key)) continue;
    const [scope, name] = key.split("/") as [string, string];
    await (scope === "store" ? api.store.forStore() : api.store.forAgent(scope)).removeService(name);
  }
}

async function resetWeb(): Promise<void> {
  for (const context of [api.store.forStore(), api.store.forAgent("alice")]) {
    await context.updateService("web", webConfig());
    await context.waitService("web", { timeoutMs: 15_000 });
  }
}

describe(`fuzzed requests, ${RUNS} per route (seed ${SEED})`, () => {
  it("keeps every fuzzed destination on loopback", () => {
    const refused = ["http://10.0.0.1/", "HTTP:10.0.0.1", "http://0x0a000001/", "http://[::ffff:10.0.0.1]/", "http://localhost/", "http://example.com/", " http://169.254.169.254", "http://${X:-10.0.0.1}/"];
    for (const url of refused) expect(keepOnLoopback({ mcpServers: { a: { url } } }), url).toEqual({ mcpServers: { a: { url: closedUrl } } });
    for (const url of [fixture.url, "http://127.0.0.2:1/", "http://[::1]:1/", "not a url", ...fixedHostPlaceholders()]) expect(safeString(url)).toBe(url);
    expect(safeText(JSON.stringify({ url: "http://10.0.0.1/" }))).toBe(JSON.stringify({ url: closedUrl }));
  });

  it("covers every registered route", () => {
    const covered = new Set(cases.map((fuzzCase) => fuzzCase.route));
    expect(registeredRoutes(api.app).filter((route) => !covered.has(route))).toEqual([]);
  });

  it.each(cases)(`$label (seed ${SEED})`, async ({ requests: arbitrary, scopeRoute }) => {
    const baseline = await serviceKeys();
    const adds = scopeRoute?.operation === "addService" || scopeRoute?.operation === "batchAddServices";
    await fc.assert(
      fc.asyncProperty(arbitrary(), async (fuzzed) => {
        expectNoServerError(fuzzed, await send(fuzzed));
        if (adds) await removeAdded(baseline);
      }),
      { numRuns: RUNS, seed: SEED },
    );
    if (scopeRoute?.operation === "updateService" || scopeRoute?.operation === "patchService") await resetWeb();
    await removeAdded(baseline);
  }, 300_000);

  it("answers get_prompt without a required argument with a 400 naming it (a 502 before: the upstream's -32602)", async () => {
    const response = await send({ method: "POST", path: "/for_store/get_prompt", token: ADMIN_TOKEN, body: JSON.stringify({ name: "demo_greet" }) });
    expect(response.status, response.text).toBe(400);
    expect(response.json).toMatchObject({ error: { code: "VALIDATION_ERROR", details: { issues: [{ path: "arguments.name" }] } } });
  });

  it("left the store working, with the services it started with", async () => {
    expect(await serviceKeys()).toEqual(["alice/notes", "alice/web", "store/demo", "store/web"]);
    const health = await send({ method: "GET", path: "/health" });
    expect(health.json).toMatchObject({ status: "healthy", services_count: 2 });
    const echoed = await send({ method: "POST", path: "/for_store/call_tool", token: ADMIN_TOKEN, body: JSON.stringify({ tool: "demo_echo", args: { text: "still here" } }) });
    expect((echoed.json as { content: unknown }).content).toEqual([{ type: "text", text: "still here" }]);
  });
});
