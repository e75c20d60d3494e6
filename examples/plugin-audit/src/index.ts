export { auditPlugin, type AuditEntry, type AuditPlugin, type AuditPluginOptions } from "./audit-plugin.js";
