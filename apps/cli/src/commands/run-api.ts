import { randomBytes } from "node:crypto";
import { MCPStore, type AgentPolicyOptions, type Logger, type Plugin } from "@mcpstore/core";
import { createApp, isReadableByOthers, loadApiTokens, serve, type ApiTokens, type MetricsSource, type RunningServer } from "@mcpstore/server";
import { type Command, InvalidArgumentError } from "commander";
import { commandLogger, waitForServices, type GlobalOptions } from "../open-store.js";
import { Output } from "../output.js";
import { StopSignals } from "../stop-signals.js";

interface RunApiOptions extends GlobalOptions {
  host: string;
  port: number;
  tokensFile?: string;
  allowedHosts?: string;
  allowedOrigins?: string;
  stdio: boolean;
  metrics?: boolean;
  maxBodyBytes: number;
  trustProxy?: boolean;
  allowEgress?: string;
  maxAgentServices?: number;
  maxAgentCalls?: number;
  redis?: string;
  namespace?: string;
}

const integer = (min: number, max: number) => (value: string) => {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < min || parsed > max) throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
  return parsed;
};
const splitList = (value: string | undefined) => (value ?? "").split(",").map((item) => item.trim()).filter(Boolean);
const isLoopback = (host: string) => host === "localhost" || host === "::1" || host.startsWith("127.");
const isWildcard = (host: string) => host === "0.0.0.0" || host === "::" || host === "";

/** What `Host` values to accept: the operator's list, else loopback only, else (on all interfaces) any. */
function allowedHostsFor(host: string, given: string | undefined, warn: (message: string) => void): readonly string[] | "any" | undefined {
  const list = splitList(given ?? process.env.MCPSTORE_ALLOWED_HOSTS);
  if (list.includes("*")) return "any";
  if (list.length > 0) return isLoopback(host) || isWildcard(host) ? list : [...list, host];
  if (isLoopback(host)) return undefined;
  if (isWildcard(host)) {
    warn("listening on every interface with no --allowed-hosts: any Host header is accepted (tokens still apply); set --allowed-hosts to the names clients use");
    return "any";
  }
  return [host.includes(":") ? `[${host}]` : host];
}

/** `mcpstore run api`: the REST API over the config file's store, until SIGINT or SIGTERM. */
export function registerRunCommand(program: Command): void {
  const run = program.command("run").description("Run a long-lived server");
  run
    .command("api")
    .description("Serve the REST API over the config file's services")
    .option("--host <host>", "address to bind; 0.0.0.0 opens the API to the network", "127.0.0.1")
    .option("-p, --port <port>", "port to listen on (0 picks a free one)", integer(0, 65535), 18200)
    .option("--tokens-file <path>", "JSON file of tokens: { admin: [...], agents: { id: [...] } } (default MCPSTORE_TOKENS_FILE)")
    .option("--allowed-hosts <hosts>", "Host header values to accept besides localhost, comma-separated, or * (default MCPSTORE_ALLOWED_HOSTS)")
    .option("--allowed-origins <origins>", "browser origins allowed to call the API, comma-separated (default MCPSTORE_ALLOWED_ORIGINS)")
    .option("--no-stdio", "refuse to add or change local (stdio) services through the API")
    .option("--metrics", "serve Prometheus metrics at /metrics (admin tokens)")
    .option("--max-body-bytes <bytes>", "largest request body", integer(1, 1024 * 1024 * 1024), 1024 * 1024)
    .option("--allow-egress <hosts>", "host[:port] globs agents may point services at although local or private, comma-separated (default MCPSTORE_ALLOW_EGRESS; adds to the config file's allowEgress)")
    .option("--max-agent-services <n>", "services each agent may have (default MCPSTORE_MAX_AGENT_SERVICES, else 20)", integer(1, 1_000_000))
    .option("--max-agent-calls <n>", "calls each agent may have in flight; the next waits, then 429 (default MCPSTORE_MAX_AGENT_CALLS, else 16)", integer(1, 1_000_000))
    .option("--redis <url>", "share the registry with other instances through this Redis (default MCPSTORE_REDIS_URL)")
    .option("--namespace <name>", "the Redis namespace instances share (default MCPSTORE_NAMESPACE, else \"default\")")
    .option("--trust-proxy", "take the client address from X-Forwarded-For, for the failed-token limit: only behind a proxy that sets it (default MCPSTORE_TRUST_PROXY)")
    .addHelpText(
      "after",
      "\nTokens: MCPSTORE_ADMIN_TOKEN (admin, comma-separated), MCPSTORE_AGENT_TOKENS (agentId=token,...), or --tokens-file.\n" +
        "Without an admin token, one is generated for the run and printed. GET /health needs no token.",
    )
    .action(async (_options: unknown, command: Command) => {
      const options: RunApiOptions = command.optsWithGlobals();
      const logger = commandLogger("info");
      // Before anything starts a process: a signal at any point stops the run, and a second one exits at once.
      const stop = new StopSignals({ logger });
      try {
        await runApi(options, logger, stop);
      } finally {
        stop.close();
      }
    });
}

