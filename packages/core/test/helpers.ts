import { afterEach } from "vitest";
import { MCPStore, type Logger, type SetupStoreOptions } from "../src/index.js";

/** A logger that keeps every entry, for assertions. */
export function captureLogger(): Logger & { entries: Array<{ level: string; message: string; fields: Record<string, unknown> }> } {
  const entries: Array<{ level: string; message: string; fields: Record<string, unknown> }> = [];
  const at = (level: string) => (fields: Record<string, unknown>, message: string) => void entries.push({ level, message, fields });
  return { entries, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

/** A store with a quiet, capturing logger; closed by the caller. */
export function createTestStore(options: SetupStoreOptions = {}) {
  return MCPStore.setupStore({ mcpConfigFile: false, logger: captureLogger(), ...options });
}

/** What to close after the current test (stores, fixtures); drained in reverse order after each test. */
export const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** A test store (see {@link createTestStore}) closed after the test. */
export async function storeWith(options: SetupStoreOptions = {}): Promise<MCPStore> {
  const store = await createTestStore(options);
  cleanups.push(() => store.close());
  return store;
}

/** The text parts of a tool result, joined. */
export const text = (result: { content: Array<{ type: string; text?: string }> }) => result.content.map((part) => part.text).join("");
