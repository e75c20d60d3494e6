import { defineConfig } from "tsup";

export default defineConfig({
  entry: ["src/index.ts", "src/plugin-overhead.ts", "src/framework-tools.ts", "src/lifecycle.ts", "src/rest-api.ts", "src/memory.ts", "src/redis.ts", "src/redis-placement.ts"],
  format: ["esm"],
  sourcemap: true,
  clean: true,
  target: "node20",
});
