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
