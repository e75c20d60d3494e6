import { AIMessage, ToolMessage, type BaseMessage } from "@langchain/core/messages";
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { fakeModel } from "@langchain/core/testing";
import { MCPStore } from "@mcpstore/core";
import { toLangChainTools } from "@mcpstore/langchain";
import { startHttpFixture, stdioFixtureConfig } from "@mcpstore/testing";
import { createAgent } from "langchain";

// Two MCP servers (the repo's fixture: one over stdio, one over Streamable HTTP on 127.0.0.1) in one store; their
// tools go to a LangChain agent. With OPENAI_API_KEY set, a real model drives the agent (OPENAI_MODEL, default
// gpt-4o-mini); without it, a scripted model plays the same conversation, so this runs offline.

const remote = await startHttpFixture();
await using store = await MCPStore.setupStore({ mcpConfigFile: false });
const context = store.forStore();
await context.addService([stdioFixtureConfig("math"), { name: "web", url: remote.url, description: "fixture over HTTP" }]);
await Promise.all([context.waitService("math"), context.waitService("web")]);

// Tools come from the cached catalogue; strictSchemas makes every schema acceptable to OpenAI.
const tools = await toLangChainTools(context, { include: ["math_add", "web_echo"], strictSchemas: true });
console.log(`Tools: ${tools.map((tool) => tool.name).join(", ")}`);

const toolResults = (messages: BaseMessage[]) => messages.filter((message) => ToolMessage.isInstance(message)).map((message) => String(message.content));

async function chooseModel(): Promise<BaseChatModel> {
  if (process.env.OPENAI_API_KEY) {
    const { ChatOpenAI } = await import("@langchain/openai");
    console.log(`Model: OpenAI ${process.env.OPENAI_MODEL ?? "gpt-4o-mini"}`);
    return new ChatOpenAI({ model: process.env.OPENAI_MODEL ?? "gpt-4o-mini", temperature: 0 });
  }
  console.log("Model: scripted (set OPENAI_API_KEY to use OpenAI)");
  return fakeModel()
    .respondWithTools([{ name: "math_add", args: { a: 20, b: 22 } }])
    .respondWithTools([{ name: "web_echo", args: { text: "Hello from MCPStore" } }])
    .respond((messages) => new AIMessage(`20 + 22 = ${toolResults(messages)[0]}, and the web service says "${toolResults(messages)[1]}".`));
}

const agent = createAgent({ model: await chooseModel(), tools });
const result = await agent.invoke({
  messages: [{ role: "user", content: "Add 20 and 22 with math_add, then echo 'Hello from MCPStore' with web_echo, and tell me both results." }],
});
for (const message of result.messages) {
  const calls = AIMessage.isInstance(message) ? (message.tool_calls ?? []).map((call) => `${call.name}(${JSON.stringify(call.args)})`) : [];
  console.log(`  ${message.getType().padEnd(6)} ${calls.length ? `calls ${calls.join(", ")}` : String(message.content)}`);
}
console.log(`\nAnswer: ${String(result.messages.at(-1)?.content)}`);

await store.close();
await remote.close();
