import { configFilePath, type ServiceConfig, type ServiceInfo, type ToolCallResult } from "@mcpstore/core";
import { type Command, InvalidArgumentError } from "commander";
import { EXIT } from "../exit-codes.js";
import { scopeOf, waitForServices, withStore, type GlobalOptions } from "../open-store.js";
import { Output, shorten } from "../output.js";
import { UsageError } from "../usage-error.js";

interface ScopeOptions {
  forAgent?: string;
  /** Seconds to wait for services. */
  wait: number;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];
const seconds = (value: string) => {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0) throw new InvalidArgumentError("expected a number of seconds");
  return parsed;
};
const positiveInteger = (value: string) => {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0) throw new InvalidArgumentError("expected a positive integer");
  return parsed;
};

/** `--for-agent` and `--wait`, on every command that opens the store. */
function scoped(command: Command): Command {
  return command
    .option("-a, --for-agent <agentId>", "work in this agent's scope instead of the store's")
    .option("-w, --wait <seconds>", "how long to wait for services to connect (0: do not wait)", seconds, 15);
}

function globals(command: Command): GlobalOptions & ScopeOptions {
  return command.optsWithGlobals();
}

function where(options: GlobalOptions & ScopeOptions): string {
  return options.forAgent === undefined ? "" : ` for agent ${options.forAgent}`;
}

/** Builds a service config from `add`'s arguments and options. */
function configFromArguments(name: string, target: string | undefined, args: string[], options: AddOptions): ServiceConfig {
  let config: Record<string, unknown> = {};
  if (options.fromJson !== undefined) {
    try {
      config = JSON.parse(options.fromJson) as Record<string, unknown>;
    } catch {
      throw new UsageError("--from-json is not valid JSON");
    }
    if (config === null || typeof config !== "object" || Array.isArray(config)) throw new UsageError("--from-json must be a JSON object");
  }
  if (target !== undefined) {
    if (/^https?:\/\//i.test(target)) {
      if (args.length > 0) throw new UsageError(`a URL takes no arguments (got ${args.join(" ")})`);
      config.url = target;
    } else {
      config.command = target;
      if (args.length > 0) config.args = args;
    }
  }
  const pairs = (values: string[] | undefined, separator: string, option: string) =>
    values === undefined
      ? undefined
      : Object.fromEntries(
          values.map((value) => {
            const index = value.indexOf(separator);
            if (index <= 0) throw new UsageError(`${option} expects NAME${separator}VALUE, got "${value.slice(0, 40)}"`);
            return [value.slice(0, index).trim(), value.slice(index + 1).trim()];
          }),
        );
  const env = pairs(options.env, "=", "--env");
  const headers = pairs(options.header, ":", "--header");
  if (env) config.env = { ...(config.env as object | undefined), ...env };
  if (headers) config.headers = { ...(config.headers as object | undefined), ...headers };
  if (options.transport !== undefined) config.transport = options.transport;
  if (options.cwd !== undefined) config.working_dir = options.cwd;
  if (options.timeoutSeconds !== undefined) config.timeout = options.timeoutSeconds;
  if (options.description !== undefined) config.description = options.description;
  if (config.command === undefined && config.url === undefined) throw new UsageError("give a command (after --) or a URL, or --from-json");
  return { ...config, name } as ServiceConfig;
}

interface AddOptions {
  fromJson?: string;
  env?: string[];
  header?: string[];
  transport?: string;
  cwd?: string;
  timeoutSeconds?: number;
  description?: string;
  wait: number;
}

function printServices(output: Output, services: ServiceInfo[]): void {
  output.table(
    ["NAME", "STATE", "TRANSPORT", "TOOLS", "ERROR"],
    services.map((service) => [service.name, service.state, service.transport, service.toolCount, shorten(service.lastError, 70)]),
  );
}

/** Text of a tool result for people: its text, a note for each non-text item, else its structured content. */
function resultText(result: ToolCallResult): string {
  const parts = (result.content ?? []).map((item) => {
    if (item.type === "text") return item.text;
    if (item.type === "image" || item.type === "audio") return `[${item.type} ${item.mimeType}, ${Math.floor((item.data.length * 3) / 4)} bytes]`;
    if (item.type === "resource") return `[resource ${item.resource.uri}]`;
    if (item.type === "resource_link") return `[resource link ${item.uri}]`;
    return `[${(item as { type: string }).type}]`;
  });
  if (parts.length === 0 && result.structuredContent !== undefined) return JSON.stringify(result.structuredContent, null, 2);
  return parts.join("\n");
}

