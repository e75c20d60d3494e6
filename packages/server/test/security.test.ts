import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MCPStore } from "@mcpstore/core";
import { startHttpFixture, stdioFixtureConfig, type HttpFixture } from "@mcpstore/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp, isReadableByOthers, loadApiTokens, serve } from "../src/index.js";
import { ADMIN_TOKEN, ALICE_TOKEN, TOKENS, send, silentLogger, startTestApi, type TestApi } from "./helpers.js";

let api: TestApi;
let remote: HttpFixture;

beforeAll(async () => {
  remote = await startHttpFixture();
  api = await startTestApi({ maxBodyBytes: 64 * 1024, allowedOrigins: ["https://dashboard.example.com"] });
});
afterAll(async () => {
  await api?.close();
  await remote?.close();
});

describe("Host and Origin", () => {
  it("refuses a Host that is not a loopback name with 403, even on /health", async () => {
    for (const host of ["evil.example.com", "evil.example.com:18200", "127.0.0.1.nip.io"]) {
      const response = await api.send("/health", { headers: { host } });
      expect(response.status, host).toBe(403);
      expect(response.json.error.code).toBe("HOST_NOT_ALLOWED");
    }
    // What is not a host at all never reaches the app: Node's adapter refuses it, in the API's error shape.
    for (const host of ["a b", "localhost@evil.com"]) {
      const malformed = await api.send("/health", { headers: { host } });
      expect(malformed.status, host).toBe(400);
      expect(malformed.json.error.code).toBe("BAD_REQUEST");
    }
    for (const host of ["localhost", "LOCALHOST:18200", "127.0.0.1:1", "[::1]:18200"]) {
      expect((await api.send("/health", { headers: { host } })).status, host).toBe(200);
    }
  });

  it("refuses a foreign or null Origin with 403, and allows its own and the configured ones", async () => {
    for (const origin of ["https://evil.example.com", "null", "http://localhost.evil.com", "not a url"]) {
      const response = await api.send("/for_store/list_services", { token: ADMIN_TOKEN, headers: { origin } });
      expect(response.status, origin).toBe(403);
      expect(response.json.error.code).toBe("ORIGIN_NOT_ALLOWED");
    }
    const own = new URL(api.url).origin;
    for (const origin of [own, "https://dashboard.example.com"]) {
      expect((await api.send("/for_store/list_services", { token: ADMIN_TOKEN, headers: { origin } })).status, origin).toBe(200);
    }
  });

  it("accepts other hosts when told to", async () => {
    const app = createApp(api.store, { tokens: TOKENS, logger: silentLogger, allowedHosts: ["mcp.example.com", "other.example.com:8080"] });
    await using server = await serve(app, { port: 0 });
    expect((await send(server.url, "/health", { headers: { host: "mcp.example.com:443" } })).status).toBe(200);
    expect((await send(server.url, "/health", { headers: { host: "other.example.com:8080" } })).status).toBe(200);
    expect((await send(server.url, "/health", { headers: { host: "other.example.com:9090" } })).status).toBe(403);
    const anyHost = createApp(api.store, { tokens: TOKENS, logger: silentLogger, allowedHosts: "any" });
    await using anyServer = await serve(anyHost, { port: 0 });
    expect((await send(anyServer.url, "/health", { headers: { host: "whatever.example.com" } })).status).toBe(200);
    expect(() => createApp(api.store, { tokens: TOKENS, allowedHosts: ["bad host!"] })).toThrow(/allowedHosts/);
  });
});

