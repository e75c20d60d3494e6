import { MCPStoreError } from "@mcpstore/core";

/** What the `mcpstore` command's exit status means. */
export const EXIT = {
  /** Done. */
  OK: 0,
  /** An unexpected failure (a bug, or something the store did not foresee). */
  INTERNAL: 1,
  /** Bad usage: an unknown command or option, a missing argument, `--args` that is not a JSON object. */
  USAGE: 2,
  /** Bad input: an invalid service config or tool arguments; `config validate` found problems. */
  INVALID: 3,
  /** No such service or tool. */
  NOT_FOUND: 4,
  /** Already exists: a service of that name, or the file `config init` would create. */
  CONFLICT: 5,
  /** A service could not be reached, timed out, or is unhealthy (`check`). */
  UNAVAILABLE: 6,
  /** The tool answered with an error result, or failed on the server. */
  TOOL_ERROR: 7,
  /** The config file (or tokens file) cannot be read, parsed or written. */
  CONFIG_FILE: 8,
} as const;

/** The exit status of each error code: one table, like the server's code → HTTP status table. */
const EXIT_BY_CODE: Readonly<Record<string, number>> = {
  VALIDATION_ERROR: EXIT.INVALID,
  SERVICE_NOT_FOUND: EXIT.NOT_FOUND,
  TOOL_NOT_FOUND: EXIT.NOT_FOUND,
  SERVICE_EXISTS: EXIT.CONFLICT,
  ALREADY_EXISTS: EXIT.CONFLICT,
  CONNECTION_ERROR: EXIT.UNAVAILABLE,
  SERVICE_UNAVAILABLE: EXIT.UNAVAILABLE,
  TIMEOUT: EXIT.UNAVAILABLE,
  ABORTED: EXIT.UNAVAILABLE,
  TOOL_EXECUTION_ERROR: EXIT.TOOL_ERROR,
  PLUGIN_VETO: EXIT.TOOL_ERROR,
  CONFIG_FILE_ERROR: EXIT.CONFIG_FILE,
  USAGE_ERROR: EXIT.USAGE,
};

/** The exit status for an error. */
export function exitCodeOf(error: unknown): number {
  return MCPStoreError.isInstance(error) ? (EXIT_BY_CODE[error.code] ?? EXIT.INTERNAL) : EXIT.INTERNAL;
}
