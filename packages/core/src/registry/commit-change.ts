import type { RegistryChange, RegistryPersistence } from "../config/registry-change.js";
import type { ServiceConfig } from "../config/service-config.js";
import type { ServiceInfo } from "../types.js";
import type { Logger } from "../logger.js";
import type { ChangePrincipal } from "./credential-binding.js";
import type { DesiredChange, DesiredStateDriver } from "./desired-state.js";
import type { ServiceOwner } from "./service-owner.js";

/** Options of the registry's changing methods. */
export interface ChangeOptions {
  /** False when the change comes from the config file itself (a hand edit), so it is not written back. */
  persist?: boolean;
  /** False when the change comes from the desired state (another instance), so it is not published again. */
  publish?: boolean;
  /** The config file's sequence number of the snapshot the change comes from (see {@link ServiceRegistry.sync}). */
  fileSeq?: number;
  /** Who asks (default `admin`): an agent may not move credentials it did not supply (see credential-binding.ts). */
  principal?: ChangePrincipal;
}

/** Where a change is made durable. */
export interface CommitTargets {
  desiredState: DesiredStateDriver;
  /** Marks this store's changes in the desired state's change feed. */
  origin: string;
  persistence?: RegistryPersistence;
  logger: Logger;
}

/** One change of the config file, with the changes that undo it. */
export interface FileStep {
  change: RegistryChange;
  undo: RegistryChange[];
}

/** What became of one service of an add (`ServiceRegistry.addEach`). */
export type AddOutcome = { service: ServiceInfo } | { error: unknown };

/**
 * Plans an add of `configs` in one commit, their owners' queues held. A name that is taken, or repeated in the list, is
 * refused, unless its service never connected ({@link ServiceOwner.replaceableByAdd}). The rest get one file `add` of
 * the new names (a whole batch is one write), one `replace` per service replaced, and a desired-state put each.
 */
export function planAdd(agentId: string | undefined, owners: ServiceOwner[], configs: ServiceConfig[]) {
  const refused = owners.map((owner, index) => owners.indexOf(owner) < index || (owner.config !== undefined && !owner.replaceableByAdd));
  const accepted = owners.flatMap((owner, index) => (refused[index] ? [] : [{ owner, config: configs[index]! }]));
  const fresh = accepted.filter((entry) => entry.owner.config === undefined).map((entry) => entry.config);
  const file: FileStep[] = [];
  if (fresh.length > 0) file.push({ change: { kind: "add", agentId, configs: fresh }, undo: fresh.map((config) => ({ kind: "remove", agentId, name: config.name })) });
  for (const { owner, config } of accepted) {
    if (owner.config !== undefined) file.push({ change: { kind: "replace", agentId, config }, undo: [{ kind: "replace", agentId, config: owner.config }] });
  }
  const scoped = agentId !== undefined ? { agentId } : {};
  const desired = accepted.map(({ owner, config }): DesiredChange => ({ op: "put", ...scoped, config, expect: owner.config === undefined ? "absent" : "present" }));
  return { refused, accepted, file, desired };
}

/**
 * Makes a change durable: the config file first (it is the one that refuses most often: a lock, a disk, an entry
 * added by hand), then the desired state. The file gets its steps in order, usually one (a batch of new services is
 * one `add`); if a later step or the desired state refuses, the steps already written are undone, latest first.
 * Throws, having changed nothing, when either refuses. Records on the owners the file sequence number of their
 * newest write, so an older snapshot of the file read by the watcher does not undo it.
 */
export async function commitChange(
  owners: ServiceOwner[],
  steps: { file: FileStep[]; desired: DesiredChange[] },
  options: ChangeOptions,
  targets: CommitTargets,
): Promise<void> {
  const persistence = options.persist === false ? undefined : targets.persistence;
  let written: unknown;
  const applied: FileStep[] = [];
  try {
    for (const step of persistence ? steps.file : []) {
      written = (await persistence!.apply(step.change)) ?? written;
      applied.push(step);
    }
    if (options.publish !== false) await targets.desiredState.apply(steps.desired, { origin: targets.origin });
  } catch (error) {
    for (const undo of applied.reverse().flatMap((step) => step.undo)) {
      await persistence!.apply(undo).catch((undoError: unknown) =>
        targets.logger.error({ error: (undoError as Error).message }, "could not undo a config file change that was refused"),
      );
    }
    throw error;
  }
  const seq = typeof written === "number" ? written : options.fileSeq;
  if (seq !== undefined) for (const owner of owners) owner.lastFileSeq = Math.max(owner.lastFileSeq, seq);
}
