/**
 * What several store instances share (`@mcpstore/redis` provides it): the desired state, the catalogue cache and the
 * lease of the `config` role, whose holder alone reads and writes `mcp.json` (and imports hand edits into the
 * desired state). The others never touch the file. With a {@link ServicePlacement}, a stdio service runs on one
 * instance only (the holder of its lease) and the others forward its calls there.
 */
import type { GetPromptResult, Progress, ReadResourceResult } from "@modelcontextprotocol/sdk/types.js";
import type { CacheDriver } from "./catalogue/cache-driver.js";
import type { DesiredStateDriver } from "./registry/desired-state.js";
import type { ServiceInfo, ToolCallResult } from "./types.js";

/** A role that one instance of a namespace holds at a time (a lease). */
export interface RoleLease {
  /** Whether this instance holds the role now. */
  readonly holding: boolean;
  /** Resolves once the first attempt to take the role has settled (held or not). */
  ready(): Promise<void>;
  /** Called with `true` when this instance takes the role, `false` when it loses it; returns the unsubscribe. */
  subscribe(listener: (holding: boolean) => void): () => void;
  /** Gives the role up (for another instance to take) and stops campaigning. */
  close(): Promise<void>;
}

/** A request another instance forwards to the one that runs the service. `timeoutMs` is what is left of the caller's. */
export type ForwardedRequest =
  | { kind: "callTool"; name: string; args: Record<string, unknown>; timeoutMs: number; maxTotalTimeoutMs?: number; progress?: boolean }
  | { kind: "readResource"; uri: string; timeoutMs: number }
  | { kind: "getPrompt"; name: string; args: Record<string, string>; timeoutMs: number };

/** What a {@link ForwardedRequest} answers with. */
export type ForwardedResult = ToolCallResult | ReadResourceResult | GetPromptResult;

/** How the running instance answers a forwarded request: `signal` aborts when the caller cancels. */
export type ForwardHandler = (request: ForwardedRequest, context: { signal: AbortSignal; onProgress?: (progress: Progress) => void }) => Promise<ForwardedResult>;

/** The lease of one service's process: a {@link RoleLease} whose grant has a fencing token. */
export interface ServiceLease extends RoleLease {
  /** The fencing token of the current grant while {@link RoleLease.holding}. */
  readonly fence: number | undefined;
}

/**
 * Where stdio services with `placement: "owner"` run when several instances share the store: exactly one process
 * cluster-wide, on the instance that holds the service's lease; the others forward calls to it (with progress and
 * cancellation) and follow its state. Roles are `service/<scope>/<name>`.
 */
export interface ServicePlacement {
  /** This instance, as {@link ServiceInfo.placement}'s `runsOn` names it. */
  readonly instanceId: string;
  /** Campaigns for `role` until closed; holding it means this instance runs the service. */
  claim(role: string): ServiceLease;
  /** Answers requests forwarded for `role` (while this instance holds it); returns the unregister function. */
  serve(role: string, handler: ForwardHandler): () => void;
  /**
   * Sends `request` to the instance running `role`'s service and resolves with its answer, or rejects with the typed
   * error it threw (`errorFromWire`); `ServiceUnavailableError` when no instance runs it within the time left.
   */
  forward(role: string, request: ForwardedRequest, options: { signal?: AbortSignal; onProgress?: (progress: Progress) => void }): Promise<ForwardedResult>;
  /** The running instance publishes the service's info (on every state or info change) for the others to follow. */
  publish(role: string, info: ServiceInfo): void;
  /** Follows what the running instance publishes for `role` (the last value first, when there is one). */
  watch(role: string, listener: (info: ServiceInfo) => void): () => void;
  /** Closes what the placement holds (the store calls it after stopping its services). */
  close?(): Promise<void>;
}

/** `setupStore({ shared })`: what instances of one namespace share. */
export interface SharedState {
  desiredState: DesiredStateDriver;
  cache: CacheDriver;
  /** The `config` role: its holder alone reads and writes the config file. Without it, every instance does. */
  configRole?: RoleLease;
  /** One process per stdio service cluster-wide (see {@link ServicePlacement}). Without it, every instance runs its own. */
  placement?: ServicePlacement;
}
