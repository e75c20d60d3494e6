/**
 * A minimal MCP server in POSIX `sh`: it answers `initialize` (echoing the client's protocol version), `ping`,
 * `tools/list` (one tool, `echo`) and `tools/call` (an empty text result), and nothing else. It uses shell builtins
 * only, so it starts in about a millisecond: what a benchmark of many connections measures is the client, not the
 * servers' start-up.
 */
export const MINIMAL_SHELL_SERVER_SCRIPT = [
  "while IFS= read -r line; do",
  `  id=\${line#*'"id":'}; id=\${id%%[!0-9]*}`,
  '  case "$line" in',
  `    *'"method":"initialize"'*)`,
  `      version=\${line#*'"protocolVersion":"'}; version=\${version%%'"'*}`,
  `      printf '{"jsonrpc":"2.0","id":%s,"result":{"protocolVersion":"%s","capabilities":{"tools":{}},"serverInfo":{"name":"minimal-sh","version":"1.0.0"}}}\\n' "$id" "$version" ;;`,
  `    *'"method":"tools/list"'*)`,
  `      printf '{"jsonrpc":"2.0","id":%s,"result":{"tools":[{"name":"echo","inputSchema":{"type":"object"}}]}}\\n' "$id" ;;`,
  `    *'"method":"tools/call"'*)`,
  `      printf '{"jsonrpc":"2.0","id":%s,"result":{"content":[{"type":"text","text":""}]}}\\n' "$id" ;;`,
  `    *'"method":"ping"'*)`,
  `      printf '{"jsonrpc":"2.0","id":%s,"result":{}}\\n' "$id" ;;`,
  "  esac",
  "done",
].join("\n");

/** A stdio service config that runs {@link MINIMAL_SHELL_SERVER_SCRIPT} with `/bin/sh`; `marker` ends up in its command line. */
export function minimalShellServerConfig(name: string, marker = name): { name: string; command: string; args: string[] } {
  return { name, command: "/bin/sh", args: ["-c", MINIMAL_SHELL_SERVER_SCRIPT, marker] };
}
