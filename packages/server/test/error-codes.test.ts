import * as core from "@mcpstore/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ERROR_STATUS, errorResponse } from "../src/index.js";
import { ALICE_TOKEN, startTestApi, type TestApi } from "./helpers.js";

// Every error class @mcpstore/core exports has a status in the table, found from the classes themselves (not from a
// list kept by hand); and the not-found errors of prompts and resources are 404s over a real socket.

/** The error classes the root of @mcpstore/core exports: `MCPStoreError` subclasses with a static `code`. */
function exportedErrorClasses(): Array<{ name: string; code: string; create: (message: string) => core.MCPStoreError }> {
  return Object.entries(core).flatMap(([name, value]) => {
    if (typeof value !== "function" || !(value.prototype instanceof core.MCPStoreError)) return [];
    const code = (value as { code?: unknown }).code;
    if (typeof code !== "string") return [];
    const ErrorClass = value as unknown as new (options: core.MCPStoreErrorOptions & Record<string, unknown>) => core.MCPStoreError;
    // Enough options for every constructor (the plugin errors name their plugin and reason, CacheError its driver).
    const create = (message: string) => new ErrorClass({ message, pluginName: "p", reason: "r", details: { driver: "memory", operation: "get" } });
    return [{ name, code, create }];
  });
}

describe("the status table against the error classes of @mcpstore/core", () => {
  const classes = exportedErrorClasses();

  it("finds every error class, the prompt and resource ones included", () => {
    expect(classes.length).toBeGreaterThanOrEqual(14);
    expect(classes.map((entry) => entry.name)).toEqual(expect.arrayContaining(["PromptNotFoundError", "ResourceNotFoundError", "ValidationError", "CacheError"]));
  });

  it("has a status for each one's code, and errorResponse answers with it", () => {
    expect(classes.filter((entry) => ERROR_STATUS[entry.code] === undefined).map((entry) => `${entry.name} (${entry.code})`)).toEqual([]);
    for (const entry of classes) {
      const error = entry.create(`a ${entry.name}`);
      expect(error.code, entry.name).toBe(entry.code);
      expect(errorResponse(error).status, entry.name).toBe(ERROR_STATUS[entry.code]);
      expect(errorResponse(error).expected, entry.name).toBe(true);
    }
  });

  it("maps the not-found errors of prompts and resources to 404", () => {
    expect(ERROR_STATUS.PROMPT_NOT_FOUND).toBe(404);
    expect(ERROR_STATUS.RESOURCE_NOT_FOUND).toBe(404);
  });
});

describe("not-found prompts and resources over HTTP", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(async () => {
    await api?.close();
  });

  it("POST /for_agent/{id}/get_prompt with an unknown name answers 404 PROMPT_NOT_FOUND", async () => {
    const response = await api.send("/for_agent/alice/get_prompt", { token: ALICE_TOKEN, body: { name: "no_such_prompt" } });
    expect(response.status, response.text).toBe(404);
    expect(response.json).toEqual({ error: { code: "PROMPT_NOT_FOUND", message: 'No prompt "no_such_prompt" in agent "alice"' } });
  });

  it("GET /for_agent/{id}/read_resource of a URI no service lists answers 404 RESOURCE_NOT_FOUND", async () => {
    const uri = "fixture://no-such-resource";
    const response = await api.send(`/for_agent/alice/read_resource?uri=${encodeURIComponent(uri)}`, { token: ALICE_TOKEN });
    expect(response.status, response.text).toBe(404);
    expect(response.json).toMatchObject({ error: { code: "RESOURCE_NOT_FOUND", details: { uri } } });
  });
});
