import type { RegistryChange, RegistryPersistence } from "../config/registry-change.js";
import type { Logger } from "../logger.js";
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
}

/** Where a change is made durable. */
export interface CommitTargets {
  desiredState: DesiredStateDriver;
  /** Marks this store's changes in the desired state's change feed. */
  origin: string;
  persistence?: RegistryPersistence;
  logger: Logger;
}

/**
 * Makes a change durable: the config file first (it is the one that refuses most often: a lock, a disk, an entry
 * added by hand), then the desired state; if the desired state refuses, the file change is undone. Throws, having
 * changed nothing, when either refuses. Records on the owners the file sequence number of their newest write, so an
 * older snapshot of the file read by the watcher does not undo it.
 */
export async function commitChange(
  owners: ServiceOwner[],
  steps: { change: RegistryChange; undo: RegistryChange[]; desired: DesiredChange[] },
  options: ChangeOptions,
  targets: CommitTargets,
): Promise<void> {
  const persistence = options.persist === false ? undefined : targets.persistence;
  const written: unknown = await persistence?.apply(steps.change);
  if (options.publish !== false) {
    try {
      await targets.desiredState.apply(steps.desired, { origin: targets.origin });
    } catch (error) {
      for (const step of persistence ? steps.undo : []) {
        await persistence!.apply(step).catch((undoError: unknown) =>
          targets.logger.error({ error: (undoError as Error).message }, "could not undo a config file change the desired state refused"),
        );
      }
      throw error;
    }
  }
  const seq = typeof written === "number" ? written : options.fileSeq;
  if (seq !== undefined) for (const owner of owners) owner.lastFileSeq = Math.max(owner.lastFileSeq, seq);
}
