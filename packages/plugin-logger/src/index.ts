export { loggerPlugin, type LoggerPlugin, type LoggerPluginOptions } from "./logger-plugin.js";
