/** Log levels, from most to least verbose. */
export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

/**
 * The logger MCPStore writes to. Compatible with pino and console-like loggers that take `(fields, message)`.
 * Fields never carry secrets.
 */
export interface Logger {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/** Parses a level name (case-insensitive); unknown names give `fallback`. */
export function parseLogLevel(value: string | undefined, fallback: LogLevel): LogLevel {
  const level = value?.toLowerCase();
  return level !== undefined && level in LEVELS ? (level as LogLevel) : fallback;
}

/**
 * The default logger: one JSON line per entry on stderr at `level` and above. The level defaults to `LOG_LEVEL`, else
 * `warn`.
 */
export function createConsoleLogger(level: LogLevel = parseLogLevel(process.env.LOG_LEVEL, "warn")): Logger {
  const write = (entryLevel: Exclude<LogLevel, "silent">) => (fields: Record<string, unknown>, message: string) => {
    if (LEVELS[entryLevel] < LEVELS[level]) return;
    process.stderr.write(`${JSON.stringify({ level: entryLevel, time: new Date().toISOString(), msg: message, ...fields })}\n`);
  };
  return { debug: write("debug"), info: write("info"), warn: write("warn"), error: write("error") };
}
