/**
 * config/: what a service's config is and where configs live outside the process: the config schema and its
 * redaction (here), `${VAR}` placeholders, the mcp.json formats (ours, Claude Desktop, Cursor, VS Code), the file
 * itself (atomic, locked, watched) and monitoring options. It imports only the root primitives (errors.ts,
 * identifiers.ts, logger.ts); every other folder may import it.
 */
import { z } from "zod";
import { ValidationError } from "../errors.js";
import { SERVICE_NAME_PATTERN } from "../identifiers.js";
import { hasPlaceholder, isHttpUrl, isPlaceholderOnly, redactValue } from "./placeholders.js";

/** Remote transports. With no `transport`, Streamable HTTP is tried first and SSE is the fallback. */
export type RemoteTransport = "streamable-http" | "sse";

/**
 * One service, as in the seed's `mcp.json`: either a local process (`command`, `args`, `env`, `working_dir`) or a remote
 * server (`url`, `transport`, `headers`). Unknown fields (`description`, `tags`, `contact`, ...) are kept.
 */
export interface ServiceConfig {
  /** Unique in its scope; letters, digits, `_`, `-` and `.`, 1 to 64 characters. */
  name: string;
  /** Executable of a stdio server. */
  command?: string;
  args?: string[];
  /** Extra environment of the process (added to a minimal default environment, not the store's own). */
  env?: Record<string, string>;
  /** Working directory of the process. */
  working_dir?: string;
  /** Endpoint of a remote server: an http(s) URL, in which `${VAR}` placeholders may stand anywhere (host and port too). */
  url?: string;
  transport?: RemoteTransport;
  /** Headers sent with every request to a remote server (values are treated as secrets). */
  headers?: Record<string, string>;
  /**
   * Time limit in seconds of each request (default 60), and of connecting: starting, `initialize` and loading the
   * catalogue (default: the store's `connectTimeoutMs`).
   */
  timeout?: number;
  /**
   * Where a stdio server runs when several instances share the store (`setupStore({ shared })` with placement):
   * `"owner"` (default) runs exactly one process cluster-wide, on the instance holding the service's lease, and the
   * others forward their calls to it; `"every-instance"` runs a copy on each instance (for stateless servers).
   */
  placement?: "owner" | "every-instance";
  description?: string;
  tags?: string[];
  contact?: string;
  [key: string]: unknown;
}

const TRANSPORT_ALIASES: Record<string, RemoteTransport> = {
  "streamable-http": "streamable-http",
  "streamable_http": "streamable-http",
  streamableHttp: "streamable-http",
  http: "streamable-http",
  sse: "sse",
};

const noLineBreaks = (value: string) => !/[\r\n\0]/.test(value);

const serviceSchema = z
  .looseObject({
    name: z.string().regex(SERVICE_NAME_PATTERN, "must match ^[A-Za-z0-9_.-]{1,64}$"),
    command: z.string().min(1).optional(),
    args: z.array(z.string()).optional(),
    env: z.record(z.string(), z.string()).optional(),
    working_dir: z.string().min(1).optional(),
    // With `${VAR}` placeholders (the host and port too) the shape is checked once they are expanded, when the
    // service starts (see expandPlaceholders).
    url: z
      .string()
      .refine((value) => (hasPlaceholder(value) ? noLineBreaks(value) : isHttpUrl(value)), "must be an http(s) URL")
      .optional(),
    transport: z
      .string()
      .refine((value) => value in TRANSPORT_ALIASES, "must be one of streamable-http, sse")
      .transform((value) => TRANSPORT_ALIASES[value] as RemoteTransport)
      .optional(),
    headers: z
      .record(
        z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, "header names must be HTTP tokens"),
        z.string().refine(noLineBreaks, "header values must not contain CR, LF or NUL"),
      )
      .optional(),
    timeout: z.number().positive().max(86_400).optional(),
    placement: z.enum(["owner", "every-instance"]).optional(),
    description: z.string().optional(),
    tags: z.array(z.string()).optional(),
    contact: z.string().optional(),
  })
  .superRefine((config, context) => {
    const hasCommand = config.command !== undefined;
    const hasUrl = config.url !== undefined;
    if (hasCommand === hasUrl) {
      context.addIssue({
        code: "custom",
        path: [],
        message: hasCommand
          ? "has both `command` and `url`: give `command` for a local process or `url` for a remote server, not both"
          : "needs either `command` (a local process) or `url` (a remote server)",
      });
    }
    if (hasCommand) {
      for (const key of ["transport", "headers"] as const) {
        if (config[key] !== undefined) context.addIssue({ code: "custom", path: [key], message: `\`${key}\` applies only to remote (url) services` });
      }
    }
    if (hasUrl) {
      for (const key of ["args", "env", "working_dir", "placement"] as const) {
        if (config[key] !== undefined) context.addIssue({ code: "custom", path: [key], message: `\`${key}\` applies only to local (command) services` });
      }
    }
  });

/** One problem in an input, with the dotted path of the field. */
export interface ValidationIssue {
  path: string;
  message: string;
}

