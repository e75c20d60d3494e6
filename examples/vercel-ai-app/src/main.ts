import { MCPStore } from "@mcpstore/core";
import { startHttpFixture, stdioFixtureConfig } from "@mcpstore/testing";
import { toAiSdkTools } from "@mcpstore/vercel-ai";
import { generateText, stepCountIs, type LanguageModel } from "ai";
import { MockLanguageModelV3 } from "ai/test";

// Two MCP servers (the repo's fixture: one over stdio, one over Streamable HTTP on 127.0.0.1) in one store; their
// tools go to generateText. With OPENAI_API_KEY set, a real model answers (OPENAI_MODEL, default gpt-4o-mini);
// without it, a scripted model plays the same conversation, so this runs offline.

const remote = await startHttpFixture();
await using store = await MCPStore.setupStore({ mcpConfigFile: false });
const context = store.forStore();
await context.addService([stdioFixtureConfig("math"), { name: "web", url: remote.url, description: "fixture over HTTP" }]);
await Promise.all([context.waitService("math"), context.waitService("web")]);

// The ToolSet comes from the cached catalogue; read it again after `tools:refreshed` to see new tools.
const tools = await toAiSdkTools(context, { include: ["math_add", "web_echo"], strictSchemas: true });
console.log(`Tools: ${Object.keys(tools).join(", ")}`);

const usage = {
  inputTokens: { total: 0, noCache: 0, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: 0, text: 0, reasoning: undefined },
};
type Prompt = Array<{ role: string; content: unknown }>;

/** A model that calls math_add, then web_echo, then answers with what the tools returned. */
function scriptedModel(): LanguageModel {
  let step = 0;
  return new MockLanguageModelV3({
    doGenerate: async ({ prompt }) => {
      step += 1;
      const call = (toolName: string, input: unknown) => ({
        content: [{ type: "tool-call" as const, toolCallId: `call_${step}`, toolName, input: JSON.stringify(input) }],
        finishReason: { unified: "tool-calls" as const, raw: "tool_calls" },
        usage,
        warnings: [],
      });
      if (step === 1) return call("math_add", { a: 20, b: 22 });
      if (step === 2) return call("web_echo", { text: "Hello from MCPStore" });
      const results = (prompt as Prompt)
        .filter((message) => message.role === "tool")
        .flatMap((message) => message.content as Array<{ output: { value: unknown } }>)
        .map((part) => JSON.stringify(part.output.value));
      return {
        content: [{ type: "text" as const, text: `The tools answered ${results.join(" and ")}.` }],
        finishReason: { unified: "stop" as const, raw: "stop" },
        usage,
        warnings: [],
      };
    },
  });
}

async function chooseModel(): Promise<LanguageModel> {
  if (process.env.OPENAI_API_KEY) {
    const { openai } = await import("@ai-sdk/openai");
    console.log(`Model: OpenAI ${process.env.OPENAI_MODEL ?? "gpt-4o-mini"}`);
    return openai(process.env.OPENAI_MODEL ?? "gpt-4o-mini");
  }
  console.log("Model: scripted (set OPENAI_API_KEY to use OpenAI)");
  return scriptedModel();
}

const result = await generateText({
  model: await chooseModel(),
  tools,
  stopWhen: stepCountIs(5),
  prompt: "Add 20 and 22 with math_add, then echo 'Hello from MCPStore' with web_echo, and tell me both results.",
});
for (const [index, step] of result.steps.entries()) {
  for (const part of step.content) {
    if (part.type === "tool-call") console.log(`  step ${index + 1}: call ${part.toolName}(${JSON.stringify(part.input)})`);
    if (part.type === "tool-result") console.log(`  step ${index + 1}: ${part.toolName} → ${JSON.stringify(part.output).slice(0, 120)}`);
    if (part.type === "tool-error") console.log(`  step ${index + 1}: ${part.toolName} failed: ${String(part.error)}`);
  }
}
console.log(`\nAnswer: ${result.text}`);

await store.close();
await remote.close();
