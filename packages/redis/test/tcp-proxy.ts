import { createConnection, createServer, type Socket } from "node:net";

/** One client connection through the proxy. */
interface Link {
  client: Socket;
  upstream: Socket;
  /** True once the client sent a SUBSCRIBE: a pub/sub connection. */
  subscriber: boolean;
  stalled: boolean;
  held: Array<{ to: Socket; data: Buffer }>;
}

/**
 * A TCP proxy on 127.0.0.1 in front of Redis that can stall connections: bytes are held, not forwarded, and the sockets
 * stay open, as on a network that silently stops delivering. Nothing is closed, so no client notices.
 */
export interface TcpProxy {
  readonly port: number;
  readonly url: string;
  /** Stalls the pub/sub connections (`"subscribers"`) or every connection (`"all"`), current and future. */
  stall(which: "subscribers" | "all"): void;
  /** Forwards again, held bytes first. */
  restore(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const links = new Set<Link>();
  let stalling: "subscribers" | "all" | undefined;
  const shouldStall = (link: Link) => stalling === "all" || (stalling === "subscribers" && link.subscriber);
  const forward = (link: Link, to: Socket, data: Buffer) => {
    if (link.stalled) link.held.push({ to, data });
    else to.write(data);
  };
  const server = createServer((client) => {
    const upstream = createConnection({ host: "127.0.0.1", port: targetPort });
    const link: Link = { client, upstream, subscriber: false, stalled: false, held: [] };
    links.add(link);
    link.stalled = shouldStall(link);
    client.on("data", (data: Buffer) => {
      if (!link.subscriber && /SUBSCRIBE/i.test(data.toString("latin1"))) {
        link.subscriber = true;
        link.stalled = shouldStall(link);
      }
      forward(link, upstream, data);
    });
    upstream.on("data", (data: Buffer) => forward(link, client, data));
    const end = () => {
      links.delete(link);
      client.destroy();
      upstream.destroy();
    };
    client.on("close", end).on("error", end);
    upstream.on("close", end).on("error", end);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stall(which) {
      stalling = which;
      for (const link of links) link.stalled = shouldStall(link);
    },
    restore() {
      stalling = undefined;
      for (const link of links) {
        link.stalled = false;
        for (const { to, data } of link.held.splice(0)) to.write(data);
      }
    },
    async close() {
      for (const link of links) {
        link.client.destroy();
        link.upstream.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
