/**
 * Credentials stay where their owner pointed them. A service's header and env values are bound to its destination
 * (`url` and transport for a remote service; `command`, `args` and `working_dir` for a local one). A change that moves
 * the destination, asked by an agent for a service whose credentials it did not supply, is refused when any of those
 * values would go along to the new destination; it applies when the same request replaces (or drops) every one. The
 * rule judges the effect: what the new destination would receive, not how the request looks.
 */
import type { ServiceConfig } from "../config/service-config.js";
import { ForbiddenError } from "../errors.js";

/** Who asks for a change: the store's admin (library code, admin tokens) or an agent (an agent token). */
export type ChangePrincipal = "admin" | "agent";

const destinationOf = (config: ServiceConfig) =>
  JSON.stringify(config.url !== undefined ? { url: config.url, transport: config.transport ?? null } : { command: config.command, args: config.args ?? [], cwd: config.working_dir ?? null });

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

/** Who supplied the credentials of a config after `principal` changed it from `current` to `next`. */
export function credentialsOwnerAfter(current: ServiceConfig, next: ServiceConfig, principal: ChangePrincipal, suppliedBy: ChangePrincipal): ChangePrincipal {
  return principal === suppliedBy || carriedCredentials(current, next).length > 0 ? suppliedBy : principal;
}
