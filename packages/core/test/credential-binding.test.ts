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
    const context = (await storeWith()).forAgent("alice");
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
});
