import {
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
  type ToolSelectionOptions,
} from "@mcpstore/core";
import { dynamicTool, jsonSchema, type JSONSchema7, type Tool, type ToolSet } from "ai";

/** The caller's logger for a schema left unexpanded (past the `$ref` budget), else the default one. */
const schemaOptions = (options: { logger?: Logger }) => (options.logger ? { logger: options.logger } : {});


/** Options of {@link toAiSdkTools}. */
export interface ToAiSdkToolsOptions extends ToolSelectionOptions {
  /** Give the model schemas fixed for strict providers (see `strictifySchema` in `@mcpstore/core`). Default false. */
  strictSchemas?: boolean;
  /** Time limit of each call in milliseconds. Default: the service's `timeout`, else 60 s. */
  timeoutMs?: number;
}

/** What `toModelOutput` returns (the type is not exported by `ai`). */
type ToolResultOutput = Awaited<ReturnType<NonNullable<Tool["toModelOutput"]>>>;
type ContentPart = Extract<ToolResultOutput, { type: "content" }>["value"][number];

/** Text and images for the model, in the AI SDK's tool-output form. */
function toModelOutput(result: ToolCallResult): ToolResultOutput {
  const parts = splitToolResult(result);
  const links = parts.resources.filter((part) => part.type === "resource_link" || !("text" in part.resource));
  const notes = links.map((part) => `[resource ${part.type === "resource_link" ? part.uri : part.resource.uri}]`);
  const text = [parts.text, ...notes].filter((line) => line !== "").join("\n");
  if (parts.images.length === 0 && parts.audio.length === 0) return { type: "text", value: text };
  const value: ContentPart[] = [
    ...(text ? [{ type: "text" as const, text }] : []),
    ...parts.images.map((image) => ({ type: "image-data" as const, data: image.data, mediaType: image.mimeType })),
    ...parts.audio.map((audio) => ({ type: "file-data" as const, data: audio.data, mediaType: audio.mimeType })),
  ];
  return { type: "content", value };
}

/**
 * The scope's tools as an AI SDK `ToolSet` (`dynamicTool` + `jsonSchema`), from the cached catalogue (no network).
 * Each tool keeps its server's JSON Schema (local `$ref`s inlined, nothing fetched) and calls through the store, so
 * validation, timeouts, plugins and monitoring apply; `abortSignal` cancels the call. The model gets the text and
 * images of a result. A tool that declares an `outputSchema` carries it, and its output is the `structuredContent`
 * (sent to the model as JSON). An error result or a failed call throws, which the SDK reports as a `tool-error` and
 * shows the model. A tool only ever calls the tool it was built for: if the store would route its name elsewhere (its
 * service gone, another service's tool named like it), it throws a `ToolNotFoundError` without calling. Services that
 * cannot take calls are left out with a warning; call this again after the catalogue changes
 * (`store.on("tools:refreshed", ...)`) to pick up new or removed tools.
 */
export async function toAiSdkTools(context: ServiceContext, options: ToAiSdkToolsOptions = {}): Promise<ToolSet> {
  const tools: ToolSet = {};
  for (const info of await selectTools(context, options)) tools[info.name] = toAiSdkTool(context, info, options);
  return tools;
}

function toAiSdkTool(context: ServiceContext, info: ToolInfo, options: ToAiSdkToolsOptions): Tool {
  const schema = info.inputSchema as JsonSchema;
  const structured = info.outputSchema !== undefined;
  const description = info.description ?? info.title;
  const tool = dynamicTool({
    ...(description !== undefined ? { description } : {}),
    ...(info.title !== undefined ? { title: info.title } : {}),
    metadata: { mcpstore: { serviceName: info.serviceName, originalName: info.originalName } },
    inputSchema: jsonSchema((options.strictSchemas ? strictifySchema(schema, schemaOptions(options)) : resolveLocalRefs(schema, schemaOptions(options))) as JSONSchema7),
    execute: async (input, { abortSignal }) => {
      const result = await callSelectedTool(context, info, input as Record<string, unknown>, {
        throwOnError: true,
        ...(abortSignal ? { signal: abortSignal } : {}),
        ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
      });
      return structured ? result.structuredContent : result;
    },
    toModelOutput: ({ output }) => (structured ? { type: "json", value: output as never } : toModelOutput(output as ToolCallResult)),
  });
  return structured ? { ...tool, outputSchema: jsonSchema(resolveLocalRefs(info.outputSchema as JsonSchema, schemaOptions(options)) as JSONSchema7) } : tool;
}
