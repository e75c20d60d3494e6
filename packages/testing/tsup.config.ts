import { defineConfig } from "tsup";

export default defineConfig({
  entry: ["src/index.ts", "src/fixture-cli.ts", "src/misbehaving-fixture.ts"],
  format: ["esm"],
  dts: true,
  sourcemap: true,
  clean: true,
  target: "node20",
});
