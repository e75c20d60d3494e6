import type { ServiceConfig } from "../config/service-config.js";
import { ServiceExistsError, ServiceNotFoundError } from "../errors.js";
import type { ApplyOptions, DesiredChange, DesiredService, DesiredStateDriver, DesiredStateEvent } from "./desired-state.js";

const keyOf = (agentId: string | undefined, name: string) => `${agentId === undefined ? "store" : `agent.${agentId}`}/${name}`;
const where = (agentId: string | undefined) => (agentId === undefined ? "the store scope" : `agent "${agentId}"`);

/** The default {@link DesiredStateDriver}: a `Map` in this process, with a synchronous change feed. */
export class MemoryDesiredState implements DesiredStateDriver {
  readonly name = "memory";
  private readonly services = new Map<string, DesiredService>();
  private readonly listeners = new Set<(event: DesiredStateEvent) => void>();
  private currentVersion = 0;

  async load(): Promise<{ version: number; services: DesiredService[] }> {
    return { version: this.currentVersion, services: [...this.services.values()].map((service) => structuredClone(service)) };
  }

  async get(agentId: string | undefined, name: string): Promise<ServiceConfig | undefined> {
    const service = this.services.get(keyOf(agentId, name));
    return service ? structuredClone(service.config) : undefined;
  }

  async apply(changes: DesiredChange[], options: ApplyOptions = {}): Promise<{ version: number }> {
    // Check every precondition against the state as it will be when the change before it applied, then apply all.
    const present = new Map<string, boolean>();
    const has = (key: string) => present.get(key) ?? this.services.has(key);
    for (const change of changes) {
      const name = change.op === "put" ? change.config.name : change.name;
      const key = keyOf(change.agentId, name);
      const context = { serviceName: name, ...(change.agentId !== undefined ? { agentId: change.agentId } : {}) };
      if (change.expect === "absent" && has(key)) throw new ServiceExistsError({ ...context, message: `A service named "${name}" already exists in ${where(change.agentId)}` });
      if (change.expect === "present" && !has(key)) throw new ServiceNotFoundError({ ...context, message: `No service "${name}" in ${where(change.agentId)}` });
      present.set(key, change.op === "put");
    }
    const copies = structuredClone(changes);
    for (const change of copies) {
      if (change.op === "put") {
        this.services.set(keyOf(change.agentId, change.config.name), {
          ...(change.agentId !== undefined ? { agentId: change.agentId } : {}),
          config: structuredClone(change.config),
        });
      } else this.services.delete(keyOf(change.agentId, change.name));
    }
    this.currentVersion += 1;
    const event: DesiredStateEvent = { version: this.currentVersion, changes: copies, ...(options.origin !== undefined ? { origin: options.origin } : {}) };
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch {
        // A subscriber's failure is its own; the change is accepted.
      }
    }
    return { version: this.currentVersion };
  }

  async version(): Promise<number> {
    return this.currentVersion;
  }

  subscribe(listener: (event: DesiredStateEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.listeners.clear();
  }
}
