/**
 * catalogue/: the read model: service info, tools, resources and prompts per scope, behind an async `CacheDriver`
 * (memory here, Redis in `@mcpstore/redis`), with its conformance contract, the bounded, retried writes that keep a
 * failing driver from crashing or stalling the store (here), and the pruning of records left by removed services. It
 * imports only the root primitives; the registry writes it and every read is answered from it.
 */
import type { CacheDriver, JsonValue } from "./cache-driver.js";
import { MemoryCacheDriver } from "./memory-cache-driver.js";
import { CacheError, TimeoutError } from "../errors.js";
import { createConsoleLogger, type Logger } from "../logger.js";
import type { PromptInfo, ResourceInfo, ServiceInfo, ToolInfo } from "../types.js";

/** A scope's key in the cache: `store`, or `agent.{id}` (agent ids cannot hold a dot or slash). */
export type ScopeKey = string;

/** The scope key of the store scope or of an agent. */
export function scopeKeyOf(agentId: string | undefined): ScopeKey {
  return agentId === undefined ? "store" : `agent.${agentId}`;
}

type Kind = "service" | "tools" | "resources" | "prompts";
const KINDS = ["service", "tools", "resources", "prompts"] as const;

/** Options of {@link Catalogue}. */
export interface CatalogueOptions {
  /** Where driver failures go: one warning per outage, an info line when the driver answers again. Default: silent. */
  logger?: Logger;
  /** Time limit of each driver operation, in milliseconds. Default 2,000. */
  operationTimeoutMs?: number;
}

const DEFAULT_OPERATION_TIMEOUT_MS = 2_000;
/** A failed write is retried after this delay, doubled after each failure up to {@link RETRY_MAX_DELAY_MS}. */
const RETRY_INITIAL_DELAY_MS = 200;
const RETRY_MAX_DELAY_MS = 5_000;

/** The writes of one key: only the latest value asked for is kept, and one loop writes them, one at a time. */
interface WriteSlot {
  /** The latest value asked for; `undefined` deletes the key. */
  value: JsonValue | undefined;
  /** Bumped by every write of the key. */
  version: number;
  /** Writers waiting for their value to land, or for an attempt to fail. */
  waiting: Array<{ version: number; resolve: () => void }>;
  /** Resolves once every value asked for has landed (or the catalogue closed); the slot is gone then. */
  drained: Promise<void>;
  resolveDrained: () => void;
  /** Ends the retry delay now, while there is one. */
  wake?: () => void;
}

