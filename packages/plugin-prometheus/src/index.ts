export { prometheusPlugin, type PrometheusPlugin, type PrometheusPluginOptions } from "./prometheus-plugin.js";
