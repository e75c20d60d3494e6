import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import {
  AbortedError,
  errorFromWire,
  errorToWire,
  MCPStoreError,
  ServiceUnavailableError,
  type ForwardedRequest,
  type ForwardedResult,
  type ForwardHandler,
  type ServiceInfo,
  type ServiceLease,
  type ServicePlacement,
  type CallToolOptions,
  type WireError,
} from "@mcpstore/core";
import type { Redis } from "ioredis";
import type { Lease } from "./lease.js";
import type { RedisConnection } from "./redis-connection.js";
import type { RedisKeys } from "./redis-keys.js";

type Progress = Parameters<NonNullable<CallToolOptions["onProgress"]>>[0];

/** What crosses the wire: a request or its cancel (on the role's call channel), and the answers (on the caller's). */
type CallMessage = { id: number; from: string; request: ForwardedRequest } | { cancel: number; from: string };
type ReplyMessage = { id: number; progress: Progress } | { id: number; result: ForwardedResult } | { id: number; error: WireError };
/** A service's info as the running instance published it: `fence` orders holders, `seq` one holder's publications. */
interface Published {
  fence: number;
  seq: number;
  info: ServiceInfo;
}

interface Pending {
  role: string;
  /** The fence of the running instance when the request was sent: a newer one means that instance is gone. */
  fence: number | undefined;
  resolve(result: ForwardedResult): void;
  reject(error: unknown): void;
  onProgress?: (progress: Progress) => void;
}

/** How long a caller waits past the request's own time limit before it gives up on the running instance. */
const ANSWER_GRACE_MS = 2_000;
/** How long a call waits for some instance to run the service (a takeover under way) before it fails. */
const NO_OWNER_WAIT_MS = 1_000;
/** How often followed states are read again, whatever pub/sub says. */
const STATE_POLL_MS = 2_000;

/**
 * The core's {@link ServicePlacement} on Redis: a lease per placed service (see {@link Lease}); the running instance
 * answers requests published on the role's call channel and replies (progress, then the result or the typed error) on
 * the caller's own channel; it publishes the service's info with a fenced write (so a holder that lost its lease
 * cannot overwrite the next one's) plus a pub/sub hint, and followers also read it every {@link STATE_POLL_MS}.
 * PUBLISH says how many instances heard a request: none means no instance runs the service right now.
 */
export class RedisServicePlacement implements ServicePlacement {
  readonly instanceId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly subscriber: Redis;
  private readonly subscribed: Promise<void>;
  private readonly handlers = new Map<string, ForwardHandler>();
  private readonly leases = new Map<string, Lease>();
  private readonly watchers = new Map<string, Set<(info: ServiceInfo) => void>>();
  private readonly seen = new Map<string, { fence: number; seq: number }>();
  private readonly sequence = new Map<string, number>();
  private readonly pending = new Map<number, Pending>();
  private readonly running = new Map<string, AbortController>();
  private readonly poll: NodeJS.Timeout;
  private nextId = 0;
  private closed = false;

  constructor(
    private readonly connection: RedisConnection,
    private readonly keys: RedisKeys,
    private readonly makeLease: (role: string) => Lease,
    private readonly releaseConnection: () => Promise<void>,
  ) {
    this.subscriber = connection.createSubscriber();
    this.subscriber.on("message", (channel: string, message: string) => this.receive(channel, message));
    // Every (re)connection subscribes to every channel in use, then reads the followed states it may have missed.
    this.subscriber.on("ready", () => void this.resubscribe());
    this.subscribed = this.subscriber.connect().then(
      () => undefined,
      () => undefined,
    );
    this.poll = setInterval(() => void this.readStates([...this.watchers.keys()]), STATE_POLL_MS);
    this.poll.unref();
  }

  claim(role: string): ServiceLease {
    const lease = this.makeLease(role);
    this.leases.set(role, lease);
    const first = lease.tryAcquire().then(
      () => undefined,
      () => undefined,
    );
    void first.then(() => lease.start());
    return {
      get holding() {
        return lease.held !== undefined;
      },
      get fence() {
        return lease.held?.fence;
      },
      ready: () => first,
      subscribe: (listener) => lease.subscribe((event) => listener(event.type === "lease:acquired")),
      close: async () => {
        if (this.leases.get(role) === lease) this.leases.delete(role);
        await lease.close();
      },
    };
  }