/** A driver promise, also when the driver threw instead of returning one. */
function invoke<T>(start: () => Promise<T>): Promise<T> {
  try {
    return start();
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * The cached read model: per service, its info, tools, resources and prompts, under `{kind}/{scope}/{service}`. Every
 * read (`listServices`, `listTools`, `getService`, ...) is answered from here, never from the network.
 *
 * Driver failures never escape as crashes. Every driver operation is bounded by `operationTimeoutMs`; reads reject
 * with a {@link CacheError}. Writes never reject: a failed one is retried in the background with backoff (200 ms
 * doubling to 5 s), writing only the latest value asked for each key, one write per key in flight, so that an older
 * value never lands after a newer one.
 */
export class Catalogue {
  private readonly slots = new Map<string, WriteSlot>();
  private readonly logger: Logger;
  private readonly operationTimeoutMs: number;
  /**
   * True for the in-process driver (exactly {@link MemoryCacheDriver}, not a subclass that may fail on purpose). It does
   * its work when called, so its writes land in call order without a queue, and a read right after a write sees it:
   * listeners of `service:state-changed` read the catalogue at once. Its only failure, a value it cannot clone, is not
   * one a retry would fix.
   */
  private readonly inProcess: boolean;
  /** The failure of the outage under way, if any (cleared by the next write that lands). */
  private failure: CacheError | undefined;
  private closed = false;

  constructor(
    readonly driver: CacheDriver,
    options: CatalogueOptions = {},
  ) {
    this.logger = options.logger ?? createConsoleLogger("silent");
    this.operationTimeoutMs = options.operationTimeoutMs ?? DEFAULT_OPERATION_TIMEOUT_MS;
    this.inProcess = driver.constructor === MemoryCacheDriver;
  }

  private key(kind: Kind, scope: ScopeKey, serviceName?: string): string {
    return serviceName === undefined ? `${kind}/${scope}/` : `${kind}/${scope}/${serviceName}`;
  }

  /**
   * Resolves once the value landed, or once an attempt failed, or at once while the driver is known to be failing (the
   * value is written when it answers again). Never rejects. Dropped after {@link close}. See {@link inProcess}.
   */
  private write(key: string, value: JsonValue | undefined): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.inProcess) {
      return invoke(() => (value === undefined ? this.driver.delete(key) : this.driver.set(key, value))).then(
        () => this.recovered(),
        (error: unknown) => void this.fail(value === undefined ? "delete" : "set", key, error),
      );
    }
    let slot = this.slots.get(key);
    if (slot) {
      slot.value = value;
      slot.version++;
    } else {
      let resolveDrained!: () => void;
      const drained = new Promise<void>((resolve) => (resolveDrained = resolve));
      slot = { value, version: 0, waiting: [], drained, resolveDrained };
      this.slots.set(key, slot);
      void this.drain(key, slot);
    }
    if (this.failure !== undefined) return Promise.resolve();
    const version = slot.version;
    return new Promise((resolve) => slot.waiting.push({ version, resolve }));
  }

  /** Writes the slot's latest value until it lands, retrying with backoff; never rejects. */
  private async drain(key: string, slot: WriteSlot): Promise<void> {
    let delayMs = RETRY_INITIAL_DELAY_MS;
    for (;;) {
      const version = slot.version;
      if (await this.attempt(key, slot)) {
        for (const waiter of slot.waiting) if (waiter.version <= version) waiter.resolve();
        slot.waiting = slot.waiting.filter((waiter) => waiter.version > version);
        if (slot.version === version) break;
        // A newer value was asked for while this one was in flight: write it now.
        delayMs = RETRY_INITIAL_DELAY_MS;
        continue;
      }
      if (this.closed) break;
      await new Promise<void>((resolve) => {
        slot.wake = resolve;
        setTimeout(resolve, delayMs).unref();
      });
      slot.wake = undefined;
      if (this.closed) break;
      delayMs = Math.min(delayMs * 2, RETRY_MAX_DELAY_MS);
    }
    this.slots.delete(key);
    for (const waiter of slot.waiting) waiter.resolve();
    slot.resolveDrained();
  }

  /** One write of the slot's value: true when it landed. */
  private async attempt(key: string, slot: WriteSlot): Promise<boolean> {
    const value = slot.value;
    const pending = invoke(() => (value === undefined ? this.driver.delete(key) : this.driver.set(key, value)));
    try {
      await this.bounded(value === undefined ? "delete" : "set", key, () => pending);
      this.recovered();
      return true;
    } catch (error) {
      for (const waiter of slot.waiting.splice(0)) waiter.resolve();
      if (!TimeoutError.isInstance((error as CacheError).cause)) return false;
      // The driver may still write it: wait until it settles, so that no older value lands after a newer one.
      return pending.then(
        () => (this.recovered(), true),
        () => false,
      );
    }
  }

  /**
   * `start()`'s result, or a {@link CacheError} when it rejects or takes longer than `operationTimeoutMs`. A driver
   * that has answered within a microtask (the in-process one always has) costs no timer: one is armed only for an
   * operation still pending then, so the bound costs the memory driver two promise reactions and no clock.
   */
  private bounded<T>(operation: string, key: string, start: () => Promise<T>): Promise<T> {
    const pending = invoke(start);
    let state: "pending" | "fulfilled" | "rejected" = "pending";
    let outcome: unknown;
    pending.then(
      (value) => ((state = "fulfilled"), (outcome = value)),
      (error: unknown) => ((state = "rejected"), (outcome = error)),
    );
    // Runs after the reactions above when `pending` had settled already.
    return Promise.resolve().then(() => {
      if (state === "fulfilled") return this.answered(outcome as T);
      if (state === "rejected") throw this.fail(operation, key, outcome);
      return new Promise<T>((resolve, reject) => {
        let timedOut = false;
        const timer = setTimeout(() => {
          timedOut = true;
          const message = `Cache driver "${this.driver.name}" did not answer ${operation} within ${this.operationTimeoutMs} ms`;
          reject(this.fail(operation, key, new TimeoutError({ message })));
        }, this.operationTimeoutMs);
        timer.unref();
        pending.then(
          (value) => {
            clearTimeout(timer);
            if (!timedOut) resolve(this.answered(value));
          },
          (error: unknown) => {
            clearTimeout(timer);
            // After a timeout the caller has its error already, and the outage was reported.
            if (!timedOut) reject(this.fail(operation, key, error));
          },
        );
      });
    });
  }

  /** The driver answered: with no write pending, that ends an outage (a pending write ends it when it lands). */
  private answered<T>(value: T): T {
    if (this.failure !== undefined && this.slots.size === 0) this.recovered();
    return value;
  }

  /** A failed operation as a {@link CacheError}; the first failure of an outage is logged. */
  private fail(operation: string, key: string, cause: unknown): CacheError {
    const driver = this.driver.name;
    const error = new CacheError({
      message: TimeoutError.isInstance(cause) ? cause.message : `Cache driver "${driver}" failed on ${operation}`,
      cause,
      details: { driver, operation, key },
    });
    if (this.failure === undefined) {
      this.logger.warn(
        { driver, operation, key, error: cause instanceof Error ? cause.message : String(cause) },
        `cache driver ${driver} failed; catalogue reads fail and writes are retried until it answers again`,
      );
    }
    this.failure = error;
    return error;
  }

  /** A write landed: ends the outage, if there was one, and retries the other pending writes now. */
  private recovered(): void {
    if (this.failure === undefined) return;
    this.failure = undefined;
    this.logger.info({ driver: this.driver.name, pendingKeys: this.slots.size }, `cache driver ${this.driver.name} answers again`);
    for (const slot of this.slots.values()) slot.wake?.();
  }

  /** Resolves once `work` has, or after `operationTimeoutMs`. */
  private async settleWithin(work: Promise<unknown>): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([work, new Promise((resolve) => (timer = setTimeout(resolve, this.operationTimeoutMs)).unref())]);
    clearTimeout(timer);
  }

  /**
   * Resolves when every write issued so far for this service has landed, after `operationTimeoutMs` at most, or at
   * once while the driver is known to be failing. Never rejects.
   */
  async flush(scope: ScopeKey, serviceName: string): Promise<void> {
    const drained: Array<Promise<void>> = [];
    for (const kind of KINDS) {
      const slot = this.slots.get(this.key(kind, scope, serviceName));
      if (slot) drained.push(slot.drained);
    }
    if (drained.length === 0 || this.failure !== undefined) return;
    await this.settleWithin(Promise.all(drained));
  }

  /**
   * Stops retrying failed writes; writes asked for afterwards are dropped. Resolves once the writes in flight have
   * settled, after `operationTimeoutMs` at most; never rejects. Call it before closing the driver. Safe to call twice.
   */
  async close(): Promise<void> {
    this.closed = true;
    for (const slot of this.slots.values()) slot.wake?.();
    if (this.slots.size > 0) await this.settleWithin(Promise.all([...this.slots.values()].map((slot) => slot.drained)));
  }

  writeService(scope: ScopeKey, info: ServiceInfo): Promise<void> {
    return this.write(this.key("service", scope, info.name), info as unknown as JsonValue);
  }

  writeCatalogue(scope: ScopeKey, serviceName: string, entry: { tools: ToolInfo[]; resources: ResourceInfo[]; prompts: PromptInfo[] }): Promise<unknown> {
    return Promise.all([
      this.write(this.key("tools", scope, serviceName), entry.tools as unknown as JsonValue),
      this.write(this.key("resources", scope, serviceName), entry.resources as unknown as JsonValue),
      this.write(this.key("prompts", scope, serviceName), entry.prompts as unknown as JsonValue),
    ]);
  }

  removeService(scope: ScopeKey, serviceName: string): Promise<unknown> {
    return Promise.all(KINDS.map((kind) => this.write(this.key(kind, scope, serviceName), undefined)));
  }

  async getService(scope: ScopeKey, serviceName: string): Promise<ServiceInfo | undefined> {
    const info = (await this.get(this.key("service", scope, serviceName))) as ServiceInfo | undefined;
    return info && this.driver.status?.().stale ? { ...info, stale: true } : info;
  }

  async listServices(scope: ScopeKey): Promise<ServiceInfo[]> {
    const values = (await this.readAll("service", scope)) as ServiceInfo[];
    // Stable sort: services added in the same millisecond keep the order they were written in.
    values.sort((a, b) => a.addedAt.localeCompare(b.addedAt));
    // Read from a shared cache's local copy that could not sync lately: say so (the values themselves are frozen).
    return this.driver.status?.().stale ? values.map((info) => ({ ...info, stale: true as const })) : values;
  }

  async listTools(scope: ScopeKey, serviceName?: string): Promise<ToolInfo[]> {
    return (await this.readLists("tools", scope, serviceName)) as ToolInfo[];
  }

  async listResources(scope: ScopeKey, serviceName?: string): Promise<ResourceInfo[]> {
    return (await this.readLists("resources", scope, serviceName)) as ResourceInfo[];
  }

  async listPrompts(scope: ScopeKey, serviceName?: string): Promise<PromptInfo[]> {
    return (await this.readLists("prompts", scope, serviceName)) as PromptInfo[];
  }

  /** The scope keys that have at least one service. */
  async scopes(): Promise<ScopeKey[]> {
    const keys = await this.keys("service/");
    return [...new Set(keys.map((key) => key.split("/")[1]!))];
  }

  /** The cached keys that start with `prefix`, bounded like every read (rejects with a {@link CacheError}). */
  keys(prefix: string): Promise<string[]> {
    return this.bounded("keys", prefix, () => this.driver.keys(prefix));
  }

  private get(key: string): Promise<JsonValue | undefined> {
    return this.bounded("get", key, () => this.driver.get(key));
  }

  private async readAll(kind: Kind, scope: ScopeKey): Promise<unknown[]> {
    const prefix = this.key(kind, scope);
    const keys = await this.keys(prefix);
    const values = await this.bounded("getMany", prefix, () => this.driver.getMany(keys));
    return values.filter((value) => value !== undefined);
  }

  private async readLists(kind: Kind, scope: ScopeKey, serviceName: string | undefined): Promise<unknown[]> {
    // A fresh array each time (callers may sort it); the items themselves are shared and frozen.
    if (serviceName !== undefined) return [...(((await this.get(this.key(kind, scope, serviceName))) as unknown[] | undefined) ?? [])];
    // A plain loop: Array.prototype.flat costs about 70 ns per item, which dominated listTools over 1,000 tools.
    const merged: unknown[] = [];
    for (const list of (await this.readAll(kind, scope)) as unknown[][]) for (const item of list) merged.push(item);
    return merged;
  }
}