function toIssues(error: z.ZodError, prefix: string): ValidationIssue[] {
  return error.issues.map((issue) => ({
    path: [prefix, ...issue.path.map(String)].filter(Boolean).join("."),
    message: issue.message,
  }));
}

/** The result of validating one service config. */
export type ParsedService = { ok: true; name: string; config: ServiceConfig } | { ok: false; name: string; error: ValidationError };

/** Validates one raw config (from the API or a file); `label` names it in messages. Never throws. */
export function parseServiceConfig(raw: unknown, label?: string): ParsedService {
  const guessedName =
    raw && typeof raw === "object" && typeof (raw as { name?: unknown }).name === "string" ? (raw as { name: string }).name : (label ?? "?");
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    const issues = [{ path: `services.${guessedName}`, message: "a service config must be an object" }];
    return { ok: false, name: guessedName, error: invalid(guessedName, issues) };
  }
  // `cwd` is what the SDK and other tools call `working_dir`.
  const input = { ...(raw as Record<string, unknown>) };
  if (input.working_dir === undefined && typeof input.cwd === "string") {
    input.working_dir = input.cwd;
    delete input.cwd;
  }
  const result = serviceSchema.safeParse(input);
  if (!result.success) {
    return { ok: false, name: guessedName, error: invalid(guessedName, toIssues(result.error, `services.${guessedName}`)) };
  }
  // zod puts known keys first; keep the order the user wrote, so that a rewritten file reads the same.
  const ordered: Record<string, unknown> = {};
  for (const key of Object.keys(input)) if (key in result.data) ordered[key] = (result.data as Record<string, unknown>)[key];
  for (const [key, value] of Object.entries(result.data)) if (!(key in ordered)) ordered[key] = value;
  return { ok: true, name: result.data.name, config: ordered as ServiceConfig };
}

function invalid(name: string, issues: ValidationIssue[]): ValidationError {
  const summary = issues.map((issue) => `${issue.path}: ${issue.message}`).join("; ");
  return new ValidationError({ message: `Invalid service "${name}": ${summary}`, serviceName: name, details: { issues } });
}

/** What `addService` accepts: one config, a list of them, or a `{ mcpServers: { name: config } }` map. */
export type ServiceInput = ServiceConfig | ServiceConfig[] | { mcpServers: Record<string, Omit<ServiceConfig, "name"> & { name?: string }> };

/**
 * Splits any {@link ServiceInput} into raw entries, each with its name (from `name` or the `mcpServers` key).
 * Throws a {@link ValidationError} only when the input has none of the accepted shapes.
 */
export function splitServiceInput(input: unknown): Array<{ label: string; raw: unknown }> {
  if (Array.isArray(input)) {
    return input.map((raw, index) => ({ label: labelOf(raw) ?? `#${index}`, raw }));
  }
  if (input && typeof input === "object") {
    const servers = (input as { mcpServers?: unknown }).mcpServers;
    if (servers !== undefined) {
      if (!servers || typeof servers !== "object" || Array.isArray(servers)) {
        throw new ValidationError({
          message: "`mcpServers` must be an object mapping service names to configs",
          details: { issues: [{ path: "mcpServers", message: "must be an object" }] },
        });
      }
      return Object.entries(servers).map(([name, raw]) => ({
        label: name,
        raw: raw && typeof raw === "object" && !Array.isArray(raw) ? { ...raw, name } : raw,
      }));
    }
    return [{ label: labelOf(input) ?? "?", raw: input }];
  }
  throw new ValidationError({
    message: "A service must be given as a config object, a list of them, or { mcpServers: { name: config } }",
    details: { issues: [{ path: "", message: `got ${input === null ? "null" : typeof input}` }] },
  });
}

function labelOf(raw: unknown): string | undefined {
  return raw && typeof raw === "object" && typeof (raw as { name?: unknown }).name === "string" ? (raw as { name: string }).name : undefined;
}

/**
 * A copy of a config that is safe to show: header and env values become `***`, and so do the credentials in `url`
 * and `args` (see {@link redactUrl}, {@link replaceArgCredentials}); `${VAR}` placeholders are shown as written.
 */
export function redactServiceConfig(config: ServiceConfig): ServiceConfig {
  const redacted: ServiceConfig = { ...config };
  if (config.headers) redacted.headers = Object.fromEntries(Object.entries(config.headers).map(([key, value]) => [key, redactValue(value)]));
  if (config.env) redacted.env = Object.fromEntries(Object.entries(config.env).map(([key, value]) => [key, redactValue(value)]));
  if (config.args) redacted.args = replaceArgCredentials(config.args, hideUnlessPlaceholder);
  if (config.url) redacted.url = redactUrl(config.url);
  return redacted;
}

/** `***` for a secret, unless it is nothing but `${VAR}` placeholders, which are shown as written. */
const hideUnlessPlaceholder = (secret: string) => (isPlaceholderOnly(secret) ? secret : "***");

