import { createRequire } from "node:module";
import type { Logger, MCPStore } from "@mcpstore/core";
import { Hono, type Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { ApiError } from "./api-error.js";
import { TokenIndex, type ApiTokens, type Principal } from "./api-tokens.js";
import { AuthThrottle, type AuthFailureLimit } from "./auth-throttle.js";
import { DOCS_PAGE_CSP, DOCS_PAGE_HTML } from "./docs-page.js";
import { errorResponse } from "./error-status.js";
import { createOpenApiDocument, type DocumentedRoute } from "./openapi-document.js";
import { parseInput } from "./parse-input.js";
import { RequestGuard } from "./request-guard.js";
import { DetailedHealthResponse, HealthResponse } from "./schemas.js";
import { SCOPE_ROUTES, type ScopeRoute } from "./scope-routes.js";

/** Something that renders metrics in the Prometheus text format, such as `prometheusPlugin()`. */
export interface MetricsSource {
  /** Content type of the text. Default Prometheus' `text/plain; version=0.0.4; charset=utf-8`. */
  readonly contentType?: string;
  metrics(): Promise<string> | string;
}

/** Options of {@link createApp}. */
export interface CreateAppOptions {
  /**
   * The bearer tokens (see `loadApiTokens`). Admin tokens may use every route; an agent's tokens only
   * `/for_agent/{agentId}/...` and `/openapi.json`. With no tokens only `/health` and `/docs` answer.
   */
  tokens: ApiTokens;
  /**
   * Whether local (stdio) services may be added or changed through the API. Doing so runs a command on the host: it
   * is for admin tokens only, always. Default `true`.
   */
  allowStdioServices?: boolean;
  /**
   * `Host` values accepted besides `localhost`, `127.0.0.1` and `[::1]`: `name` or `name:port`; `"any"` for a server
   * behind a proxy that checks the host. Default: loopback names only.
   */
  allowedHosts?: readonly string[] | "any";
  /** Browser origins allowed besides the API's own, e.g. a dashboard's `https://dashboard.example.com`. */
  allowedOrigins?: readonly string[];
  /** Largest request body, in bytes. Default 1 MiB. */
  maxBodyBytes?: number;
  /** Serves `GET /metrics` (admin tokens) from it, e.g. the `prometheusPlugin()` added to the store. */
  metrics?: MetricsSource;
  /** Where requests and failures are logged. Default: the store's logger. */
  logger?: Logger;
  /**
   * Slows down token guessing: a client address that sent more than `max` bad tokens in `windowMs` gets 429s (with
   * `Retry-After`) on every route needing a token until the window ends. Default `{ max: 10, windowMs: 60_000 }`;
   * `false` turns it off (for an app behind a gateway that limits it).
   */
  authFailureLimit?: AuthFailureLimit | false;
  /**
   * Take the client address from the last `X-Forwarded-For` entry instead of the socket: only behind a proxy that
   * appends it (nginx's `$proxy_add_x_forwarded_for`), else clients could pick their own. Default `false`.
   */
  trustProxy?: boolean;
}

/** Variables a request carries through the app. */
export interface AppEnv {
  Variables: { principal: Principal };
}

/** The API as a Hono app: serve it with {@link serve}, or mount it in another app. */
export type McpStoreApp = Hono<AppEnv>;

const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;
/** Routes anyone may call: the liveness probe, and a page with no data in it. */
const OPEN_PATHS = new Set(["/health", "/docs"]);
const AGENT_PATH = /^\/for_agent\/([^/]+)(?:\/|$)/;

const version = (createRequire(import.meta.url)("../package.json") as { version: string }).version;

/** The routes outside the scopes, for the document. */
function otherRoutes(withMetrics: boolean): DocumentedRoute[] {
  return [
    { method: "GET", path: "/health", operationId: "health", summary: "Liveness: counts of the store's services and tools; 503 when the store cannot answer. Open to all.", tag: "health", secured: false, response: HealthResponse, alsoStatus: 503 },
    { method: "GET", path: "/health/detailed", operationId: "healthDetailed", summary: "Probes every store service now: 200 with status healthy or unhealthy and the probes' details; 503 only when the check itself fails. Admin tokens.", tag: "health", secured: true, response: DetailedHealthResponse, alsoStatus: 503 },
    ...(withMetrics
      ? [{ method: "GET", path: "/metrics", operationId: "metrics", summary: "Prometheus metrics. Admin tokens.", tag: "health", secured: true, contentType: PROMETHEUS_CONTENT_TYPE } as const]
      : []),
    { method: "GET", path: "/openapi.json", operationId: "openApiDocument", summary: "This document. Any token.", tag: "meta", secured: true, contentType: "application/json" },
    { method: "GET", path: "/docs", operationId: "docsPage", summary: "A page that renders this document (it asks for a token). Open to all.", tag: "meta", secured: false, contentType: "text/html" },
  ];
}

function bearerToken(header: string | undefined): string | undefined {
  const match = header === undefined ? null : /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return match?.[1];
}

/**
 * Reads a request's body as text, at most `maxBytes`; `undefined` when there is none. A declared length is checked
 * before anything is read (Node reads exactly that many bytes); a chunked body is counted as it streams in.
 */
async function readBodyText(c: Context, maxBytes: number): Promise<string | undefined> {
  const tooLarge = () => new ApiError("PAYLOAD_TOO_LARGE", { message: `The request body is larger than ${maxBytes} bytes` });
  const length = c.req.header("content-length");
  if (length !== undefined) {
    if (Number(length) > maxBytes) throw tooLarge();
    return Number(length) === 0 ? undefined : c.req.text();
  }
  const stream = c.req.raw.body;
  if (!stream) return undefined;
  const decoder = new TextDecoder();
  let size = 0;
  let text = "";
  for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > maxBytes) throw tooLarge();
    text += decoder.decode(chunk, { stream: true });
  }
  return text + decoder.decode();
}