describe("binding", () => {
  it("binds 127.0.0.1 unless told otherwise", async () => {
    await using server = await serve(api.app, { port: 0 });
    expect(server.server.address()).toMatchObject({ address: "127.0.0.1" });
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it("reports a port in use", async () => {
    await expect(serve(api.app, { port: api.server.port })).rejects.toThrow(/EADDRINUSE/);
  });
});

describe("limits and bad requests", () => {
  it("refuses a body over the limit with 413", async () => {
    const response = await api.send("/for_store/call_tool", { token: ADMIN_TOKEN, body: { tool: "demo_echo", args: { text: "x".repeat(70 * 1024) } } });
    expect(response.status).toBe(413);
    expect(response.json.error.code).toBe("PAYLOAD_TOO_LARGE");
    // Without a declared length, the body is counted as it streams in.
    const chunked = await api.send("/for_store/call_tool", {
      token: ADMIN_TOKEN,
      body: JSON.stringify({ tool: "demo_echo", args: { text: "x".repeat(70 * 1024) } }),
      headers: { "content-type": "application/json", "transfer-encoding": "chunked" },
    });
    expect(chunked.status).toBe(413);
    const small = await api.send("/for_store/call_tool", {
      token: ADMIN_TOKEN,
      body: JSON.stringify({ tool: "demo_echo", args: { text: "chunked" } }),
      headers: { "content-type": "application/json", "transfer-encoding": "chunked" },
    });
    expect(small.json).toEqual({ content: [{ type: "text", text: "chunked" }] });
  });

  it("refuses headers over the limit with 431", async () => {
    const response = await api.send("/health", { headers: { "x-padding": "x".repeat(20 * 1024) } });
    expect(response.status).toBe(431);
  });

  it("answers a body that is not JSON with 400, and a body of another type with 415", async () => {
    const invalid = await api.send("/for_store/call_tool", { token: ADMIN_TOKEN, body: '{"tool": "demo_echo", "args": {"secret-token-123', headers: { "content-type": "application/json" } });
    expect(invalid.status).toBe(400);
    expect(invalid.json.error).toEqual({ code: "INVALID_JSON", message: "The request body is not valid JSON" });
    const form = await api.send("/for_store/call_tool", { token: ADMIN_TOKEN, body: "tool=demo_echo", headers: { "content-type": "application/x-www-form-urlencoded" } });
    expect(form.status).toBe(415);
    expect(form.json.error.code).toBe("UNSUPPORTED_MEDIA_TYPE");
    const missing = await api.send("/for_store/call_tool", { token: ADMIN_TOKEN, method: "POST" });
    expect(missing.status).toBe(400);
  });

  it("names the bad field of a body", async () => {
    const response = await api.send("/for_store/call_tool", { token: ADMIN_TOKEN, body: { tool: "demo_echo", args: [1], timeoutMs: -1, extra: true } });
    expect(response.status).toBe(400);
    const paths = response.json.error.details.issues.map((issue: { path: string }) => issue.path);
    expect(paths).toEqual(expect.arrayContaining(["body.args", "body.timeoutMs", "body"]));
    expect(response.json.error.message).toContain("body.args");
    const badArgs = await api.send("/for_store/call_tool", { token: ADMIN_TOKEN, body: { tool: "demo_add", args: { a: "one", b: 2 } } });
    expect(badArgs.status).toBe(400);
    expect(badArgs.json.error.code).toBe("VALIDATION_ERROR");
    expect(badArgs.json.error.message).toContain("a");
  });

  it("answers an unknown route with 404 in the same error shape", async () => {
    const response = await api.send("/for_store/no_such_route", { token: ADMIN_TOKEN });
    expect(response.status).toBe(404);
    expect(response.json).toEqual({ error: { code: "NOT_FOUND", message: "No route GET /for_store/no_such_route" } });
  });
});

describe("local (stdio) services", () => {
  it("are admin-only: an agent's token may add a remote service, not a command", async () => {
    const refused = await api.send("/for_agent/alice/add_service", { token: ALICE_TOKEN, body: { mcpServers: { sneaky: { command: "sh", args: ["-c", "id"] } } } });
    expect(refused.status).toBe(403);
    expect(refused.json.error.code).toBe("FORBIDDEN");
    const inList = await api.send("/for_agent/alice/batch_add_services", { token: ALICE_TOKEN, body: [{ name: "ok", url: remote.url }, { name: "sneaky", command: "sh" }] });
    expect(inList.status).toBe(403);
    const remoteAdded = await api.send("/for_agent/alice/add_service", { token: ALICE_TOKEN, body: { name: "remote", url: remote.url } });
    expect(remoteAdded.status).toBe(200);
    const turned = await api.send("/for_agent/alice/update_service/remote", { token: ALICE_TOKEN, method: "PUT", body: { command: "sh" } });
    expect(turned.status).toBe(403);
    const patched = await api.send("/for_agent/alice/patch_service/notes", { token: ALICE_TOKEN, method: "PATCH", body: { env: { NODE_OPTIONS: "--require /tmp/x.js" } } });
    expect(patched.status).toBe(403);
    const services = await api.send("/for_agent/alice/list_services", { token: ALICE_TOKEN });
    expect(services.json.services.map((service: { name: string }) => service.name).sort()).toEqual(["notes", "remote"]);
    expect((await api.send("/for_agent/alice/delete_service/remote", { token: ALICE_TOKEN, method: "DELETE" })).status).toBe(200);
  });

  it("placeholders are admin-only: they would send the host's environment where an agent says", async () => {
    const exfiltrate = { name: "exfil", url: remote.url, headers: { Authorization: "Bearer ${MCPSTORE_ADMIN_TOKEN}" } };
    for (const [path, body, method] of [
      ["/for_agent/alice/add_service", exfiltrate, "POST"],
      ["/for_agent/alice/batch_add_services", [{ name: "exfil", url: `${remote.url}?k=\${HOME}` }], "POST"],
    ] as const) {
      const response = await api.send(path, { token: ALICE_TOKEN, method, body });
      expect(response.status, path).toBe(403);
      expect(response.json.error.message).toContain("placeholders");
    }
    // An admin may, for an agent too; then the agent may no longer patch that service (its URL could change).
    expect((await api.send("/for_agent/alice/add_service", { token: ADMIN_TOKEN, body: exfiltrate })).status).toBe(200);
    expect((await api.send("/for_agent/alice/patch_service/exfil", { token: ALICE_TOKEN, method: "PATCH", body: { url: "http://127.0.0.1:9/" } })).status).toBe(403);
    expect((await api.send("/for_agent/alice/update_service/exfil", { token: ALICE_TOKEN, method: "PUT", body: { url: remote.url, headers: { X: "${PATH}" } } })).status).toBe(403);
    // Replacing it whole, without placeholders, drops the secret: allowed.
    expect((await api.send("/for_agent/alice/update_service/exfil", { token: ALICE_TOKEN, method: "PUT", body: { url: remote.url } })).status).toBe(200);
    expect((await api.send("/for_agent/alice/delete_service/exfil", { token: ALICE_TOKEN, method: "DELETE" })).status).toBe(200);
  });

  it("can be turned off for everyone", async () => {
    const app = createApp(api.store, { tokens: TOKENS, logger: silentLogger, allowStdioServices: false });
    await using server = await serve(app, { port: 0 });
    const response = await send(server.url, "/for_store/add_service", { token: ADMIN_TOKEN, body: stdioFixtureConfig("local") });
    expect(response.status).toBe(403);
    expect(response.json.error.code).toBe("STDIO_DISABLED");
    const remoteAdded = await send(server.url, "/for_store/add_service", { token: ADMIN_TOKEN, body: { name: "remote-only", url: remote.url } });
    expect(remoteAdded.status).toBe(200);
    expect((await send(server.url, "/for_store/delete_service/remote-only", { token: ADMIN_TOKEN, method: "DELETE" })).status).toBe(200);
  });
});

describe("secrets and internal errors", () => {
  it("never shows header or env values", async () => {
    const added = await api.send("/for_store/add_service", {
      token: ADMIN_TOKEN,
      body: { name: "secretive", url: remote.url, headers: { Authorization: "Bearer upstream-secret-value" } },
    });
    expect(added.status).toBe(200);
    const envAdded = await api.send("/for_store/add_service", { token: ADMIN_TOKEN, body: { ...stdioFixtureConfig("with-env"), env: { API_KEY: "env-secret-value" } } });
    expect(envAdded.status).toBe(200);
    for (const path of ["/for_store/list_services", "/for_store/get_service/secretive", "/for_store/get_service/with-env"]) {
      const response = await api.send(path, { token: ADMIN_TOKEN });
      expect(response.text).not.toContain("upstream-secret-value");
      expect(response.text).not.toContain("env-secret-value");
    }
    const duplicate = await api.send("/for_store/add_service", { token: ADMIN_TOKEN, body: { name: "secretive", url: remote.url, headers: { Authorization: "Bearer another-secret" } } });
    expect(duplicate.status).toBe(409);
    expect(duplicate.text).not.toContain("another-secret");
    for (const name of ["secretive", "with-env"]) await api.send(`/for_store/delete_service/${name}`, { token: ADMIN_TOKEN, method: "DELETE" });
  });

  it("answers an unexpected failure with a bare 500: no message, no stack", async () => {
    const errors: Array<Record<string, unknown>> = [];
    const app = createApp(api.store, {
      tokens: TOKENS,
      logger: { ...silentLogger, error: (fields) => errors.push(fields) },
      metrics: {
        metrics: () => {
          throw new Error("internal detail with a secret-ish value");
        },
      },
    });
    await using server = await serve(app, { port: 0 });
    const response = await send(server.url, "/metrics", { token: ADMIN_TOKEN });
    expect(response.status).toBe(500);
    expect(response.json).toEqual({ error: { code: "INTERNAL_ERROR", message: "Internal server error" } });
    expect(errors).toHaveLength(1);
  });
});

describe("tokens", () => {
  const directory = mkdtempSync(join(tmpdir(), "mcpstore-tokens-"));

  it("come from the environment and a tokens file, merged", () => {
    const file = join(directory, "tokens.json");
    writeFileSync(file, JSON.stringify({ admin: "file-admin", agents: { alice: ["alice-1", "alice-2"], bob: "bob-1" } }));
    chmodSync(file, 0o600);
    const tokens = loadApiTokens({
      env: { MCPSTORE_ADMIN_TOKEN: "env-admin, env-admin-2", MCPSTORE_AGENT_TOKENS: "carol=carol-1, alice=alice-0", MCPSTORE_TOKENS_FILE: file },
    });
    expect(tokens).toEqual({
      admin: ["env-admin", "env-admin-2", "file-admin"],
      agents: { carol: ["carol-1"], alice: ["alice-0", "alice-1", "alice-2"], bob: ["bob-1"] },
    });
    expect(isReadableByOthers(file)).toBe(false);
    chmodSync(file, 0o644);
    expect(isReadableByOthers(file)).toBe(true);
  });

  it("refuse bad configurations without showing a token", () => {
    expect(() => loadApiTokens({ env: { MCPSTORE_AGENT_TOKENS: "bad id!=token-1" } })).toThrow(/agent ids/);
    expect(() => loadApiTokens({ env: { MCPSTORE_AGENT_TOKENS: "no-equals-sign" } })).toThrow(/agentId=token/);
    expect(() => loadApiTokens({ env: { MCPSTORE_ADMIN_TOKEN: "shared-token-1", MCPSTORE_AGENT_TOKENS: "alice=shared-token-1" } })).toThrow(
      expect.objectContaining({ code: "VALIDATION_ERROR", message: expect.not.stringContaining("shared-token-1") }),
    );
    const broken = join(directory, "broken.json");
    writeFileSync(broken, '{"admin": "leaky-token-value",');
    expect(() => loadApiTokens({ env: {}, file: broken })).toThrow(expect.objectContaining({ code: "CONFIG_FILE_ERROR", message: expect.not.stringContaining("leaky") }));
    expect(() => loadApiTokens({ env: {}, file: join(directory, "missing.json") })).toThrow(expect.objectContaining({ code: "CONFIG_FILE_ERROR" }));
  });

  it("with none configured, nothing but /health and /docs answers", async () => {
    const store = await MCPStore.setupStore({ mcpConfigFile: false, logger: silentLogger });
    try {
      await using server = await serve(createApp(store, { tokens: { admin: [], agents: {} } }), { port: 0 });
      expect((await send(server.url, "/health")).status).toBe(200);
      expect((await send(server.url, "/for_store/list_services", { token: "anything" })).status).toBe(401);
    } finally {
      await store.close();
    }
  });
});
