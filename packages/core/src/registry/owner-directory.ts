import { scopeKeyOf, type ScopeKey } from "../catalogue/catalogue.js";
import { ServiceExistsError, ServiceNotFoundError, ValidationError } from "../errors.js";
import type { ServiceRef } from "../events/store-events.js";
import type { ServiceOwner } from "./service-owner.js";
import { ToolRoutes } from "./tool-routes.js";

/** One scope: its owners and its call routes. */
export interface ScopeState {
  agentId: string | undefined;
  /** Owners by service name: those of existing services, and those with operations queued. */
  owners: Map<string, ServiceOwner>;
  routes: ToolRoutes;
}

const where = (agentId: string | undefined) => (agentId === undefined ? "the store scope" : `agent "${agentId}"`);
const refContext = (agentId: string | undefined, serviceName: string) => ({ serviceName, ...(agentId !== undefined ? { agentId } : {}) });

export function notFound(agentId: string | undefined, serviceName: string): ServiceNotFoundError {
  return new ServiceNotFoundError({ ...refContext(agentId, serviceName), message: `No service "${serviceName}" in ${where(agentId)}` });
}

export function exists(agentId: string | undefined, serviceName: string): ServiceExistsError {
  return new ServiceExistsError({ ...refContext(agentId, serviceName), message: `A service named "${serviceName}" already exists in ${where(agentId)}` });
}

/** An update keeps the service's name: a rename is a remove and an add. */
export function assertNoRename(serviceName: string, newName: string): void {
  if (newName === serviceName) return;
  throw new ValidationError({
    message: `A service cannot be renamed by an update ("${serviceName}" → "${newName}"); remove it and add it again`,
    serviceName,
    details: { issues: [{ path: `services.${serviceName}.name`, message: "must stay the same" }] },
  });
}

/**
 * Which owner answers for which name in which scope. An owner is made on the first operation on a name and kept while
 * its service exists or operations on it are queued, so that a remove and an add of one name meet in one queue.
 */
export class OwnerDirectory {
  private readonly scopes = new Map<ScopeKey, ScopeState>();

  constructor(private readonly createOwner: (ref: ServiceRef, scope: ScopeKey) => ServiceOwner) {}

  scope(agentId: string | undefined): ScopeState {
    const key = scopeKeyOf(agentId);
    let state = this.scopes.get(key);
    if (!state) this.scopes.set(key, (state = { agentId, owners: new Map(), routes: new ToolRoutes(agentId) }));
    return state;
  }

  /** The scope, if it was ever used. */
  peek(agentId: string | undefined): ScopeState | undefined {
    return this.scopes.get(scopeKeyOf(agentId));
  }

  scopeStates(): Iterable<ScopeState> {
    return this.scopes.values();
  }

  /** The owner of a name, if there is one now (its service may not exist: see `config`). */
  find(agentId: string | undefined, name: string): ServiceOwner | undefined {
    return this.scopes.get(scopeKeyOf(agentId))?.owners.get(name);
  }

  /** The owner of a name, made on first use. */
  ownerFor(agentId: string | undefined, name: string): ServiceOwner {
    const state = this.scope(agentId);
    let owner = state.owners.get(name);
    if (!owner) {
      owner = this.createOwner(agentId === undefined ? { serviceName: name } : { serviceName: name, agentId }, scopeKeyOf(agentId));
      state.owners.set(name, owner);
    }
    return owner;
  }

  /** Forgets an owner once its service is gone and nothing is queued on it. */
  retire(owner: ServiceOwner): void {
    if (owner.config !== undefined || owner.queue.size > 0) return;
    const state = this.scopes.get(owner.scope);
    if (state?.owners.get(owner.name) === owner) state.owners.delete(owner.name);
  }

  /** Runs `work` with the owner's queue held; the owner is retired afterwards if its service is gone. */
  async withOwner<T>(agentId: string | undefined, name: string, work: (owner: ServiceOwner) => Promise<T>): Promise<T> {
    const owner = this.ownerFor(agentId, name);
    try {
      return await owner.queue.run(() => work(owner));
    } finally {
      this.retire(owner);
    }
  }

  /** The owners of the scope's existing services. */
  *existing(state: ScopeState | undefined): Iterable<ServiceOwner> {
    if (state) for (const owner of state.owners.values()) if (owner.config !== undefined) yield owner;
  }

  /** Every owner of every scope. */
  all(): ServiceOwner[] {
    return [...this.scopes.values()].flatMap((state) => [...state.owners.values()]);
  }

  /** Drops agent scopes that have no owner left. */
  pruneEmptyScopes(): void {
    for (const [key, state] of this.scopes) if (state.agentId !== undefined && state.owners.size === 0) this.scopes.delete(key);
  }
}
