import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { MCPStore, type Logger, type StoreEvents } from "@mcpstore/core";

/** A logger that drops everything, so test output stays readable. */
export const quietLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** A logger that keeps its warnings, for assertions. */
export function warningLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { ...quietLogger, warnings, warn: (_fields, message) => void warnings.push(message) };
}

const packageDir = join(dirname(fileURLToPath(import.meta.url)), "..");

/** A stdio config for the installed `@modelcontextprotocol/server-everything` (from node_modules, never downloaded). */
export function everythingConfig(name: string): { name: string; command: string; args: string[] } {
  const dir = join(packageDir, "node_modules", "@modelcontextprotocol", "server-everything");
  const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { bin: string | Record<string, string> };
  const bin = typeof manifest.bin === "string" ? manifest.bin : Object.values(manifest.bin)[0]!;
  return { name, command: process.execPath, args: [join(dir, bin), "stdio"] };
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
