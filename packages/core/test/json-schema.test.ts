import { Ajv } from "ajv";
import { findStrictSchemaProblems } from "@mcpstore/testing";
import { describe, expect, it } from "vitest";
import { resolveLocalRefs, strictifySchema, type JsonSchema } from "../src/index.js";
import { captureLogger } from "./helpers.js";

/** `d0 ... d{depth}` where each definition refers twice to the one before: 2^(depth+1) nodes once inlined. */
const doubling = (depth: number): JsonSchema => {
  const $defs: Record<string, unknown> = { d0: { type: "string" } };
  for (let level = 1; level <= depth; level++) $defs[`d${level}`] = { anyOf: [{ $ref: `#/$defs/d${level - 1}` }, { $ref: `#/$defs/d${level - 1}` }] };
  return { type: "object", properties: { value: { $ref: `#/$defs/d${depth}` } }, $defs };
};

const deepFreeze = <T>(value: T): T => {
  if (value && typeof value === "object") {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
};

describe("resolveLocalRefs", () => {
  it("inlines $defs and definitions and drops them", () => {
    const schema = {
      type: "object",
      properties: { home: { $ref: "#/$defs/Address" }, work: { $ref: "#/definitions/Address" } },
      $defs: { Address: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } },
      definitions: { Address: { type: "object", properties: { street: { type: "string" } } } },
    };
    expect(resolveLocalRefs(schema)).toEqual({
      type: "object",
      properties: {
        home: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
        work: { type: "object", properties: { street: { type: "string" } } },
      },
    });
  });

  it("follows any local JSON Pointer, with escaped segments, and refs inside refs", () => {
    const schema = {
      type: "object",
      properties: {
        "a/b": { type: "string", minLength: 2 },
        copy: { $ref: "#/properties/a~1b" },
        list: { type: "array", items: { $ref: "#/$defs/Item" } },
      },
      $defs: { Item: { anyOf: [{ $ref: "#/$defs/Leaf" }, { type: "null" }] }, Leaf: { type: "integer" } },
    };
    const resolved = resolveLocalRefs(schema);
    expect(resolved.properties).toEqual({
      "a/b": { type: "string", minLength: 2 },
      copy: { type: "string", minLength: 2 },
      list: { type: "array", items: { anyOf: [{ type: "integer" }, { type: "null" }] } },
    });
  });

  it("lets keywords next to a $ref win over the target's", () => {
    const schema = { type: "object", properties: { when: { $ref: "#/$defs/Date", description: "Start day" } }, $defs: { Date: { type: "string", format: "date", description: "A date" } } };
    expect(resolveLocalRefs(schema).properties).toEqual({ when: { type: "string", format: "date", description: "Start day" } });
  });

  it("cuts recursion where it would repeat, keeping the target's type and description", () => {
    const schema = {
      type: "object",
      properties: { root: { $ref: "#/$defs/Node" } },
      $defs: { Node: { type: "object", description: "A tree node", properties: { children: { type: "array", items: { $ref: "#/$defs/Node" } } } } },
    };
    const resolved = resolveLocalRefs(schema);
    expect(resolved.properties).toEqual({
      root: { type: "object", description: "A tree node", properties: { children: { type: "array", items: { type: "object", description: "A tree node" } } } },
    });
    expect(JSON.stringify(resolveLocalRefs({ type: "object", properties: { self: { $ref: "#" } } }))).toBe('{"type":"object","properties":{"self":{"type":"object"}}}');
  });

  it("never fetches: a remote or dangling $ref is removed and its siblings stay", () => {
    const schema = {
      type: "object",
      properties: {
        remote: { $ref: "https://example.com/schemas/thing.json", description: "remote" },
        relative: { $ref: "other.json#/Thing" },
        dangling: { $ref: "#/$defs/Missing", type: "string" },
      },
    };
    expect(resolveLocalRefs(schema).properties).toEqual({ remote: { description: "remote" }, relative: {}, dangling: { type: "string" } });
  });

  it("leaves data keywords alone: a property named $ref or definitions, enum and default values", () => {
    const schema = {
      type: "object",
      properties: { $ref: { type: "string" }, definitions: { type: "string" }, mode: { $ref: "#/$defs/Mode" } },
      default: { $ref: "#/not/a/schema" },
      $defs: { Mode: { enum: [{ $ref: "literal" }] } },
    };
    expect(resolveLocalRefs(schema)).toEqual({
      type: "object",
      properties: { $ref: { type: "string" }, definitions: { type: "string" }, mode: { enum: [{ $ref: "literal" }] } },
      default: { $ref: "#/not/a/schema" },
    });
  });

  it("returns a schema without references as it is, and caches results for frozen schemas", () => {
    const plain = { type: "object", properties: { a: { type: "string" } } };
    expect(resolveLocalRefs(plain)).toBe(plain);
    const frozen = deepFreeze({ type: "object", properties: { a: { $ref: "#/$defs/A" } }, $defs: { A: { type: "string" } } });
    expect(resolveLocalRefs(frozen)).toBe(resolveLocalRefs(frozen));
  });

  it("passes a schema whose expansion would pass its node budget on unexpanded, with one warning", () => {
    const logger = captureLogger();
    const small = doubling(8);
    expect(JSON.stringify(resolveLocalRefs(small, { logger }))).not.toContain("$ref");
    expect(resolveLocalRefs(small, { logger, maxNodes: 100 })).toBe(small);
    const huge = deepFreeze(doubling(40));
    const started = performance.now();
    expect(resolveLocalRefs(huge, { logger })).toBe(huge);
    expect(resolveLocalRefs(huge, { logger })).toBe(huge);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(logger.entries.map((entry) => entry.message)).toEqual([
      "a tool schema's $refs expand to more than 100 nodes (or 1000 levels); it is passed on unexpanded",
      "a tool schema's $refs expand to more than 10000 nodes (or 1000 levels); it is passed on unexpanded",
    ]);
  });

  it("gives up on a chain of references too deep to inline, instead of overflowing the stack", () => {
    const $defs: Record<string, unknown> = { c0: { type: "string" } };
    for (let level = 1; level <= 9000; level++) $defs[`c${level}`] = { $ref: `#/$defs/c${level - 1}` };
    const chain = { type: "object", properties: { value: { $ref: "#/$defs/c9000" } }, $defs };
    const logger = captureLogger();
    expect(resolveLocalRefs(chain, { logger })).toBe(chain);
    expect(logger.entries).toHaveLength(1);
  });
});