  serve(role: string, handler: ForwardHandler): () => void {
    this.handlers.set(role, handler);
    void this.subscriber.subscribe(this.callChannel(role)).catch(() => undefined);
    return () => {
      if (this.handlers.get(role) !== handler) return;
      this.handlers.delete(role);
      void this.subscriber.unsubscribe(this.callChannel(role)).catch(() => undefined);
    };
  }

  async forward(role: string, request: ForwardedRequest, options: { signal?: AbortSignal; onProgress?: (progress: Progress) => void } = {}): Promise<ForwardedResult> {
    const [service] = role.split("/").slice(-1);
    const context = { serviceName: service ?? role };
    if (options.signal?.aborted) throw abortError(options.signal, context);
    await this.subscribed;
    const id = ++this.nextId;
    const message = JSON.stringify({ id, from: this.instanceId, request } satisfies CallMessage);
    const answer = new Promise<ForwardedResult>((resolve, reject) => {
      const entry: Pending = { role, fence: this.seen.get(role)?.fence, resolve, reject };
      if (options.onProgress) entry.onProgress = options.onProgress;
      this.pending.set(id, entry);
    });
    let timer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      this.settle(id, undefined, abortError(options.signal!, context));
      void this.send(this.callChannel(role), JSON.stringify({ cancel: id, from: this.instanceId } satisfies CallMessage));
    };
    options.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      const waitUntil = performance.now() + Math.min(NO_OWNER_WAIT_MS, request.timeoutMs);
      // PUBLISH answers how many instances heard it: 0 while no instance runs the service (say, a takeover).
      while ((await this.send(this.callChannel(role), message)) === 0) {
        if (!this.pending.has(id)) return await answer;
        if (performance.now() >= waitUntil) {
          throw new ServiceUnavailableError({ ...context, message: `No instance runs service "${context.serviceName}" right now (its owner may be taking over)`, details: { state: "reconnecting" } });
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      timer = setTimeout(() => {
        const message = `The instance running service "${context.serviceName}" did not answer within ${request.timeoutMs + ANSWER_GRACE_MS} ms`;
        this.settle(id, undefined, new ServiceUnavailableError({ ...context, message, details: { state: "reconnecting" } }));
      }, request.timeoutMs + ANSWER_GRACE_MS);
      return await answer;
    } finally {
      this.pending.delete(id);
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
    }
  }

  publish(role: string, info: ServiceInfo): void {
    const fence = this.leases.get(role)?.held?.fence;
    if (fence === undefined || this.closed) return;
    const seq = (this.sequence.get(role) ?? 0) + 1;
    this.sequence.set(role, seq);
    const value = JSON.stringify({ fence, seq, info } satisfies Published);
    const lease = this.leases.get(role)!;
    // Fenced: a holder that lost its lease (paused, partitioned) cannot overwrite its successor's state.
    void lease.fencedWrite("info", value).then(
      (written) => (written ? this.send(this.stateChannel(role), value) : undefined),
      () => undefined,
    );
  }

  watch(role: string, listener: (info: ServiceInfo) => void): () => void {
    let listeners = this.watchers.get(role);
    if (!listeners) {
      this.watchers.set(role, (listeners = new Set()));
      void this.subscriber.subscribe(this.stateChannel(role)).catch(() => undefined);
    }
    listeners.add(listener);
    void this.readStates([role]);
    return () => {
      listeners.delete(listener);
      if (listeners.size > 0 || this.watchers.get(role) !== listeners) return;
      this.watchers.delete(role);
      this.seen.delete(role);
      void this.subscriber.unsubscribe(this.stateChannel(role)).catch(() => undefined);
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.poll);
    for (const controller of this.running.values()) controller.abort();
    for (const id of [...this.pending.keys()]) this.settle(id, undefined, new ServiceUnavailableError({ message: "The store is closing" }));
    await Promise.allSettled([...this.leases.values()].map((lease) => lease.close()));
    this.subscriber.disconnect();
    await this.releaseConnection();
  }

  private callChannel(role: string): string {
    return `${this.keys.prefix}calls:${role}`;
  }

  private stateChannel(role: string): string {
    return `${this.keys.prefix}placement:${role}`;
  }

  private replyChannel(instanceId: string): string {
    return `${this.keys.prefix}replies:${instanceId}`;
  }

