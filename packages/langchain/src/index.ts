export { toLangChainTools, type McpToolArtifact, type McpToolMetadata, type ToLangChainToolsOptions } from "./to-langchain-tools.js";
export { ToolException } from "./tool-exception.js";
