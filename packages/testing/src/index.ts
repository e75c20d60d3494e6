import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { MisbehavingMode } from "./misbehaving-modes.js";

export { createFixtureServer, FIXTURE_PNG_BASE64, type FixtureServerOptions } from "./fixture-server.js";
export { startHttpFixture, type HttpFixture, type HttpFixtureOptions } from "./http-fixture.js";

/** Absolute path of the built fixture CLI (`node <path>` serves over stdio; `--http` over HTTP). */
export const fixtureCliPath: string = (() => {
  const here = fileURLToPath(import.meta.url);
  // Loaded from source (this package's own tests), the runnable CLI is still the built one.
  return here.endsWith(".ts") ? join(dirname(here), "../dist/fixture-cli.js") : join(dirname(here), "fixture-cli.js");
})();

/** A stdio service config that starts the fixture server with this Node binary. */
export function stdioFixtureConfig(
  name: string,
  options: { extraTools?: number; serverName?: string; env?: Record<string, string>; working_dir?: string } = {},
): { name: string; command: string; args: string[]; env?: Record<string, string>; working_dir?: string } {
  const args = [fixtureCliPath];
  if (options.extraTools) args.push("--tools", String(options.extraTools));
  if (options.serverName) args.push("--name", options.serverName);
  return {
    name,
    command: process.execPath,
    args,
    ...(options.env ? { env: options.env } : {}),
    ...(options.working_dir ? { working_dir: options.working_dir } : {}),
  };
}

export { MISBEHAVING_MODES, type MisbehavingMode } from "./misbehaving-modes.js";
export { childProcessesOf, listProcesses, processesMatching, type ProcessEntry } from "./process-table.js";
export { startFaultProxy, type FaultProxy, type FaultProxyOptions } from "./http-fault-proxy.js";

/** Absolute path of the built misbehaving fixture CLI (`node <path> --mode <mode>`). */
export const misbehavingFixturePath: string = join(dirname(fixtureCliPath), "misbehaving-fixture.js");

/** Options of {@link misbehavingFixtureConfig}. */
export interface MisbehavingFixtureOptions {
  /** How the server misbehaves. Default `"normal"`. */
  mode?: MisbehavingMode;
  /** For `wrapper`: the mode of the real server it forks. Default `"normal"`. */
  innerMode?: MisbehavingMode;
  /** Server name, also on the command line: a marker to find the processes by (see {@link processesMatching}). */
  marker?: string;
  /** For `flap`: milliseconds each run lasts. Default 500. */
  upMs?: number;
  /** For `goes-silent`: milliseconds before it stops answering. Default 300. */
  silentAfterMs?: number;
  /** For `garbage-stdout` and `write_stdout_garbage`: bytes of the huge line. Default 1,000,000. */
  hugeLineBytes?: number;
  /** For `stderr-flood`: bytes written to stderr before serving. Default 1 MiB. */
  floodBytes?: number;
  /** Keep running after stdin closes. */
  linger?: boolean;
  /** For `slow-exit` (default 1500) and `lock-holder` (default 0): milliseconds from SIGTERM or stdin's end to exit. */
  exitDelayMs?: number;
  /** For `lock-holder` (required there): path of the lock file it creates, holding its pid. */
  lockFile?: string;
}

/** A stdio service config that starts the misbehaving fixture with this Node binary. */
export function misbehavingFixtureConfig(name: string, options: MisbehavingFixtureOptions = {}): { name: string; command: string; args: string[] } {
  const args = [misbehavingFixturePath, "--mode", options.mode ?? "normal"];
  if (options.innerMode) args.push("--inner-mode", options.innerMode);
  if (options.marker) args.push("--name", options.marker);
  if (options.upMs !== undefined) args.push("--up-ms", String(options.upMs));
  if (options.silentAfterMs !== undefined) args.push("--silent-after-ms", String(options.silentAfterMs));
  if (options.hugeLineBytes !== undefined) args.push("--huge-line-bytes", String(options.hugeLineBytes));
  if (options.floodBytes !== undefined) args.push("--flood-bytes", String(options.floodBytes));
  if (options.linger) args.push("--linger");
  if (options.exitDelayMs !== undefined) args.push("--exit-delay-ms", String(options.exitDelayMs));
  if (options.lockFile !== undefined) args.push("--lock-file", options.lockFile);
  else if (options.mode === "lock-holder") throw new TypeError("misbehavingFixtureConfig: mode lock-holder needs a lockFile");
  return { name, command: process.execPath, args };
}
export { findStrictSchemaProblems } from "./strict-schema-problems.js";
export { AWKWARD_SCHEMA_TOOLS, startAwkwardSchemaFixture, type AwkwardSchemaFixture } from "./awkward-schema-fixture.js";
export {
  CATASTROPHIC_PATTERN,
  createHostileSchemaServer,
  HOSTILE_SCHEMA_DEPTH,
  HOSTILE_SCHEMA_TOOLS,
  LOOKAHEAD_PATTERN,
} from "./hostile-schema-fixture.js";

/** A stdio service config that starts the hostile-schema server (see {@link HOSTILE_SCHEMA_TOOLS}) with this Node binary. */
export function hostileSchemaFixtureConfig(name: string): { name: string; command: string; args: string[] } {
  return { name, command: process.execPath, args: [fixtureCliPath, "--hostile-schemas"] };
}
export { MINIMAL_SHELL_SERVER_SCRIPT, minimalShellServerConfig } from "./minimal-shell-server.js";
export { quietLogger, referenceServerConfig, referenceServerEntry, type ReferenceServer } from "./reference-servers.js";
export { REDIS_SERVER_BIN, startRedisServer, type RedisServer } from "./redis-server.js";
export { installLoopbackGuard, type LoopbackViolation } from "./loopback-guard.js";
export { NODE22_TOOL_DIR, node22Binary } from "./node22.js";
