import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { configFilePath, inspectConfigFile } from "../src/index.js";

const directory = mkdtempSync(join(tmpdir(), "mcpstore-inspect-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

describe("inspectConfigFile", () => {
  it("reports services, problems and the effective config without starting anything", async () => {
    const file = join(directory, "mcp.json");
    writeFileSync(
      file,
      JSON.stringify({
        version: "1",
        mcpServers: {
          local: { command: "definitely-not-a-command-on-this-machine", env: { KEY: "literal-secret" } },
          remote: { url: "https://example.com/mcp", headers: { Authorization: "Bearer ${TOKEN}" } },
          broken: { url: "ftp://example.com" },
        },
        agents: { alice: { mcpServers: { notes: { url: "https://example.com/notes" } } } },
      }),
    );
    const inspection = await inspectConfigFile(file);
    expect(inspection.path).toBe(file);
    expect(inspection.exists).toBe(true);
    expect(inspection.services).toEqual([
      { name: "local", kind: "stdio" },
      { name: "remote", kind: "remote" },
      { agentId: "alice", name: "notes", kind: "remote" },
    ]);
    expect(inspection.problems).toEqual([expect.objectContaining({ serviceName: "broken", message: expect.stringContaining("mcpServers.broken.url") })]);
    expect(inspection.config.version).toBe("1");
    expect((inspection.config.mcpServers as Record<string, { env?: unknown; headers?: unknown }>).local!.env).toEqual({ KEY: "***" });
    expect((inspection.config.mcpServers as Record<string, { headers?: unknown }>).remote!.headers).toEqual({ Authorization: "Bearer ${TOKEN}" });
    expect(JSON.stringify(inspection)).not.toContain("literal-secret");
  });

  it("says when there is no file, and throws with line and column when it does not parse", async () => {
    const missing = await inspectConfigFile(join(directory, "none.json"));
    expect(missing).toMatchObject({ exists: false, services: [], problems: [] });
    const broken = join(directory, "broken.json");
    writeFileSync(broken, '{\n  "mcpServers": {,\n}');
    await expect(inspectConfigFile(broken)).rejects.toMatchObject({ code: "CONFIG_FILE_ERROR", details: { line: 2 } });
  });

  it("resolves the path like setupStore", () => {
    expect(configFilePath(join(directory, "x.json"))).toBe(join(directory, "x.json"));
    expect(configFilePath("relative.json")).toBe(join(process.cwd(), "relative.json"));
  });
});
