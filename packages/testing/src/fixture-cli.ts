#!/usr/bin/env node
import { parseArgs } from "node:util";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { createFixtureServer } from "./fixture-server.js";
import { createHostileSchemaServer } from "./hostile-schema-fixture.js";
import { startHttpFixture } from "./http-fixture.js";

// `node fixture-cli.js` serves over stdio; `--http [--port N]` serves over HTTP on 127.0.0.1 and prints the URL;
// `--hostile-schemas` serves the hostile-schema server (see HOSTILE_SCHEMA_TOOLS) over stdio instead.
const { values } = parseArgs({
  options: {
    http: { type: "boolean", default: false },
    port: { type: "string", default: "0" },
    name: { type: "string" },
    tools: { type: "string", default: "0" },
    "hostile-schemas": { type: "boolean", default: false },
  },
});
const options = { name: values.name, extraTools: Number(values.tools) };

if (values["hostile-schemas"]) {
  await createHostileSchemaServer().connect(new StdioServerTransport());
} else if (values.http) {
  const fixture = await startHttpFixture({ ...options, port: Number(values.port) });
  process.stdout.write(`${fixture.url}\n`);
  const stop = () => void fixture.close().then(() => process.exit(0));
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
} else {
  await createFixtureServer(options).connect(new StdioServerTransport());
}
