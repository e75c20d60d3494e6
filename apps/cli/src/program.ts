import { createRequire } from "node:module";
import { Command, CommanderError } from "commander";
import { registerConfigCommands } from "./commands/config-commands.js";
import { registerRunCommand } from "./commands/run-api.js";
import { registerServiceCommands } from "./commands/service-commands.js";
import { EXIT, exitCodeOf } from "./exit-codes.js";
import { Output } from "./output.js";

const version = (createRequire(import.meta.url)("../package.json") as { version: string }).version;

/** The `mcpstore` command tree. */
export function createProgram(): Command {
  const program = new Command("mcpstore")
    .description("MCPStore: run the REST API, manage the services of mcp.json, list and call their tools")
    .version(version)
    .option("-c, --config <path>", "the config file (default: MCPSTORE_CONFIG, else ~/.mcpstore/mcp.json)")
    .option("--json", "print JSON for scripts instead of tables")
    // Before the subcommands are added, which inherit it: `run api --help` lists --config and --json too.
    .configureHelp({ showGlobalOptions: true })
    .showHelpAfterError()
    .exitOverride();
  registerRunCommand(program);
  registerServiceCommands(program);
  registerConfigCommands(program);
  program.addHelpText(
    "after",
    `
Exit status: ${EXIT.OK} ok, ${EXIT.INTERNAL} unexpected error, ${EXIT.USAGE} bad usage, ${EXIT.INVALID} invalid input or config, ${EXIT.NOT_FOUND} no such service or tool,
${EXIT.CONFLICT} already exists, ${EXIT.UNAVAILABLE} unreachable, timed out or unhealthy, ${EXIT.TOOL_ERROR} the tool failed, ${EXIT.CONFIG_FILE} config file unreadable.
Environment: MCPSTORE_CONFIG, LOG_LEVEL (debug|info|warn|error|silent), and a .env file in the current directory;
the .env beside the config file fills \${VAR} placeholders too (the real environment wins over both).`,
  );
  return program;
}

/** Runs the command line; resolves with the exit status. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = createProgram();
  try {
    await program.parseAsync(argv as string[]);
    return typeof process.exitCode === "number" ? process.exitCode : EXIT.OK;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has printed the message (or the help, or the version) already.
      return error.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    new Output(program.opts().json === true).error(error);
    if (process.env.LOG_LEVEL?.toLowerCase() === "debug" && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
    return exitCodeOf(error);
  }
}
