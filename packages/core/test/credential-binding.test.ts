import { startHttpFixture } from "@mcpstore/testing";
import { describe, expect, it } from "vitest";
import { ForbiddenError } from "../src/index.js";
import { cleanups, storeWith } from "./helpers.js";

// The rule lives in core: who asks is an option of updateService / patchService (the REST server passes its token's role).

describe("credentials bound to their destination", () => {
  it("an agent may not move an admin's credentials; replacing them, or an admin, may", async () => {
    const home = await startHttpFixture();
    const elsewhere = await startHttpFixture();
    cleanups.push(() => home.close(), () => elsewhere.close());
    const context = (await storeWith({ agentPolicy: { allowEgress: ["127.0.0.1:*"] } })).forAgent("alice");
    await context.addService({ name: "gh", url: home.url, headers: { Authorization: "Bearer sk-admin" } });
    await context.waitService("gh", { timeoutMs: 15_000 });
    const moved = context.patchService("gh", { url: elsewhere.url }, { principal: "agent" });
    await expect(moved).rejects.toSatisfy(ForbiddenError.isInstance);
    await expect(moved).rejects.toMatchObject({ code: "FORBIDDEN", details: { carried: ["headers.Authorization"] } });
    await expect(context.updateService("gh", { url: home.url, transport: "sse", headers: { Authorization: "Bearer sk-admin" } }, { principal: "agent" })).rejects.toSatisfy(
      ForbiddenError.isInstance,
    );
    expect((await context.getService("gh")).config.url).toBe(home.url);
    // Same destination: other fields may change, the credentials stay where they are.
    await context.patchService("gh", { description: "mine now?" }, { principal: "agent" });
    await context.patchService("gh", { url: elsewhere.url, headers: { Authorization: "Bearer alice" } }, { principal: "agent" });
    await context.patchService("gh", { url: home.url }, { principal: "agent" });
    await context.patchService("gh", { url: elsewhere.url });
  });

  it("an agent may not make the host run a command nor bring in a placeholder of the host's environment", async () => {
    const home = await startHttpFixture();
    cleanups.push(() => home.close());
    const store = await storeWith({ agentPolicy: { allowEgress: ["127.0.0.1:*"] } });
    const alice = store.forAgent("alice");
    const refusal = (promise: Promise<unknown>) => promise.then(() => undefined, (error: unknown) => (error as ForbiddenError).details?.rule);
    expect(await refusal(alice.addService({ name: "sh", command: "sh", args: ["-c", "id"] }, { principal: "agent" }))).toBe("agent:command");
    expect(await refusal(alice.addService({ name: "x", url: home.url, headers: { Authorization: "Bearer ${MCPSTORE_ADMIN_TOKEN}" } }, { principal: "agent" }))).toBe("agent:placeholder");
    expect(await refusal(alice.addService({ name: "y", url: `${home.url}?k=\${HOME}` }, { principal: "agent" }))).toBe("agent:placeholder");
    expect(await alice.listServices()).toEqual([]);
    // An admin's placeholder may stay where it is while the agent changes something harmless; not be joined by another.
    await alice.addService({ name: "gh", url: home.url, headers: { Authorization: "Bearer ${NO_SUCH_VARIABLE_HERE}" } });
    await alice.patchService("gh", { description: "fine" }, { principal: "agent" });
    expect(await refusal(alice.patchService("gh", { headers: { Authorization: "Bearer ${NO_SUCH_VARIABLE_HERE}", X: "${PATH}" } }, { principal: "agent" }))).toBe("agent:placeholder");
    // A local service of the admin's: any change by an agent changes what runs.
    await alice.addService({ name: "local", command: process.execPath, args: ["-e", "setTimeout(() => {}, 1)"] });
    expect(await refusal(alice.patchService("local", { env: { NODE_OPTIONS: "--require /tmp/x.js" } }, { principal: "agent" }))).toBe("agent:command");
    expect((await alice.getService("local")).config.env).toBeUndefined();
  });
});
