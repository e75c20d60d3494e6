import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { CallToolRequestSchema, ListToolsRequestSchema, type Tool } from "@modelcontextprotocol/sdk/types.js";

/** How many definitions `deep`'s schema chains: `d0` ... `d{HOSTILE_SCHEMA_DEPTH}`. */
export const HOSTILE_SCHEMA_DEPTH = 40;

/** A pattern that a backtracking engine takes exponential time to reject (`aaaa...!`). */
export const CATASTROPHIC_PATTERN = "^(a+)+$";

/** A pattern in JavaScript-only syntax (a lookahead) that a linear-time engine cannot run. */
export const LOOKAHEAD_PATTERN = "^(?=.*\\d)\\w+$";

// d(n) = { anyOf: [d(n-1), d(n-1)] }: 41 small definitions that expand to 2^41 nodes once the $refs are inlined.
const definitions: Record<string, unknown> = { d0: { type: "string" } };
for (let level = 1; level <= HOSTILE_SCHEMA_DEPTH; level++) {
  const previous = { $ref: `#/$defs/d${level - 1}` };
  definitions[`d${level}`] = { anyOf: [previous, { ...previous }] };
}

/**
 * Tools whose input schemas would stall a naive client: `deep` ($refs that expand exponentially), `match` (a
 * catastrophic `pattern` on `text`, and as a `patternProperties` key of `labels`) and `lookahead` (a pattern only a
 * backtracking engine runs), next to an ordinary `echo`.
 */
export const HOSTILE_SCHEMA_TOOLS: Tool[] = [
  {
    name: "deep",
    description: "Accept a value whose schema expands exponentially.",
    inputSchema: { type: "object", properties: { value: { $ref: `#/$defs/d${HOSTILE_SCHEMA_DEPTH}` } }, $defs: definitions },
  },
  {
    name: "match",
    description: "Accept text that only a backtracking engine is slow to check.",
    inputSchema: {
      type: "object",
      properties: {
        text: { type: "string", pattern: CATASTROPHIC_PATTERN },
        labels: { type: "object", patternProperties: { [CATASTROPHIC_PATTERN]: { type: "number" } } },
      },
      required: ["text"],
    },
  },
  {
    name: "lookahead",
    description: "Accept a word with a digit in it (a lookahead pattern).",
    inputSchema: { type: "object", properties: { word: { type: "string", pattern: LOOKAHEAD_PATTERN } }, required: ["word"] },
  },
  {
    name: "echo",
    description: "Echo the given text back.",
    inputSchema: { type: "object", properties: { text: { type: "string" } }, required: ["text"] },
  },
];

/**
 * A server listing {@link HOSTILE_SCHEMA_TOOLS}. It checks no arguments itself (the client's checks are under test):
 * `echo` returns `text`, the others `accepted <tool>`. Serve it with `fixture-cli --hostile-schemas`.
 */
export function createHostileSchemaServer(): Server {
  const server = new Server({ name: "hostile-schemas", version: "1.0.0" }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: HOSTILE_SCHEMA_TOOLS }));
  server.setRequestHandler(CallToolRequestSchema, async (request) => {
    const { name } = request.params;
    const args = (request.params.arguments ?? {}) as Record<string, unknown>;
    if (name === "echo") return { content: [{ type: "text", text: String(args.text) }] };
    if (HOSTILE_SCHEMA_TOOLS.some((tool) => tool.name === name)) return { content: [{ type: "text", text: `accepted ${name}` }] };
    return { isError: true, content: [{ type: "text", text: `unknown tool ${name}` }] };
  });
  return server;
}
