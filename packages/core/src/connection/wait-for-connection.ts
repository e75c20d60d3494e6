import { AbortedError, TimeoutError } from "../errors.js";
import { clampDelay } from "./clamp-delay.js";

/** The caller's limits on a wait in {@link waitForConnection}, and whom the errors name. */
export interface ConnectionWaitOptions {
  serviceName: string;
  /** The agent scope of the service; `undefined` (or empty) for the store scope. */
  agentId: string | undefined;
  /** Longest wait in milliseconds (`Infinity`: no limit); then rejects with a {@link TimeoutError}. */
  timeoutMs?: number;
  /** Ends the wait with an {@link AbortedError}, or with its reason when that is a {@link TimeoutError} (a deadline). */
  signal?: AbortSignal;
  /** What is waited for, in the errors: the connection attempt (default) or a restart. */
  stage?: "connect" | "restart";
}

/**
 * Waits for `connecting` (a connection attempt, or a restart, under way), but no longer than the caller's own limits: the call's
 * `timeoutMs` and `signal` bound the wait, not the (longer) connect timeout. The attempt itself goes on either way.
 */
export async function waitForConnection(connecting: Promise<void>, options: ConnectionWaitOptions): Promise<void> {
  const { serviceName, agentId, timeoutMs, signal } = options;
  const [doing, to] = options.stage === "restart" ? ["restarting", "restart"] : ["connecting", "connect"];
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const context = { serviceName, ...(agentId ? { agentId } : {}) };
  try {
    await Promise.race([
      connecting,
      new Promise<never>((_resolve, reject) => {
        if (timeoutMs !== undefined && timeoutMs !== Number.POSITIVE_INFINITY) {
          timer = setTimeout(
            () => reject(new TimeoutError({ ...context, message: `Service "${serviceName}" is still ${doing} after ${Math.round(timeoutMs)} ms` })),
            clampDelay(timeoutMs),
          );
        }
        if (signal) {
          onAbort = () =>
            reject(
              TimeoutError.isInstance(signal.reason)
                ? signal.reason
                : new AbortedError({ ...context, message: `Waiting for "${serviceName}" to ${to} was aborted`, cause: signal.reason }),
            );
          if (signal.aborted) onAbort();
          else signal.addEventListener("abort", onAbort, { once: true });
        }
      }),
    ]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener("abort", onAbort);
  }
}
