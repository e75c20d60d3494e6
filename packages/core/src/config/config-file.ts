import { randomUUID } from "node:crypto";
import { constants, watch, type FSWatcher } from "node:fs";
import { access, chmod, mkdir, open, readFile, rename, stat, unlink } from "node:fs/promises";
import { basename, dirname } from "node:path";
import { applyEdits, modify } from "jsonc-parser";
import lockfile from "proper-lockfile";
import { newEntryPath, parseConfigText, serializeEntry, type ParsedConfig } from "./config-format.js";
import { ConfigFileError, MCPStoreError, ServiceExistsError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { RegistryChange } from "./registry-change.js";

const FORMAT = { formattingOptions: { insertSpaces: true, tabSize: 2, eol: "\n" } };
const WATCH_DEBOUNCE_MS = 50;

const holdsSecrets = (parsed: ParsedConfig) => parsed.entries.some((entry) => entry.raw && (entry.raw.headers !== undefined || entry.raw.env !== undefined));

/**
 * The `mcp.json` file. Each change is applied to the file as it is on disk at that moment (so that changes of other
 * processes are kept), as a minimal edit (unknown keys, key order and formatting survive), under a lock shared with
 * other processes, serialised in this one, and written atomically: a temp file in the same directory, fsync, rename,
 * fsync of the directory.
 */
export class ConfigFile {
  private queue: Promise<unknown> = Promise.resolve();
  private watcher: FSWatcher | undefined;
  private watchTimer: NodeJS.Timeout | undefined;
  /** The last text this process wrote or read, so that the watcher ignores it. */
  private lastText: string | undefined;

  constructor(
    /** Absolute path of the file. */
    readonly path: string,
    private readonly logger: Logger,
  ) {}

  /** Reads and parses the file; `undefined` when it does not exist yet. */
  async read(): Promise<ParsedConfig | undefined> {
    const text = await this.readText();
    if (text === undefined) return undefined;
    this.lastText = text;
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

  /** Applies a registry change to the file; resolves when it is durable. */
  apply(change: RegistryChange): Promise<void> {
    return this.serialize(() => this.applyLocked(change));
  }

  private async applyLocked(change: RegistryChange): Promise<void> {
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
    try {
      const before = (await this.readText()) ?? "";
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
        edit(target.path, serializeEntry(change.config, target.section));
      }
      if (!text.endsWith("\n")) text += "\n";
      if (text !== before) await this.writeAtomically(text, holdsSecrets(parseConfigText(text, this.path)));
    } catch (error) {
      if (MCPStoreError.isInstance(error)) throw error;
      throw new ConfigFileError({ message: `Cannot write ${this.path}: ${(error as Error).message}`, cause: error, details: { path: this.path } });
    } finally {
      await release().catch(() => undefined);
    }
  }

  private async writeAtomically(text: string, secret: boolean): Promise<void> {
    const directory = dirname(this.path);
    const mode = secret ? 0o600 : await stat(this.path).then((stats) => stats.mode & 0o777, () => 0o644);
    const temporary = `${directory}/.${basename(this.path)}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`;
    try {
      const handle = await open(temporary, "w", mode);
      try {
        await handle.writeFile(text, "utf8");
        await handle.sync();
      } finally {
        await handle.close();
      }
      await chmod(temporary, mode);
      this.lastText = text;
      await rename(temporary, this.path);
    } catch (error) {
      await unlink(temporary).catch(() => undefined);
      throw error;
    }
    const directoryHandle = await open(directory, "r");
    try {
      await directoryHandle.sync();
    } finally {
      await directoryHandle.close();
    }
  }

  /**
   * Watches the file for edits made by others. `onChange` gets each new version that parses; `onError` gets a
   * {@link ConfigFileError} for one that does not (the file is then left alone until it parses again).
   */
  watch(onChange: (parsed: ParsedConfig) => Promise<void> | void, onError: (error: MCPStoreError) => void): void {
    const name = basename(this.path);
    try {
      this.watcher = watch(dirname(this.path), { persistent: false }, (_event, filename) => {
        if (filename !== null && filename !== name) return;
        clearTimeout(this.watchTimer);
        this.watchTimer = setTimeout(() => {
          void this.serialize(async () => {
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
            await onChange(parsed);
          }).catch((error: unknown) => this.logger.error({ path: this.path, error: (error as Error).message }, "applying an edit of the config file failed"));
        }, WATCH_DEBOUNCE_MS);
        this.watchTimer.unref();
      });
      this.watcher.on("error", (error) => this.logger.warn({ path: this.path, error: error.message }, "config file watcher failed"));
    } catch (error) {
      this.logger.warn({ path: this.path, error: (error as Error).message }, "cannot watch the config file; edits by hand apply on restart");
    }
  }

  /** Stops watching, after the changes under way. */
  async close(): Promise<void> {
    clearTimeout(this.watchTimer);
    this.watcher?.close();
    await this.queue;
  }
}
