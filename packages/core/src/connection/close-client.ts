import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

/** How long closing an HTTP session may take before the client is dropped anyway. */
const TERMINATE_SESSION_MS = 1000;

/**
 * Closes a client and its transport (for stdio, its process group); never rejects. With `terminateSession` (the
 * default), a Streamable HTTP session is ended on the server first, waiting at most a second for it.
 */
export async function closeClient(client: Client, terminateSession = true): Promise<void> {
  const transport = client.transport;
  if (terminateSession && transport instanceof StreamableHTTPClientTransport && transport.sessionId) {
    // Without this a client whose server vanished may keep the process alive after close(); a server that does not
    // answer must not hold the close up.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      transport.terminateSession().catch(() => undefined),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, TERMINATE_SESSION_MS);
      }),
    ]);
    clearTimeout(timer);
  }
  await client.close().catch(() => undefined);
}
