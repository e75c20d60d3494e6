import { MCPStore } from "@mcpstore/core";
import { startHttpFixture, stdioFixtureConfig } from "@mcpstore/testing";

// One local (stdio) server and one remote (Streamable HTTP on 127.0.0.1) server, both fixtures from this repo.
const remote = await startHttpFixture();
await using store = await MCPStore.setupStore({ mcpConfigFile: false });
const context = store.forStore();

await context.addService([stdioFixtureConfig("local"), { name: "remote", url: remote.url, description: "fixture over HTTP" }]);
await Promise.all([context.waitService("local"), context.waitService("remote")]);

console.log("Services:");
for (const service of await context.listServices()) {
  console.log(`  ${service.name.padEnd(8)} ${service.state.padEnd(8)} ${service.transport.padEnd(16)} ${service.toolCount} tools`);
}

console.log("\nTools:");
for (const tool of await context.listTools()) console.log(`  ${tool.name.padEnd(20)} ${tool.description ?? ""}`);

const echoed = await context.callTool("local_echo", { text: "Hello from MCPStore" });
const added = await context.callTool("remote_add", { a: 20, b: 22 });
console.log("\nlocal_echo  →", JSON.stringify(echoed.content));
console.log("remote_add  →", JSON.stringify(added.structuredContent));

const health = await context.checkServices();
console.log(`\ncheckServices: success=${health.success}`, health.services.map((service) => `${service.name}=${service.state}`).join(" "));

await store.close();
await remote.close();
