import { decodeLoosely, replaceArgCredentials, replaceCredentials, type CredentialKind, type ServiceConfig } from "../config/service-config.js";
import { httpStatusOf } from "./error-classification.js";
import { splitUrlCredentials } from "./url-credentials.js";

/** Headers whose values are protocol plumbing, not credentials: shown in messages as they are. */
const PLAIN_HEADERS = new Set(["user-agent", "accept", "accept-language", "accept-encoding", "content-type", "cache-control", "connection", "keep-alive"]);
const SENSITIVE_ENV_NAME = /KEY|TOKEN|SECRET|PASS|AUTH|CREDENTIAL|PRIVATE|SESSION|COOKIE|DSN|_URL$|^URL$/i;
/** A value this long is taken for a key (env values, lone URL user names such as `https://TOKEN@host`). */
const KEY_LENGTH = 16;
/** Characters of an upstream's error body quoted in a message. */
export const UPSTREAM_BODY_CHARS = 200;
/** The SDK's messages that quote the body of an HTTP error answer, after their prefix (group 1). */
const UPSTREAM_BODY = /(Error POSTing to endpoint(?: \(HTTP \d{3}\))?: )([\s\S]*)$/;
/** A text cut short (a stdout sample) may end in the start of a secret: a start this long or longer is hidden too. */
const MIN_CUT_SECRET_CHARS = 8;

/**
 * The values to hide in messages and stderr lines: every header value but plain protocol ones (and the password of a
 * `Basic` one), env values whose name looks sensitive or that are long enough to be a key, the credentials of `url`
 * (its password, its credential-like query values, the `Basic` token they are sent as), of `args` and env values (DSN
 * passwords, `--password=...`), each also %-decoded; and the token part of `Bearer xyz`-style values.
 */
function secretValues(config: ServiceConfig): string[] {
  const values: string[] = [];
  const collect = (secret: string, kind: CredentialKind) => {
    if (kind !== "user" || secret.length >= KEY_LENGTH) values.push(secret, decodeLoosely(secret), decodeLoosely(secret.replace(/\+/g, " ")));
    return secret;
  };
  for (const [name, value] of Object.entries(config.headers ?? {})) {
    if (PLAIN_HEADERS.has(name.toLowerCase())) continue;
    values.push(value);
    const basic = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(value)?.[1];
    if (basic) values.push(Buffer.from(basic, "base64").toString("utf8").split(":").slice(1).join(":"));
  }
  for (const [name, value] of Object.entries(config.env ?? {})) {
    if (SENSITIVE_ENV_NAME.test(name) || value.length >= KEY_LENGTH) values.push(value);
    replaceCredentials(value, collect);
  }
  if (config.url !== undefined) {
    replaceCredentials(config.url, collect);
    const authorization = urlAuthorization(config.url);
    if (authorization) values.push(authorization.slice("Basic ".length));
  }
  if (config.args) replaceArgCredentials(config.args, collect);
  // Longest first, so that a secret containing a shorter one is replaced whole.
  return [...new Set(values.flatMap((value) => [value, ...value.split(/\s+/).filter((part) => part.length >= 8)]))]
    .filter((value) => value.length >= 4)
    .sort((a, b) => b.length - a.length);
}

/** The `Basic` value the URL's credentials are sent as (see `splitUrlCredentials`), if it has any. */
function urlAuthorization(url: string): string | undefined {
  try {
    return splitUrlCredentials(url).authorization;
  } catch {
    return undefined;
  }
}

/**
 * Keeps the secrets of one service's config (header values, sensitive env values, the credentials in its URL and
 * arguments) out of text meant for users, and credentials of any URL in such a text (`https://user:pass@...`,
 * `?api_key=...`), even ones the config does not hold.
 */
export class SecretScrubber {
  private readonly secrets: string[];

  constructor(config: ServiceConfig) {
    this.secrets = secretValues(config);
  }

  /** Replaces secrets with `***` in a text meant for users (also a secret's start that ends a text cut short). */
  scrub(text: string): string {
    let result = text;
    for (const secret of this.secrets) result = result.split(secret).join("***");
    result = this.hideCutSecret(result);
    return replaceCredentials(result, (secret, kind) => (kind === "user" && secret.length < KEY_LENGTH ? secret : "***"));
  }

  /**
   * A one-line, secret-free description of an error. An upstream's error body that the message quotes is cut to
   * {@link UPSTREAM_BODY_CHARS} characters, after secrets are hidden (so that no cut leaves part of one).
   */
  describe(error: unknown): string {
    if (error === undefined) return "unknown error";
    let message = this.quote(error instanceof Error ? error.message : String(error));
    const status = httpStatusOf(error);
    if (status !== undefined && !message.includes(String(status))) message = `HTTP ${status}: ${message}`;
    const cause = error instanceof Error && error.cause instanceof Error ? this.quote(error.cause.message) : undefined;
    return cause && !message.includes(cause) ? `${message} (${cause})` : message;
  }

  private quote(message: string): string {
    return this.scrub(message).replace(UPSTREAM_BODY, (_match, prefix: string, body: string) => {
      const line = body.replace(/\s+/g, " ").trim();
      return `${prefix}${line.length > UPSTREAM_BODY_CHARS ? `${line.slice(0, UPSTREAM_BODY_CHARS)}…` : line}`;
    });
  }

  /** `text` with a trailing start of a secret (at least {@link MIN_CUT_SECRET_CHARS} long) replaced by `***`. */
  private hideCutSecret(text: string): string {
    for (const secret of this.secrets) {
      if (secret.length <= MIN_CUT_SECRET_CHARS) continue;
      const tail = text.slice(-(secret.length - 1));
      const start = secret.slice(0, MIN_CUT_SECRET_CHARS);
      for (let index = tail.indexOf(start); index !== -1; index = tail.indexOf(start, index + 1)) {
        if (secret.startsWith(tail.slice(index))) return `${text.slice(0, text.length - tail.length + index)}***`;
      }
    }
    return text;
  }
}
