/** Turns what a server listed into the read model's entries (tools named `{service}_{tool}` without collisions) and stores them. */
import type { Prompt, Resource, Tool } from "@modelcontextprotocol/sdk/types.js";
import { disambiguatedToolName, publicToolName } from "../identifiers.js";
import type { Catalogue } from "../catalogue/catalogue.js";
import { deepFreeze } from "../catalogue/deep-freeze.js";
import type { FetchedCatalogue } from "../connection/service-connection.js";
import type { StoreEventBus } from "../events/store-events.js";
import type { Logger } from "../logger.js";
import type { ScopeState } from "./owner-directory.js";
import type { ServiceOwner } from "./service-owner.js";
import type { PromptInfo, ResourceInfo, ToolInfo, ToolNameCollision } from "../types.js";

/**
 * Names a service's tools in its scope: `{service}_{tool}`, or a disambiguated name when another service of the scope
 * already has it (`taken`), which is then reported as a collision and logged.
 */
export function nameTools(
  serviceName: string,
  tools: Tool[],
  taken: Set<string>,
  logger: Logger,
  agentId: string | undefined,
): { tools: ToolInfo[]; collisions: ToolNameCollision[] } {
  const collisions: ToolNameCollision[] = [];
  const named = tools.map((tool) => {
    const wanted = publicToolName(serviceName, tool.name);
    let name = wanted;
    if (taken.has(name)) {
      name = disambiguatedToolName(serviceName, tool.name);
      collisions.push({ tool: tool.name, wanted, name });
      logger.warn({ service: serviceName, agentId, tool: tool.name, wanted, name }, `tool name ${wanted} is taken in this scope; ${tool.name} is available as ${name}`);
    }
    taken.add(name);
    return toToolInfo(serviceName, name, tool);
  });
  // Frozen, with the schemas the SDK parsed: the memory cache keeps these objects as they are instead of a second copy.
  return { tools: deepFreeze(named), collisions };
}

export function toToolInfo(serviceName: string, name: string, tool: Tool): ToolInfo {
  const info: ToolInfo = { name, originalName: tool.name, serviceName, inputSchema: tool.inputSchema };
  if (tool.title !== undefined) info.title = tool.title;
  if (tool.description !== undefined) info.description = tool.description;
  if (tool.outputSchema !== undefined) info.outputSchema = tool.outputSchema;
  if (tool.annotations !== undefined) info.annotations = tool.annotations;
  return info;
}

export function toResourceInfo(serviceName: string, resource: Resource): ResourceInfo {
  const info: ResourceInfo = { uri: resource.uri, name: resource.name, serviceName };
  if (resource.title !== undefined) info.title = resource.title;
  if (resource.description !== undefined) info.description = resource.description;
  if (resource.mimeType !== undefined) info.mimeType = resource.mimeType;
  return info;
}

export function toPromptInfo(serviceName: string, prompt: Prompt): PromptInfo {
  const info: PromptInfo = { name: publicToolName(serviceName, prompt.name), originalName: prompt.name, serviceName };
  if (prompt.description !== undefined) info.description = prompt.description;
  if (prompt.arguments !== undefined) info.arguments = prompt.arguments.map((argument) => ({ ...argument }));
  return info;
}

/** What {@link storeFetchedCatalogue} writes to. */
export interface CatalogueTarget {
  scope: ScopeState;
  existing(state: ScopeState): Iterable<ServiceOwner>;
  catalogue: Catalogue;
  events: StoreEventBus;
  logger: Logger;
}

/**
 * Names a service's fetched tools (collision-free in its scope), writes them to the read model, updates the call
 * routes and emits `tools:refreshed`. New tools are routable before they are listed; dropped ones stay routable
 * until they are no longer listed.
 */
export async function storeFetchedCatalogue(owner: ServiceOwner, fetched: FetchedCatalogue, target: CatalogueTarget): Promise<void> {
  const { scope, catalogue } = target;
  const taken = new Set<string>();
  for (const other of target.existing(scope)) if (other !== owner) for (const tool of other.tools) taken.add(tool.name);
  const { tools, collisions } = nameTools(owner.name, fetched.tools, taken, target.logger, owner.ref.agentId);
  const previous = owner.tools;
  owner.tools = tools;
  owner.collisions = collisions;
  scope.routes.rebuild(target.existing(scope), { owner, tools: previous });
  await Promise.all([
    catalogue.writeCatalogue(owner.scope, owner.name, {
      tools,
      resources: fetched.resources.map((resource) => toResourceInfo(owner.name, resource)),
      prompts: fetched.prompts.map((prompt) => toPromptInfo(owner.name, prompt)),
    }),
    catalogue.writeService(owner.scope, owner.info()),
  ]);
  scope.routes.rebuild(target.existing(scope));
  const previousNames = new Set(previous.map((tool) => tool.name));
  const names = new Set(tools.map((tool) => tool.name));
  target.events.emit("tools:refreshed", {
    ...owner.ref,
    toolCount: tools.length,
    added: [...names].filter((name) => !previousNames.has(name)),
    removed: [...previousNames].filter((name) => !names.has(name)),
  });
}

/**
 * Takes the tool list that the instance running a placed service stored (see registry/placed-service.ts) as this
 * instance's own for routing, and emits `tools:refreshed`; nothing is written, the running instance wrote it.
 */
export function adoptFollowedTools(owner: ServiceOwner, tools: ToolInfo[], target: CatalogueTarget): void {
  if (owner.config === undefined) return;
  const previousNames = new Set(owner.tools.map((tool) => tool.name));
  owner.tools = tools;
  target.scope.routes.rebuild(target.existing(target.scope));
  const names = new Set(tools.map((tool) => tool.name));
  target.events.emit("tools:refreshed", {
    ...owner.ref,
    toolCount: tools.length,
    added: [...names].filter((name) => !previousNames.has(name)),
    removed: [...previousNames].filter((name) => !names.has(name)),
  });
}
