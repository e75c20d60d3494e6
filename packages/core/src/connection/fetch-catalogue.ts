import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { ErrorCode, McpError, type Prompt, type Resource, type Tool } from "@modelcontextprotocol/sdk/types.js";
import { clampDelay } from "./clamp-delay.js";

/** Pages read of one list at most; a server that pages on past them is cut short (with a warning). */
export const MAX_CATALOGUE_PAGES = 100;

/** Everything a service fetched from its server in one catalogue refresh. */
export interface FetchedCatalogue {
  tools: Tool[];
  resources: Resource[];
  prompts: Prompt[];
  /** What was wrong with the server's paging (a list cut short), for the connection's owner to log. */
  warnings?: string[];
}

/** Options of {@link fetchCatalogue}. */
export interface FetchCatalogueOptions {
  /** Time limit of the whole fetch (every page of every list), in milliseconds. */
  timeoutMs: number;
}

/** One page of a list, whichever it is. */
interface Page<Item> {
  items: Item[];
  nextCursor?: string | undefined;
}

type PageRequest<Item> = (params: { cursor?: string }, requestOptions: { timeout: number }) => Promise<Page<Item>>;

/**
 * Fetches every page of the tools, resources and prompts the server declares it has (a list it does not declare is
 * empty, not requested), all within one deadline of `timeoutMs`. A list stops at {@link MAX_CATALOGUE_PAGES} pages,
 * or when the server repeats a cursor (it would page forever), with a warning in the result.
 */
export async function fetchCatalogue(client: Client, options: FetchCatalogueOptions): Promise<FetchedCatalogue> {
  const capabilities = client.getServerCapabilities() ?? {};
  const endsAt = performance.now() + options.timeoutMs;
  const warnings: string[] = [];
  const list = async <Item>(name: string, request: PageRequest<Item>): Promise<Item[]> => {
    const items: Item[] = [];
    const cursors = new Set<string>();
    let cursor: string | undefined;
    for (let pages = 0; ; pages++) {
      if (pages === MAX_CATALOGUE_PAGES) {
        warnings.push(`${name}/list stopped after ${MAX_CATALOGUE_PAGES} pages: the server offers more (kept ${items.length} ${name})`);
        return items;
      }
      const left = endsAt - performance.now();
      if (left <= 0) throw new McpError(ErrorCode.RequestTimeout, `Fetching the catalogue timed out after ${options.timeoutMs} ms (${name}/list, page ${pages + 1})`);
      const page = await request(cursor ? { cursor } : {}, { timeout: clampDelay(left) });
      items.push(...page.items);
      cursor = page.nextCursor;
      if (!cursor) return items;
      if (cursors.has(cursor)) {
        warnings.push(`${name}/list stopped at a repeated cursor ${JSON.stringify(cursor)} after ${pages + 1} pages (kept ${items.length} ${name})`);
        return items;
      }
      cursors.add(cursor);
    }
  };
  const tools = capabilities.tools
    ? await list<Tool>("tools", async (params, requestOptions) => {
        const page = await client.listTools(params, requestOptions);
        return { items: page.tools, nextCursor: page.nextCursor };
      })
    : [];
  const resources = capabilities.resources
    ? await list<Resource>("resources", async (params, requestOptions) => {
        const page = await client.listResources(params, requestOptions);
        return { items: page.resources, nextCursor: page.nextCursor };
      })
    : [];
  const prompts = capabilities.prompts
    ? await list<Prompt>("prompts", async (params, requestOptions) => {
        const page = await client.listPrompts(params, requestOptions);
        return { items: page.prompts, nextCursor: page.nextCursor };
      })
    : [];
  return { tools, resources, prompts, ...(warnings.length ? { warnings } : {}) };
}
