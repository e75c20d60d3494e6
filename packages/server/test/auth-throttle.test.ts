import { request as httpRequest } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { AuthThrottle } from "../src/auth-throttle.js";
import { createApp, type CreateAppOptions } from "../src/index.js";
import { ADMIN_TOKEN, TOKENS, silentLogger, startTestApi, type HttpResponse, type TestApi } from "./helpers.js";

// Failed authentication is slowed down: more than `max` bad tokens in `windowMs` from one client address answer 429,
// whatever the token, until the window ends. Over real sockets on 127.0.0.1; another client is another loopback
// address (Linux routes all of 127/8 to lo) or, for addresses a test cannot bind, a fake Node socket given to app.fetch.

const BAD_TOKEN = "not-a-real-token-0123456789";
const apis: TestApi[] = [];

afterEach(async () => {
  await Promise.all(apis.splice(0).map((api) => api.close()));
});

async function start(options: Partial<CreateAppOptions> = {}): Promise<TestApi> {
  const api = await startTestApi({ services: false, ...options });
  apis.push(api);
  return api;
}

/** `GET path` with a token, from `localAddress` (default the kernel's pick, 127.0.0.1), with extra headers. */
function get(api: TestApi, path: string, token: string | undefined, options: { localAddress?: string; headers?: Record<string, string> } = {}): Promise<HttpResponse> {
  const url = new URL(api.url);
  const headers = { ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}), ...options.headers };
  return new Promise((resolve, reject) => {
    httpRequest({ host: url.hostname, port: url.port, path, headers, agent: false, ...(options.localAddress ? { localAddress: options.localAddress } : {}) }, (response) => {
      let text = "";
      response.on("data", (chunk: Buffer) => (text += chunk.toString("utf8")));
      response.on("end", () => {
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: response.statusCode ?? 0, headers: response.headers, text, json });
      });
    })
      .on("error", reject)
      .end();
  });
}

/** `count` requests with a bad token; their statuses. */
async function guess(api: TestApi, count: number, options: { localAddress?: string; headers?: Record<string, string> } = {}): Promise<number[]> {
  const statuses: number[] = [];
  for (let index = 0; index < count; index++) statuses.push((await get(api, "/for_store/list_services", `${BAD_TOKEN}-${index}`, options)).status);
  return statuses;
}

describe("failed authentication over HTTP", () => {
  it("answers the 11th bad token of a minute with 429 and Retry-After, in the API's error shape", async () => {
    const api = await start();
    expect(await guess(api, 10)).toEqual(Array(10).fill(401));
    const refused = await get(api, "/for_store/list_services", BAD_TOKEN);
    expect(refused.status, refused.text).toBe(429);
    const retryAfter = Number(refused.headers["retry-after"]);
    expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, String(refused.headers["retry-after"])).toBe(true);
    expect(refused.json).toEqual({
      error: { code: "TOO_MANY_REQUESTS", message: expect.stringContaining("Too many failed authentications"), details: { retryAfterSeconds: retryAfter } },
    });
    expect(refused.text).not.toContain(BAD_TOKEN);
    expect(refused.headers["cache-control"]).toBe("no-store");
  });

  it("refuses even a valid token from that address while it is blocked, and leaves /health open", async () => {
    const api = await start();
    await guess(api, 11);
    // Deciding before looking at the token: a 200 for the right guess would tell the guesser it found one.
    const valid = await get(api, "/for_store/list_services", ADMIN_TOKEN);
    expect(valid.status, valid.text).toBe(429);
    expect((await get(api, "/for_store/list_services", undefined)).status).toBe(429);
    expect((await get(api, "/health", undefined)).status).toBe(200);
  });

  it("does not count missing tokens, a valid token's 403, or good requests", async () => {
    const api = await start();
    for (let index = 0; index < 15; index++) {
      expect((await get(api, "/for_store/list_services", undefined)).status).toBe(401);
      expect((await get(api, "/for_store/list_services", TOKENS.agents.alice[0])).status).toBe(403);
    }
    expect((await get(api, "/for_store/list_services", ADMIN_TOKEN)).status).toBe(200);
  });

  it("does not slow down other addresses: a good token, and their own first bad ones, from 127.0.0.2", async () => {
    const api = await start();
    await guess(api, 12);
    expect((await get(api, "/for_store/list_services", ADMIN_TOKEN)).status).toBe(429);
    const other = { localAddress: "127.0.0.2" };
    expect((await get(api, "/for_store/list_services", ADMIN_TOKEN, other)).status).toBe(200);
    expect(await guess(api, 10, other)).toEqual(Array(10).fill(401));
    expect((await get(api, "/for_store/list_services", BAD_TOKEN, other)).status).toBe(429);
  });

  it("lets the address in again when its window ends, with a configured limit", async () => {
    const api = await start({ authFailureLimit: { max: 3, windowMs: 400 } });
    expect(await guess(api, 4)).toEqual([401, 401, 401, 429]);
    expect((await get(api, "/for_store/list_services", ADMIN_TOKEN)).status).toBe(429);
    await new Promise((resolve) => setTimeout(resolve, 450));
    expect((await get(api, "/for_store/list_services", ADMIN_TOKEN)).status).toBe(200);
    expect(await guess(api, 1)).toEqual([401]);
  });

  it("ignores X-Forwarded-For unless trustProxy is set; then the proxy's last entry is the client", async () => {
    const direct = await start();
    const forged: number[] = [];
    for (let index = 0; index < 11; index++) forged.push(...(await guess(direct, 1, { headers: { "x-forwarded-for": `10.0.0.${index}` } })));
    expect(forged).toEqual([...Array(10).fill(401), 429]);

    const proxied = await start({ trustProxy: true });
    const from = (address: string) => ({ headers: { "x-forwarded-for": `203.0.113.7, ${address}` } });
    expect(await guess(proxied, 11, from("198.51.100.1"))).toEqual([...Array(10).fill(401), 429]);
    expect((await get(proxied, "/for_store/list_services", ADMIN_TOKEN, from("198.51.100.2"))).status).toBe(200);
    expect((await get(proxied, "/for_store/list_services", ADMIN_TOKEN, from("198.51.100.1"))).status).toBe(429);
  });

  it("can be turned off", async () => {
    const api = await start({ authFailureLimit: false });
    expect(new Set(await guess(api, 20))).toEqual(new Set([401]));
  });
});

