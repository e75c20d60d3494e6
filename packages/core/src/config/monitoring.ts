import { z } from "zod";
import { ValidationError } from "../errors.js";

/** How the store watches its services. The seed's keys, in camelCase; every field is optional with a default. */
export interface MonitoringOptions {
  /** Seconds between health probes of each connected service. Default 30. */
  healthCheckSeconds?: number;
  /** Hours between full catalogue refreshes. Default 2. */
  toolsUpdateHours?: number;
  /**
   * The seed's reconnection interval, in seconds ("2分钟重连间隔": 120 in the production preset, 30 in development).
   * The first attempts after a failure back off from 0.5 s with full jitter up to this; once a service is
   * `unreachable` (after `maxReconnectAttempts`) it is tried again about every this many seconds (±10 % jitter), and
   * at once whenever one of its tools is called. Default 60.
   */
  reconnectionSeconds?: number;
  /** Hours after which what the store keeps about removed services is pruned. Default 24. */
  cleanupHours?: number;
  /** Refresh the catalogue every `toolsUpdateHours`. Default true. */
  enableToolsUpdate?: boolean;
  /** Reconnect services whose connection was lost. Default true. */
  enableReconnection?: boolean;
  /** Refresh a service's catalogue after each reconnection. Default true. */
  updateToolsOnReconnection?: boolean;
  /** Attempts of a reconnection cycle before a service is `unreachable`. Default 5. */
  maxReconnectAttempts?: number;
  /**
   * @deprecated Leave it out: an `unreachable` service is retried every `reconnectionSeconds`, as the seed says. When
   * given, it still sets a separate, exact (unjittered) interval between retries of an `unreachable` service, in
   * seconds, as it did before; the store logs a warning. No default.
   */
  unreachableRetrySeconds?: number;
  /** Seconds one health probe may take. Default 10. */
  probeTimeoutSeconds?: number;
  /** Health probes the whole store runs at once; more wait their turn. Default 8. */
  maxConcurrentProbes?: number;
  /** Seconds a service must stay connected before its reconnection attempt count starts again from zero. Default 60. */
  stableSeconds?: number;
}

/** {@link MonitoringOptions} with every default filled in (the deprecated `unreachableRetrySeconds` has none). */
export type ResolvedMonitoring = Required<Omit<MonitoringOptions, "unreachableRetrySeconds">> & Pick<MonitoringOptions, "unreachableRetrySeconds">;

/** The seed's recommended settings, exactly. */
export const monitoringPresets = {
  production: {
    healthCheckSeconds: 60,
    toolsUpdateHours: 4,
    reconnectionSeconds: 120,
    cleanupHours: 24,
    enableToolsUpdate: true,
    enableReconnection: true,
    updateToolsOnReconnection: true,
  },
  development: {
    healthCheckSeconds: 15,
    toolsUpdateHours: 1,
    reconnectionSeconds: 30,
    enableToolsUpdate: true,
    enableReconnection: true,
  },
} as const satisfies Record<string, MonitoringOptions>;

const positive = z.number().positive().finite();
const monitoringSchema = z.strictObject({
  healthCheckSeconds: positive.default(30),
  toolsUpdateHours: positive.default(2),
  reconnectionSeconds: positive.default(60),
  cleanupHours: positive.default(24),
  enableToolsUpdate: z.boolean().default(true),
  enableReconnection: z.boolean().default(true),
  updateToolsOnReconnection: z.boolean().default(true),
  maxReconnectAttempts: z.number().int().min(1).max(1000).default(5),
  unreachableRetrySeconds: positive.optional(),
  probeTimeoutSeconds: positive.default(10),
  maxConcurrentProbes: z.number().int().min(1).max(10_000).default(8),
  stableSeconds: positive.default(60),
});

/** Validates monitoring options and fills in defaults; a bad value is a {@link ValidationError} naming the key. */
export function resolveMonitoring(options: MonitoringOptions | undefined): ResolvedMonitoring {
  const result = monitoringSchema.safeParse(options ?? {});
  if (!result.success) {
    const issues = result.error.issues.map((issue) => ({ path: ["monitoring", ...issue.path.map(String)].join("."), message: issue.message }));
    throw new ValidationError({
      message: `Invalid monitoring options: ${issues.map((issue) => `${issue.path}: ${issue.message}`).join("; ")}`,
      details: { issues },
    });
  }
  return result.data;
}