/** `add`, `list`, `get`, `remove`, `tools`, `call` and `check`. */
export function registerServiceCommands(program: Command): void {
  scoped(
    program
      .command("add")
      .description("Add a service to the config file and wait for it to connect")
      .argument("<name>", "the service's name")
      .argument("[commandOrUrl]", "an http(s) URL for a remote server, else the command of a local one")
      .argument("[args...]", "the command's arguments (put -- before them when they start with -)")
      .option("--from-json <json>", "the service's config as a JSON object (merged with the other options)")
      .option("-e, --env <NAME=VALUE>", "environment variable of a local server (repeatable; ${VAR} placeholders are kept)", collect)
      .option("-H, --header <Name: value>", "header sent to a remote server (repeatable)", collect)
      .option("--transport <transport>", "streamable-http or sse (default: try Streamable HTTP, then SSE)")
      .option("--cwd <dir>", "working directory of a local server")
      .option("--timeout-seconds <seconds>", "per-request timeout", seconds)
      .option("--description <text>", "a description kept in the file")
      .addHelpText("after", "\nExamples:\n  mcpstore add files -- npx -y @modelcontextprotocol/server-filesystem /tmp\n  mcpstore add weather https://weather.example.com/mcp -H 'Authorization: Bearer ${WEATHER_API_TOKEN}'"),
  ).action(async (name: string, target: string | undefined, args: string[], _options: unknown, command: Command) => {
    const options = globals(command) as GlobalOptions & ScopeOptions & AddOptions;
    const output = new Output(options.json === true);
    const config = configFromArguments(name, target, args, options);
    await withStore(options, async (store) => {
      const context = scopeOf(store, options.forAgent);
      let [service] = await context.addService(config);
      if (options.wait > 0) {
        const progress = output.progress(`Connecting to ${name}`);
        try {
          service = await context.waitService(name, { state: ["healthy", "degraded", "unreachable"], timeoutMs: options.wait * 1000 }).catch(() => context.getService(name));
        } finally {
          progress.stop();
        }
      }
      output.result({ service }, () => {
        output.line(`Added ${name}${where(options)} to ${store.getConfigStatus().path ?? "memory"}: ${service!.state}, ${service!.toolCount} tools`);
        if (service!.lastError) output.note(`warning: ${name} did not connect: ${service!.lastError}`);
      });
    });
  });

  scoped(program.command("list").description("List the services of a scope, with their state")).action(async (_options: unknown, command: Command) => {
    const options = globals(command);
    const output = new Output(options.json === true);
    await withStore(options, async (store) => {
      const context = scopeOf(store, options.forAgent);
      // The store scope's listing counts the agents' tools too, so wait for their services as well.
      const agentScopes = options.forAgent === undefined ? (await context.listAgents()).map((agent) => store.forAgent(agent.agentId)) : [];
      const services = (await waitForServices([context, ...agentScopes], output, options.wait * 1000)).filter(
        (service) => service.agentId === context.agentId,
      );
      const agents = options.forAgent === undefined ? await context.listAgents() : [];
      output.result({ services, ...(options.forAgent === undefined ? { agents } : {}) }, () => {
        if (services.length === 0) output.line(`No services${where(options)} in ${store.getConfigStatus().path ?? "memory"}.`);
        else printServices(output, services);
        if (agents.length > 0) {
          output.line();
          output.line(`Agents: ${agents.map((agent) => `${agent.agentId} (${agent.serviceCount} service${agent.serviceCount === 1 ? "" : "s"})`).join(", ")} — see mcpstore list --for-agent <id>`);
        }
      });
    });
  });

  scoped(program.command("get").description("Show one service and its tools").argument("<name>", "the service's name")).action(
    async (name: string, _options: unknown, command: Command) => {
      const options = globals(command);
      const output = new Output(options.json === true);
      await withStore(options, async (store) => {
        const context = scopeOf(store, options.forAgent);
        await context.getService(name);
        await waitForServices(context, output, options.wait * 1000);
        const service = await context.getService(name);
        const tools = await context.listTools({ service: name });
        output.result({ service, tools }, () => {
          const rows: Array<[string, string | number | undefined]> = [
            ["name", service.name],
            ["state", service.state],
            ["transport", service.transport],
            [service.config.command !== undefined ? "command" : "url", service.config.command !== undefined ? [service.config.command, ...(service.config.args ?? [])].join(" ") : service.config.url],
            ["server", service.serverInfo ? `${service.serverInfo.name} ${service.serverInfo.version}` : undefined],
            ["tools", service.toolCount],
            ["error", service.lastError],
          ];
          for (const [key, value] of rows) if (value !== undefined) output.line(`${`${key}:`.padEnd(11)}${value}`);
          if (tools.length > 0) {
            output.line();
            output.table(["TOOL", "DESCRIPTION"], tools.map((tool) => [tool.name, shorten(tool.description)]));
          }
        });
      });
    },
  );

  scoped(program.command("remove").alias("rm").description("Stop a service and remove it from the config file").argument("<name>", "the service's name")).action(
    async (name: string, _options: unknown, command: Command) => {
      const options = globals(command);
      const output = new Output(options.json === true);
      await withStore(options, async (store) => {
        await scopeOf(store, options.forAgent).removeService(name);
        output.result({ removed: name }, () => output.line(`Removed ${name}${where(options)} from ${store.getConfigStatus().path ?? "memory"}`));
      });
    },
  );

  scoped(program.command("tools").description("List the tools of a scope").option("-s, --service <name>", "only this service's tools")).action(
    async (_options: unknown, command: Command) => {
      const options = globals(command) as GlobalOptions & ScopeOptions & { service?: string };
      const output = new Output(options.json === true);
      await withStore(options, async (store) => {
        const context = scopeOf(store, options.forAgent);
        await waitForServices(context, output, options.wait * 1000);
        const tools = await context.listTools(options.service !== undefined ? { service: options.service } : {});
        output.result({ tools }, () => {
          if (tools.length === 0) output.line(`No tools${where(options)}.`);
          else output.table(["NAME", "SERVICE", "DESCRIPTION"], tools.map((tool) => [tool.name, tool.serviceName, shorten(tool.description)]));
        });
      });
    },
  );

  scoped(
    program
      .command("call")
      .description("Call a tool and print its result")
      .argument("<tool>", "the tool's name ({service}_{tool}, or the bare name when unique)")
      .option("--args <json>", "the arguments, a JSON object", "{}")
      .option("-t, --timeout <ms>", "time limit of the call in milliseconds", positiveInteger),
  ).action(async (tool: string, _options: unknown, command: Command) => {
    const options = globals(command) as GlobalOptions & ScopeOptions & { args: string; timeout?: number };
    const output = new Output(options.json === true);
    let args: unknown;
    try {
      args = JSON.parse(options.args);
    } catch {
      throw new UsageError(`--args is not valid JSON: ${shorten(options.args, 40)}`);
    }
    if (args === null || typeof args !== "object" || Array.isArray(args)) throw new UsageError("--args must be a JSON object, e.g. '{\"text\":\"hi\"}'");
    await withStore(options, async (store) => {
      const context = scopeOf(store, options.forAgent);
      await waitForServices(context, output, options.wait * 1000);
      const result = await context.callTool(tool, args as Record<string, unknown>, options.timeout !== undefined ? { timeoutMs: options.timeout } : {});
      output.result(result, () => {
        if (result.isError) process.stderr.write(`${resultText(result)}\n`);
        else output.line(resultText(result));
      });
      if (result.isError) {
        output.note(`error: the tool ${tool} returned an error result`);
        process.exitCode = EXIT.TOOL_ERROR;
      }
    });
  });

  scoped(program.command("check").description("Probe every service of a scope now; exit 6 unless all answer")).action(async (_options: unknown, command: Command) => {
    const options = globals(command);
    const output = new Output(options.json === true);
    await withStore(options, async (store) => {
      const context = scopeOf(store, options.forAgent);
      await waitForServices(context, output, options.wait * 1000);
      const result = await context.checkServices();
      output.result(result, () => {
        if (result.services.length === 0) output.line(`No services${where(options)} in ${store.getConfigStatus().path ?? configFilePath(options.config)}.`);
        else {
          output.table(
            ["NAME", "STATE", "HEALTHY", "LATENCY", "ERROR"],
            result.services.map((service) => [
              service.name,
              service.state,
              service.healthy ? "yes" : "no",
              service.latencyMs === undefined ? undefined : `${service.latencyMs.toFixed(1)} ms`,
              shorten(service.error, 70),
            ]),
          );
        }
      });
      if (!result.success) process.exitCode = EXIT.UNAVAILABLE;
    });
  });
}
