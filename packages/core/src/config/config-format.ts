import { getNodeValue, parseTree, printParseErrorCode, type Node, type ParseError } from "jsonc-parser";
import { ConfigFileError, ValidationError } from "../errors.js";
import { NAME_PATTERN } from "../identifiers.js";
import type { ParsedService, ServiceConfig, ValidationIssue } from "./service-config.js";

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
  /**
   * Why the entry cannot load even if it validates: it uses an editor variable (`${input:...}`, `${workspaceFolder}`)
   * that only VS Code or Cursor can fill in. It is reported and skipped, and kept in the file as it is.
   */
  problem?: string;
  /** The entry wrote its placeholders as `${env:NAME}` (VS Code, Cursor); they are read as `${NAME}` and written back so. */
  envPlaceholders?: boolean;
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

/**
 * Throws a {@link ValidationError} for a store-scope service name of the form `{name}_byagent_{agentId}`: written to
 * `mcpServers`, it would be read back as agent `{agentId}`'s service `{name}` (Python MCPStore's format).
 */
export function assertStoreServiceName(name: string): void {
  const byAgent = BY_AGENT.exec(name);
  if (!byAgent) return;
  throw new ValidationError({
    message: `Service name "${name}" cannot be used in the store scope: mcp.json reads a name of the form {name}_byagent_{agentId} as agent "${byAgent[2]}"'s service "${byAgent[1]}" (Python MCPStore's format); choose another name, or add "${byAgent[1]}" to agent "${byAgent[2]}"`,
    serviceName: name,
    details: { issues: [{ path: `services.${name}.name`, message: "must not be of the form {name}_byagent_{agentId} in the store scope" }] },
  });
}

/** `parsed`, or, for a valid config whose name {@link assertStoreServiceName} refuses, that failure: for batch adds. */
export function checkStoreServiceName(parsed: ParsedService): ParsedService {
  try {
    if (parsed.ok) assertStoreServiceName(parsed.name);
    return parsed;
  } catch (error) {
    return { ok: false, name: parsed.name, error: error as ValidationError };
  }
}

/** The fields whose strings reach the process or the request, where placeholders are expanded (`cwd` is VS Code's `working_dir`). */
const PLACEHOLDER_FIELDS = ["command", "args", "env", "cwd", "working_dir", "url", "headers"] as const;
/** VS Code's and Cursor's spelling of an environment variable. */
const ENV_PLACEHOLDER = /\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g;
/** Our plain `${NAME}` (no default), as written back in VS Code's spelling. */
const PLAIN_PLACEHOLDER = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
/**
 * Editor variables only VS Code or Cursor can fill in: prompted inputs, settings, commands, the workspace and the open
 * file. Sent as they are, they would reach the server as text.
 */
const EDITOR_VARIABLE =
  /\$\{(?:(?:input|env|config|command|workspaceFolder):[^}]*|workspaceFolder|workspaceFolderBasename|userHome|pathSeparator|\/|cwd|execPath|defaultBuildTask|lineNumber|selectedText|(?:relativeF|f)ile(?:[A-Z][A-Za-z]*)?)\}/;

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
  // VS Code and Cursor files are JSONC: comments and trailing commas load (and survive minimal edits).
  const tree = parseTree(text, errors, { disallowComments: false, allowTrailingComma: true, allowEmptyContent: false });
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
  return { document, entries: entries.map(withEditorVariables), problems };
}

/** Maps the string values of an entry's placeholder fields. */
function mapPlaceholderFields(raw: Record<string, unknown>, map: (value: string) => string): Record<string, unknown> {
  const mapped: Record<string, unknown> = { ...raw };
  for (const field of PLACEHOLDER_FIELDS) {
    const value = raw[field];
    if (typeof value === "string") mapped[field] = map(value);
    else if (Array.isArray(value)) mapped[field] = value.map((item) => (typeof item === "string" ? map(item) : item));
    else if (isObject(value)) mapped[field] = Object.fromEntries(Object.entries(value).map(([key, item]) => [key, typeof item === "string" ? map(item) : item]));
  }
  return mapped;
}

/** Reads `${env:NAME}` as `${NAME}`; an editor variable we cannot fill in makes the entry a problem. */
function withEditorVariables(entry: ConfigEntry): ConfigEntry {
  if (!isObject(entry.raw)) return entry;
  let envPlaceholders = false;
  let unresolved: string | undefined;
  const raw = mapPlaceholderFields(entry.raw, (value) => {
    const converted = value.replace(ENV_PLACEHOLDER, (_match, name: string) => {
      envPlaceholders = true;
      return `\${${name}}`;
    });
    unresolved ??= EDITOR_VARIABLE.exec(converted)?.[0];
    return converted;
  });
  const problem =
    unresolved === undefined
      ? undefined
      : `${entry.path.join(".")}: service "${entry.name}" uses ${unresolved}, which only the editor (VS Code, Cursor) can fill in: MCPStore cannot prompt for inputs or know the workspace; write the value, or \${env:NAME} / \${NAME} for an environment variable; skipped`;
  return { ...entry, raw, ...(envPlaceholders ? { envPlaceholders } : {}), ...(problem ? { problem } : {}) };
}

function withName(value: unknown, name: string): Record<string, unknown> {
  return isObject(value) ? { ...value, name } : (value as Record<string, unknown>);
}

function fromVsCode(value: unknown, name: string): Record<string, unknown> {
  if (!isObject(value)) return value as Record<string, unknown>;
  const { type, ...rest } = value;
  const converted: Record<string, unknown> = { ...rest, name };
  // VS Code's `http` tries Streamable HTTP and falls back to SSE: our automatic selection, so no `transport`.
  if (type === "sse") converted.transport = "sse";
  else if (type !== undefined && type !== "stdio" && type !== "http") converted.transport = type;
  return converted;
}

/**
 * A service config as it is written into `section` of the file, in that section's form: no `name`; in VS Code's
 * `servers`, `type` for `transport` (`http`: automatic, which a pinned `streamable-http` becomes too), `cwd` for
 * `working_dir` and `${env:NAME}` for `${NAME}`. `previous` is the entry the file holds now: its `${env:NAME}` and
 * `cwd` spellings are kept in any section.
 */
export function serializeEntry(config: ServiceConfig, section: ConfigSection, previous?: ConfigEntry): Record<string, unknown> {
  const { name: _name, ...rest } = config;
  let written: Record<string, unknown> = rest;
  if (section === "servers" || (isObject(previous?.raw) && previous.raw.cwd !== undefined)) {
    written = Object.fromEntries(Object.entries(written).map(([key, value]) => [key === "working_dir" ? "cwd" : key, value]));
  }
  if (section === "servers" || previous?.envPlaceholders) {
    written = mapPlaceholderFields(written, (value) => value.replace(PLAIN_PLACEHOLDER, (_match, name: string) => `\${env:${name}}`));
  }
  if (section !== "servers") return written;
  const { transport, ...others } = written;
  const type = config.command !== undefined ? "stdio" : transport === "sse" ? "sse" : "http";
  return { type, ...others };
}

/** Where a new service of a scope goes in a file. */
export function newEntryPath(document: Record<string, unknown>, agentId: string | undefined, name: string): { path: string[]; section: ConfigSection } {
  if (agentId !== undefined) return { path: ["agents", agentId, "mcpServers", name], section: "agents" };
  if (document.mcpServers === undefined && isObject(document.servers)) return { path: ["servers", name], section: "servers" };
  return { path: ["mcpServers", name], section: "mcpServers" };
}
