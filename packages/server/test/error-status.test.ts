import * as core from "@mcpstore/core";
import { describe, expect, it } from "vitest";
import { ApiError, ERROR_STATUS, errorResponse } from "../src/index.js";

describe("the error code → HTTP status table", () => {
  it("has a status for every error code @mcpstore/core exports", () => {
    const codes = (Object.values(core) as unknown[])
      .map((value) => (typeof value === "function" ? (value as { code?: unknown }).code : undefined))
      .filter((code): code is string => typeof code === "string");
    expect(codes.length).toBeGreaterThanOrEqual(10);
    expect(codes.filter((code) => ERROR_STATUS[code] === undefined)).toEqual([]);
  });

  it("maps store errors to their status and keeps code, message and details", () => {
    expect(errorResponse(new core.ServiceNotFoundError({ message: "No service x", serviceName: "x" }))).toEqual({
      status: 404,
      body: { error: { code: "SERVICE_NOT_FOUND", message: "No service x" } },
      expected: true,
    });
    const validation = errorResponse(new core.ValidationError({ message: "bad", details: { issues: [{ path: "a", message: "b" }] } }));
    expect(validation.status).toBe(400);
    expect(validation.body.error.details).toEqual({ issues: [{ path: "a", message: "b" }] });
    expect(errorResponse(new core.TimeoutError({ message: "slow" })).status).toBe(504);
    expect(errorResponse(new core.ServiceUnavailableError({ message: "down" })).status).toBe(503);
    expect(errorResponse(new ApiError("UNAUTHORIZED", { message: "no" })).status).toBe(401);
  });

  it("says nothing about an unknown error", () => {
    const error = new TypeError("Cannot read properties of undefined (secret)");
    expect(errorResponse(error)).toEqual({ status: 500, body: { error: { code: "INTERNAL_ERROR", message: "Internal server error" } }, expected: false });
    expect(errorResponse(new core.MCPStoreError("SOMETHING_NEW", { message: "new" })).status).toBe(500);
  });
});