/**
 * The Redis namespace shared with other instances, when `--redis` (or `MCPSTORE_REDIS_URL`) names one. Fails at
 * start-up, naming the address, when Redis does not answer within 5 s: an instance that started alone would serve a registry
 * the others do not see.
 */
async function sharedStateOf(options: RunApiOptions) {
  const url = options.redis ?? process.env.MCPSTORE_REDIS_URL;
  if (url === undefined || url === "") return undefined;
  const { redisDriver } = await import("@mcpstore/redis");
  const shared = redisDriver({ url, namespace: options.namespace ?? process.env.MCPSTORE_NAMESPACE ?? "default" });
  // A few tries within 5 s, so that a busy machine (or Redis starting beside us) is not taken for a missing Redis.
  const deadline = Date.now() + 5_000;
  for (;;) {
    try {
      await shared.ready();
      return shared;
    } catch (error) {
      if (Date.now() >= deadline) {
        await shared.close();
        throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

/** What agent tokens may do: flags, else environment variables, else the defaults (see `AgentPolicyOptions`). */
function agentPolicyOf(options: RunApiOptions): AgentPolicyOptions {
  const fromEnv = (name: string) => {
    const value = process.env[name];
    if (value === undefined || value === "") return undefined;
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < 1) throw new InvalidArgumentError(`${name} must be a positive integer, got "${value}"`);
    return parsed;
  };
  const allowEgress = splitList(options.allowEgress ?? process.env.MCPSTORE_ALLOW_EGRESS);
  const maxServicesPerAgent = options.maxAgentServices ?? fromEnv("MCPSTORE_MAX_AGENT_SERVICES");
  const maxConcurrentCallsPerAgent = options.maxAgentCalls ?? fromEnv("MCPSTORE_MAX_AGENT_CALLS");
  return {
    ...(allowEgress.length > 0 ? { allowEgress } : {}),
    ...(maxServicesPerAgent !== undefined ? { maxServicesPerAgent } : {}),
    ...(maxConcurrentCallsPerAgent !== undefined ? { maxConcurrentCallsPerAgent } : {}),
  };
}

/** Serves the API until `stop` is requested, then closes the server and the store (and so every service process). */
async function runApi(options: RunApiOptions, logger: Logger, stop: StopSignals): Promise<void> {
  const tokens = loadApiTokens(options.tokensFile !== undefined ? { file: options.tokensFile } : {});
  const tokensFile = options.tokensFile ?? process.env.MCPSTORE_TOKENS_FILE;
  if (tokensFile && isReadableByOthers(tokensFile)) logger.warn({ path: tokensFile }, "the tokens file can be read by other users: chmod 600 it");
  const generatedToken = tokens.admin.length === 0 ? randomBytes(24).toString("base64url") : undefined;
  if (generatedToken) tokens.admin.push(generatedToken);
  if (tokens.admin.some((token) => token.length < 16)) logger.warn({}, "an admin token is shorter than 16 characters: use a long random one");

  const plugins: Plugin[] = [];
  let metrics: MetricsSource | undefined;
  if (options.metrics) {
    const { prometheusPlugin } = await import("@mcpstore/plugin-prometheus");
    const plugin = prometheusPlugin();
    plugins.push(plugin);
    metrics = plugin;
  }
  const allowedHosts = allowedHostsFor(options.host, options.allowedHosts, (message) => logger.warn({ host: options.host }, message));
  const allowedOrigins = splitList(options.allowedOrigins ?? process.env.MCPSTORE_ALLOWED_ORIGINS);
  const trustProxy = options.trustProxy === true || /^(1|true|yes)$/i.test(process.env.MCPSTORE_TRUST_PROXY ?? "");
  if (stop.signal.aborted) return;

  const shared = await sharedStateOf(options);
  let store: MCPStore;
  try {
    store = await MCPStore.setupStore({
      ...(options.config !== undefined ? { mcpConfigFile: options.config } : {}),
      logger,
      plugins,
      agentPolicy: agentPolicyOf(options),
      ...(shared ? { shared } : {}),
    });
  } catch (error) {
    await shared?.close();
    throw error;
  }
  let server: RunningServer | undefined;
  try {
    // A signal during the set-up: the services it started are stopped by the `finally`, without serving.
    if (stop.signal.aborted) return;
    const app = createApp(store, {
      tokens,
      allowStdioServices: options.stdio,
      ...(allowedHosts !== undefined ? { allowedHosts } : {}),
      allowedOrigins,
      maxBodyBytes: options.maxBodyBytes,
      ...(metrics ? { metrics } : {}),
      ...(trustProxy ? { trustProxy } : {}),
      logger,
    });
    server = await serve(app, { host: options.host, port: options.port });

    // Listening already (health checks answer); the banner waits until the services are up, so that its example works.
    const agents = await store.forStore().listAgents();
    await waitForServices([store.forStore(), ...agents.map((agent) => store.forAgent(agent.agentId))], new Output(false), 15_000, stop.signal);
    if (!stop.signal.aborted) await printBanner(store, server, options, { generatedToken, tokens, agentCount: agents.length, withMetrics: metrics !== undefined });
    await stop.requested;
  } finally {
    await server?.close();
    await store.close();
  }
}

/** The lines printed once the API is up: where it listens, what it serves, and a curl line that works. */
async function printBanner(
  store: MCPStore,
  server: RunningServer,
  options: RunApiOptions,
  facts: { generatedToken: string | undefined; tokens: ApiTokens; agentCount: number; withMetrics: boolean },
): Promise<void> {
  const { generatedToken, tokens, agentCount } = facts;
  const { path, problems } = store.getConfigStatus();
  const serviceCount = (await store.forStore().listServices()).length;
  const local = `http://${isLoopback(options.host) || isWildcard(options.host) ? "127.0.0.1" : options.host.includes(":") ? `[${options.host}]` : options.host}:${server.port}`;
  const token = generatedToken ?? "$MCPSTORE_ADMIN_TOKEN";
  process.stdout.write(
    [
      `MCPStore API listening on ${server.url}`,
      `  config   ${path ?? "(memory)"}: ${serviceCount} store service${serviceCount === 1 ? "" : "s"}, ${agentCount} agent${agentCount === 1 ? "" : "s"}${problems.length > 0 ? `, ${problems.length} problem(s) (see the log)` : ""}`,
      `  docs     ${local}/docs   health ${local}/health${facts.withMetrics ? `   metrics ${local}/metrics` : ""}`,
      generatedToken
        ? `  token    ${generatedToken}   (generated for this run; set MCPSTORE_ADMIN_TOKEN to choose one)`
        : `  tokens   ${tokens.admin.length} admin, ${Object.keys(tokens.agents).length} agent(s)`,
      `  try      curl -H "Authorization: Bearer ${token}" ${local}/for_store/list_tools`,
      "",
    ].join("\n"),
  );
}
