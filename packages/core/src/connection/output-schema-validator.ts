import type { JsonSchemaType, JsonSchemaValidator, jsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/types.js";
import { Ajv, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";

const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv) => void;

/**
 * The SDK client's check of `structuredContent` against a tool's output schema, shared by every connection: one Ajv
 * (configured as the SDK's default), a schema compiled only when a result is first checked against it, and once per
 * distinct schema. The SDK's default builds an Ajv per client (24 KB) and compiles every output schema at each
 * `listTools` (about 30 KB each), which Ajv then keeps for good.
 */
export class OutputSchemaValidator implements jsonSchemaValidator {
  private ajv: Ajv | undefined;
  private readonly compiled = new Map<string, ValidateFunction>();

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
    if (!validate) {
      const ajv = (this.ajv ??= new Ajv({ strict: false, validateFormats: true, validateSchema: false, allErrors: true }));
      if (!ajv.formats.email) addFormats(ajv);
      this.compiled.set(key, (validate = ajv.compile(schema as object)));
    }
    return validate;
  }
}
