import type { JsonSchemaType, JsonSchemaValidator, jsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/types.js";
import { Ajv, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";
import { createConsoleLogger, type Logger } from "../logger.js";
import { expandLocalRefs, MAX_EXPANDED_DEPTH, MAX_EXPANDED_NODES } from "../tools/json-schema.js";
import { linearRegExp, UnsupportedPatternError } from "../tools/linear-regexp.js";

const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv) => void;

/** The check of an output schema that cannot be checked in bounded time: none. */
const UNCHECKED = Object.assign(() => true, { errors: null }) as unknown as ValidateFunction;

/**
 * The SDK client's check of `structuredContent` against a tool's output schema, shared by every connection: one Ajv
 * (configured as the SDK's default), a schema compiled only when a result is first checked against it, and once per
 * distinct schema. The SDK's default builds an Ajv per client (24 KB) and compiles every output schema at each
 * `listTools` (about 30 KB each), which Ajv then keeps for good. Patterns run on RE2 ({@link linearRegExp}), as the
 * argument checks' do; a schema that cannot be checked in bounded time (`$ref`s past {@link MAX_EXPANDED_NODES}
 * nodes, a pattern only a backtracking engine runs) is reported once and its results pass unchecked, as arguments
 * do (only their object shape is checked, which the SDK does for results itself).
 */
export class OutputSchemaValidator implements jsonSchemaValidator {
  private ajv: Ajv | undefined;
  private readonly compiled = new Map<string, ValidateFunction>();

  /** @param logger Where an output schema left unchecked is reported (at `warn`). Default: the console logger. */
  constructor(private readonly logger?: Logger) {}

  getValidator<T>(schema: JsonSchemaType): JsonSchemaValidator<T> {
    let validate: ValidateFunction | undefined;
    return (input) => {
      validate ??= this.compile(schema);
      if (validate(input)) return { valid: true, data: input as T, errorMessage: undefined };
      return { valid: false, data: undefined, errorMessage: this.ajv!.errorsText(validate.errors) };
    };
  }

  private compile(schema: JsonSchemaType): ValidateFunction {
    // Ajv keeps every function it compiles for good: compile each distinct schema once, however often it is listed.
    const key = JSON.stringify(schema);
    let validate = this.compiled.get(key);
    if (validate) return validate;
    const ajv = (this.ajv ??= new Ajv({ strict: false, validateFormats: true, validateSchema: false, allErrors: true, code: { regExp: linearRegExp } }));
    if (!ajv.formats.email) addFormats(ajv);
    if (expandLocalRefs(schema as Record<string, unknown>, MAX_EXPANDED_NODES) === undefined) {
      validate = this.unchecked(`its $refs expand to more than ${MAX_EXPANDED_NODES} nodes (or ${MAX_EXPANDED_DEPTH} levels), too many to check in bounded time`);
    } else {
      try {
        validate = ajv.compile(schema as object);
      } catch (error) {
        // Any other compile error still fails the call, as with the SDK's default validator.
        if (!(error instanceof UnsupportedPatternError)) throw error;
        validate = this.unchecked(error.message);
      }
    }
    this.compiled.set(key, validate);
    return validate;
  }

  private unchecked(reason: string): ValidateFunction {
    (this.logger ?? createConsoleLogger()).warn({ error: reason }, "tool output schema cannot be checked in bounded time; results pass unchecked");
    return UNCHECKED;
  }
}
