import { MCPStoreError } from "@mcpstore/core";

/** Bad usage the parser could not see: `--args` that is not a JSON object, a bad `--env` pair. Exit status 2. */
export class UsageError extends MCPStoreError {
  constructor(message: string) {
    super("USAGE_ERROR", { message }, "UsageError");
  }
}
