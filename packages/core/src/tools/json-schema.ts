import { createConsoleLogger, type Logger } from "../logger.js";

/** A JSON Schema object, as tools declare their input and output. */
export type JsonSchema = { [keyword: string]: unknown };

/**
 * The most schema nodes that inlining a schema's `$ref`s may produce (10,000). Ten small definitions that each refer
 * twice to the one before already expand to a thousand; a server's forty take 2^41 nodes: past the budget a schema
 * is left unexpanded, and the argument validator checks only its object shape.
 */
export const MAX_EXPANDED_NODES = 10_000;

/** Options of {@link resolveLocalRefs} and {@link strictifySchema}. */
export interface ResolveLocalRefsOptions {
  /** The most nodes the expansion may produce; past them the schema is returned unexpanded. Default 10,000. */
  maxNodes?: number;
  /** Where a schema left unexpanded is reported (at `warn`). Default: the console logger at `LOG_LEVEL`. */
  logger?: Logger;
}

// Keywords whose value is one subschema, a list of subschemas, or a map of name → subschema. Every other keyword
// holds plain data (`enum`, `default`, `required`, ...) and is copied as it is, so that a property called `$ref` or
// `definitions` is never mistaken for the keyword.
const SCHEMA_KEYWORDS = new Set([
  "items",
  "additionalItems",
  "additionalProperties",
  "contains",
  "not",
  "if",
  "then",
  "else",
  "propertyNames",
  "unevaluatedItems",
  "unevaluatedProperties",
  "contentSchema",
]);
const SCHEMA_LIST_KEYWORDS = new Set(["allOf", "anyOf", "oneOf", "prefixItems"]);
const SCHEMA_MAP_KEYWORDS = new Set(["properties", "patternProperties", "dependentSchemas", "dependencies"]);
const DEFINITION_KEYWORDS = new Set(["$defs", "definitions"]);

const isObject = (value: unknown): value is JsonSchema => typeof value === "object" && value !== null && !Array.isArray(value);

/** Calls `visit` on every subschema of `schema` (not on `schema` itself), with the keyword it sits under. */
function forEachSubschema(schema: JsonSchema, visit: (subschema: unknown, keyword: string) => void): void {
  for (const [keyword, value] of Object.entries(schema)) {
    if (SCHEMA_KEYWORDS.has(keyword)) {
      if (Array.isArray(value)) for (const item of value) visit(item, keyword);
      else visit(value, keyword);
    } else if (SCHEMA_LIST_KEYWORDS.has(keyword) && Array.isArray(value)) {
      for (const item of value) visit(item, keyword);
    } else if ((SCHEMA_MAP_KEYWORDS.has(keyword) || DEFINITION_KEYWORDS.has(keyword)) && isObject(value)) {
      for (const item of Object.values(value)) visit(item, keyword);
    }
  }
}

/** Rebuilds `schema` with `map` applied to each subschema (and data keywords copied as they are). */
function mapSubschemas(schema: JsonSchema, map: (subschema: unknown) => unknown, skip: ReadonlySet<string> = new Set()): JsonSchema {
  const result: JsonSchema = {};
  for (const [keyword, value] of Object.entries(schema)) {
    if (skip.has(keyword)) continue;
    if (SCHEMA_KEYWORDS.has(keyword)) result[keyword] = Array.isArray(value) ? value.map(map) : map(value);
    else if (SCHEMA_LIST_KEYWORDS.has(keyword) && Array.isArray(value)) result[keyword] = value.map(map);
    else if ((SCHEMA_MAP_KEYWORDS.has(keyword) || DEFINITION_KEYWORDS.has(keyword)) && isObject(value)) {
      result[keyword] = Object.fromEntries(Object.entries(value).map(([name, item]) => [name, Array.isArray(item) ? item : map(item)]));
    } else result[keyword] = value;
  }
  return result;
}

/** How deep the expansion may nest: deeper, it would overflow the stack (a chain of 9,000 `$ref`s does). */
export const MAX_EXPANDED_DEPTH = 1_000;

/** True if `schema` has a `$ref` or definitions, or nests too deep to tell (then {@link expandLocalRefs} gives up). */
function hasReferences(schema: unknown, depth = 0): boolean {
  if (!isObject(schema)) return false;
  if (typeof schema.$ref === "string" || "$defs" in schema || "definitions" in schema || depth > MAX_EXPANDED_DEPTH) return true;
  let found = false;
  forEachSubschema(schema, (subschema) => {
    found ||= hasReferences(subschema, depth + 1);
  });
  return found;
}

/** The value at a JSON Pointer fragment (`#/$defs/Name`) of `root`, or `undefined`. */
function resolvePointer(root: unknown, fragment: string): unknown {
  if (fragment === "" || fragment === "/") return root;
  let node = root;
  for (const raw of fragment.slice(1).split("/")) {
    const segment = decodeURIComponent(raw).replace(/~1/g, "/").replace(/~0/g, "~");
    if (Array.isArray(node)) node = node[Number(segment)];
    else if (isObject(node)) node = node[segment];
    else return undefined;
  }
  return node;
}

const resolvedCache = new WeakMap<object, JsonSchema>();

/** Unwinds the expansion once it has produced more nodes than its budget. */
class NodeBudgetExceeded extends Error {}

/**
 * `schema` with its local `$ref`s inlined (see {@link resolveLocalRefs}), or `undefined` once that takes more than
 * `maxNodes` nodes (or nests 1,000 deep): the work stops there, so that its cost is bounded by the budget, never by
 * the expansion.
 */
