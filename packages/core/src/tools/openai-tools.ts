import { AbortedError, MCPStoreError, StoreClosedError, ValidationError } from "../errors.js";
import { resolveLocalRefs, strictifySchema, type JsonSchema } from "./json-schema.js";
import { callSelectedTool, notOfferedError, selectTools, type SelectedTool, type ToolSelectionOptions } from "./select-tools.js";
import type { ServiceContext } from "../service-context.js";
import { splitToolResult } from "./split-tool-result.js";
import type { CallToolOptions, ToolCallResult, ToolInfo } from "../types.js";
import type { Logger } from "../logger.js";

/** The caller's logger for a schema left unexpanded (past the `$ref` budget), else the default one. */
const schemaOptions = (options: { logger?: Logger }) => (options.logger ? { logger: options.logger } : {});


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

/** Options of {@link executeOpenAIToolCall}. */
export interface ExecuteOpenAIToolCallOptions extends CallToolOptions {
  /**
   * The tools offered to the model (the list from {@link toOpenAITools} sent as `tools`): a call to any other name,
   * excluded or unknown, is refused as `Error: ...` content and never reaches a server. Default: any tool of the
   * scope, which is right only when the model was offered the whole scope; {@link createOpenAIToolkit} always knows.
   */
  tools?: readonly OpenAIFunctionTool[];
}

/** What {@link createOpenAIToolkit} returns: the tools to offer, and an executor that runs those and no others. */
export interface OpenAIToolkit {
  /** The tools, as {@link toOpenAITools} gives them: pass them as `tools` to `chat.completions.create`. */
  readonly tools: OpenAIFunctionTool[];
  /**
   * Runs one tool call as {@link executeOpenAIToolCall} does, and refuses (as `Error: ...` content, thrown with
   * `throwOnError`) a tool that is not in `tools`, so that a prompt-injected model cannot reach one left out.
   */
  execute(toolCall: OpenAIToolCall, options?: CallToolOptions): Promise<OpenAIToolMessage>;
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
  return (await selectTools(context, options)).map((tool) => toOpenAITool(tool, options));
}

/**
 * The tools of {@link toOpenAITools} with an executor bound to them: `execute` runs a tool call from the response and
 * refuses any tool outside the list (left out by `services`, `include`, `exclude` or `filter`, or unknown) without
 * reaching a server. Build one per request, or again after the catalogue changes, as for the list.
 */
export async function createOpenAIToolkit(context: ServiceContext, options: ToOpenAIToolsOptions = {}): Promise<OpenAIToolkit> {
  const selected = await selectTools(context, options);
  const byName = new Map(selected.map((tool) => [tool.name, tool]));
  return {
    tools: selected.map((tool) => toOpenAITool(tool, options)),
    execute: (toolCall, callOptions = {}) => runToolCall(context, toolCall, (name) => byName.get(name), callOptions),
  };
}

function toOpenAITool(tool: ToolInfo, options: ToOpenAIToolsOptions): OpenAIFunctionTool {
  const description = tool.description ?? tool.title;
  const schema = tool.inputSchema as JsonSchema;
  return {
    type: "function",
    function: {
      name: tool.name,
      ...(description !== undefined ? { description } : {}),
      parameters: options.strictSchemas ? strictifySchema(schema, schemaOptions(options)) : resolveLocalRefs(schema, schemaOptions(options)),
    },
  };
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
 * failure is thrown. Pass the offered list as `tools` (or use {@link createOpenAIToolkit}) when the model was given
 * a selection: a call outside it is then refused (a `ToolNotFoundError`) before it reaches the store.
 */
export async function executeOpenAIToolCall(
  context: ServiceContext,
  toolCall: OpenAIToolCall,
  options: ExecuteOpenAIToolCallOptions = {},
): Promise<OpenAIToolMessage> {
  const { tools, ...callOptions } = options;
  const offered = tools ? new Set(tools.map((tool) => tool.function.name)) : undefined;
  return runToolCall(context, toolCall, offered && ((name) => (offered.has(name) ? { name } : undefined)), callOptions);
}

/** Runs the call; with `offered`, only a tool it returns, and only if the store still routes its name to that tool. */
async function runToolCall(
  context: ServiceContext,
  toolCall: OpenAIToolCall,
  offered: ((name: string) => SelectedTool | undefined) | undefined,
  options: CallToolOptions,
): Promise<OpenAIToolMessage> {
  const message = (content: string): OpenAIToolMessage => ({ role: "tool", tool_call_id: toolCall.id ?? "", content });
  try {
    const name = toolCall.function.name;
    let result: ToolCallResult;
    if (offered) {
      const tool = offered(name);
      if (!tool) throw notOfferedError(context, name);
      result = await callSelectedTool(context, tool, parseArguments(toolCall), options);
    } else {
      result = await context.callTool(name, parseArguments(toolCall), options);
    }
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
