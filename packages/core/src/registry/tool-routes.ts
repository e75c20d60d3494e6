/**
 * The call routes of one scope: a tool's public name (and its bare name) → the owner of its service. Rebuilt from
 * the owners whenever a catalogue changes or a service goes; a route outlives its tool's listing in the read model,
 * never the other way round, so a listed tool is always routable.
 */
import type { ArgumentCheck } from "../tools/argument-validator.js";
import { ToolNotFoundError } from "../errors.js";
import type { ToolInfo } from "../types.js";
import type { ServiceOwner } from "./service-owner.js";

export interface ToolRoute {
  owner: ServiceOwner;
  tool: ToolInfo;
  /** The compiled argument check, made on first call. */
  check?: ArgumentCheck;
}

export class ToolRoutes {
  private routes = new Map<string, ToolRoute>();
  private byOriginalName = new Map<string, ToolRoute[]>();

  constructor(private readonly agentId: string | undefined) {}

  /**
   * Rebuilds the routes from the owners' tools, plus `extra` tools of one owner (those still listed in the read model
   * while a new list is being written).
   */
  rebuild(owners: Iterable<ServiceOwner>, extra?: { owner: ServiceOwner; tools: ToolInfo[] }): void {
    const previous = this.routes;
    this.routes = new Map();
    this.byOriginalName = new Map();
    const add = (owner: ServiceOwner, tool: ToolInfo) => {
      if (this.routes.has(tool.name)) return;
      const old = previous.get(tool.name);
      // Keep a compiled argument check while the tool's schema is the same object.
      const route: ToolRoute = old && old.owner === owner && old.tool.inputSchema === tool.inputSchema ? old : { owner, tool };
      route.tool = tool;
      this.routes.set(tool.name, route);
      const sameName = this.byOriginalName.get(tool.originalName);
      if (sameName) sameName.push(route);
      else this.byOriginalName.set(tool.originalName, [route]);
    };
    for (const owner of owners) for (const tool of owner.tools) add(owner, tool);
    if (extra) for (const tool of extra.tools) add(extra.owner, tool);
  }

  /** The route of a tool by its public name, or by its bare name when that is unique in the scope. */
  find(toolName: string): ToolRoute {
    const route = this.routes.get(toolName);
    if (route) return route;
    const candidates = this.byOriginalName.get(toolName);
    if (candidates?.length === 1) return candidates[0]!;
    const agentId = this.agentId;
    const where = agentId === undefined ? "the store scope" : `agent "${agentId}"`;
    throw new ToolNotFoundError({
      message: candidates?.length
        ? `Tool name "${toolName}" is ambiguous in ${where}: use one of ${candidates.map((candidate) => candidate.tool.name).join(", ")}`
        : `No tool "${toolName}" in ${where}`,
      toolName,
      ...(agentId !== undefined ? { agentId } : {}),
      ...(candidates?.length ? { details: { candidates: candidates.map((candidate) => candidate.tool.name) } } : {}),
    });
  }
}
