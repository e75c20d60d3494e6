import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { parse as parseDotenv } from "dotenv";
import type { ConfigProblem, ParsedConfig } from "./config-format.js";
import { ConfigFileError, type ValidationError } from "../errors.js";
import { isPlaceholderOnly, redactValue } from "./placeholders.js";
import { parseServiceConfig, redactUrl, replaceArgCredentials, type ServiceConfig, type ValidationIssue } from "./service-config.js";
import type { RegistrySnapshot } from "./registry-change.js";

/** The file a store uses: the path given, else `MCPSTORE_CONFIG`, else `~/.mcpstore/mcp.json`; `false` for none. */
export function resolveConfigPath(option: string | false | undefined): string | undefined {
  if (option === false) return undefined;
  return resolve(option ?? process.env.MCPSTORE_CONFIG ?? join(homedir(), ".mcpstore", "mcp.json"));
}

/** Reads a `.env` file into a map (it does not change `process.env`); with `ifExists`, a missing file reads as empty. */
export function readEnvFile(path: string, options: { ifExists?: boolean } = {}): Record<string, string> {
  try {
    return parseDotenv(readFileSync(path));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (options.ifExists && (code === "ENOENT" || code === "ENOTDIR")) return {};
    throw new ConfigFileError({ message: `Cannot read the env file ${path}: ${(error as Error).message}`, cause: error, details: { path } });
  }
}

/**
 * The variables that fill `${VAR}` placeholders besides the process environment (which wins over them): those of
 * `envFile` when given, else those of the `.env` beside the config file, if there is one.
 */
export function loadEnvVariables(configPath: string | undefined, envFile: string | undefined): Record<string, string> {
  if (envFile !== undefined) return readEnvFile(envFile);
  return configPath !== undefined ? readEnvFile(join(dirname(configPath), ".env"), { ifExists: true }) : {};
}

/** The services of a parsed file that validate, and the problems of those that do not. */
export interface ValidatedConfig {
  services: Array<{ agentId: string | undefined; config: ServiceConfig }>;
  problems: ConfigProblem[];
  /** Entries that exist in the file but are broken: a running service of that name is left as it is. */
  broken: Array<{ agentId: string | undefined; name: string }>;
}

/** Validates every entry of a parsed file; a bad entry is a problem naming the service and field, the rest load. */
export function validateConfig(parsed: ParsedConfig): ValidatedConfig {
  const result: ValidatedConfig = { services: [], problems: [...parsed.problems], broken: [] };
  const seen = new Set<string>();
  for (const entry of parsed.entries) {
    const where = entry.path.join(".");
    if (entry.problem !== undefined) {
      result.problems.push({ serviceName: entry.name, ...(entry.agentId !== undefined ? { agentId: entry.agentId } : {}), message: entry.problem });
      result.broken.push({ agentId: entry.agentId, name: entry.name });
      continue;
    }
    const parsedEntry = parseServiceConfig(entry.raw, entry.name);
    if (!parsedEntry.ok) {
      const issues = ((parsedEntry.error as ValidationError).details?.issues as ValidationIssue[] | undefined)?.map((issue) => ({
        ...issue,
        path: issue.path.replace(/^services\.[^.]*/, where),
      }));
      result.problems.push({
        serviceName: entry.name,
        ...(entry.agentId !== undefined ? { agentId: entry.agentId } : {}),
        message: `${where}: ${(issues ?? []).map((issue) => `${issue.path}: ${issue.message}`).join("; ") || parsedEntry.error.message}; skipped`,
        ...(issues ? { issues } : {}),
      });
      result.broken.push({ agentId: entry.agentId, name: entry.name });
      continue;
    }
    const key = `${entry.agentId ?? ""}/${entry.name}`;
    if (seen.has(key)) {
      result.problems.push({
        serviceName: entry.name,
        ...(entry.agentId !== undefined ? { agentId: entry.agentId } : {}),
        message: `${where}: a service named "${entry.name}" is defined twice for ${entry.agentId === undefined ? "the store" : `agent "${entry.agentId}"`}; the first one is used`,
      });
      continue;
    }
    seen.add(key);
    result.services.push({ agentId: entry.agentId, config: parsedEntry.config });
  }
  return result;
}

function redactForExport(config: ServiceConfig): Record<string, unknown> {
  const { name: _name, ...rest } = config;
  const exported: Record<string, unknown> = { ...rest };
  if (config.headers) exported.headers = Object.fromEntries(Object.entries(config.headers).map(([key, value]) => [key, redactValue(value)]));
  if (config.env) exported.env = Object.fromEntries(Object.entries(config.env).map(([key, value]) => [key, redactValue(value)]));
  // Placeholders are shown as written, literal credentials beside them are not (the URL's and the args').
  if (config.url) exported.url = redactUrl(config.url);
  if (config.args) exported.args = replaceArgCredentials(config.args, (secret) => (isPlaceholderOnly(secret) ? secret : "***"));
  return exported;
}

/**
 * The effective config in our file format: the file's other top-level keys (`version`, `description`, `metadata`,
 * ...), then every service the store runs, with secrets shown as their `${VAR}` placeholders or `***`.
 */
export function exportConfig(snapshot: RegistrySnapshot, document: Record<string, unknown> | undefined): Record<string, unknown> {
  const { mcpServers: _servers, servers: _vscode, agents: _agents, ...others } = document ?? {};
  const exported: Record<string, unknown> = { ...structuredClone(others) };
  exported.mcpServers = Object.fromEntries(snapshot.store.map((config) => [config.name, redactForExport(config)]));
  exported.agents = Object.fromEntries(
    Object.entries(snapshot.agents).map(([agentId, configs]) => [agentId, { mcpServers: Object.fromEntries(configs.map((config) => [config.name, redactForExport(config)])) }]),
  );
  return exported;
}
