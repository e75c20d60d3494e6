#!/usr/bin/env node
import { parseArgs } from "node:util";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { createFixtureServer } from "./fixture-server.js";
import { startHttpFixture } from "./http-fixture.js";

// `node fixture-cli.js` serves over stdio; `--http [--port N]` serves over HTTP on 127.0.0.1 and prints the URL.
const { values } = parseArgs({
  options: {
    http: { type: "boolean", default: false },
    port: { type: "string", default: "0" },
    name: { type: "string" },
    tools: { type: "string", default: "0" },
  },
});
const options = { name: values.name, extraTools: Number(values.tools) };

if (values.http) {
  const fixture = await startHttpFixture({ ...options, port: Number(values.port) });
  process.stdout.write(`${fixture.url}\n`);
  const stop = () => void fixture.close().then(() => process.exit(0));
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
} else {
  await createFixtureServer(options).connect(new StdioServerTransport());
}
