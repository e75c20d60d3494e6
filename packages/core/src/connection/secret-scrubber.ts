import type { ServiceConfig } from "../config/service-config.js";
import { httpStatusOf } from "./error-classification.js";

/** Headers whose values are protocol plumbing, not credentials: shown in messages as they are. */
const PLAIN_HEADERS = new Set(["user-agent", "accept", "accept-language", "accept-encoding", "content-type", "cache-control", "connection", "keep-alive"]);
const SENSITIVE_ENV_NAME = /KEY|TOKEN|SECRET|PASS|AUTH|CREDENTIAL|PRIVATE|SESSION|COOKIE|DSN|_URL$|^URL$/i;

/**
 * The values to hide in messages and stderr lines: every header value but plain protocol ones, env values whose name
 * looks sensitive or that are long enough to be a key, and the token part of `Bearer xyz`-style values.
 */
function secretValues(config: ServiceConfig): string[] {
  const values: string[] = [];
  for (const [name, value] of Object.entries(config.headers ?? {})) if (!PLAIN_HEADERS.has(name.toLowerCase())) values.push(value);
  for (const [name, value] of Object.entries(config.env ?? {})) if (SENSITIVE_ENV_NAME.test(name) || value.length >= 16) values.push(value);
  // Longest first, so that a secret containing a shorter one is replaced whole.
  return [...new Set(values.flatMap((value) => [value, ...value.split(/\s+/).filter((part) => part.length >= 8)]))]
    .filter((value) => value.length >= 4)
    .sort((a, b) => b.length - a.length);
}

/** Keeps the secrets of one service's config (header values, sensitive env values) out of text meant for users. */
export class SecretScrubber {
  private readonly secrets: string[];

  constructor(config: ServiceConfig) {
    this.secrets = secretValues(config);
  }

  /** Replaces secrets of the config with `***` in a text meant for users. */
  scrub(text: string): string {
    let result = text;
    for (const secret of this.secrets) result = result.split(secret).join("***");
    return result;
  }

  /** A one-line, secret-free description of an error. */
  describe(error: unknown): string {
    if (error === undefined) return "unknown error";
    let message = error instanceof Error ? error.message : String(error);
    const status = httpStatusOf(error);
    if (status !== undefined && !message.includes(String(status))) message = `HTTP ${status}: ${message}`;
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : undefined;
    return this.scrub(cause && !message.includes(cause) ? `${message} (${cause})` : message);
  }
}
