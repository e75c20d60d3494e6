import { readFile } from "node:fs/promises";
import { parseConfigText, type ConfigProblem } from "./config-format.js";
import { exportConfig, resolveConfigPath, validateConfig } from "./config-loader.js";
import { ConfigFileError } from "../errors.js";
import type { RegistrySnapshot } from "./registry-change.js";

/** What {@link inspectConfigFile} found in a config file, without starting anything. */
export interface ConfigFileInspection {
  /** Absolute path of the file. */
  path: string;
  /** False when there is no file yet (a store would create it on its first change). */
  exists: boolean;
  /** The services that validate, by scope, in file order. */
  services: Array<{ agentId?: string; name: string; kind: "stdio" | "remote" }>;
  /** Entries that were skipped, with the service and field path; the rest would load. */
  problems: ConfigProblem[];
  /** The effective config in our format, secrets shown as their `${VAR}` placeholders or `***` (as `exportConfig()`). */
  config: Record<string, unknown>;
}

/**
 * The config file a store would use (the path given, else `MCPSTORE_CONFIG`, else `~/.mcpstore/mcp.json`), as an
 * absolute path.
 */
export function configFilePath(path?: string): string {
  return resolveConfigPath(path)!;
}

/**
 * Reads and validates a config file as `setupStore` would, without starting any service: for `mcpstore config
 * validate` and `config show`. A file that does not parse is a `ConfigFileError` with line and column; a bad entry
 * is a problem in the result.
 */
export async function inspectConfigFile(path?: string): Promise<ConfigFileInspection> {
  const file = configFilePath(path);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { path: file, exists: false, services: [], problems: [], config: exportConfig({ store: [], agents: {} }, undefined) };
    throw new ConfigFileError({ message: `Cannot read ${file}: ${(error as Error).message}`, cause: error, details: { path: file } });
  }
  const parsed = parseConfigText(text, file);
  const validated = validateConfig(parsed);
  const snapshot: RegistrySnapshot = { store: [], agents: {} };
  for (const { agentId, config } of validated.services) {
    if (agentId === undefined) snapshot.store.push(config);
    else (snapshot.agents[agentId] ??= []).push(config);
  }
  return {
    path: file,
    exists: true,
    services: validated.services.map(({ agentId, config }) => ({
      ...(agentId !== undefined ? { agentId } : {}),
      name: config.name,
      kind: config.command !== undefined ? "stdio" : "remote",
    })),
    problems: validated.problems,
    config: exportConfig(snapshot, parsed.document),
  };
}