export function expandLocalRefs(schema: JsonSchema, maxNodes: number = MAX_EXPANDED_NODES): JsonSchema | undefined {
  if (!isObject(schema) || !hasReferences(schema)) return schema;
  let nodes = 0;
  // The references being inlined on the current path (a set, not a copied list: a long chain stays linear).
  const expanding = new Set<string>(["#"]);
  const resolve = (node: unknown, depth: number): unknown => {
    if (!isObject(node)) return node;
    if (++nodes > maxNodes || depth > MAX_EXPANDED_DEPTH) throw new NodeBudgetExceeded();
    const { $ref: reference, ...siblings } = node;
    if (typeof reference !== "string") return mapSubschemas(node, (child) => resolve(child, depth + 1), DEFINITION_KEYWORDS);
    const rest = mapSubschemas(siblings, (child) => resolve(child, depth + 1), DEFINITION_KEYWORDS);
    if (!reference.startsWith("#")) return rest;
    const target = resolvePointer(schema, reference.slice(1));
    if (target === true) return rest;
    if (target === false) return { not: {}, ...rest };
    if (!isObject(target)) return rest;
    if (expanding.has(reference)) {
      const cut: JsonSchema = {};
      if (target.type !== undefined) cut.type = target.type;
      if (typeof target.description === "string") cut.description = target.description;
      return { ...cut, ...rest };
    }
    expanding.add(reference);
    const inlined = resolve(target, depth + 1) as JsonSchema;
    expanding.delete(reference);
    return { ...inlined, ...rest };
  };
  try {
    return resolve(schema, 0) as JsonSchema;
  } catch (error) {
    if (error instanceof NodeBudgetExceeded) return undefined;
    throw error;
  }
}

/**
 * A copy of `schema` with every local `$ref` (`#/$defs/...`, `#/definitions/...`, any `#/...` pointer, or `#`)
 * replaced by the schema it points to, and `$defs` / `definitions` dropped. Nothing is ever fetched: a reference
 * outside the document is removed (its sibling keywords stay), and so is one that points nowhere. A recursive reference
 * is cut where it would repeat: it becomes `{}` with the target's `type` and `description`. Keywords next to a `$ref`
 * win over the target's. A schema without references is returned as it is (same object), and so, with a warning, is
 * one whose expansion would pass `maxNodes` (10,000) nodes; results for frozen schemas (the catalogue's) are cached.
 */
export function resolveLocalRefs(schema: JsonSchema, options: ResolveLocalRefsOptions = {}): JsonSchema {
  const maxNodes = options.maxNodes ?? MAX_EXPANDED_NODES;
  // Cached only with the default budget, so that the cache holds one answer per schema.
  const cacheable = isObject(schema) && Object.isFrozen(schema) && maxNodes === MAX_EXPANDED_NODES;
  const cached = cacheable ? resolvedCache.get(schema) : undefined;
  if (cached) return cached;
  let resolved = expandLocalRefs(schema, maxNodes);
  if (resolved === undefined) {
    (options.logger ?? createConsoleLogger()).warn({ maxNodes }, `a tool schema's $refs expand to more than ${maxNodes} nodes (or ${MAX_EXPANDED_DEPTH} levels); it is passed on unexpanded`);
    resolved = schema;
  }
  // The unexpanded answer is cached too: a frozen schema is reported once, not at every listing.
  if (cacheable) resolvedCache.set(schema, resolved);
  return resolved;
}

const includesType = (schema: JsonSchema, type: string) => schema.type === type || (Array.isArray(schema.type) && schema.type.includes(type));

const strictCache = new WeakMap<object, JsonSchema>();

/**
 * A copy of a tool's input schema that strict tool-list validators accept (OpenAI's function calling rejects a whole
 * request over one of these): local references are inlined ({@link resolveLocalRefs}; past its node budget they stay,
 * with a warning); the root is an object with
 * `properties`; a schema with `properties` or `required` gets `type: "object"`, one with `items` gets
 * `type: "array"`; an array without `items` gets `items: {}` (any item); an object that lists `properties` and does
 * not say otherwise gets `additionalProperties: false`. Free-form objects (no `properties`) keep accepting any key,
 * and nothing else changes meaning. Results for frozen schemas (the catalogue's) are cached.
 */
export function strictifySchema(schema: JsonSchema, options: ResolveLocalRefsOptions = {}): JsonSchema {
  const cacheable = isObject(schema) && Object.isFrozen(schema) && (options.maxNodes ?? MAX_EXPANDED_NODES) === MAX_EXPANDED_NODES;
  const cached = cacheable ? strictCache.get(schema) : undefined;
  if (cached) return cached;
  const fix = (node: unknown): unknown => {
    if (!isObject(node)) return node;
    const fixed = mapSubschemas(node, fix);
    if (fixed.type === undefined) {
      if (isObject(fixed.properties) || Array.isArray(fixed.required)) fixed.type = "object";
      else if (fixed.items !== undefined || fixed.prefixItems !== undefined) fixed.type = "array";
    }
    if (includesType(fixed, "array") && fixed.items === undefined && fixed.prefixItems === undefined) fixed.items = {};
    if (includesType(fixed, "object") && isObject(fixed.properties) && fixed.additionalProperties === undefined) {
      fixed.additionalProperties = false;
    }
    return fixed;
  };
  const root = fix(resolveLocalRefs(isObject(schema) ? schema : {}, options)) as JsonSchema;
  if (root.type === undefined) root.type = "object";
  if (includesType(root, "object") && !isObject(root.properties)) {
    root.properties = {};
    root.additionalProperties ??= false;
  }
  if (cacheable) strictCache.set(schema, root);
  return root;
}