describe("client addresses from the Node socket", () => {
  const fetchFrom = (app: ReturnType<typeof createApp>, remoteAddress: string, token: string) =>
    app.fetch(new Request("http://127.0.0.1/for_store/list_services", { headers: { host: "127.0.0.1", authorization: `Bearer ${token}` } }), {
      incoming: { socket: { remoteAddress } },
    });

  it("counts an IPv6 client by its /64, and an IPv4-mapped one as its IPv4 address", async () => {
    const api = await start();
    const app = createApp(api.store, { tokens: TOKENS, logger: silentLogger, authFailureLimit: { max: 2, windowMs: 60_000 } });
    expect((await fetchFrom(app, "2001:db8:0:0:1::1", BAD_TOKEN)).status).toBe(401);
    expect((await fetchFrom(app, "2001:db8::2", BAD_TOKEN)).status).toBe(401);
    expect((await fetchFrom(app, "2001:0db8:0000:0000:ffff::3", ADMIN_TOKEN)).status).toBe(429);
    expect((await fetchFrom(app, "2001:db8:0:1::1", ADMIN_TOKEN)).status).toBe(200);

    expect((await fetchFrom(app, "::ffff:192.0.2.1", BAD_TOKEN)).status).toBe(401);
    expect((await fetchFrom(app, "192.0.2.1", BAD_TOKEN)).status).toBe(401);
    expect((await fetchFrom(app, "::ffff:192.0.2.1", ADMIN_TOKEN)).status).toBe(429);
    expect((await fetchFrom(app, "192.0.2.2", ADMIN_TOKEN)).status).toBe(200);
  });
});

describe("AuthThrottle", () => {
  it("stays within maxClients however many addresses fail, dropping the oldest windows first", () => {
    let now = 0;
    const throttle = new AuthThrottle({ max: 2, windowMs: 60_000, maxClients: 100, now: () => now });
    throttle.recordFailure("first");
    throttle.recordFailure("first");
    expect(throttle.retryAfterMs("first")).toBe(60_000);
    for (let index = 0; index < 100_000; index++) {
      now = index / 100;
      throttle.recordFailure(`198.51.${index >> 8}.${index & 255}`);
    }
    expect(throttle.size).toBeLessThanOrEqual(100);
    expect(throttle.retryAfterMs("first")).toBe(0);
  });

  it("forgets windows that ended before it needs the room", () => {
    let now = 0;
    const throttle = new AuthThrottle({ max: 1, windowMs: 1000, now: () => now });
    for (let index = 0; index < 50; index++) throttle.recordFailure(`a${index}`);
    now = 1500;
    throttle.recordFailure("b");
    expect(throttle.size).toBe(1);
    expect(throttle.retryAfterMs("a1")).toBe(0);
    expect(throttle.retryAfterMs("b")).toBe(1000);
  });

  it("rejects a bad limit", () => {
    expect(() => new AuthThrottle({ max: 0 })).toThrow(/max/);
    expect(() => new AuthThrottle({ windowMs: -1 })).toThrow(/windowMs/);
    expect(() => new AuthThrottle({ maxClients: 0.5 })).toThrow(/maxClients/);
  });
});
