import type { ServiceConfig } from "../config/service-config.js";
import type { ServiceLink } from "../connection/service-link.js";
import type { ForwardHandler, ServiceLease, ServicePlacement } from "../shared-state.js";
import type { ServiceInfo, ToolInfo } from "../types.js";
import { createHash } from "node:crypto";
import { ForwardedLink } from "./forwarded-link.js";
import type { ServiceOwner } from "./service-owner.js";

/** True when `config` runs on one instance of several: a stdio service not marked `placement: "every-instance"`. */
export function isPlaced(config: ServiceConfig): boolean {
  return config.url === undefined && config.placement !== "every-instance";
}

/** The lease role of a service: `service/store/<name>` or `service/agent.<id>/<name>` (ids have no dot). */
export function placementRole(agentId: string | undefined, name: string): string {
  return `service/${agentId === undefined ? "store" : `agent.${agentId}`}/${name}`;
}

/**
 * One placed stdio service on this instance: it campaigns for the service's lease; while it holds it, this instance
 * runs the process (a real connection) and answers the calls other instances forward; otherwise the owner's link is
 * a {@link ForwardedLink} following the running instance. Lease changes run through the owner's queue, so a takeover
 * never overlaps a restart or a removal. The process stops before the lease is released, so two never run at once.
 */
export class PlacedService {
  private readonly link: ForwardedLink;
  private real: ServiceLink | undefined;
  private lease: ServiceLease | undefined;
  private readonly offs: Array<() => void> = [];
  private unserve: (() => void) | undefined;
  private closed = false;
  private adopting: string | undefined;

  constructor(
    private readonly owner: ServiceOwner,
    private config: ServiceConfig,
    private readonly placement: ServicePlacement,
    private readonly createConnection: (config: ServiceConfig) => ServiceLink,
    /** The service's tools as the shared catalogue lists them, and how the owner takes a list as its own. */
    private readonly readTools: () => Promise<ToolInfo[]>,
    private readonly adopt: (tools: ToolInfo[]) => void,
  ) {
    this.link = new ForwardedLink(placement, this.role, owner.ref);
  }

  get role(): string {
    return placementRole(this.owner.ref.agentId, this.owner.name);
  }

  /** True while this instance runs the process. */
  get runsHere(): boolean {
    return this.real !== undefined;
  }

  /** What {@link ServiceInfo.placement} says here. */
  describe(): NonNullable<ServiceInfo["placement"]> {
    if (this.real) return { runsOn: this.placement.instanceId, tools: toolsDigest(this.owner.tools) };
    return { ...this.link.info?.placement };
  }

  /** The running instance's info, when another instance runs it. */
  get followed(): ServiceInfo | undefined {
    return this.real ? undefined : this.link.info;
  }

  start(): void {
    this.owner.connection = this.link;
    this.offs.push(this.placement.watch(this.role, (info) => this.follow(info)));
    const lease = (this.lease = this.placement.claim(this.role));
    const settle = () => void this.owner.queue.run(() => this.settle());
    this.offs.push(lease.subscribe(settle));
    void lease.ready().then(settle);
  }

  /** The owner's restart: a new connection with `config` when this instance runs the process (the old one is closed). */
  restart(config: ServiceConfig): void {
    this.config = config;
    if (this.real) {
      this.real = this.createConnection(config);
      this.owner.connection = this.real;
      this.real.start();
    } else {
      this.owner.connection = this.link;
    }
  }

  /** The running instance publishes every change of the service's info. */
  publish(info: ServiceInfo): void {
    if (this.real && !this.closed) this.placement.publish(this.role, info);
  }

  /** Stops following and gives the lease up; the owner has closed the process already. */
  async close(): Promise<void> {
    this.closed = true;
    for (const off of this.offs.splice(0)) off();
    this.unserve?.();
    this.real = undefined;
    await this.lease?.close();
  }

  /** Runs in the owner's queue: takes the process over when the lease is ours, hands it back when it is not. */
  private async settle(): Promise<void> {
    if (this.closed || this.owner.config === undefined) return;
    const holding = this.lease?.holding === true;
    if (holding && !this.real) {
      this.real = this.createConnection(this.config);
      this.owner.connection = this.real;
      this.unserve = this.placement.serve(this.role, this.answer);
      this.owner.transition("initializing", "this instance runs the service now");
      this.owner.writeInfo();
      this.real.start();
    } else if (!holding && this.real) {
      const real = this.real;
      this.real = undefined;
      this.unserve?.();
      this.unserve = undefined;
      this.owner.connection = this.link;
      await real.close();
      this.owner.transition("reconnecting", "another instance runs the service now");
    }
  }

  private follow(info: ServiceInfo): void {
    if (this.real || this.closed) return;
    this.link.follow(info);
    const digest = info.placement?.tools;
    if (digest !== undefined && digest !== toolsDigest(this.owner.tools)) void this.adoptTools(digest);
    // The running instance stopping (its store closed) leaves the service waiting for the next one, not ended.
    this.owner.transition(info.state === "disconnected" ? "reconnecting" : info.state, info.lastError);
  }

  /**
   * Takes the running instance's tool list from the shared catalogue once it is there (this instance's copy of the
   * catalogue may lag behind the info that announced it), so that this instance routes calls to those tools.
   */
  private async adoptTools(digest: string): Promise<void> {
    if (this.adopting === digest) return;
    this.adopting = digest;
    try {
      for (let attempt = 0; attempt < 100 && this.adopting === digest && !this.real && !this.closed; attempt++) {
        const tools = await this.readTools().catch(() => undefined);
        if (tools && toolsDigest(tools) === digest) return await this.owner.queue.run(() => this.adopt(tools));
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    } finally {
      if (this.adopting === digest) this.adopting = undefined;
    }
  }

  /** Answers a forwarded request with this instance's connection, as a local call would be. */
  private readonly answer: ForwardHandler = async (request, { signal, onProgress }) => {
    const pending = this.owner.callable({ signal, timeoutMs: request.timeoutMs });
    const connection = pending instanceof Promise ? await pending : pending;
    if (connection.state === "initializing") await connection.ready({ signal, timeoutMs: request.timeoutMs });
    switch (request.kind) {
      case "callTool":
        return connection.callTool(request.name, request.args, {
          timeoutMs: request.timeoutMs,
          signal,
          ...(request.maxTotalTimeoutMs !== undefined ? { maxTotalTimeoutMs: request.maxTotalTimeoutMs } : {}),
          ...(request.progress && onProgress ? { onProgress } : {}),
        });
      case "readResource":
        return connection.readResource(request.uri, AbortSignal.any([signal, AbortSignal.timeout(request.timeoutMs)]));
      case "getPrompt":
        return connection.getPrompt(request.name, request.args, AbortSignal.any([signal, AbortSignal.timeout(request.timeoutMs)]));
    }
  };
}

const digests = new WeakMap<ToolInfo[], string>();

/** A digest of a tool list (names, descriptions, schemas), computed once per list. */
export function toolsDigest(tools: ToolInfo[]): string {
  let digest = digests.get(tools);
  if (digest === undefined) {
    digest = createHash("sha1").update(JSON.stringify(tools)).digest("base64url");
    digests.set(tools, digest);
  }
  return digest;
}
