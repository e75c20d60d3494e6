type Schema = { [keyword: string]: unknown };

const isObject = (value: unknown): value is Schema => typeof value === "object" && value !== null && !Array.isArray(value);
const hasType = (schema: Schema, type: string) => schema.type === type || (Array.isArray(schema.type) && schema.type.includes(type));

const SUBSCHEMA = ["items", "additionalItems", "additionalProperties", "contains", "not", "if", "then", "else", "propertyNames"];
const SUBSCHEMA_LISTS = ["allOf", "anyOf", "oneOf", "prefixItems"];
const SUBSCHEMA_MAPS = ["properties", "patternProperties", "$defs", "definitions"];

/**
 * What strict tool-list validators (OpenAI function calling) would reject in a tool's input schema, one line per
 * problem with its JSON Pointer: a `$ref` or `$defs`, an array without `items`, a schema with `properties` but no
 * `type`, an object that lists `properties` without `additionalProperties`, a root that is not an object with
 * `properties`. An empty list means the schema passes.
 */
export function findStrictSchemaProblems(schema: unknown): string[] {
  const problems: string[] = [];
  if (!isObject(schema) || !hasType(schema, "object") || !isObject(schema.properties)) problems.push("/: root must be an object schema with properties");
  const visit = (node: unknown, path: string) => {
    if (!isObject(node)) return;
    const at = path || "/";
    if ("$ref" in node) problems.push(`${at}: $ref`);
    if ("$defs" in node || "definitions" in node) problems.push(`${at}: $defs/definitions`);
    if (node.type === undefined && (isObject(node.properties) || Array.isArray(node.required))) problems.push(`${at}: object without type`);
    if (hasType(node, "array") && node.items === undefined && node.prefixItems === undefined) problems.push(`${at}: array without items`);
    if (hasType(node, "object") && isObject(node.properties) && node.additionalProperties === undefined) problems.push(`${at}: object without additionalProperties`);
    for (const keyword of SUBSCHEMA) {
      const value = node[keyword];
      if (Array.isArray(value)) value.forEach((item, index) => visit(item, `${path}/${keyword}/${index}`));
      else visit(value, `${path}/${keyword}`);
    }
    for (const keyword of SUBSCHEMA_LISTS) {
      const value = node[keyword];
      if (Array.isArray(value)) value.forEach((item, index) => visit(item, `${path}/${keyword}/${index}`));
    }
    for (const keyword of SUBSCHEMA_MAPS) {
      const value = node[keyword];
      if (isObject(value)) for (const [name, item] of Object.entries(value)) visit(item, `${path}/${keyword}/${name}`);
    }
  };
  visit(schema, "");
  return problems;
}
