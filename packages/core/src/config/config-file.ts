import { randomUUID } from "node:crypto";
import { constants, readFileSync, renameSync, unlinkSync, watch, type FSWatcher } from "node:fs";
import { access, chmod, mkdir, open, readFile, unlink } from "node:fs/promises";
import { basename, dirname } from "node:path";
import { applyEdits, modify } from "jsonc-parser";
import lockfile from "proper-lockfile";
import { newEntryPath, parseConfigText, serializeEntry, type ParsedConfig } from "./config-format.js";
import { ConfigFileError, MCPStoreError, ServiceExistsError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { RegistryChange } from "./registry-change.js";

const FORMAT = { formattingOptions: { insertSpaces: true, tabSize: 2, eol: "\n" } };
const WATCH_DEBOUNCE_MS = 50;
/**
 * How long a write keeps redoing its change on a file that keeps changing under it (someone saving it without the
 * lock) before it fails with a ConfigFileError rather than overwrite their edit, in milliseconds.
 */
const REDO_TIMEOUT_MS = 5_000;

/** The file's mode: it may hold secrets anywhere (headers, env, URLs, arguments), so only its owner reads it. */
const FILE_MODE = 0o600;

/**
 * The `mcp.json` file. Each change is applied to the file as it is on disk at that moment (so that changes of other
 * processes are kept), as a minimal edit (unknown keys, key order and formatting survive), under a lock shared with
 * other processes, serialised in this one, and written atomically: a temp file (mode 0600) in the same directory, fsync, rename,
 * fsync of the directory. Just before the rename the file is read again: if an editor (which takes no lock) saved it
 * meanwhile, the change is applied again to the new text instead of overwriting it.
 *
 * Writes and the edits the watcher delivers are numbered in the order they run (see {@link apply} and {@link watch}),
 * so that a reader can tell an older snapshot of the file from a newer write.
 */
export class ConfigFile {
  private queue: Promise<unknown> = Promise.resolve();
  private watcher: FSWatcher | undefined;
  private watchTimer: NodeJS.Timeout | undefined;
  /**
   * The text whose content the store is known to reflect (read at start, delivered by the watcher, or written on top
   * of such a text); the watcher delivers any other. A write on top of a text the store has not seen leaves it alone.
   */
  private lastText: string | undefined;
  /** The number of the latest write or delivered edit. */
  private sequence = 0;
  /** Schedules the watcher's read of the file; set while watching. */
  private scheduleRead: (() => void) | undefined;

  constructor(
    /** Absolute path of the file. */
    readonly path: string,
    private readonly logger: Logger,
  ) {}

  /** Reads and parses the file; `undefined` when it does not exist yet. */
  async read(): Promise<ParsedConfig | undefined> {
    const text = await this.readText();
    // A missing file reads as "" when a write edits it: the store reflects that too.
    this.lastText = text ?? "";
    if (text === undefined) return undefined;
    return parseConfigText(text, this.path);
  }

  private async readText(): Promise<string | undefined> {
    try {
      return await readFile(this.path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw new ConfigFileError({ message: `Cannot read ${this.path}: ${(error as Error).message}`, cause: error, details: { path: this.path } });
    }
  }

  /** Runs `work` after every earlier change of this process. */
  serialize<T>(work: () => Promise<T>): Promise<T> {
    const result = this.queue.then(work);
    this.queue = result.catch(() => undefined);
    return result;
  }

  /**
   * Applies a registry change to the file; resolves when it is durable, with the write's sequence number: greater
   * than that of every write and delivered edit before it, smaller than that of every one after (numbers start at 1).
   * A change that leaves the file as it was is numbered too. A write that fails gets no number.
   */
  apply(change: RegistryChange): Promise<number> {
    return this.serialize(() => this.applyLocked(change));
  }

  private async applyLocked(change: RegistryChange): Promise<number> {
    const directory = dirname(this.path);
    let release: (() => Promise<void>) | undefined;
    try {
      await mkdir(directory, { recursive: true, mode: 0o700 });
      // Fail at once on a directory we cannot write, rather than after the lock's retries.
      await access(directory, constants.W_OK);
      release = await lockfile.lock(this.path, {
        realpath: false,
        lockfilePath: `${this.path}.lock`,
        stale: 5_000,
        update: 1_000,
        retries: { retries: 400, factor: 1.2, minTimeout: 5, maxTimeout: 50 },
        onCompromised: (error) => this.logger.error({ path: this.path, error: error.message }, "config file lock compromised"),
      });
    } catch (error) {
      throw new ConfigFileError({ message: `Cannot write ${this.path}: ${(error as Error).message}`, cause: error, details: { path: this.path } });
    }
    const known = this.lastText;
    let before: string | undefined;
    try {
      before = (await this.readText()) ?? "";
      let text = this.edit(before, change);
      const deadline = Date.now() + REDO_TIMEOUT_MS;
      while (text !== before) {
        const temporary = await this.writeTemporary(text);
        const found = this.renameUnlessChanged(temporary, before);
        if (found === before) {
          await this.syncDirectory();
          break;
        }
        if (Date.now() > deadline) throw new Error(`it kept changing under the write for ${REDO_TIMEOUT_MS} ms`);
        before = found;
        text = this.edit(before, change);
      }
      if (before === known) this.lastText = text;
      return ++this.sequence;
    } catch (error) {
      if (MCPStoreError.isInstance(error)) throw error;
      throw new ConfigFileError({ message: `Cannot write ${this.path}: ${(error as Error).message}`, cause: error, details: { path: this.path } });
    } finally {
      // The file held an edit the store has not seen: have the watcher read the file after this write even if that
      // edit's own event is lost (or the file cannot be watched).
      if (before !== undefined && before !== known) this.scheduleRead?.();
      await release().catch(() => undefined);
    }
  }

  /** `text` with the change applied, as a minimal edit ending in a newline. */
  private edit(before: string, change: RegistryChange): string {
    let text = before;
    const parsed = parseConfigText(text, this.path);
    const find = (agentId: string | undefined, name: string) => parsed.entries.find((entry) => entry.agentId === agentId && entry.name === name);
    const edit = (path: string[], value: unknown) => {
      text = applyEdits(text, modify(text, path, value, FORMAT));
    };
    if (change.kind === "add") {
      for (const config of change.configs) {
        if (find(change.agentId, config.name)) {
          throw new ServiceExistsError({
            message: `A service named "${config.name}" is already in ${this.path} (added by another process or by hand)`,
            serviceName: config.name,
            ...(change.agentId !== undefined ? { agentId: change.agentId } : {}),
          });
        }
        const target = newEntryPath(parseConfigText(text, this.path).document, change.agentId, config.name);
        edit(target.path, serializeEntry(config, target.section));
      }
    } else if (change.kind === "remove") {
      const entry = find(change.agentId, change.name);
      if (entry) edit(entry.path, undefined);
    } else {
      const entry = find(change.agentId, change.config.name);
      const target = entry ?? newEntryPath(parsed.document, change.agentId, change.config.name);
      edit(target.path, serializeEntry(change.config, target.section, entry));
    }
    if (!text.endsWith("\n")) text += "\n";
    return text;
  }

  /**
   * Renames `temporary` over the file if the file still reads `expected`, else removes it; returns the text found (so
   * the rename happened if it equals `expected`). Synchronous, so that nothing of this process runs between the read
   * and the rename, and another process's save can only slip into the microseconds between two system calls.
   */
  private renameUnlessChanged(temporary: string, expected: string): string {
    try {
      let found: string;
      try {
        found = readFileSync(this.path, "utf8");
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
        found = "";
      }
      if (found === expected) renameSync(temporary, this.path);
      else unlinkSync(temporary);
      return found;
    } catch (error) {
      try {
        unlinkSync(temporary);
      } catch {
        // Already gone.
      }
      throw error;
    }
  }

  /**
   * Writes `text` to a new temp file beside the file, fsynced; returns its path, for the caller to rename. The temp
   * file is created with mode 0600 (never readable by others, not even for a moment), which the file then has
   * whatever its mode was before.
   */
  private async writeTemporary(text: string): Promise<string> {
    const temporary = `${dirname(this.path)}/.${basename(this.path)}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`;
    try {
      // `wx`: a new file, never one that already exists at that name (or a link planted there).
      const handle = await open(temporary, "wx", FILE_MODE);
      try {
        await handle.writeFile(text, "utf8");
        await handle.sync();
      } finally {
        await handle.close();
      }
      // The umask may have taken bits away; set exactly 0600.
      await chmod(temporary, FILE_MODE);
      return temporary;
    } catch (error) {
      await unlink(temporary).catch(() => undefined);
      throw error;
    }
  }

  private async syncDirectory(): Promise<void> {
    const directoryHandle = await open(dirname(this.path), "r");
    try {
      await directoryHandle.sync();
    } finally {
      await directoryHandle.close();
    }
  }

  /**
   * Watches the file for edits made by others. `onChange` gets each new version that parses, with its sequence number
   * (in the numbering of {@link apply}): the version was read after every write with a smaller number was renamed into
   * place, so it holds their changes unless someone has since edited them away, and before every write with a larger
   * one. `onError` gets a {@link ConfigFileError} for a version that does not parse (the file is then left alone until
   * it parses again). Versions are delivered one at a time, in order, between writes. The file is also read once, 50 ms
   * after this call, for an edit made since {@link read}.
   */
  watch(onChange: (parsed: ParsedConfig, seq: number) => Promise<void> | void, onError: (error: MCPStoreError) => void): void {
    const name = basename(this.path);
    const readEdit = () =>
      this.serialize(async () => {
        const text = await this.readText();
        if (text === undefined || text === this.lastText) return;
        this.lastText = text;
        let parsed: ParsedConfig;
        try {
          parsed = parseConfigText(text, this.path);
        } catch (error) {
          onError(error as MCPStoreError);
          return;
        }
        await onChange(parsed, ++this.sequence);
      }).catch((error: unknown) => this.logger.error({ path: this.path, error: (error as Error).message }, "applying an edit of the config file failed"));
    this.scheduleRead = () => {
      clearTimeout(this.watchTimer);
      this.watchTimer = setTimeout(() => void readEdit(), WATCH_DEBOUNCE_MS);
      this.watchTimer.unref();
    };
    try {
      this.watcher = watch(dirname(this.path), { persistent: false }, (_event, filename) => {
        if (filename === null || filename === name) this.scheduleRead?.();
      });
      this.watcher.on("error", (error) => this.logger.warn({ path: this.path, error: error.message }, "config file watcher failed"));
    } catch (error) {
      this.logger.warn({ path: this.path, error: (error as Error).message }, "cannot watch the config file; edits by hand apply on restart");
    }
    this.scheduleRead();
  }

  /** Stops watching, after the changes under way. */
  async close(): Promise<void> {
    this.scheduleRead = undefined;
    clearTimeout(this.watchTimer);
    this.watcher?.close();
    await this.queue;
  }
}
