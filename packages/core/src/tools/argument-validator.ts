/**
 * tools/: what is done with a tool's definition and its call, apart from any store state: argument validation
 * (here), JSON Schema fixes for strict providers, tool selection, result splitting and the OpenAI helpers. It imports
 * config/ and the root primitives; the helpers take a scope as a type only.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { ValidationError } from "../errors.js";
import type { ValidationIssue } from "../config/service-config.js";
import { expandLocalRefs, MAX_EXPANDED_DEPTH, MAX_EXPANDED_NODES } from "./json-schema.js";
import { linearRegExp } from "./linear-regexp.js";

// ajv-formats is CommonJS; its default export arrives wrapped under some loaders.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv | Ajv2020) => void;

/** Checks an arguments object; throws a {@link ValidationError} listing every problem with its path. */
export type ArgumentCheck = (args: Record<string, unknown>) => void;

function pathOf(error: ErrorObject): string {
  const base = error.instancePath
    .split("/")
    .slice(1)
    .map((segment) => segment.replace(/~1/g, "/").replace(/~0/g, "~"))
    .join(".");
  const missing = error.keyword === "required" ? String(error.params.missingProperty) : undefined;
  const extra = error.keyword === "additionalProperties" ? String(error.params.additionalProperty) : undefined;
  const leaf = missing ?? extra;
  return [base, leaf].filter(Boolean).join(".") || "(root)";
}

/**
 * Options of both Ajv instances. Patterns run on RE2 ({@link linearRegExp}), so that no argument can make a check
 * backtrack for seconds while the event loop, and every other call of the store, waits.
 */
const AJV_OPTIONS = { strict: false, allErrors: true, addUsedSchema: false, validateSchema: false, code: { regExp: linearRegExp } } as const;

/**
 * Compiles tool input schemas (draft-07 or 2020-12, by their `$schema`) into argument checks. A schema that does not
 * compile is reported once and checked only for being an object, so that a server's schema bug does not block calls.
 * So is one that cannot be checked in bounded time: `$ref`s that expand past {@link MAX_EXPANDED_NODES} nodes (a
 * check walks every path of the expansion before it rejects), or a pattern only a backtracking engine runs
 * (lookaround, backreference). Checking it natively would let one argument stall the store; refusing every call would
 * break a tool whose schema is valid JSON Schema; and the server checks its own input anyway.
 */
export class ArgumentValidator {
  private draft07: Ajv | undefined;
  private draft2020: Ajv2020 | undefined;
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(private readonly onSchemaError: (toolName: string, message: string) => void) {}

  private ajvFor(schema: Record<string, unknown>): Ajv | Ajv2020 {
    const dialect = typeof schema.$schema === "string" ? schema.$schema : "";
    if (dialect.includes("2020-12") || dialect.includes("2019-09")) {
      if (!this.draft2020) {
        this.draft2020 = new Ajv2020(AJV_OPTIONS);
        addFormats(this.draft2020);
      }
      return this.draft2020;
    }
    if (!this.draft07) {
      this.draft07 = new Ajv(AJV_OPTIONS);
      addFormats(this.draft07);
    }
    return this.draft07;
  }

  /** Compiles the check for one tool. */
  compile(toolName: string, schema: Record<string, unknown> | undefined): ArgumentCheck {
    let validate: ValidateFunction | undefined;
    if (schema && typeof schema === "object") {
      try {
        const { $schema: _dialect, $id: _id, ...rest } = schema;
        // Ajv keeps every function it compiles for good (removeSchema does not free them): one per distinct schema, so
        // a catalogue refresh does not compile the same schemas again.
        const ajv = this.ajvFor(schema);
        const key = `${ajv === this.draft2020 ? "2020" : "07"}:${JSON.stringify(rest)}`;
        validate = this.compiled.get(key);
        if (!validate) {
          if (expandLocalRefs(rest, MAX_EXPANDED_NODES) === undefined) {
            throw new Error(`its $refs expand to more than ${MAX_EXPANDED_NODES} nodes (or ${MAX_EXPANDED_DEPTH} levels), too many to check in bounded time`);
          }
          this.compiled.set(key, (validate = ajv.compile(rest)));
        }
      } catch (error) {
        this.onSchemaError(toolName, error instanceof Error ? error.message : String(error));
      }
    }
    return (args) => {
      if (!validate || validate(args)) return;
      const issues: ValidationIssue[] = (validate.errors ?? []).map((error) => ({ path: pathOf(error), message: error.message ?? error.keyword }));
      throw new ValidationError({
        message: `Invalid arguments for tool ${toolName}: ${issues.map((issue) => `${issue.path} ${issue.message}`).join("; ")}`,
        toolName,
        details: { issues },
      });
    };
  }
}

/** Throws unless `args` is a plain JSON object (`undefined` counts as `{}`); returns the object. */
export function assertArgumentsObject(toolName: string, args: unknown): Record<string, unknown> {
  if (args === undefined) return {};
  if (args === null || typeof args !== "object" || Array.isArray(args)) {
    const got = args === null ? "null" : Array.isArray(args) ? "an array" : typeof args;
    throw new ValidationError({
      message: `Arguments for tool ${toolName} must be a JSON object, got ${got}`,
      toolName,
      details: { issues: [{ path: "(root)", message: `must be an object, got ${got}` }] },
    });
  }
  return args as Record<string, unknown>;
}