/**
 * A URL as written (placeholders may stand anywhere) with its password, a lone user name (a token, as in
 * `https://TOKEN@host`) and every query value replaced by `***`, except values that are only `${VAR}` placeholders.
 */
export function redactUrl(value: string): string {
  return replaceCredentials(value, hideUnlessPlaceholder, { everyQueryValue: true });
}

/** What a credential found by {@link replaceCredentials} is: a URL password, a lone URL user name, or a named value. */
export type CredentialKind = "password" | "user" | "value";

/** Replaces one credential found in a text; returning it unchanged keeps it (a collector, say). */
export type HideCredential = (secret: string, kind: CredentialKind) => string;

/** Words that, ending a name, mark its value as a credential; matched as the whole last word (`x-api-key`). */
const CREDENTIAL_WORDS = new Set(["key", "sig", "pass", "pwd", "auth"]);
/** Endings that mark a credential even glued to other words (`accesstoken`, `client_secret`, `X-Amz-Signature`). */
const CREDENTIAL_ENDINGS = ["token", "secret", "password", "passwd", "signature", "apikey", "credential", "credentials"];

/**
 * True for a query parameter or command-line option whose value is a credential: its last word is `key`, `sig`,
 * `pass`, `pwd` or `auth`, or ends in `token`, `secret`, `password`, `signature`, ... (`api_key`, `X-Api-Key`,
 * `auth_token`, `accessToken`, `--password`); case-insensitive.
 */
export function isCredentialName(name: string): boolean {
  const words = name.replace(/([a-z0-9])([A-Z])/g, "$1 $2").toLowerCase().split(/[^a-z0-9]+/).filter(Boolean);
  const last = words.at(-1) ?? "";
  return CREDENTIAL_WORDS.has(last) || CREDENTIAL_ENDINGS.some((ending) => last.endsWith(ending));
}

/** `scheme://userinfo@` anywhere in a text (URLs, DSNs such as `postgres://user:pass@db/x`): the userinfo runs to the last `@` of the authority. */
const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/?#"'<>\\]*)@/gi;
/** `name=value` after `?`, `&`, `;`, `#`, white space or at the start: query parameters, `--password=x`, `token=x` in a log line. */
const NAMED_VALUE = /(^|[?&;#\s])([^\s=?&;#"'<>]+)=([^\s&#"'<>]*)/g;

/**
 * `text` with the credentials in it passed through `hide`: the password of every `scheme://user:password@` (or the
 * user of `scheme://token@`), and the value of every `name=value` whose name {@link isCredentialName} (of every one,
 * with `everyQueryValue`). Found by their shape, so it works on URLs with placeholders and on free text.
 */
export function replaceCredentials(text: string, hide: HideCredential, options: { everyQueryValue?: boolean } = {}): string {
  return text
    .replace(USERINFO, (_match, scheme: string, userinfo: string) => {
      const colon = userinfo.indexOf(":");
      if (colon === -1) return `${scheme}${userinfo === "" ? "" : hide(userinfo, "user")}@`;
      const password = userinfo.slice(colon + 1);
      return `${scheme}${userinfo.slice(0, colon + 1)}${password === "" ? "" : hide(password, "password")}@`;
    })
    .replace(NAMED_VALUE, (match, separator: string, name: string, value: string) =>
      value !== "" && (options.everyQueryValue || isCredentialName(decodeLoosely(name))) ? `${separator}${name}=${hide(value, "value")}` : match,
    );
}

/** An option naming a credential, alone (`--password`: the next argument is its value) or with it (`--api-key=...`). */
const OPTION = /^(--?[A-Za-z][\w.-]*)(?:=([\s\S]*))?$/;

/**
 * Command-line arguments with their credentials passed through `hide`: the value of an option {@link isCredentialName}
 * names (`--password=x`, or `--token x`), and the credentials {@link replaceCredentials} finds in any argument (a DSN
 * such as `postgres://user:pass@db/x`, a URL with `?api_key=`).
 */
export function replaceArgCredentials(args: readonly string[], hide: HideCredential): string[] {
  return args.map((arg, index) => {
    const previous = index > 0 ? OPTION.exec(args[index - 1]!) : null;
    if (previous && previous[2] === undefined && isCredentialName(previous[1]!) && arg !== "" && !arg.startsWith("-")) return hide(arg, "value");
    const option = OPTION.exec(arg);
    if (option?.[2] && isCredentialName(option[1]!)) return `${option[1]}=${hide(option[2], "value")}`;
    return replaceCredentials(arg, hide);
  });
}

/** `%`-escapes decoded, or the text as it is when it is not valid escaping. */
export function decodeLoosely(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** True when two configs are the same whatever their key order (the file watcher restarts only changed services). */
export function sameServiceConfig(a: ServiceConfig, b: ServiceConfig): boolean {
  return stableStringify(a) === stableStringify(b);
}

function stableStringify(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) =>
    item && typeof item === "object" && !Array.isArray(item)
      ? Object.fromEntries(Object.entries(item as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)))
      : item,
  );
}
