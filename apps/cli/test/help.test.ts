import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "./run-cli.js";

// The help of a subcommand lists the options every command shares, which go before or after it.

const directory = mkdtempSync(join(tmpdir(), "mcpstore-cli-help-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

describe("subcommand help", () => {
  it.each(["run api", "add", "config validate"])("%s --help lists the global options", async (command) => {
    const help = await runCli([...command.split(" "), "--help"], { cwd: directory });
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Global Options:[\s\S]*-c, --config <path>[\s\S]*--json/);
  });

  it("run api --help still lists its own options first", async () => {
    const help = await runCli(["run", "api", "--help"], { cwd: directory });
    expect(help.stdout.indexOf("--port")).toBeGreaterThan(-1);
    expect(help.stdout.indexOf("--port")).toBeLessThan(help.stdout.indexOf("Global Options:"));
  });
});
