import { createHash } from "node:crypto";
import { ValidationError } from "./errors.js";

/** What agent ids, service names and tool names must match: what OpenAI and Anthropic accept as tool names. */
export const NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
/** Service names may also hold dots (`weather.api`); they never reach a path unescaped. */
export const SERVICE_NAME_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

/** Throws a {@link ValidationError} unless `agentId` matches `^[A-Za-z0-9_-]{1,64}$`. */
export function assertAgentId(agentId: unknown): asserts agentId is string {
  if (typeof agentId !== "string" || !NAME_PATTERN.test(agentId)) {
    const shown = typeof agentId === "string" ? JSON.stringify(agentId.length > 80 ? `${agentId.slice(0, 80)}…` : agentId) : typeof agentId;
    throw new ValidationError({
      message: `Invalid agent id ${shown}: it must match ^[A-Za-z0-9_-]{1,64}$ (letters, digits, "_" and "-", 1 to 64 characters)`,
      details: { issues: [{ path: "agentId", message: "must match ^[A-Za-z0-9_-]{1,64}$" }] },
    });
  }
}

function shortHash(value: string): string {
  return createHash("sha256").update(value).digest("hex").slice(0, 8);
}

/**
 * The store-wide name of a tool: `{service}_{tool}`, every character outside `[A-Za-z0-9_-]` replaced by `_`, and
 * names over 64 characters cut and given a short hash of the full name so that they stay distinct.
 */
export function publicToolName(serviceName: string, toolName: string): string {
  const joined = `${serviceName}_${toolName}`;
  const sanitized = joined.replace(/[^A-Za-z0-9_-]/g, "_");
  if (sanitized.length <= 64 && sanitized === joined) return sanitized;
  if (sanitized.length <= 64) return sanitized;
  return `${sanitized.slice(0, 55)}_${shortHash(joined)}`;
}

/** A distinct name for a tool whose {@link publicToolName} is already taken by another tool in the scope. */
export function disambiguatedToolName(serviceName: string, toolName: string): string {
  const base = publicToolName(serviceName, toolName);
  return `${base.slice(0, 55)}_${shortHash(`${serviceName}\u0000${toolName}`)}`;
}