  private send(channel: string, message: string): Promise<number> {
    return this.connection.run("placement:publish", (redis) => redis.publish(channel, message));
  }

  private async resubscribe(): Promise<void> {
    const channels = [this.replyChannel(this.instanceId), ...[...this.handlers.keys()].map((role) => this.callChannel(role)), ...[...this.watchers.keys()].map((role) => this.stateChannel(role))];
    await this.subscriber.subscribe(...channels).catch(() => undefined);
    await this.readStates([...this.watchers.keys()]);
  }

  private async readStates(roles: string[]): Promise<void> {
    if (roles.length === 0 || this.closed) return;
    const values = await this.connection.run("placement:read", (redis) => redis.mget(...roles.map((role) => this.keys.fenced(role, "info")))).catch(() => []);
    roles.forEach((role, index) => {
      const value = values[index];
      if (typeof value === "string") this.deliver(role, value);
    });
  }

  /** Hands a published info to the role's followers, unless it is older than one they had. */
  private deliver(role: string, value: string): void {
    const published = parse<Published>(value);
    if (!published) return;
    const last = this.seen.get(role);
    if (last && (published.fence < last.fence || (published.fence === last.fence && published.seq <= last.seq))) return;
    this.seen.set(role, { fence: published.fence, seq: published.seq });
    // A new instance runs it: the calls sent to the old one will never be answered.
    if (last && published.fence > last.fence) {
      for (const [id, entry] of this.pending) {
        if (entry.role === role && entry.fence !== undefined && entry.fence < published.fence) {
          this.settle(id, undefined, new ServiceUnavailableError({ serviceName: published.info.name, message: `The instance running service "${published.info.name}" went away during the call`, details: { state: "reconnecting" } }));
        }
      }
    }
    for (const listener of this.watchers.get(role) ?? []) listener(published.info);
  }

  private receive(channel: string, raw: string): void {
    const prefix = this.keys.prefix;
    if (channel === this.replyChannel(this.instanceId)) return this.onReply(parse<ReplyMessage>(raw));
    if (channel.startsWith(`${prefix}placement:`)) return this.deliver(channel.slice(`${prefix}placement:`.length), raw);
    if (channel.startsWith(`${prefix}calls:`)) return this.onCall(channel.slice(`${prefix}calls:`.length), parse<CallMessage>(raw));
  }

  private onReply(message: ReplyMessage | undefined): void {
    if (!message) return;
    const entry = this.pending.get(message.id);
    if (!entry) return;
    if ("progress" in message) entry.onProgress?.(message.progress);
    else if ("error" in message) this.settle(message.id, undefined, errorFromWire(message.error));
    else this.settle(message.id, message.result);
  }

  private onCall(role: string, message: CallMessage | undefined): void {
    if (!message) return;
    if ("cancel" in message) return this.running.get(`${message.from}/${message.cancel}`)?.abort();
    const handler = this.handlers.get(role);
    if (!handler) return;
    const key = `${message.from}/${message.id}`;
    const controller = new AbortController();
    this.running.set(key, controller);
    const reply = (body: ReplyMessage) => void this.send(this.replyChannel(message.from), JSON.stringify(body)).catch(() => undefined);
    const onProgress = message.request.kind === "callTool" && message.request.progress ? (progress: Progress) => reply({ id: message.id, progress }) : undefined;
    handler(message.request, { signal: controller.signal, ...(onProgress ? { onProgress } : {}) })
      .then(
        (result) => reply({ id: message.id, result }),
        (error: unknown) => reply({ id: message.id, error: errorToWire(error) }),
      )
      .finally(() => this.running.delete(key));
  }

  private settle(id: number, result: ForwardedResult | undefined, error?: unknown): void {
    const entry = this.pending.get(id);
    if (!entry) return;
    this.pending.delete(id);
    if (error !== undefined) entry.reject(error);
    else entry.resolve(result!);
  }
}

function abortError(signal: AbortSignal, context: { serviceName: string }): MCPStoreError {
  return MCPStoreError.isInstance(signal.reason) ? signal.reason : new AbortedError({ ...context, message: `Call to service "${context.serviceName}" was aborted`, cause: signal.reason });
}

function parse<T>(raw: string): T | undefined {
  try {
    return JSON.parse(raw) as T;
  } catch {
    return undefined;
  }
}
