import { CATASTROPHIC_PATTERN, hostileSchemaFixtureConfig, LOOKAHEAD_PATTERN, stdioFixtureConfig } from "@mcpstore/testing";
import { describe, expect, it } from "vitest";
import { resolveLocalRefs, strictifySchema, toOpenAITools, ValidationError, type JsonSchema } from "../src/index.js";
import { OutputSchemaValidator } from "../src/connection/output-schema-validator.js";
import { ArgumentValidator } from "../src/tools/argument-validator.js";
import { captureLogger, storeWith, text } from "./helpers.js";

// Schemas from servers cannot stall the store: against the hostile-schema fixture over real stdio, nothing here may
// block the event loop. A backtracking engine takes seconds on ADVERSARIAL (about 2^28 steps) and hours on the 36 a's
// of the issue; the deep tool's $refs expand to 2^41 nodes. Every bound is a liveness bound with a wide margin.
const ADVERSARIAL = `${"a".repeat(28)}!`;

async function hostileStore() {
  const logger = captureLogger();
  const context = (await storeWith({ logger })).forStore();
  const started = performance.now();
  await context.addService([hostileSchemaFixtureConfig("hostile"), stdioFixtureConfig("plain")]);
  await Promise.all([context.waitService("hostile"), context.waitService("plain")]);
  const tools = await context.listTools({ service: "hostile" });
  return { context, logger, tools, addedMs: performance.now() - started };
}

/** Runs `call`, and resolves with how long it took (since `started`) and what it resolved or rejected with. */
async function timed<T>(call: () => Promise<T>, started = performance.now()): Promise<{ ms: number; value?: T; error?: unknown }> {
  try {
    const value = await call();
    return { ms: performance.now() - started, value };
  } catch (error) {
    return { ms: performance.now() - started, error };
  }
}

describe("schemas from servers", () => {
  it("lists a tool whose $refs expand exponentially, unexpanded and with a warning, without stalling", async () => {
    const { context, logger, tools, addedMs } = await hostileStore();
    expect(addedMs).toBeLessThan(15_000);
    const deep = tools.find((tool) => tool.name === "hostile_deep")!;
    expect(deep.inputSchema.$defs).toHaveProperty("d40");

    const started = performance.now();
    expect(resolveLocalRefs(deep.inputSchema as JsonSchema, { logger })).toBe(deep.inputSchema);
    expect(strictifySchema(deep.inputSchema as JsonSchema, { logger }).$defs).toHaveProperty("d40");
    const offered = await toOpenAITools(context, { services: ["hostile"], logger });
    expect(performance.now() - started).toBeLessThan(2000);
    expect(offered.find((tool) => tool.function.name === "hostile_deep")?.function.parameters).toEqual(deep.inputSchema);
    expect(logger.entries).toContainEqual(expect.objectContaining({ level: "warn", message: expect.stringMatching(/\$refs expand to more than 10000 nodes/) }));
  });

  it("checks arguments against the exponential schema in bounded time (only the object shape)", async () => {
    const { context, logger } = await hostileStore();
    // 42 is no string: a backtracking check of anyOf [d39, d39] ... tries all 2^40 paths before it says no.
    const call = await timed(() => context.callTool("hostile_deep", { value: 42 }));
    expect(call.ms).toBeLessThan(2000);
    expect(text(call.value!)).toBe("accepted deep");
    expect(logger.entries).toContainEqual(
      expect.objectContaining({ level: "warn", fields: expect.objectContaining({ tool: "hostile_deep", error: expect.stringMatching(/more than 10000 nodes/) }) }),
    );
  });

  it("rejects an adversarial string for a catastrophic pattern at once, and answers other calls meanwhile", async () => {
    const { context } = await hostileStore();
    // Warm up: the checks are compiled on first call, the connections are open.
    await context.callTool("hostile_match", { text: "aaa" });
    await context.callTool("hostile_echo", { text: "warm" });
    await context.callTool("plain_echo", { text: "warm" });

    // The echoes are sent first and the check then runs while they are in flight: all three are timed from one start.
    const started = performance.now();
    const [sameService, otherService, adversarial] = await Promise.all([
      timed(() => context.callTool("hostile_echo", { text: "same service" }), started),
      timed(() => context.callTool("plain_echo", { text: "other service" }), started),
      timed(() => context.callTool("hostile_match", { text: ADVERSARIAL }), started),
    ]);
    expect(text(sameService.value!)).toBe("same service");
    expect(text(otherService.value!)).toBe("other service");
    expect(sameService.ms, "echo on the same service").toBeLessThan(100);
    expect(otherService.ms, "echo on another service").toBeLessThan(100);
    expect(ValidationError.isInstance(adversarial.error), String(adversarial.error)).toBe(true);
    expect((adversarial.error as Error).message).toMatch(/Invalid arguments for tool hostile_match: text must match pattern/);
    expect(adversarial.ms).toBeLessThan(1000);
  });

  it("checks patternProperties keys in linear time too", async () => {
    const { context } = await hostileStore();
    const call = await timed(() => context.callTool("hostile_match", { text: "aaa", labels: { [ADVERSARIAL]: "not checked: the key does not match" } }));
    expect(call.ms).toBeLessThan(1000);
    expect(text(call.value!)).toBe("accepted match");
  });

  it("leaves a tool with a JavaScript-only pattern to the server, with a warning naming the tool and the pattern", async () => {
    const { context, logger } = await hostileStore();
    // "nodigit" fails the lookahead; the schema counts as one that does not compile, so the call goes through.
    expect(text(await context.callTool("hostile_lookahead", { word: "nodigit" }))).toBe("accepted lookahead");
    expect(logger.entries).toContainEqual(
      expect.objectContaining({ level: "warn", fields: { tool: "hostile_lookahead", error: expect.stringContaining(`"${LOOKAHEAD_PATTERN}"`) } }),
    );
  });
});