describe("strictifySchema", () => {
  it("gives arrays items, objects a type and additionalProperties: false, the root properties", () => {
    const schema: JsonSchema = {
      properties: {
        tags: { type: "array", description: "Tags" },
        pair: { items: { type: "number" } },
        nested: { properties: { deep: { type: ["array", "null"] } }, required: ["deep"] },
        open: { type: "object", additionalProperties: { type: "string" }, properties: { fixed: { type: "string" } } },
      },
    };
    const strict = strictifySchema(schema);
    expect(strict).toEqual({
      type: "object",
      additionalProperties: false,
      properties: {
        tags: { type: "array", description: "Tags", items: {} },
        pair: { type: "array", items: { type: "number" } },
        nested: { type: "object", additionalProperties: false, properties: { deep: { type: ["array", "null"], items: {} } }, required: ["deep"] },
        open: { type: "object", additionalProperties: { type: "string" }, properties: { fixed: { type: "string" } } },
      },
    });
    expect(findStrictSchemaProblems(strict)).toEqual([]);
    expect(findStrictSchemaProblems(schema).length).toBeGreaterThan(0);
    expect(schema.type).toBeUndefined();
  });

  it("keeps free-form objects free, gives an argument-less root empty properties, and inlines references", () => {
    expect(strictifySchema({ type: "object" })).toEqual({ type: "object", properties: {}, additionalProperties: false });
    expect(strictifySchema({ type: "object", properties: { meta: { type: "object" } } }).properties).toEqual({ meta: { type: "object" } });
    const strict = strictifySchema({ type: "object", properties: { a: { $ref: "#/$defs/A" } }, $defs: { A: { type: "array" } } });
    expect(strict).toEqual({ type: "object", additionalProperties: false, properties: { a: { type: "array", items: {} } } });
  });

  it("leaves the references of a schema past the node budget, and still fixes the rest", () => {
    const logger = captureLogger();
    const strict = strictifySchema(doubling(40), { logger });
    expect(strict).toMatchObject({ type: "object", additionalProperties: false, $defs: { d0: { type: "string" } } });
    expect(logger.entries).toHaveLength(1);
  });

  it("produces schemas that still compile and accept the same valid arguments", () => {
    const schema = { type: "object", properties: { tags: { type: "array" }, n: { type: "integer" } }, required: ["n"] };
    const validate = new Ajv({ strict: false }).compile(strictifySchema(schema));
    expect(validate({ n: 1, tags: ["a", 2] })).toBe(true);
    expect(validate({ tags: [] })).toBe(false);
  });
});
