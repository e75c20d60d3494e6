import { ValidationError } from "@mcpstore/core";
import { z } from "zod";

const isPlainObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === "object" && !Array.isArray(value);

/**
 * The option of a union that the input's shape asks for: the first whose type fits (array or object) and whose
 * required keys are all present, else the last one whose type fits. Errors are then reported against that option
 * alone, so that a bad body gets "url: ..." rather than zod's "Invalid input" for the whole union.
 */
function pickUnionOption(union: z.ZodUnion, value: unknown): z.ZodType | undefined {
  let fallback: z.ZodType | undefined;
  for (const option of union.options as readonly z.ZodType[]) {
    if (option instanceof z.ZodArray && Array.isArray(value)) return option;
    if (option instanceof z.ZodObject && isPlainObject(value)) {
      const required = Object.entries(option.shape as Record<string, z.ZodType>).filter(([, field]) => !field.safeParse(undefined).success);
      if (required.every(([key]) => key in value)) return option;
      fallback = option;
    }
  }
  return fallback;
}

/**
 * Validates a request's body or query with its schema. A failure is a `ValidationError` (a 400) whose message and
 * `details.issues` name each bad field, e.g. `body.args: expected record, received string`.
 */
export function parseInput<Schema extends z.ZodType>(schema: Schema, value: unknown, where: "body" | "query"): z.output<Schema> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const reported = schema instanceof z.ZodUnion ? (pickUnionOption(schema, value)?.safeParse(value).error ?? result.error) : result.error;
  const issues = reported.issues.map((issue) => ({
    path: [where, ...issue.path.map(String)].join("."),
    message: issue.message.replace(/^Invalid input: /, ""),
  }));
  throw new ValidationError({
    message: `Invalid request ${where}: ${issues.map((issue) => `${issue.path}: ${issue.message}`).join("; ")}`,
    details: { issues },
  });
}