describe("the linear-time pattern checks", () => {
  const compile = (schema: Record<string, unknown>) => {
    const problems: Array<{ tool: string; message: string }> = [];
    const validator = new ArgumentValidator((tool, message) => problems.push({ tool, message }));
    return { check: validator.compile("t", schema), problems };
  };

  it("keeps each pattern of a schema apart and matches as JSON Schema does (unanchored, Unicode)", () => {
    const { check, problems } = compile({
      type: "object",
      properties: { code: { type: "string", pattern: "^[A-Z]{3}$" }, word: { type: "string", pattern: "\\d" }, name: { type: "string", pattern: "^\\p{Lu}" } },
    });
    expect(() => check({ code: "ABC", word: "x1y", name: "Élodie" })).not.toThrow();
    expect(() => check({ code: "abc" })).toThrow(/code must match pattern "\^\[A-Z\]\{3\}\$"/);
    expect(() => check({ word: "none" })).toThrow(/word must match pattern/);
    expect(() => check({ name: "élodie" })).toThrow(/name must match pattern/);
    expect(problems).toEqual([]);
  });

  it("reports a pattern that is no regular expression at all as a schema that does not compile", () => {
    const { check, problems } = compile({ type: "object", properties: { text: { type: "string", pattern: "([" } } });
    expect(problems).toEqual([expect.objectContaining({ tool: "t", message: expect.stringMatching(/Invalid regular expression/) })]);
    expect(() => check({ text: "anything" })).not.toThrow();
  });

  it("checks output schemas with the same engine", () => {
    const validate = new OutputSchemaValidator().getValidator<{ text: string }>({ type: "object", properties: { text: { type: "string", pattern: CATASTROPHIC_PATTERN } } });
    const started = performance.now();
    expect(validate({ text: ADVERSARIAL }).valid).toBe(false);
    expect(validate({ text: "aaaa" }).valid).toBe(true);
    expect(performance.now() - started).toBeLessThan(500);
  });
});
