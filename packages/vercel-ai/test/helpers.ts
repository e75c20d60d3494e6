import { MCPStore, type Logger, type StoreEvents } from "@mcpstore/core";
import { quietLogger, referenceServerConfig } from "@mcpstore/testing";

export { quietLogger };

/** A logger that keeps its warnings, for assertions. */
export function warningLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { ...quietLogger, warnings, warn: (_fields, message) => void warnings.push(message) };
}

/** A stdio config for the installed `@modelcontextprotocol/server-everything` (never downloaded). */
export function everythingConfig(name: string): { name: string; command: string; args: string[] } {
  return referenceServerConfig(name, "everything");
}

/** Stores (and anything else) to close after each test. */
export const cleanups: Array<() => Promise<unknown>> = [];

/** A store with a quiet logger, closed after the test. */
export async function createStore(): Promise<MCPStore> {
  const store = await MCPStore.setupStore({ mcpConfigFile: false, logger: quietLogger });
  cleanups.push(() => store.close());
  return store;
}

/** Resolves at the next `tools:refreshed` event of `serviceName`. */
export function nextRefresh(store: MCPStore, serviceName: string): Promise<StoreEvents["tools:refreshed"]> {
  return new Promise((resolve) => {
    const off = store.on("tools:refreshed", (event) => {
      if (event.serviceName !== serviceName) return;
      off();
      resolve(event);
    });
  });
}

/** What a scripted model step answers: tool calls, or text. */
export type ScriptedStep =
  | { toolCalls: Array<{ toolCallId: string; toolName: string; input: Record<string, unknown> }> }
  | { text: string };

/** The prompt the model is given at a step, as the AI SDK builds it. */
export type ScriptedPrompt = Array<{ role: string; content: unknown }>;

const usage = {
  inputTokens: { total: 10, noCache: 10, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: 5, text: 5, reasoning: undefined },
};

/**
 * The `doGenerate` of a `MockLanguageModelV3` that plays `steps` in order; a step may be a function of the prompt (to
 * answer with what the tools returned). Records every prompt.
 */
export function scriptedGenerate(steps: Array<ScriptedStep | ((prompt: ScriptedPrompt) => ScriptedStep)>) {
  const prompts: ScriptedPrompt[] = [];
  const doGenerate = async (options: { prompt: unknown }) => {
    const prompt = options.prompt as ScriptedPrompt;
    prompts.push(prompt);
    const next = steps[prompts.length - 1];
    if (!next) throw new Error(`the scripted model has no step ${prompts.length}`);
    const step = typeof next === "function" ? next(prompt) : next;
    if ("text" in step) {
      return { content: [{ type: "text" as const, text: step.text }], finishReason: { unified: "stop" as const, raw: "stop" }, usage, warnings: [] };
    }
    return {
      content: step.toolCalls.map((call) => ({ type: "tool-call" as const, toolCallId: call.toolCallId, toolName: call.toolName, input: JSON.stringify(call.input) })),
      finishReason: { unified: "tool-calls" as const, raw: "tool_calls" },
      usage,
      warnings: [],
    };
  };
  return { doGenerate, prompts };
}

/** The tool results in a prompt, by tool call id: what the model was shown. */
export function toolOutputsIn(prompt: ScriptedPrompt): Record<string, unknown> {
  const outputs: Record<string, unknown> = {};
  for (const message of prompt) {
    if (message.role !== "tool" || !Array.isArray(message.content)) continue;
    for (const part of message.content as Array<{ type: string; toolCallId: string; output: unknown }>) {
      if (part.type === "tool-result") outputs[part.toolCallId] = part.output;
    }
  }
  return outputs;
}
