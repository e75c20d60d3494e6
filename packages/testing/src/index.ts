import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

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
