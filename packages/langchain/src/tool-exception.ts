/**
 * What a LangChain tool from {@link toLangChainTools} throws when the tool answers with an error result or the store
 * cannot run the call (bad arguments, service down, timeout). LangChain's agents turn it into a `ToolMessage` with
 * `status: "error"`, so the model sees the message and the loop goes on. `cause` holds the store's error (an
 * `MCPStoreError` with a `code`). The `name` is `"ToolException"`, as in `@langchain/mcp-adapters`.
 */
export class ToolException extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ToolException";
  }

  /** True for a `ToolException`, from this package or any other that names its error so. */
  static isInstance(error: unknown): error is ToolException {
    return error instanceof Error && error.name === "ToolException";
  }
}
