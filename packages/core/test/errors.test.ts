import { describe, expect, it } from "vitest";
import {
  ConnectionError,
  MCPStoreError,
  ServiceNotFoundError,
  ToolExecutionError,
  ToolNotFoundError,
  ValidationError,
} from "../src/index.js";

describe("errors", () => {
  it("carry a code, a cause and context, and extend MCPStoreError", () => {
    const cause = new Error("root");
    const error = new ToolNotFoundError({ message: "no tool x", toolName: "x", cause });
    expect(error).toBeInstanceOf(MCPStoreError);
    expect(error).toBeInstanceOf(Error);
    expect(error.code).toBe("TOOL_NOT_FOUND");
    expect(error.name).toBe("ToolNotFoundError");
    expect(error.cause).toBe(cause);
    expect(error.toolName).toBe("x");
  });

  it("isInstance tells the classes apart", () => {
    const validation = new ValidationError({ message: "bad" });
    expect(ValidationError.isInstance(validation)).toBe(true);
    expect(MCPStoreError.isInstance(validation)).toBe(true);
    expect(ConnectionError.isInstance(validation)).toBe(false);
    expect(ToolExecutionError.isInstance(new Error("plain"))).toBe(false);
    expect(MCPStoreError.isInstance(null)).toBe(false);
    expect(MCPStoreError.isInstance("VALIDATION_ERROR")).toBe(false);
  });

  it("isInstance survives a second copy of the package (marker, not prototype)", () => {
    // What another copy of the package would construct: same markers, unrelated prototype chain.
    const foreign = Object.assign(new Error("from another copy"), { code: "SERVICE_NOT_FOUND" });
    Object.defineProperty(foreign, Symbol.for("mcpstore.error"), { value: true });
    Object.defineProperty(foreign, Symbol.for("mcpstore.error.ServiceNotFoundError"), { value: true });
    expect(foreign instanceof ServiceNotFoundError).toBe(false);
    expect(ServiceNotFoundError.isInstance(foreign)).toBe(true);
    expect(MCPStoreError.isInstance(foreign)).toBe(true);
    expect(ToolNotFoundError.isInstance(foreign)).toBe(false);
  });
});
