import { mkdir, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { ConfigFileError, MCPStoreError, configFilePath, inspectConfigFile } from "@mcpstore/core";
import type { Command } from "commander";
import { EXIT } from "../exit-codes.js";
import type { GlobalOptions } from "../open-store.js";
import { Output } from "../output.js";

/** What `config init` writes: our format, nothing running yet. */
const STARTER_CONFIG = {
  version: "1",
  description: "MCPStore services: store services under mcpServers, agent services under agents.{agentId}.mcpServers",
  mcpServers: {},
  agents: {},
};

/** `config path`, `config show`, `config validate` and `config init`: they read the file and never start a service. */
export function registerConfigCommands(program: Command): void {
  const config = program.command("config").description("Find, show, check and create the config file (mcp.json)");

  config
    .command("path")
    .description("Print the config file's path (--config, else MCPSTORE_CONFIG, else ~/.mcpstore/mcp.json)")
    .action((_options: unknown, command: Command) => {
      const options: GlobalOptions = command.optsWithGlobals();
      const path = configFilePath(options.config);
      new Output(options.json === true).result({ path }, () => process.stdout.write(`${path}\n`));
    });

  config
    .command("show")
    .description("Print the effective config, secrets shown as their ${VAR} placeholders or ***")
    .action(async (_options: unknown, command: Command) => {
      const options: GlobalOptions = command.optsWithGlobals();
      const inspection = await inspectConfigFile(options.config);
      if (!inspection.exists) throw missing(inspection.path);
      process.stdout.write(`${JSON.stringify(inspection.config, null, 2)}\n`);
    });

  config
    .command("validate")
    .description("Check the config file without starting anything; exit 3 when an entry is invalid")
    .action(async (_options: unknown, command: Command) => {
      const options: GlobalOptions = command.optsWithGlobals();
      const output = new Output(options.json === true);
      const { path, exists, services, problems } = await inspectConfigFile(options.config);
      if (!exists) throw missing(path);
      output.result({ path, valid: problems.length === 0, services, problems }, () => {
        const counts = `${services.length} service${services.length === 1 ? "" : "s"}`;
        if (problems.length === 0) output.line(`${path}: valid, ${counts}`);
        else {
          output.line(`${path}: ${problems.length} problem${problems.length === 1 ? "" : "s"} (${counts} would load)`);
          for (const problem of problems) output.line(`  - ${problem.message}`);
        }
      });
      if (problems.length > 0) process.exitCode = EXIT.INVALID;
    });

  config
    .command("init")
    .description("Create a config file with no services yet")
    .option("--force", "replace an existing file")
    .action(async (_options: unknown, command: Command) => {
      const options: GlobalOptions & { force?: boolean } = command.optsWithGlobals();
      const path = configFilePath(options.config);
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      try {
        await writeFile(path, `${JSON.stringify(STARTER_CONFIG, null, 2)}\n`, { flag: options.force ? "w" : "wx", mode: 0o600 });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "EEXIST") {
          throw new MCPStoreError("ALREADY_EXISTS", { message: `${path} already exists (--force replaces it)`, details: { path } }, "AlreadyExistsError");
        }
        throw new ConfigFileError({ message: `Cannot write ${path}: ${(error as Error).message}`, cause: error, details: { path } });
      }
      new Output(options.json === true).result({ path, created: true }, () => process.stdout.write(`Created ${path}\n`));
    });
}

function missing(path: string): ConfigFileError {
  return new ConfigFileError({ message: `There is no config file at ${path} (mcpstore config init creates one)`, details: { path } });
}
