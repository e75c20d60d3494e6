import { prometheusPlugin } from "@mcpstore/plugin-prometheus";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SCOPE_ROUTES } from "../src/index.js";
import { ADMIN_TOKEN, ALICE_TOKEN, BOB_TOKEN, registeredRoutes, startTestApi, type TestApi } from "./helpers.js";

// The auth matrix: every route against no token, a wrong token, each agent's token and the admin token. Names in
// paths are services that do not exist, and bodies are incomplete, so that an allowed request stops at a 400 or 404
// without changing anything: what is checked is only whether it got past authentication.

type Access = "open" | "store" | "agent" | "admin" | "any-token";
interface Probe {
  /** `METHOD pattern`, as the app registered it. */
  route: string;
  method: string;
  path: string;
  access: Access;
  body?: unknown;
}

const PRINCIPALS = {
  none: undefined,
  wrong: "not-a-real-token-0123456789",
  alice: ALICE_TOKEN,
  bob: BOB_TOKEN,
  admin: ADMIN_TOKEN,
} as const;
type PrincipalName = keyof typeof PRINCIPALS;

/** What each principal gets on each kind of route: a status, or `allowed` (past authentication). */
const EXPECTED: Record<Access, Record<PrincipalName, 401 | 403 | "allowed">> = {
  open: { none: "allowed", wrong: "allowed", alice: "allowed", bob: "allowed", admin: "allowed" },
  store: { none: 401, wrong: 401, alice: 403, bob: 403, admin: "allowed" },
  // `/for_agent/alice/...`: bob's token is another agent's.
  agent: { none: 401, wrong: 401, alice: "allowed", bob: 403, admin: "allowed" },
  admin: { none: 401, wrong: 401, alice: 403, bob: 403, admin: "allowed" },
  "any-token": { none: 401, wrong: 401, alice: "allowed", bob: "allowed", admin: "allowed" },
};

const probes: Probe[] = [
  { route: "GET /health", method: "GET", path: "/health", access: "open" },
  { route: "GET /docs", method: "GET", path: "/docs", access: "open" },
  { route: "GET /health/detailed", method: "GET", path: "/health/detailed", access: "admin" },
  { route: "GET /metrics", method: "GET", path: "/metrics", access: "admin" },
  { route: "GET /openapi.json", method: "GET", path: "/openapi.json", access: "any-token" },
];
for (const route of SCOPE_ROUTES) {
  const path = route.path.replace(":name", "no-such-service");
  const body = route.body ? {} : undefined;
  for (const scope of route.scopes) {
    const prefix = scope === "store" ? "/for_store" : "/for_agent/alice";
    probes.push({
      route: `${route.method} ${scope === "store" ? "/for_store" : "/for_agent/:agentId"}${route.path}`,
      method: route.method,
      path: `${prefix}${path}`,
      access: scope,
      ...(body !== undefined ? { body } : {}),
    });
  }
}

let api: TestApi;
const metrics = prometheusPlugin();

beforeAll(async () => {
  // The matrix sends a wrong token to every route, far more than the failure limit allows (auth-throttle.test.ts).
  api = await startTestApi({ plugins: [metrics], metrics, authFailureLimit: false });
});
afterAll(async () => {
  await api?.close();
});

describe("the auth matrix", () => {
  it("covers every registered route", () => {
    const covered = new Set(probes.map((probe) => probe.route));
    expect(registeredRoutes(api.app).filter((route) => !covered.has(route))).toEqual([]);
    expect(probes.length).toBeGreaterThan(30);
  });

  it.each(probes)("$route ($access)", async (probe) => {
    for (const [name, token] of Object.entries(PRINCIPALS) as Array<[PrincipalName, string | undefined]>) {
      const response = await api.send(probe.path, { method: probe.method, ...(token ? { token } : {}), ...(probe.body !== undefined ? { body: probe.body } : {}) });
      const expected = EXPECTED[probe.access][name];
      const label = `${probe.route} with ${name}: ${response.status} ${response.text.slice(0, 200)}`;
      if (expected === "allowed") {
        expect([401, 403], label).not.toContain(response.status);
        expect(response.status, label).toBeLessThan(500);
      } else {
        expect(response.status, label).toBe(expected);
        expect(response.json?.error?.code, label).toBe(expected === 401 ? "UNAUTHORIZED" : "FORBIDDEN");
        expect(response.text, label).not.toContain(token ?? "\u0000");
        if (expected === 401) expect(response.headers["www-authenticate"], label).toMatch(/^Bearer/);
      }
    }
  });

  it("accepts the scheme in any case and refuses other schemes", async () => {
    expect((await api.send("/for_store/list_services", { headers: { authorization: `bearer ${ADMIN_TOKEN}` } })).status).toBe(200);
    expect((await api.send("/for_store/list_services", { headers: { authorization: `Basic ${ADMIN_TOKEN}` } })).status).toBe(401);
    expect((await api.send("/for_store/list_services", { headers: { authorization: ADMIN_TOKEN } })).status).toBe(401);
  });

  it("does not let an agent's token out of its scope through path tricks", async () => {
    for (const path of [
      "/for_agent/alice/../../for_store/list_services",
      "/for_agent/alice/%2E%2E/bob/list_services",
      "/for_agent/%62ob/list_services",
      "/for_agent/alice%2F..%2Fbob/list_services",
      "//for_agent/alice/list_services",
      "/for_agent/bob/list_services?agent=alice",
    ]) {
      const response = await api.send(path, { token: ALICE_TOKEN });
      expect([403, 404], `${path}: ${response.status} ${response.text}`).toContain(response.status);
      expect(response.text).not.toContain('"services"');
    }
  });
});
