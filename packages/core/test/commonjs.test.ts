import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// A CommonJS app requires every public package as an installed dependency (a symlink in its node_modules, as a
// workspace or `npm link` makes): Node's require(esm) loads the ESM build through the `default` export condition.
// Needs the packages built (`pnpm build`).

const run = promisify(execFile);
const repository = join(dirname(fileURLToPath(import.meta.url)), "../../..");
/** Each public entry point, the package folder it is in, and an export it must have. */
const ENTRY_POINTS = [
  { specifier: "@mcpstore/core", folder: "packages/core", exported: "MCPStore" },
  { specifier: "@mcpstore/core/conformance", folder: "packages/core", exported: "runCacheDriverConformance" },
  { specifier: "@mcpstore/langchain", folder: "packages/langchain", exported: "toLangChainTools" },
  { specifier: "@mcpstore/vercel-ai", folder: "packages/vercel-ai", exported: "toAiSdkTools" },
  { specifier: "@mcpstore/plugin-logger", folder: "packages/plugin-logger", exported: "loggerPlugin" },
  { specifier: "@mcpstore/plugin-prometheus", folder: "packages/plugin-prometheus", exported: "prometheusPlugin" },
  { specifier: "@mcpstore/server", folder: "packages/server", exported: "createApp" },
];
// require() of an ES module works without a flag from Node 20.19 (and 22.12).
const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
const requireEsm = major > 22 || (major === 22 && minor >= 12) || (major === 20 && minor >= 19);

let app: string;
beforeAll(async () => {
  app = await mkdtemp(join(tmpdir(), "mcpstore-cjs-"));
  await mkdir(join(app, "node_modules", "@mcpstore"), { recursive: true });
  for (const folder of new Set(ENTRY_POINTS.map((entry) => entry.folder))) {
    await symlink(join(repository, folder), join(app, "node_modules", "@mcpstore", folder.split("/").pop()!), "dir");
  }
  await writeFile(join(app, "package.json"), JSON.stringify({ name: "cjs-app", private: true, type: "commonjs" }));
  await writeFile(
    join(app, "app.js"),
    `const found = {};
for (const specifier of JSON.parse(process.argv[2])) {
  try {
    found[specifier] = Object.keys(require(specifier));
  } catch (error) {
    found[specifier] = error.code + ": " + error.message.split("\\n")[0];
  }
}
process.stdout.write(JSON.stringify(found));
`,
  );
});
afterAll(() => rm(app, { recursive: true, force: true }));

describe.skipIf(!requireEsm)("require() from CommonJS", () => {
  it("loads every public package, with its exports", async () => {
    const unbuilt = ENTRY_POINTS.filter((entry) => !existsSync(join(repository, entry.folder, "dist", "index.js")));
    expect(unbuilt.map((entry) => entry.folder), "build the packages first (pnpm build)").toEqual([]);
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    const { stdout } = await run(process.execPath, [join(app, "app.js"), JSON.stringify(ENTRY_POINTS.map((entry) => entry.specifier))], { cwd: app, env });
    const found = JSON.parse(stdout) as Record<string, string[] | string>;
    for (const { specifier, exported } of ENTRY_POINTS) expect(found[specifier], specifier).toEqual(expect.arrayContaining([exported]));
  });
});
