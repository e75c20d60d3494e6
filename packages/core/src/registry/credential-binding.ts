/**
 * Credentials stay where their owner pointed them. A service's header and env values are bound to its destination
 * (`url` and transport for a remote service; `command`, `args` and `working_dir` for a local one). A change that moves
 * the destination, asked by an agent for a service whose credentials it did not supply, is refused when any of those
 * values would go along to the new destination; it applies when the same request replaces (or drops) every one. The
 * rule judges the effect: what the new destination would receive, not how the request looks.
 */
import { hasPlaceholder } from "../config/placeholders.js";
import { sameServiceConfig, type ServiceConfig } from "../config/service-config.js";
import { ForbiddenError } from "../errors.js";

/** Who asks for a change: the store's admin (library code, admin tokens) or an agent (an agent token). */
export type ChangePrincipal = "admin" | "agent";

const destinationOf = (config: ServiceConfig) =>
  JSON.stringify(config.url !== undefined ? { url: config.url, transport: config.transport ?? null } : { command: config.command, args: config.args ?? [], cwd: config.working_dir ?? null });

/**
 * The config key that records which parts of a service an agent set: `destination` (held to the egress rules at every
 * connection) and `credentials` (its header and env values). Absent: the admin's. It lives in the config, so the file,
 * a restart and every instance sharing the desired state apply the same rules; only the store writes it for agents.
 */
export const SET_BY_AGENT_KEY = "set_by_agent";

/** The parts of a service an agent set. */
export type AgentSetPart = "destination" | "credentials";

/** Who set a part of a service's config. */
export function suppliedBy(config: ServiceConfig | undefined, part: AgentSetPart): ChangePrincipal {
  const parts = config?.[SET_BY_AGENT_KEY];
  return Array.isArray(parts) && parts.includes(part) ? "agent" : "admin";
}

/** The config with the parts an agent set recorded (the key dropped when there are none). */
export function markSetByAgent(config: ServiceConfig, parts: AgentSetPart[]): ServiceConfig {
  const { [SET_BY_AGENT_KEY]: _previous, ...rest } = config;
  return (parts.length > 0 ? { ...rest, [SET_BY_AGENT_KEY]: parts } : rest) as ServiceConfig;
}

const credentialsOf = (config: ServiceConfig) => JSON.stringify([config.headers ?? {}, config.env ?? {}]);

/**
 * A change from `current` to `next` with who set what recorded. An agent sets the destination once it moves it (or
 * set it before), and the credentials when it supplies values of its own with none of the owner's carried along. An
 * admin who changes the destination or the credentials becomes their owner.
 */
export function recordChange(current: ServiceConfig, next: ServiceConfig, principal: ChangePrincipal): ServiceConfig {
  const moved = !sameDestination(current, next);
  const newCredentials = credentialsOf(current) !== credentialsOf(next);
  const parts: AgentSetPart[] = [];
  if (principal === "agent") {
    if (moved || suppliedBy(current, "destination") === "agent") parts.push("destination");
    const own = suppliedBy(current, "credentials") === "agent" || carriedCredentials(current, next).length === 0;
    const hasCredentials = Object.keys(next.headers ?? {}).length + Object.keys(next.env ?? {}).length > 0;
    if (own && hasCredentials) parts.push("credentials");
  } else {
    if (!moved && suppliedBy(next, "destination") === "agent") parts.push("destination");
    if (!newCredentials && suppliedBy(next, "credentials") === "agent") parts.push("credentials");
  }
  return markSetByAgent(next, parts);
}

/** Whether two configs point at the same destination (the same URL and transport, or the same command line). */
export const sameDestination = (a: ServiceConfig, b: ServiceConfig): boolean => destinationOf(a) === destinationOf(b);

/** The header and env names whose value `next` keeps from `current` unchanged. */
function carriedCredentials(current: ServiceConfig, next: ServiceConfig): string[] {
  const carried: string[] = [];
  for (const [name, value] of Object.entries(current.headers ?? {})) if (next.headers?.[name] === value) carried.push(`headers.${name}`);
  for (const [name, value] of Object.entries(current.env ?? {})) if (next.env?.[name] === value) carried.push(`env.${name}`);
  return carried;
}

/**
 * Throws a {@link ForbiddenError} when `principal` moves the service to another destination while credentials that
 * `suppliedBy` set would follow it there. An admin may do anything; so may the principal who supplied the values.
 */
export function assertCredentialsStay(
  change: { current: ServiceConfig; next: ServiceConfig; agentId: string | undefined },
  principal: ChangePrincipal,
  suppliedBy: ChangePrincipal,
): void {
  if (principal === "admin" || suppliedBy === principal) return;
  const { current, next } = change;
  if (destinationOf(current) === destinationOf(next)) return;
  const carried = carriedCredentials(current, next);
  if (carried.length === 0) return;
  throw new ForbiddenError({
    message:
      `Service "${current.name}" would take credentials its owner set (${carried.join(", ")}) to a new destination: ` +
      "replace every header and env value in the same request, or ask an admin",
    serviceName: current.name,
    ...(change.agentId !== undefined ? { agentId: change.agentId } : {}),
    details: { carried },
  });
}


/** Every string in a config with the path it sits at (`headers.Authorization`, `args.0`). */
function* strings(value: unknown, path: string): Generator<[string, string]> {
  if (typeof value === "string") yield [path, value];
  else if (Array.isArray(value)) for (const [index, item] of value.entries()) yield* strings(item, `${path}.${index}`);
  else if (value !== null && typeof value === "object") for (const [key, item] of Object.entries(value)) yield* strings(item, path ? `${path}.${key}` : key);
}

function valueAt(config: ServiceConfig | undefined, path: string): unknown {
  return path.split(".").reduce<unknown>((value, key) => (value !== null && typeof value === "object" ? (value as Record<string, unknown>)[key] : undefined), config);
}

/**
 * What an agent's change may not do, whatever the request looks like: make the host run a command (add a local
 * service, or change anything of one: its env and arguments are what runs), or bring in a `${VAR}` placeholder, which
 * expands from the host's environment (an admin's placeholders may stay where they are; the credential rule keeps
 * them from moving). Throws a {@link ForbiddenError} naming the rule.
 */
export function assertAgentMayWrite(current: ServiceConfig | undefined, next: ServiceConfig, agentId: string | undefined): void {
  const refuse = (rule: string, message: string, field?: string) =>
    new ForbiddenError({ message, serviceName: next.name, ...(agentId !== undefined ? { agentId } : {}), details: { rule, ...(field ? { field } : {}) } });
  if (next.command !== undefined && (current === undefined || !sameServiceConfig(current, next))) {
    throw refuse("agent:command", `Service "${next.name}": a local (stdio) service runs a command on the host; only an admin may add or change one`);
  }
  for (const [path, value] of strings(next, "")) {
    if (hasPlaceholder(value) && valueAt(current, path) !== value) {
      throw refuse("agent:placeholder", `Service "${next.name}": \${VAR} placeholders expand from the host's environment; only an admin may write them (${path})`, path);
    }
  }
}
