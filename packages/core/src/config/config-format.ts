import { getNodeValue, parseTree, printParseErrorCode, type Node, type ParseError } from "jsonc-parser";
import { ConfigFileError } from "../errors.js";
import { NAME_PATTERN } from "../identifiers.js";
import type { ServiceConfig, ValidationIssue } from "./service-config.js";

/** Which part of the file a service lives in, which decides how it is written back. */
export type ConfigSection = "mcpServers" | "servers" | "agents" | "byagent";

/** One service entry found in a config file, not yet validated. */
export interface ConfigEntry {
  agentId?: string;
  name: string;
  /** The entry as written, with `name` added and VS Code's `type` turned into our fields. */
  raw: Record<string, unknown>;
  /** JSON path of the entry in the file. */
  path: string[];
  section: ConfigSection;
}

/** A problem with one part of the file; the rest still loads. */
export interface ConfigProblem {
  serviceName?: string;
  agentId?: string;
  message: string;
  issues?: ValidationIssue[];
}

/** A parsed config file: the document, its service entries and the problems found. */
export interface ParsedConfig {
  document: Record<string, unknown>;
  entries: ConfigEntry[];
  problems: ConfigProblem[];
}

/** Python MCPStore stored agent services in `mcpServers` as `{name}_byagent_{agentId}`. */
const BY_AGENT = /^(.+)_byagent_([A-Za-z0-9_-]{1,64})$/;

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  return { line, column: offset - before.lastIndexOf("\n") };
}

function fail(file: string, text: string, offset: number, what: string): never {
  const { line, column } = lineAndColumn(text, offset);
  throw new ConfigFileError({
    message: `${file}:${line}:${column}: ${what}; the file is left as it is until it is fixed`,
    details: { path: file, line, column },
  });
}

function findDuplicateKey(node: Node | undefined): Node | undefined {
  if (!node) return undefined;
  if (node.type === "object") {
    const seen = new Set<string>();
    for (const property of node.children ?? []) {
      const key = property.children?.[0];
      if (key && typeof key.value === "string") {
        if (seen.has(key.value)) return key;
        seen.add(key.value);
      }
    }
  }
  for (const child of node.children ?? []) {
    const found = findDuplicateKey(child);
    if (found) return found;
  }
  return undefined;
}

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === "object" && !Array.isArray(value);

/**
 * Parses a config file's text: ours (`mcpServers`, `agents.{id}.mcpServers`), Claude Desktop / Cursor (`mcpServers`),
 * VS Code (`servers` with `type`), and Python MCPStore's `{name}_byagent_{agentId}` keys. Text that is not JSON, has a
 * duplicate key, or is not an object throws a {@link ConfigFileError} with the line and column; a bad part is a
 * problem, and the rest loads.
 */
export function parseConfigText(text: string, file: string): ParsedConfig {
  if (text.trim() === "") return { document: {}, entries: [], problems: [] };
  const errors: ParseError[] = [];
  const tree = parseTree(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  const first = errors[0];
  if (first) fail(file, text, first.offset, `invalid JSON (${printParseErrorCode(first.error)})`);
  if (!tree || tree.type !== "object") fail(file, text, tree?.offset ?? 0, `the top level must be an object, not ${tree?.type ?? "nothing"}`);
  const duplicate = findDuplicateKey(tree);
  if (duplicate) fail(file, text, duplicate.offset, `duplicate key ${JSON.stringify(duplicate.value)}`);

  const document = getNodeValue(tree) as Record<string, unknown>;
  const entries: ConfigEntry[] = [];
  const problems: ConfigProblem[] = [];

  const sectionOf = (value: unknown, where: string): Record<string, unknown> | undefined => {
    if (value === undefined) return undefined;
    if (isObject(value)) return value;
    problems.push({ message: `${where} must be an object mapping service names to configs` });
    return undefined;
  };

  for (const [key, value] of Object.entries(sectionOf(document.mcpServers, "mcpServers") ?? {})) {
    const byAgent = BY_AGENT.exec(key);
    if (byAgent) {
      entries.push({ agentId: byAgent[2]!, name: byAgent[1]!, raw: withName(value, byAgent[1]!), path: ["mcpServers", key], section: "byagent" });
    } else {
      entries.push({ name: key, raw: withName(value, key), path: ["mcpServers", key], section: "mcpServers" });
    }
  }
  for (const [key, value] of Object.entries(sectionOf(document.servers, "servers") ?? {})) {
    entries.push({ name: key, raw: fromVsCode(value, key), path: ["servers", key], section: "servers" });
  }
  for (const [agentId, agent] of Object.entries(sectionOf(document.agents, "agents") ?? {})) {
    if (!NAME_PATTERN.test(agentId)) {
      problems.push({ agentId, message: `agents.${agentId}: agent ids must match ^[A-Za-z0-9_-]{1,64}$; skipped` });
      continue;
    }
    const services = isObject(agent) ? sectionOf(agent.mcpServers, `agents.${agentId}.mcpServers`) : undefined;
    if (!isObject(agent)) problems.push({ agentId, message: `agents.${agentId} must be an object with mcpServers` });
    for (const [key, value] of Object.entries(services ?? {})) {
      entries.push({ agentId, name: key, raw: withName(value, key), path: ["agents", agentId, "mcpServers", key], section: "agents" });
    }
  }
  return { document, entries, problems };
}

function withName(value: unknown, name: string): Record<string, unknown> {
  return isObject(value) ? { ...value, name } : (value as Record<string, unknown>);
}

function fromVsCode(value: unknown, name: string): Record<string, unknown> {
  if (!isObject(value)) return value as Record<string, unknown>;
  const { type, ...rest } = value;
  const converted: Record<string, unknown> = { ...rest, name };
  if (type === "http") converted.transport = "streamable-http";
  else if (type === "sse") converted.transport = "sse";
  else if (type !== undefined && type !== "stdio") converted.transport = type;
  return converted;
}

/** A service config as it is written into `section` of the file (no `name`; VS Code's `type` where due). */
export function serializeEntry(config: ServiceConfig, section: ConfigSection): Record<string, unknown> {
  const { name: _name, ...rest } = config;
  if (section !== "servers") return rest;
  const { transport, ...others } = rest;
  const type = config.command !== undefined ? "stdio" : transport === "sse" ? "sse" : "http";
  return { type, ...others };
}

/** Where a new service of a scope goes in a file. */
export function newEntryPath(document: Record<string, unknown>, agentId: string | undefined, name: string): { path: string[]; section: ConfigSection } {
  if (agentId !== undefined) return { path: ["agents", agentId, "mcpServers", name], section: "agents" };
  if (document.mcpServers === undefined && isObject(document.servers)) return { path: ["servers", name], section: "servers" };
  return { path: ["mcpServers", name], section: "mcpServers" };
}
