import { definePlugin, type MCPStore, type Plugin, type ServiceInfo, type ServiceState } from "@mcpstore/core";
import { Counter, Gauge, Histogram, Registry } from "prom-client";

/** Options of {@link prometheusPlugin}. */
export interface PrometheusPluginOptions {
  /** The registry to put the metrics in. Default: a new one, at `plugin.registry`. One store per registry. */
  registry?: Registry;
  /** Buckets of `mcpstore_response_time_seconds`, in seconds. Default: prom-client's, 0.005 to 10. */
  buckets?: number[];
  /** The plugin's name in the store. Default `"prometheus"`. */
  name?: string;
}

/** The Prometheus plugin: add it to a store, then serve {@link PrometheusPlugin.metrics} at `GET /metrics`. */
export interface PrometheusPlugin extends Plugin {
  /** The registry that holds the metrics. */
  readonly registry: Registry;
  /** The `Content-Type` of {@link metrics}' text. */
  readonly contentType: string;
  /** Every metric of the registry in the Prometheus text format, for a `/metrics` route. */
  metrics(): Promise<string>;
}

/** Every state, so that each service has one series per state (1 for its current one, 0 for the others). */
const STATES: readonly ServiceState[] = ["initializing", "healthy", "degraded", "reconnecting", "unreachable", "disconnected"];
/** The metrics this plugin registers. */
const METRIC_NAMES = [
  "mcpstore_active_services",
  "mcpstore_tool_calls_total",
  "mcpstore_response_time_seconds",
  "mcpstore_memory_usage_bytes",
  "mcpstore_cpu_usage_percent",
  "mcpstore_service_state",
] as const;
/** States in which a service is connected and takes calls: what `mcpstore_active_services` counts. */
const ACTIVE_STATES: ReadonlySet<ServiceState> = new Set(["healthy", "degraded"]);

/** Every service of the store scope and of every agent, from the catalogue cache (no network). */
async function allServices(store: MCPStore): Promise<ServiceInfo[]> {
  const context = store.forStore();
  const [services, agents] = await Promise.all([context.listServices(), context.listAgents()]);
  const perAgent = await Promise.all(agents.map((agent) => store.forAgent(agent.agentId).listServices()));
  return services.concat(...perAgent);
}

/** Calls recorded but not yet moved into the prom-client metrics (see `recordCall`). */
const MAX_PENDING_CALLS = 1_024;

/**
 * Prometheus metrics of a store, with the seed's names: `mcpstore_active_services` (services `healthy` or
 * `degraded`), `mcpstore_tool_calls_total{tool_name,status}` (`success` or `error`: an error result, a thrown error,
 * a veto), `mcpstore_response_time_seconds{operation="tool_call"}`, `mcpstore_memory_usage_bytes` (resident set),
 * `mcpstore_cpu_usage_percent` (this process since the previous scrape; above 100 on several cores), and
 * `mcpstore_service_state{service_name,agent_id,state}` (1 for each service's current state, 0 for the others).
 * Service metrics are read from the store's cache at scrape time, so services added before the plugin count too.
 */
export function prometheusPlugin(options: PrometheusPluginOptions = {}): PrometheusPlugin {
  const registry = options.registry ?? new Registry();
  let metrics: { toolCalls: Counter<"tool_name" | "status">; responseTime: Histogram<"operation"> } | undefined;
  // prom-client validates and hashes the labels on every update: too slow for the call path. A call only appends to
  // this list; the list moves into the metrics when they are read (scrape) or when it is full.
  let pending: Array<{ toolName: string; status: "success" | "error"; seconds: number }> = [];
  const flush = () => {
    if (!metrics || pending.length === 0) return;
    const calls = pending;
    pending = [];
    for (const { toolName, status, seconds } of calls) {
      metrics.toolCalls.inc({ tool_name: toolName, status });
      metrics.responseTime.observe({ operation: "tool_call" }, seconds);
    }
  };
  const recordCall = (toolName: string, status: "success" | "error", durationMs: number) => {
    if (!metrics) return;
    pending.push({ toolName, status, seconds: durationMs / 1000 });
    if (pending.length >= MAX_PENDING_CALLS) flush();
  };

  const plugin = definePlugin({
    name: options.name ?? "prometheus",
    registry,
    contentType: registry.contentType,
    metrics: () => registry.metrics(),
    hooks: {
      "tool:call-end": (event) => recordCall(event.toolName, event.isError ? "error" : "success", event.durationMs),
      "tool:call-error": (event) => recordCall(event.toolName, "error", event.durationMs),
    },
    setup: ({ store, logger }) => {
      const taken = METRIC_NAMES.filter((name) => registry.getSingleMetric(name) !== undefined);
      if (taken.length > 0) throw new Error(`the registry already has ${taken.join(", ")}: give each store its own registry`);

      const readServices = async (): Promise<ServiceInfo[] | undefined> => {
        try {
          return await allServices(store);
        } catch (error) {
          // A scrape while the store closes: report nothing rather than fail the whole scrape.
          logger.debug({ error: error instanceof Error ? error.message : String(error) }, "could not list services for metrics");
          return undefined;
        }
      };
      let cpuAt = { usage: process.cpuUsage(), timeNs: process.hrtime.bigint() };
      const registers = [registry];
      const responseTime = new Histogram({
        name: "mcpstore_response_time_seconds",
        help: "Response time of store operations, in seconds",
        labelNames: ["operation"] as const,
        ...(options.buckets ? { buckets: options.buckets } : {}),
        registers,
        collect: flush,
      });
      const toolCalls = new Counter({
        name: "mcpstore_tool_calls_total",
        help: "Tool calls by tool and outcome",
        labelNames: ["tool_name", "status"] as const,
        registers,
        collect: flush,
      });
      new Gauge({
        name: "mcpstore_active_services",
        help: "Number of active (healthy or degraded) services",
        registers,
        async collect() {
          const services = await readServices();
          if (services) this.set(services.filter((service) => ACTIVE_STATES.has(service.state)).length);
        },
      });
      new Gauge({
        name: "mcpstore_service_state",
        help: "State of each service: 1 for its current state, 0 for the others",
        labelNames: ["service_name", "agent_id", "state"] as const,
        registers,
        async collect() {
          const services = await readServices();
          if (!services) return;
          this.reset();
          for (const service of services) {
            for (const state of STATES) this.set({ service_name: service.name, agent_id: service.agentId ?? "", state }, state === service.state ? 1 : 0);
          }
        },
      });
      new Gauge({
        name: "mcpstore_memory_usage_bytes",
        help: "Memory usage (resident set size) in bytes",
        registers,
        collect() {
          this.set(process.memoryUsage().rss);
        },
      });
      new Gauge({
        name: "mcpstore_cpu_usage_percent",
        help: "CPU usage of this process since the previous scrape, in percent of one core",
        registers,
        collect() {
          const now = { usage: process.cpuUsage(), timeNs: process.hrtime.bigint() };
          const cpuMicros = now.usage.user - cpuAt.usage.user + (now.usage.system - cpuAt.usage.system);
          const wallMicros = Number(now.timeNs - cpuAt.timeNs) / 1000;
          cpuAt = now;
          if (wallMicros > 0) this.set(Math.round((cpuMicros / wallMicros) * 10_000) / 100);
        },
      });
      metrics = { toolCalls, responseTime };
      return () => {
        pending = [];
        for (const name of METRIC_NAMES) registry.removeSingleMetric(name);
        metrics = undefined;
      };
    },
  });
  return plugin;
}
