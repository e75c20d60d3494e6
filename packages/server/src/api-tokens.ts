import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { ConfigFileError, NAME_PATTERN, ValidationError } from "@mcpstore/core";

/** The bearer tokens the API accepts. */
export interface ApiTokens {
  /** Tokens that may do anything. */
  admin: string[];
  /** Each agent's tokens: they reach only `/for_agent/{agentId}/...` (and `/openapi.json`). */
  agents: Record<string, string[]>;
}

/** Who a request comes from, once its token is known. */
export type Principal = { role: "admin" } | { role: "agent"; agentId: string };

/** Options of {@link loadApiTokens}. */
export interface LoadApiTokensOptions {
  /** Where `MCPSTORE_ADMIN_TOKEN`, `MCPSTORE_AGENT_TOKENS` and `MCPSTORE_TOKENS_FILE` are read. Default `process.env`. */
  env?: Record<string, string | undefined>;
  /** A tokens file; default `MCPSTORE_TOKENS_FILE`. */
  file?: string;
}

const TOKEN_PATTERN = /^[\x21-\x7e]{1,512}$/;

const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : value === undefined ? [] : [value]);
const splitList = (value: string | undefined): string[] => (value ?? "").split(",").map((item) => item.trim()).filter(Boolean);

/**
 * Reads the API's tokens from the environment and a tokens file, merged:
 * - `MCPSTORE_ADMIN_TOKEN`: admin tokens, comma-separated;
 * - `MCPSTORE_AGENT_TOKENS`: `agentId=token` pairs, comma-separated;
 * - the file (`options.file`, else `MCPSTORE_TOKENS_FILE`): JSON `{ "admin": ["..."], "agents": { "agentId": ["..."] } }`
 *   (a single string works too).
 * Tokens are 1 to 512 visible ASCII characters; a token given to two principals, or a bad agent id, is a
 * `ValidationError`; an unreadable file a `ConfigFileError`. Messages never contain a token.
 */
export function loadApiTokens(options: LoadApiTokensOptions = {}): ApiTokens {
  const env = options.env ?? process.env;
  const tokens: ApiTokens = { admin: [], agents: {} };
  const addAgent = (agentId: string, token: unknown, where: string) => {
    if (!NAME_PATTERN.test(agentId)) invalid(where, `agent ids must match ${NAME_PATTERN.source}`);
    (tokens.agents[agentId] ??= []).push(checkToken(token, where));
  };

  tokens.admin.push(...splitList(env.MCPSTORE_ADMIN_TOKEN).map((token) => checkToken(token, "MCPSTORE_ADMIN_TOKEN")));
  for (const pair of splitList(env.MCPSTORE_AGENT_TOKENS)) {
    const separator = pair.indexOf("=");
    if (separator <= 0) invalid("MCPSTORE_AGENT_TOKENS", "expected agentId=token pairs separated by commas");
    addAgent(pair.slice(0, separator).trim(), pair.slice(separator + 1).trim(), "MCPSTORE_AGENT_TOKENS");
  }

  const file = options.file ?? (env.MCPSTORE_TOKENS_FILE || undefined);
  if (file !== undefined) {
    const document = readTokensFile(file);
    for (const token of list(document.admin)) tokens.admin.push(checkToken(token, `${file}: admin`));
    const agents = document.agents ?? {};
    if (agents === null || typeof agents !== "object" || Array.isArray(agents)) invalid(`${file}: agents`, "must be an object mapping agent ids to tokens");
    for (const [agentId, value] of Object.entries(agents as Record<string, unknown>)) {
      for (const token of list(value)) addAgent(agentId, token, `${file}: agents.${agentId}`);
    }
  }
  // Builds the index once, which rejects a token shared by two principals.
  new TokenIndex(tokens);
  return tokens;
}

function readTokensFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new ConfigFileError({ message: `Cannot read the tokens file ${file}: ${(error as Error).message}`, cause: error, details: { path: file } });
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    // The parser's message may quote the file, and so a token: say only where.
    throw new ConfigFileError({ message: `The tokens file ${file} is not valid JSON`, details: { path: file } });
  }
  if (document === null || typeof document !== "object" || Array.isArray(document)) {
    throw new ConfigFileError({ message: `The tokens file ${file} must hold an object with "admin" and "agents"`, details: { path: file } });
  }
  return document as Record<string, unknown>;
}

/** Whether a tokens file can be read by users other than its owner (worth a warning). */
export function isReadableByOthers(file: string): boolean {
  try {
    return (statSync(file).mode & 0o044) !== 0;
  } catch {
    return false;
  }
}

function checkToken(token: unknown, where: string): string {
  if (typeof token !== "string" || !TOKEN_PATTERN.test(token)) invalid(where, "tokens must be 1 to 512 visible ASCII characters");
  return token;
}

function invalid(where: string, message: string): never {
  throw new ValidationError({ message: `Bad API token configuration in ${where}: ${message}`, details: { issues: [{ path: where, message }] } });
}

const digest = (token: string) => createHash("sha256").update(token).digest();

/**
 * Finds who a token belongs to. Tokens are kept as SHA-256 digests; a token's digest is compared with every one
 * with `timingSafeEqual` (equal lengths, no early exit, no hash-table probe), so the lookup time depends neither on
 * how much of a guess matches a real token nor on which token matched.
 */
export class TokenIndex {
  private readonly entries: Array<{ digest: Buffer; principal: Principal }> = [];

  constructor(tokens: ApiTokens) {
    const byDigest = new Map<string, Principal>();
    const add = (token: string, principal: Principal) => {
      const key = digest(token);
      const existing = byDigest.get(key.toString("base64"));
      if (existing && JSON.stringify(existing) !== JSON.stringify(principal)) {
        invalid(principal.role === "admin" ? "admin" : `agents.${principal.agentId}`, "the same token is given to two principals");
      }
      if (existing) return;
      byDigest.set(key.toString("base64"), principal);
      this.entries.push({ digest: key, principal });
    };
    for (const token of tokens.admin) add(token, { role: "admin" });
    for (const [agentId, agentTokens] of Object.entries(tokens.agents)) for (const token of agentTokens) add(token, { role: "agent", agentId });
  }

  /** Number of distinct tokens. */
  get size(): number {
    return this.entries.length;
  }

  /** The principal a token belongs to, or `undefined`. */
  identify(token: string): Principal | undefined {
    const key = digest(token);
    let found: Principal | undefined;
    for (const entry of this.entries) if (timingSafeEqual(entry.digest, key)) found ??= entry.principal;
    return found;
  }
}
