import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { Prompt, Resource, Tool } from "@modelcontextprotocol/sdk/types.js";

/** Everything a service fetched from its server in one catalogue refresh. */
export interface FetchedCatalogue {
  tools: Tool[];
  resources: Resource[];
  prompts: Prompt[];
}

/** Options of {@link fetchCatalogue}. */
export interface FetchCatalogueOptions {
  /** Time limit of each page request, in milliseconds. */
  timeoutMs: number;
}

/**
 * Fetches every page of the tools, resources and prompts the server declares it has (a list it does not declare is
 * empty, not requested).
 */
export async function fetchCatalogue(client: Client, options: FetchCatalogueOptions): Promise<FetchedCatalogue> {
  const capabilities = client.getServerCapabilities() ?? {};
  const requestOptions = { timeout: options.timeoutMs };
  const tools: Tool[] = [];
  if (capabilities.tools) {
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor ? { cursor } : {}, requestOptions);
      tools.push(...page.tools);
      cursor = page.nextCursor;
    } while (cursor);
  }
  const resources: Resource[] = [];
  if (capabilities.resources) {
    let cursor: string | undefined;
    do {
      const page = await client.listResources(cursor ? { cursor } : {}, requestOptions);
      resources.push(...page.resources);
      cursor = page.nextCursor;
    } while (cursor);
  }
  const prompts: Prompt[] = [];
  if (capabilities.prompts) {
    let cursor: string | undefined;
    do {
      const page = await client.listPrompts(cursor ? { cursor } : {}, requestOptions);
      prompts.push(...page.prompts);
      cursor = page.nextCursor;
    } while (cursor);
  }
  return { tools, resources, prompts };
}
