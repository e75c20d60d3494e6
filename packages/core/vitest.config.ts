import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
    setupFiles: ["test/loopback-guard.setup.ts"],
    // A store set up without `mcpConfigFile` would use ~/.mcpstore/mcp.json; in tests that must fail loudly instead.
    env: { MCPSTORE_CONFIG: "/dev/null/tests-must-pass-mcpConfigFile" },
  },
});
