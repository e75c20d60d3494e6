import { MCPStore, type Logger, type StoreEvents } from "@mcpstore/core";
import { quietLogger, referenceServerConfig } from "@mcpstore/testing";

export { quietLogger };

/** A logger that keeps its warnings, for assertions. */
export function warningLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { ...quietLogger, warnings, warn: (_fields, message) => void warnings.push(message) };
}

/** A stdio config for the installed `@modelcontextprotocol/server-everything` (never downloaded). */
export function everythingConfig(name: string): { name: string; command: string; args: string[] } {
  return referenceServerConfig(name, "everything");
}

/** Stores (and anything else) to close after each test. */
export const cleanups: Array<() => Promise<unknown>> = [];

/** A store with a quiet logger, closed after the test. */
export async function createStore(): Promise<MCPStore> {
  const store = await MCPStore.setupStore({ mcpConfigFile: false, logger: quietLogger });
  cleanups.push(() => store.close());
  return store;
}

/** Resolves at the next `tools:refreshed` event of `serviceName`. */
export function nextRefresh(store: MCPStore, serviceName: string): Promise<StoreEvents["tools:refreshed"]> {
  return new Promise((resolve) => {
    const off = store.on("tools:refreshed", (event) => {
      if (event.serviceName !== serviceName) return;
      off();
      resolve(event);
    });
  });
}
