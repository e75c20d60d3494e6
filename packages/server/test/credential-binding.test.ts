import { startHttpFixture, type HttpFixture } from "@mcpstore/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, ALICE_TOKEN, startTestApi, type TestApi } from "./helpers.js";

// The exploit of the security issue: alice's service `gh` was set up by the admin with a bearer token alice sees only as
// `***`; moving it elsewhere must not take the token along. Real HTTP servers on 127.0.0.1 on both ends.

const SECRET = "Bearer sk-live-0123456789abcdef";
let api: TestApi;
let home: HttpFixture;
let elsewhere: HttpFixture;

beforeAll(async () => {
  home = await startHttpFixture();
  elsewhere = await startHttpFixture();
  api = await startTestApi({ services: false });
});

afterAll(async () => {
  await api?.close();
  await elsewhere?.close();
  await home?.close();
});

const alice = (path: string, method: string, body: unknown) => api.send(`/for_agent/alice${path}`, { token: ALICE_TOKEN, method, body });
const seenElsewhere = () => elsewhere.receivedHeaders.filter((headers) => JSON.stringify(headers).includes("sk-live")).length;

async function adminSetsUpGh(name: string): Promise<void> {
  const added = await api.send("/for_agent/alice/add_service", {
    token: ADMIN_TOKEN,
    method: "POST",
    body: { name, url: home.url, transport: "streamable-http", headers: { Authorization: SECRET } },
  });
  expect(added.status, added.text).toBe(200);
  await api.store.forAgent("alice").waitService(name, { timeoutMs: 15_000 });
}

describe("credentials stay where the admin put them", () => {
  it("refuses an agent's patch of the url (403), changes nothing, and the other server receives nothing", async () => {
    await adminSetsUpGh("gh");
    const response = await alice("/patch_service/gh", "PATCH", { url: elsewhere.url });
    expect(response.status, response.text).toBe(403);
    expect(response.json).toMatchObject({ error: { code: "FORBIDDEN" } });
    expect(response.text).not.toContain("sk-live");
    const info = await api.store.forAgent("alice").getService("gh");
    expect(info.config.url).toBe(home.url);
    expect(info.state).toBe("healthy");
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(seenElsewhere()).toBe(0);
  });

  it("refuses the variants: a transport change, and an update that keeps the header", async () => {
    await adminSetsUpGh("gh2");
    expect((await alice("/patch_service/gh2", "PATCH", { transport: "sse" })).status).toBe(403);
    const kept = await alice("/update_service/gh2", "PUT", { url: elsewhere.url, transport: "streamable-http", headers: { Authorization: SECRET } });
    // The agent could only send a value it knows; re-sending the same one is still a move of the owner's credential.
    expect(kept.status, kept.text).toBe(403);
    expect((await api.store.forAgent("alice").getService("gh2")).config.transport).toBe("streamable-http");
    expect(seenElsewhere()).toBe(0);
  });

  it("lets the move through when the same request replaces or drops every header, and lets the admin do anything", async () => {
    await adminSetsUpGh("gh3");
    const replaced = await alice("/patch_service/gh3", "PATCH", { url: elsewhere.url, headers: { Authorization: "Bearer alice-own-token" } });
    expect(replaced.status, replaced.text).toBe(200);
    await api.store.forAgent("alice").waitService("gh3", { timeoutMs: 15_000 });
    expect(seenElsewhere()).toBe(0);
    expect(elsewhere.receivedHeaders.some((headers) => headers.authorization === "Bearer alice-own-token")).toBe(true);
    // Now the credentials are alice's own: she may move them again.
    expect((await alice("/patch_service/gh3", "PATCH", { url: home.url })).status).toBe(200);

    await adminSetsUpGh("gh4");
    const dropped = await alice("/update_service/gh4", "PUT", { url: elsewhere.url, transport: "streamable-http" });
    expect(dropped.status, dropped.text).toBe(200);

    await adminSetsUpGh("gh5");
    const byAdmin = await api.send("/for_agent/alice/patch_service/gh5", { token: ADMIN_TOKEN, method: "PATCH", body: { url: elsewhere.url } });
    expect(byAdmin.status, byAdmin.text).toBe(200);
  });
});
