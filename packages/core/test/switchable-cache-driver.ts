import { MemoryCacheDriver, type CacheDriver, type JsonValue } from "../src/index.js";

/** How a {@link SwitchableCacheDriver} answers: normally, by rejecting every operation, or not at all. */
export type CacheDriverMode = "ok" | "reject" | "hang";

/**
 * A {@link MemoryCacheDriver} whose behaviour can be switched at run time, to play a network cache that blips
 * (`reject`) or stalls (`hang`: operations wait until the mode changes, then answer as the new mode says).
 */
export class SwitchableCacheDriver implements CacheDriver {
  readonly name = "switchable";
  /** The memory driver underneath: what actually landed. */
  readonly inner = new MemoryCacheDriver();
  /** Operations started, by kind (`get`, `set`, ...), in every mode. */
  readonly calls = new Map<string, number>();
  private currentMode: CacheDriverMode = "ok";
  private released: Promise<void> = Promise.resolve();
  private release: () => void = () => {};

  get mode(): CacheDriverMode {
    return this.currentMode;
  }

  set mode(mode: CacheDriverMode) {
    if (mode === this.currentMode) return;
    if (mode === "hang") this.released = new Promise((resolve) => (this.release = resolve));
    this.currentMode = mode;
    if (mode !== "hang") this.release();
  }

  private async run<T>(operation: string, apply: () => Promise<T>): Promise<T> {
    this.calls.set(operation, (this.calls.get(operation) ?? 0) + 1);
    while (this.currentMode === "hang") await this.released;
    if (this.currentMode === "reject") throw new Error(`switchable cache: ${operation} refused (connection reset)`);
    return apply();
  }

  get<T extends JsonValue>(key: string): Promise<T | undefined> {
    return this.run("get", () => this.inner.get<T>(key));
  }

  getMany<T extends JsonValue>(keys: readonly string[]): Promise<Array<T | undefined>> {
    return this.run("getMany", () => this.inner.getMany<T>(keys));
  }

  set(key: string, value: JsonValue): Promise<void> {
    return this.run("set", () => this.inner.set(key, value));
  }

  delete(key: string): Promise<void> {
    return this.run("delete", () => this.inner.delete(key));
  }

  keys(prefix: string): Promise<string[]> {
    return this.run("keys", () => this.inner.keys(prefix));
  }

  deletePrefix(prefix: string): Promise<void> {
    return this.run("deletePrefix", () => this.inner.deletePrefix(prefix));
  }

  /** Lets hung operations go, then empties the memory driver. */
  async close(): Promise<void> {
    this.mode = "ok";
    await this.inner.close();
  }
}
