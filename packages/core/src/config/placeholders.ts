import { ValidationError } from "../errors.js";
import type { ServiceConfig } from "./service-config.js";

const PLACEHOLDER = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** True when a string holds a `${VAR}` or `${VAR:-default}` placeholder. */
export function hasPlaceholder(value: string): boolean {
  PLACEHOLDER.lastIndex = 0;
  return PLACEHOLDER.test(value);
}

/** True for an absolute `http:` or `https:` URL: the shape a remote service's `url` must have once expanded. */
export function isHttpUrl(value: string): boolean {
  try {
    const protocol = new URL(value).protocol;
    return protocol === "http:" || protocol === "https:";
  } catch {
    return false;
  }
}

/** The fields whose strings are expanded: everything that reaches the process or the request. */
const EXPANDED_FIELDS = ["command", "args", "env", "working_dir", "url", "headers"] as const;

/**
 * Expands `${VAR}` and `${VAR:-default}` in the strings of a service's `command`, `args`, `env`, `working_dir`, `url`
 * and `headers`, from `variables`. A variable that is unset (and has no default) is a {@link ValidationError} naming
 * it and the service. Placeholders may stand anywhere in `url` (`http://127.0.0.1:${PORT}/mcp`, `${API_BASE}/mcp`), so
 * its shape is checked here, once expanded: a `url` that is not an http(s) URL then is a {@link ValidationError}
 * naming the service, the field and the placeholders (never the values, which may be secret). The config the store
 * keeps, shows and writes back is the unexpanded one.
 */
export function expandPlaceholders(config: ServiceConfig, variables: Record<string, string | undefined>, agentId?: string): ServiceConfig {
  const missing = new Set<string>();
  const expand = (value: string) =>
    value.replace(PLACEHOLDER, (_match, name: string, fallback: string | undefined) => {
      const found = variables[name];
      if (found !== undefined && found !== "") return found;
      if (fallback !== undefined) return fallback;
      if (found === undefined) missing.add(name);
      return "";
    });
  const expanded: ServiceConfig = { ...config };
  for (const field of EXPANDED_FIELDS) {
    const value = config[field];
    if (typeof value === "string") (expanded as Record<string, unknown>)[field] = expand(value);
    else if (Array.isArray(value)) (expanded as Record<string, unknown>)[field] = value.map(expand);
    else if (value && typeof value === "object") {
      (expanded as Record<string, unknown>)[field] = Object.fromEntries(Object.entries(value).map(([key, item]) => [key, expand(item)]));
    }
  }
  if (missing.size > 0) {
    const names = [...missing];
    throw new ValidationError({
      message: `Service "${config.name}" needs the environment variable${names.length > 1 ? "s" : ""} ${names.join(", ")}, which ${names.length > 1 ? "are" : "is"} not set`,
      serviceName: config.name,
      ...(agentId !== undefined ? { agentId } : {}),
      details: { missingVariables: names },
    });
  }
  if (config.url !== undefined && hasPlaceholder(config.url) && !isHttpUrl(expanded.url!)) {
    const placeholders = [...new Set(config.url.match(PLACEHOLDER) ?? [])];
    const message = `must be an http(s) URL once ${placeholders.join(", ")} ${placeholders.length > 1 ? "are" : "is"} expanded`;
    throw new ValidationError({
      message: `Invalid service "${config.name}": services.${config.name}.url "${config.url}" ${message}`,
      serviceName: config.name,
      ...(agentId !== undefined ? { agentId } : {}),
      details: { issues: [{ path: `services.${config.name}.url`, message }], placeholders },
    });
  }
  return expanded;
}

/** True when a string is nothing but `${VAR}` placeholders (`${PASSWORD}`): safe to show as written. */
export function isPlaceholderOnly(value: string): boolean {
  return hasPlaceholder(value) && value.replace(PLACEHOLDER, "") === "";
}

/**
 * How a header or env value is shown: as written when it is only placeholders with at most a scheme word around them
 * (`Bearer ${TOKEN}`), else `***`.
 */
export function redactValue(value: string): string {
  if (!hasPlaceholder(value)) return "***";
  const rest = value.replace(PLACEHOLDER, "");
  return /^[A-Za-z-]*\s*$/.test(rest) ? value : "***";
}
