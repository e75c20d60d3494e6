export { toAiSdkTools, type ToAiSdkToolsOptions } from "./to-ai-sdk-tools.js";
