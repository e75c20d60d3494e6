import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SCOPE_ROUTES } from "../src/index.js";
import { ADMIN_TOKEN, startTestApi, type HttpResponse, type TestApi } from "./helpers.js";

// Random bodies, queries and names against every route with a body or query, over a real socket: whatever comes in,
// the answer is a 2xx or a 4xx in the error shape, never a 500. Local services are turned off, so that no body can
// start a process; routes that wait or restart get a service that does not exist.

let api: TestApi;

beforeAll(async () => {
  api = await startTestApi({ allowStdioServices: false });
});
afterAll(async () => {
  await api?.close();
});

const FIELDS = [
  "name", "command", "args", "env", "working_dir", "cwd", "url", "transport", "headers", "timeout", "description", "tags",
  "mcpServers", "tool", "timeoutMs", "state", "uri", "service", "__proto__", "constructor",
];
const scalar = fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constantFrom("demo_echo", "http://", "healthy", "demo", "-1"));
const structured = fc.dictionary(fc.constantFrom(...FIELDS), fc.oneof(scalar, fc.array(scalar, { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 8 }), scalar, { maxKeys: 3 })), { maxKeys: 6 });
const body = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  structured,
  fc.array(structured, { maxLength: 3 }),
  fc.record({ mcpServers: fc.dictionary(fc.string({ maxLength: 10 }), fc.oneof(structured, scalar), { maxKeys: 3 }) }),
  fc.record({ tool: fc.constantFrom("demo_echo", "demo_add", "notes_echo", "echo"), args: fc.oneof(structured, fc.jsonValue({ maxDepth: 2 })) }),
);
/** Raw text, sent as it is with a JSON content type: mostly not JSON. */
const rawText = fc.oneof(fc.string({ maxLength: 60 }), fc.jsonValue({ maxDepth: 2 }).map((value) => `${JSON.stringify(value)}}`));

function expectNoServerError(label: string, response: HttpResponse): void {
  expect(response.status, `${label}: ${response.status} ${response.text.slice(0, 300)}`).toBeLessThan(500);
  expect(response.text).not.toMatch(/\n\s+at /);
  if (response.status >= 400) {
    expect(response.json, `${label}: ${response.text.slice(0, 300)}`).toEqual({ error: expect.objectContaining({ code: expect.any(String), message: expect.any(String) }) });
  }
}

/** The concrete path of a route: real services where the route only reads or validates, a missing one otherwise. */
function pathOf(route: (typeof SCOPE_ROUTES)[number], scope: "store" | "agent"): string {
  const existing = scope === "store" ? "demo" : "notes";
  const name = route.operation === "updateService" || route.operation === "patchService" || route.operation === "getService" ? existing : "missing";
  return `${scope === "store" ? "/for_store" : "/for_agent/alice"}${route.path.replace(":name", name)}`;
}

const cases = SCOPE_ROUTES.flatMap((route) => route.scopes.map((scope) => ({ route, scope, label: `${route.method} ${pathOf(route, scope)}` })));

describe("fuzzed bodies", () => {
  it.each(cases.filter(({ route }) => route.body))("$label: JSON bodies", async ({ route, scope, label }) => {
    await fc.assert(
      fc.asyncProperty(body, async (value) => {
        expectNoServerError(label, await api.send(pathOf(route, scope), { token: ADMIN_TOKEN, method: route.method, body: value }));
      }),
      { numRuns: 40 },
    );
  });

  it.each(cases.filter(({ route }) => route.body))("$label: raw text", async ({ route, scope, label }) => {
    await fc.assert(
      fc.asyncProperty(rawText, fc.constantFrom("application/json", "text/plain", "application/vnd.api+json"), async (text, type) => {
        expectNoServerError(label, await api.send(pathOf(route, scope), { token: ADMIN_TOKEN, method: route.method, body: text, headers: { "content-type": type } }));
      }),
      { numRuns: 15 },
    );
  });
});

describe("fuzzed queries and names", () => {
  it.each(cases.filter(({ route }) => route.method === "GET"))("$label: query strings", async ({ route, scope, label }) => {
    await fc.assert(
      fc.asyncProperty(fc.dictionary(fc.constantFrom("service", "uri", "name", "x"), fc.string({ maxLength: 80 }), { maxKeys: 3 }), async (query) => {
        const search = new URLSearchParams(query).toString();
        expectNoServerError(label, await api.send(`${pathOf(route, scope)}${search ? `?${search}` : ""}`, { token: ADMIN_TOKEN }));
      }),
      { numRuns: 15 },
    );
  });

  it("random service, tool and agent names", async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ minLength: 1, maxLength: 100 }), fc.constantFrom("get_service", "get_tool", "delete_service", "restart_service"), async (name, operation) => {
        const encoded = encodeURIComponent(name);
        const method = operation === "delete_service" ? "DELETE" : operation === "restart_service" ? "POST" : "GET";
        expectNoServerError(`${operation}/${name}`, await api.send(`/for_store/${operation}/${encoded}`, { token: ADMIN_TOKEN, method }));
        expectNoServerError(`agent ${name}`, await api.send(`/for_agent/${encoded}/list_services`, { token: ADMIN_TOKEN }));
      }),
      { numRuns: 60 },
    );
  });

  it("left the store working", async () => {
    const health = await api.send("/health");
    expect(health.json).toMatchObject({ status: "healthy", services_count: 1 });
    const echoed = await api.send("/for_store/call_tool", { token: ADMIN_TOKEN, body: { tool: "demo_echo", args: { text: "still here" } } });
    expect(echoed.json.content).toEqual([{ type: "text", text: "still here" }]);
  });
});
