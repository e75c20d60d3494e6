// Every test file runs with the loopback guard of @mcpstore/testing: a connect or DNS lookup off this machine fails
// the file (and is refused before anything is sent).
import { installLoopbackGuard } from "@mcpstore/testing";
import { afterAll, expect } from "vitest";

const violations = installLoopbackGuard();
afterAll(() => {
  expect(violations, "connections or DNS lookups off loopback").toEqual([]);
});
