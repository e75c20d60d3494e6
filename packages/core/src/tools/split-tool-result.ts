import type { AudioContent, EmbeddedResource, ImageContent, ResourceLink } from "@modelcontextprotocol/sdk/types.js";
import type { ToolCallResult } from "../types.js";

/** A tool result sorted by what a model or an application does with each part; see {@link splitToolResult}. */
export interface ToolResultParts {
  /**
   * What a model should read: the text parts and the text of embedded text resources, joined by newlines; when there
   * are none, the JSON of `structuredContent` (if any), else `""`.
   */
  text: string;
  /** Image parts (base64 `data` and `mimeType`). */
  images: ImageContent[];
  /** Audio parts (base64 `data` and `mimeType`). */
  audio: AudioContent[];
  /** Embedded resources (text or blob) and resource links. */
  resources: Array<EmbeddedResource | ResourceLink>;
  /** The result's `structuredContent`, when the tool sent one (it matches the tool's `outputSchema`). */
  structuredContent?: Record<string, unknown>;
  /** True when the tool answered with an error result (`isError: true`). */
  isError: boolean;
}

/**
 * Sorts a tool's result into text for the model, media and resources for the application, and `structuredContent`:
 * the one reading of MCP results that the framework adapters and `executeOpenAIToolCall` share.
 */
export function splitToolResult(result: ToolCallResult): ToolResultParts {
  const texts: string[] = [];
  const parts: ToolResultParts = { text: "", images: [], audio: [], resources: [], isError: result.isError === true };
  for (const part of result.content ?? []) {
    if (part.type === "text") texts.push(part.text);
    else if (part.type === "image") parts.images.push(part);
    else if (part.type === "audio") parts.audio.push(part);
    else if (part.type === "resource") {
      parts.resources.push(part);
      if ("text" in part.resource && typeof part.resource.text === "string") texts.push(part.resource.text);
    } else if (part.type === "resource_link") parts.resources.push(part);
  }
  if (result.structuredContent !== undefined) parts.structuredContent = result.structuredContent;
  parts.text = texts.length > 0 ? texts.join("\n") : result.structuredContent !== undefined ? JSON.stringify(result.structuredContent) : "";
  return parts;
}
