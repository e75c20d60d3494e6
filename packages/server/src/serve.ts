import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { getRequestListener, RequestError } from "@hono/node-server";

/** Options of {@link serve}. */
export interface ServeOptions {
  /** Address to bind. Default `127.0.0.1`: only this machine. Give `0.0.0.0` (or an interface's address) to open it up. */
  host?: string;
  /** Port; `0` picks a free one. Default 18200. */
  port?: number;
  /** Largest size of all request headers together, in bytes; bigger requests get a 431. Default 16 KiB. */
  maxHeaderBytes?: number;
  /** How long {@link RunningServer.close} lets requests in flight finish before it cuts them, in milliseconds. Default 5,000. */
  closeGraceMs?: number;
}

/** A listening server. */
export interface RunningServer {
  /** Base URL, e.g. `http://127.0.0.1:18200`. */
  readonly url: string;
  readonly host: string;
  /** The port bound (useful with `port: 0`). */
  readonly port: number;
  /** The Node server. */
  readonly server: Server;
  /** Stops accepting connections, lets requests in flight finish (up to `closeGraceMs`), closes every connection. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Anything with a fetch handler: the app from `createApp`, or a Hono app that mounts it. */
export interface FetchApp {
  fetch(request: Request, ...rest: any[]): Response | Promise<Response>;
}

const DEFAULT_PORT = 18200;

/** A request Node parsed but that is not a valid URL (a bad `Host`, a backslash in the path): the API's error shape. */
function requestErrorResponse(error: unknown): Response {
  const body =
    error instanceof RequestError
      ? { error: { code: "BAD_REQUEST", message: error.message } }
      : { error: { code: "INTERNAL_ERROR", message: "Internal server error" } };
  return Response.json(body, { status: error instanceof RequestError ? 400 : 500 });
}

/** Serves an app over HTTP on `host:port` (default `127.0.0.1:18200`); resolves once it listens. */
export function serve(app: FetchApp, options: ServeOptions = {}): Promise<RunningServer> {
  const host = options.host ?? "127.0.0.1";
  const listener = getRequestListener(app.fetch, { errorHandler: requestErrorResponse });
  const server = createServer({ maxHeaderSize: options.maxHeaderBytes ?? 16 * 1024 }, listener);
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) =>
      reject(Object.assign(new Error(`Cannot listen on ${host}:${options.port ?? DEFAULT_PORT}: ${error.message}`, { cause: error }), { code: error.code }));
    server.once("error", onError);
    server.listen(options.port ?? DEFAULT_PORT, host, () => {
      server.off("error", onError);
      const port = (server.address() as AddressInfo).port;
      const shownHost = host.includes(":") ? `[${host}]` : host;
      let closing: Promise<void> | undefined;
      const close = () =>
        (closing ??= new Promise<void>((done) => {
          const timer = setTimeout(() => server.closeAllConnections(), options.closeGraceMs ?? 5_000);
          timer.unref();
          server.close(() => {
            clearTimeout(timer);
            done();
          });
          server.closeIdleConnections();
        }));
      resolve({ url: `http://${shownHost}:${port}`, host, port, server, close, [Symbol.asyncDispose]: close });
    });
  });
}
