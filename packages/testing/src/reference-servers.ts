import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

/** The reference MCP servers from npm that tests run (installed with this package: never downloaded at run time). */
export type ReferenceServer = "everything" | "filesystem";

const require = createRequire(import.meta.url);

/** The entry file of an installed reference server, from its package.json `bin`. */
export function referenceServerEntry(server: ReferenceServer): string {
  const manifestPath = require.resolve(`@modelcontextprotocol/server-${server}/package.json`);
  const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as { bin?: string | Record<string, string> };
  const bin = typeof manifest.bin === "string" ? manifest.bin : Object.values(manifest.bin ?? {})[0];
  if (!bin) throw new Error(`@modelcontextprotocol/server-${server} has no bin entry`);
  return join(dirname(manifestPath), bin);
}

/**
 * A stdio service config that runs a reference server with this Node binary: `everything` gets `stdio` as its argument,
 * `filesystem` the allowed directories given in `args`.
 */
export function referenceServerConfig(name: string, server: ReferenceServer, args: string[] = server === "everything" ? ["stdio"] : []) {
  return { name, command: process.execPath, args: [referenceServerEntry(server), ...args] };
}

/** A logger (MCPStore's `Logger` shape) that drops everything, so test output stays readable. */
export const quietLogger = { debug() {}, info() {}, warn() {}, error() {} };
