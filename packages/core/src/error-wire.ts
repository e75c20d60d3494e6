/**
 * Errors as JSON and back, for a call answered by another instance (a stdio service's owner, `@mcpstore/redis`): the
 * caller gets the same typed error, with its code, names and safe details, as if the service ran here. Never the
 * `cause` or the stack: they stay with the instance that logged them.
 */
import {
  AbortedError,
  ConnectionError,
  MCPStoreError,
  ServiceNotFoundError,
  ServiceUnavailableError,
  TimeoutError,
  ToolExecutionError,
  ToolNotFoundError,
  ValidationError,
  type MCPStoreErrorOptions,
} from "./errors.js";

/** An error as it crosses between instances. */
export interface WireError {
  code: string;
  message: string;
  serviceName?: string;
  toolName?: string;
  agentId?: string;
  details?: Record<string, unknown>;
}

const CLASSES: Record<string, new (options: MCPStoreErrorOptions) => MCPStoreError> = {
  [AbortedError.code]: AbortedError,
  [ConnectionError.code]: ConnectionError,
  [ServiceNotFoundError.code]: ServiceNotFoundError,
  [ServiceUnavailableError.code]: ServiceUnavailableError,
  [TimeoutError.code]: TimeoutError,
  [ToolExecutionError.code]: ToolExecutionError,
  [ToolNotFoundError.code]: ToolNotFoundError,
  [ValidationError.code]: ValidationError,
};

/** The JSON form of any thrown value (a non-MCPStore error becomes a `CONNECTION_ERROR` with its message). */
export function errorToWire(error: unknown): WireError {
  if (MCPStoreError.isInstance(error)) {
    const wire: WireError = { code: error.code, message: error.message };
    if (error.serviceName !== undefined) wire.serviceName = error.serviceName;
    if (error.toolName !== undefined) wire.toolName = error.toolName;
    if (error.agentId !== undefined) wire.agentId = error.agentId;
    if (error.details !== undefined) wire.details = error.details;
    return wire;
  }
  return { code: ConnectionError.code, message: error instanceof Error ? error.message : String(error) };
}

/** The typed error of a {@link WireError}: its class when the code is one a service call can throw, else an `MCPStoreError`. */
export function errorFromWire(wire: WireError): MCPStoreError {
  const { code, ...options } = wire;
  const Class = CLASSES[code];
  return Class ? new Class(options) : new MCPStoreError(code, options);
}