/** Reads a JSON body; `undefined` when there is none. */
async function readJsonBody(c: Context, maxBytes: number): Promise<unknown> {
  const text = await readBodyText(c, maxBytes);
  if (text === undefined || text.trim() === "") return undefined;
  const type = c.req.header("content-type");
  if (type !== undefined && !JSON_TYPE.test(type)) {
    throw new ApiError("UNSUPPORTED_MEDIA_TYPE", { message: `Bodies are JSON: send Content-Type: application/json (got ${JSON.stringify(type.slice(0, 100))})` });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // The parser's message quotes the body, which may hold a secret: say only what is wrong.
    throw new ApiError("INVALID_JSON", { message: "The request body is not valid JSON" });
  }
}

/**
 * The MCPStore REST API over a store, as a Hono app: every `ServiceContext` method under `/for_store/...` and
 * `/for_agent/{agentId}/...`, `GET /health`, `GET /health/detailed`, `GET /metrics` (with `options.metrics`),
 * `GET /openapi.json` and `GET /docs`. Checks `Host` and `Origin`, bearer tokens and body sizes; every error is
 * `{ error: { code, message, details? } }` with the status from one table. The app never closes the store.
 */
export function createApp(store: MCPStore, options: CreateAppOptions): McpStoreApp {
  const logger = options.logger ?? store.logger;
  const tokens = new TokenIndex(options.tokens);
  const throttle = options.authFailureLimit === false ? undefined : new AuthThrottle({ ...options.authFailureLimit, trustProxy: options.trustProxy ?? false, logger });
  const guard = new RequestGuard({
    ...(options.allowedHosts !== undefined ? { allowedHosts: options.allowedHosts } : {}),
    ...(options.allowedOrigins !== undefined ? { allowedOrigins: options.allowedOrigins } : {}),
  });
  const allowStdio = options.allowStdioServices ?? true;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const documentText = JSON.stringify(createOpenApiDocument({ scopeRoutes: SCOPE_ROUTES, otherRoutes: otherRoutes(options.metrics !== undefined), version }));

  const app = new Hono<AppEnv>();

  app.onError((error, c) => {
    // Hono's own exceptions (none of our routes throw one) keep their status class, in our shape.
    const mapped =
      error instanceof HTTPException
        ? errorResponse(new ApiError(error.status < 500 ? "BAD_REQUEST" : "INTERNAL_ERROR", { message: error.status < 500 ? error.message || "Bad request" : "Internal server error" }))
        : errorResponse(error);
    if (!mapped.expected) {
      logger.error({ method: c.req.method, path: c.req.path, error: error instanceof Error ? error.stack ?? error.message : String(error) }, "request failed");
    }
    if (mapped.body.error.code === "UNAUTHORIZED") c.header("WWW-Authenticate", 'Bearer realm="mcpstore"');
    const retryAfter = mapped.body.error.details?.retryAfterSeconds;
    if (typeof retryAfter === "number") c.header("Retry-After", String(Math.max(1, Math.ceil(retryAfter))));
    return c.json(mapped.body, mapped.status as 400);
  });
  app.notFound((c) => c.json({ error: { code: "NOT_FOUND", message: `No route ${c.req.method} ${c.req.path}` } }, 404));

  // Order matters: Host and Origin first (even for /health), then the log, then tokens. Bodies are read, within
  // their limit, only by the routes that take one.
  app.use("*", async (c, next) => {
    const refused = guard.check(c.req.header("host"), c.req.header("origin"));
    if (refused) throw refused;
    const started = performance.now();
    // Set before the handler runs, so that they go out with whatever response it makes (an error too).
    c.header("Cache-Control", "no-store");
    c.header("X-Content-Type-Options", "nosniff");
    await next();
    const principal = c.get("principal");
    logger.info(
      {
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        durationMs: Math.round((performance.now() - started) * 100) / 100,
        ...(principal ? { principal: principal.role === "admin" ? "admin" : `agent:${principal.agentId}` } : {}),
      },
      "request",
    );
  });
  app.use("*", async (c, next) => {
    const path = c.req.path;
    if (OPEN_PATHS.has(path)) return next();
    // A blocked client is refused before its token is looked at, so that the answer cannot tell a right guess.
    const client = throttle?.clientOf(c);
    const refusal = client === undefined ? undefined : throttle?.refusal(c, client);
    if (refusal) return refusal;
    const token = bearerToken(c.req.header("authorization"));
    const principal = token === undefined ? undefined : tokens.identify(token);
    if (!principal) {
      if (token !== undefined && client !== undefined) throttle?.recordFailure(client);
      throw new ApiError("UNAUTHORIZED", {
        message: token === undefined ? "This route needs a token: send Authorization: Bearer <token>" : "The token is not valid",
      });
    }
    if (principal.role === "agent" && path !== "/openapi.json" && AGENT_PATH.exec(path)?.[1] !== principal.agentId) {
      throw new ApiError("FORBIDDEN", {
        message: `This token belongs to agent "${principal.agentId}": it reaches only /for_agent/${principal.agentId}/...`,
      });
    }
    c.set("principal", principal);
    return next();
  });

  const requireAdmin = (c: Context<AppEnv>) => {
    if (c.get("principal").role !== "admin") throw new ApiError("FORBIDDEN", { message: `${c.req.path} needs an admin token` });
  };

  const unhealthy = (c: Context<AppEnv>, timestamp: string, error: unknown) => {
    const mapped = errorResponse(error);
    if (!mapped.expected) logger.error({ path: c.req.path, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }, "health check failed");
    return c.json({ status: "unhealthy", timestamp, error: mapped.body.error }, 503);
  };
  app.get("/health", async (c) => {
    const timestamp = new Date().toISOString();
    try {
      const context = store.forStore();
      const [services, tools] = await Promise.all([context.listServices(), context.listTools()]);
      return c.json({ status: "healthy", timestamp, services_count: services.length, tools_count: tools.length });
    } catch (error) {
      return unhealthy(c, timestamp, error);
    }
  });
  app.get("/health/detailed", async (c) => {
    requireAdmin(c);
    const timestamp = new Date().toISOString();
    try {
      // As the seed: the check ran, so 200, and `status` says what it found; 503 is for a check that could not run.
      const details = await store.forStore().checkServices();
      return c.json({ status: details.success ? "healthy" : "unhealthy", timestamp, details });
    } catch (error) {
      return unhealthy(c, timestamp, error);
    }
  });
  const metrics = options.metrics;
  if (metrics) {
    app.get("/metrics", async (c) => {
      requireAdmin(c);
      return c.body(await metrics.metrics(), 200, { "Content-Type": metrics.contentType ?? PROMETHEUS_CONTENT_TYPE });
    });
  }
  app.get("/openapi.json", (c) => c.body(documentText, 200, { "Content-Type": "application/json" }));
  app.get("/docs", (c) => c.html(DOCS_PAGE_HTML, 200, { "Content-Security-Policy": DOCS_PAGE_CSP, "X-Frame-Options": "DENY" }));

  const handle = (route: ScopeRoute, scope: "store" | "agent") => async (c: Context<AppEnv>) => {
    const { agentId, ...params } = c.req.param() as Record<string, string>;
    const context = scope === "store" ? store.forStore() : store.forAgent(agentId!);
    const query = route.query ? parseInput(route.query, c.req.query(), "query") : undefined;
    let body: unknown;
    if (route.body) {
      const raw = await readJsonBody(c, maxBodyBytes);
      if (raw === undefined && route.bodyRequired) {
        throw new ApiError("INVALID_JSON", { message: "This route needs a JSON body", details: { issues: [{ path: "body", message: "required" }] } });
      }
      body = raw === undefined ? undefined : parseInput(route.body, raw, "body");
    }
    const result = await route.handle({
      context,
      params,
      query,
      body,
      signal: c.req.raw.signal,
      principal: c.get("principal").role === "admin" ? "admin" : "agent",
      assertMayRunCommands: () => {
        if (!allowStdio) {
          throw new ApiError("STDIO_DISABLED", { message: "Local (stdio) services cannot be added or changed through this API: it was started with them turned off" });
        }
      },
    });
    return c.json(result as object);
  };
  for (const route of SCOPE_ROUTES) {
    for (const scope of route.scopes) {
      app.on(route.method, `${scope === "store" ? "/for_store" : "/for_agent/:agentId"}${route.path}`, handle(route, scope));
    }
  }
  return app;
}
