import { AbortedError, MCPStoreError, StoreClosedError, ValidationError } from "../errors.js";
import { resolveLocalRefs, strictifySchema, type JsonSchema } from "./json-schema.js";
import { selectTools, type ToolSelectionOptions } from "./select-tools.js";
import type { ServiceContext } from "../service-context.js";
import { splitToolResult } from "./split-tool-result.js";
import type { CallToolOptions } from "../types.js";

/** A tool in OpenAI's function-calling format (Chat Completions `tools`). */
export interface OpenAIFunctionTool {
  type: "function";
  function: {
    /** The tool's name in the scope, `{service}_{tool}` (already within OpenAI's `^[A-Za-z0-9_-]{1,64}$`). */
    name: string;
    description?: string;
    /** The tool's input schema, with local `$ref`s inlined (and fixed for strict validators when asked). */
    parameters: JsonSchema;
  };
}

/** Options of {@link toOpenAITools}. */
export interface ToOpenAIToolsOptions extends ToolSelectionOptions {
  /** Pass schemas through {@link strictifySchema} (arrays get `items`, objects `type`, ...). Default false. */
  strictSchemas?: boolean;
}

/** A tool call as the OpenAI SDK returns it (`message.tool_calls[i]`); only `function` is required. */
export interface OpenAIToolCall {
  id?: string;
  type?: string;
  function: {
    name: string;
    /** The arguments as a JSON string (as the API sends them), or an already parsed object. Empty means `{}`. */
    arguments?: string | Record<string, unknown> | null;
  };
}

/** The `tool` message to append to the conversation for one tool call. */
export interface OpenAIToolMessage {
  role: "tool";
  tool_call_id: string;
  content: string;
}

/**
 * The scope's tools in OpenAI's function-calling format, from the cached catalogue: pass them as `tools` to
 * `chat.completions.create`. Services that cannot take calls are left out with a warning (see {@link selectTools}).
 */
export async function toOpenAITools(context: ServiceContext, options: ToOpenAIToolsOptions = {}): Promise<OpenAIFunctionTool[]> {
  const tools = await selectTools(context, options);
  return tools.map((tool) => {
    const description = tool.description ?? tool.title;
    const schema = tool.inputSchema as JsonSchema;
    return {
      type: "function",
      function: {
        name: tool.name,
        ...(description !== undefined ? { description } : {}),
        parameters: options.strictSchemas ? strictifySchema(schema) : resolveLocalRefs(schema),
      },
    };
  });
}

function parseArguments(toolCall: OpenAIToolCall): Record<string, unknown> {
  const raw = toolCall.function.arguments;
  if (raw === undefined || raw === null || (typeof raw === "string" && raw.trim() === "")) return {};
  if (typeof raw !== "string") return raw;
  try {
    return JSON.parse(raw) as Record<string, unknown>;
  } catch (error) {
    throw new ValidationError({
      message: `Arguments for tool ${toolCall.function.name} are not valid JSON: ${error instanceof Error ? error.message : String(error)}`,
      toolName: toolCall.function.name,
      cause: error,
      details: { issues: [{ path: "(root)", message: "not valid JSON" }] },
    });
  }
}

/**
 * Runs one tool call from an OpenAI response through the store (validation, timeouts, plugins and monitoring apply)
 * and returns the `tool` message to send back. Text parts become the content; images, audio and resources without
 * text are named in brackets, since tool messages carry only text. An error result and store errors (bad arguments,
 * unknown tool, service down, timeout) become `Error: ...` content, so that the model can react and the loop goes
 * on; a cancelled call (`AbortedError`), a closed store and unexpected errors are thrown. With `throwOnError`, every
 * failure is thrown.
 */
export async function executeOpenAIToolCall(
  context: ServiceContext,
  toolCall: OpenAIToolCall,
  options: CallToolOptions = {},
): Promise<OpenAIToolMessage> {
  const message = (content: string): OpenAIToolMessage => ({ role: "tool", tool_call_id: toolCall.id ?? "", content });
  try {
    const result = await context.callTool(toolCall.function.name, parseArguments(toolCall), options);
    const parts = splitToolResult(result);
    const links = parts.resources.filter((part) => part.type === "resource_link" || !("text" in part.resource));
    const notes = [
      ...parts.images.map((image) => `[image ${image.mimeType} omitted]`),
      ...parts.audio.map((audio) => `[audio ${audio.mimeType} omitted]`),
      ...links.map((part) => `[resource ${part.type === "resource_link" ? part.uri : part.resource.uri}]`),
    ];
    const content = [parts.text, ...notes].filter((line) => line !== "").join("\n");
    return message(parts.isError ? `Error: ${content || "the tool failed"}` : content);
  } catch (error) {
    const cancelled = AbortedError.isInstance(error) || StoreClosedError.isInstance(error);
    if (options.throwOnError || !MCPStoreError.isInstance(error) || cancelled) throw error;
    return message(`Error: ${(error as MCPStoreError).message}`);
  }
}
