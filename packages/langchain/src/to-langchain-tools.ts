import { DynamicStructuredTool, type StructuredTool } from "@langchain/core/tools";
import {
  AbortedError,
  callSelectedTool,
  resolveLocalRefs,
  selectTools,
  splitToolResult,
  strictifySchema,
  type JsonSchema,
  type Logger,
  type ServiceContext,
  type ToolCallResult,
  type ToolInfo,
  type ToolResultParts,
  type ToolSelectionOptions,
} from "@mcpstore/core";
import { ToolException } from "./tool-exception.js";

/** The caller's logger for a schema left unexpanded (past the `$ref` budget), else the default one. */
const schemaOptions = (options: { logger?: Logger }) => (options.logger ? { logger: options.logger } : {});


/** Options of {@link toLangChainTools}. */
export interface ToLangChainToolsOptions extends ToolSelectionOptions {
  /**
   * `"content"` (default): the tool returns its text, or text and image blocks when it sent images.
   * `"content_and_artifact"`: the tool returns its text as content, and a {@link McpToolArtifact} (images, audio,
   * resources, `structuredContent`) as the `ToolMessage`'s `artifact`.
   */
  responseFormat?: "content" | "content_and_artifact";
  /** Give the model schemas fixed for strict providers (see `strictifySchema` in `@mcpstore/core`). Default false. */
  strictSchemas?: boolean;
  /**
   * Time limit of each call in milliseconds, enforced by the store (a `TimeoutError`, as a `ToolException`). Default:
   * the service's `timeout`, else 60 s. A run's `timeout` also applies: LangChain turns it into the run's signal.
   */
  timeoutMs?: number;
}

/** The `artifact` of a `ToolMessage` with `responseFormat: "content_and_artifact"`: what the model is not sent. */
export type McpToolArtifact = Omit<ToolResultParts, "text" | "isError">;

/** Metadata on every tool: where it comes from. */
export interface McpToolMetadata {
  serviceName: string;
  /** The tool's name on its server. */
  originalName: string;
  annotations?: ToolInfo["annotations"];
  /** JSON Schema of `structuredContent`, when the tool declares one. */
  outputSchema?: ToolInfo["outputSchema"];
  [key: string]: unknown;
}

// LangChain validates arguments with @cfworker/json-schema, which marks the schema object it is given, so it needs an
// unfrozen copy of the catalogue's frozen schema; one per schema, reused by later builds.
const copies = new WeakMap<object, JsonSchema>();
function unfrozen(schema: JsonSchema): JsonSchema {
  if (!Object.isFrozen(schema)) return schema;
  let copy = copies.get(schema);
  if (!copy) copies.set(schema, (copy = structuredClone(schema)));
  return copy;
}

/** The text, or text and standard image blocks when the tool sent images. */
function toContent(text: string, images: ToolResultParts["images"]): string | Array<Record<string, unknown>> {
  if (images.length === 0) return text;
  const blocks = images.map((image) => ({ type: "image", mimeType: image.mimeType, data: image.data }));
  return text ? [{ type: "text", text }, ...blocks] : blocks;
}

/**
 * The scope's tools as LangChain `StructuredTool`s, from the cached catalogue (no network). Each tool keeps its
 * server's JSON Schema (local `$ref`s inlined, nothing fetched) and calls through the store, so validation, timeouts,
 * plugins and monitoring apply; the run's `signal` cancels the call, which then rejects with the signal's reason. An
 * error result or a failed call throws a {@link ToolException}. A tool only ever calls the tool it was built for: if
 * the store would route its name elsewhere (its service gone, another service's tool named like it), it throws a
 * `ToolException` without calling. Services that cannot take calls are left out with a warning; call this again after
 * the catalogue changes (`store.on("tools:refreshed", ...)`) for new or removed tools.
 */
export async function toLangChainTools(context: ServiceContext, options: ToLangChainToolsOptions = {}): Promise<StructuredTool[]> {
  const tools = await selectTools(context, options);
  const artifacts = options.responseFormat === "content_and_artifact";
  const timeoutMs = options.timeoutMs;
  return tools.map((info) => {
    const schema = info.inputSchema as JsonSchema;
    const metadata: McpToolMetadata = { serviceName: info.serviceName, originalName: info.originalName };
    if (info.annotations) metadata.annotations = info.annotations;
    if (info.outputSchema) metadata.outputSchema = info.outputSchema;
    return new DynamicStructuredTool({
      name: info.name,
      description: info.description ?? info.title ?? "",
      schema: unfrozen(options.strictSchemas ? strictifySchema(schema, schemaOptions(options)) : resolveLocalRefs(schema, schemaOptions(options))),
      responseFormat: artifacts ? "content_and_artifact" : "content",
      metadata,
      func: async (args: Record<string, unknown>, _runManager, config) => {
        const signal = config?.signal;
        const callOptions = { throwOnError: true, ...(signal ? { signal } : {}), ...(timeoutMs ? { timeoutMs } : {}) };
        let result: ToolCallResult;
        try {
          result = await callSelectedTool(context, info, args, callOptions);
        } catch (error) {
          // A cancelled run rejects with its signal's reason, as LangChain's own runnables do.
          if (AbortedError.isInstance(error) && signal?.aborted) throw signal.reason instanceof Error ? signal.reason : error;
          throw new ToolException(error instanceof Error ? error.message : String(error), { cause: error });
        }
        const { text, isError: _isError, ...artifact } = splitToolResult(result);
        return artifacts ? [text, artifact satisfies McpToolArtifact] : toContent(text, artifact.images);
      },
    });
  });
}
