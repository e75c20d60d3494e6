import { afterEach } from "vitest";
import { MCPStore, type Logger, type SetupStoreOptions } from "../src/index.js";

/** A logger that keeps every entry, for assertions. */
export function captureLogger(): Logger & { entries: Array<{ level: string; message: string; fields: Record<string, unknown> }> } {
  const entries: Array<{ level: string; message: string; fields: Record<string, unknown> }> = [];
  const at = (level: string) => (fields: Record<string, unknown>, message: string) => void entries.push({ level, message, fields });
  return { entries, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

/**
 * Every state change the test stores of this file emitted (`previous→state`), and every change a connection or an
 * owner refused as not in the lifecycle table: what the lifecycle walk checks.
 */
export const observedTransitions = new Set<string>();
export const refusedTransitions: string[] = [];

/** A store with a quiet, capturing logger; closed by the caller. */
export async function createTestStore(options: SetupStoreOptions = {}) {
  const logger = options.logger ?? captureLogger();
  const refusing: Logger = {
    ...logger,
    error: (fields, message) => {
      if (message.startsWith("refused state change")) refusedTransitions.push(message);
      logger.error(fields, message);
    },
  };
  const store = await MCPStore.setupStore({ mcpConfigFile: false, ...options, logger: refusing });
  store.on("service:state-changed", (event) => observedTransitions.add(`${event.previous}→${event.state}`));
  return store;
}

/** What to close after the current test (stores, fixtures); drained in reverse order after each test. */
export const cleanups: Array<() => unknown> = [];
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

/** Polls `check` every 10 ms until it holds (true) or `timeoutMs` passes (false). */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return true;
}
