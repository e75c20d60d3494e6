import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { JSONRPCMessageSchema, type JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";

/** Options of {@link StdioTransport}. */
export interface StdioTransportOptions {
  command: string;
  args?: string[];
  /** Added to a minimal inherited environment (`HOME`, `LOGNAME`, `PATH`, `SHELL`, `TERM`, `USER`). */
  env?: Record<string, string>;
  cwd?: string;
  /** Longest stdout line accepted, in bytes; a longer one is dropped (and counted). Default 64 MiB. */
  maxLineBytes?: number;
  /** Longest stderr line kept, in characters; the rest of the line is cut. Default 1,000. */
  maxStderrLineChars?: number;
  /** Milliseconds between SIGTERM and SIGKILL when stopping. Default 2,000. */
  killGraceMs?: number;
  /** Receives each line the process writes to stderr (stderr is always drained, so the process never blocks on it). */
  onStderrLine?: (line: string) => void;
  /** Receives the start of each stdout line that is not an MCP message, when it is dropped. */
  onDroppedLine?: (sample: string) => void;
  /** Receives how the process ended, once it exited: on its own, or stopped by {@link StdioTransport.close}. */
  onExit?: (exit: ProcessExit) => void;
}

/** How a process ended: its exit code, or the signal that killed it (one of the two is `null`). */
export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const INHERITED_ENV = ["HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER"];
const DROPPED_SAMPLE_CHARS = 120;
const POLL_MS = 20;
/** How long a stopped group is checked by signal only, before its members are looked up in `/proc`. */
const QUICK_CHECK_MS = 50;
/** How long one `/proc` scan answers for every group being stopped. */
const SCAN_REUSE_MS = 15;
/** After the process exits, how long to wait for its pipes to close before reporting the connection closed. */
const CLOSE_AFTER_EXIT_MS = 100;

/** Process groups of running servers, killed when this process exits so that none outlives it. */
const liveGroups = new Set<number>();
let exitHookInstalled = false;
function trackGroup(groupId: number): void {
  liveGroups.add(groupId);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const id of liveGroups) signalGroup(id, "SIGKILL");
  });
}

/** Sends `signal` to every process of a group; false when the group has no process left. */
function signalGroup(groupId: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-groupId, signal);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

let lastScan: { at: number; groups: Set<number> } | undefined;

/**
 * The process groups that have a live (not zombie) process, from one `/proc` scan shared by every group being stopped
 * within {@link SCAN_REUSE_MS}, so that stopping many servers at once does not scan `/proc` once per server.
 */
function groupsWithLiveProcesses(): Set<number> | undefined {
  if (lastScan && Date.now() - lastScan.at < SCAN_REUSE_MS) return lastScan.groups;
  let names: string[];
  try {
    names = readdirSync("/proc");
  } catch {
    return undefined;
  }
  const groups = new Set<number>();
  for (const name of names) {
    const first = name.charCodeAt(0);
    if (first < 48 || first > 57) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, "latin1");
    } catch {
      continue;
    }
    // Fields after the command name (which may hold spaces): state, ppid, pgrp, ...
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ", 3);
    if (state !== "Z" && state !== "X") groups.add(Number(pgrp));
  }
  lastScan = { at: Date.now(), groups };
  return groups;
}

/**
 * True while a group has a process that is not a zombie. Signalling alone cannot tell: a zombie still "receives"
 * signals until its parent reaps it, and a server's orphaned children are reaped by init, which may take a while.
 */
function groupHasLiveProcess(groupId: number): boolean {
  if (!signalGroup(groupId, 0)) return false;
  if (process.platform !== "linux") return true;
  return groupsWithLiveProcesses()?.has(groupId) ?? true;
}

/** Resolves with true once `promise` settles, or with false after `ms`. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const result = await Promise.race([promise.then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)))]);
  clearTimeout(timer);
  return result;
}

/**
 * Waits until the group has no live process, or `timeoutMs` passed; true when it is gone. Nothing is polled until the
 * group's leader (the process we started) has exited; then cheap signal checks, and `/proc` scans after a while.
 */
async function groupGone(groupId: number, leaderExited: Promise<void>, timeoutMs: number): Promise<boolean> {
  const started = Date.now();
  if (!(await settlesWithin(leaderExited, timeoutMs))) return false;
  while (Date.now() - started < timeoutMs) {
    if (!signalGroup(groupId, 0)) return true;
    if (Date.now() - started >= QUICK_CHECK_MS && !groupHasLiveProcess(groupId)) return true;
    await sleep(Date.now() - started < QUICK_CHECK_MS ? 2 : POLL_MS);
  }
  return !groupHasLiveProcess(groupId);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The MCP stdio client transport of MCPStore. Unlike the SDK's, it starts the server in a process group of its own and
 * stops the whole group (SIGTERM, then SIGKILL), so that servers started through wrappers (`npx`, shell scripts) leave
 * no orphan behind; it always drains stderr; it drops stdout lines that are not MCP messages instead of failing, and
 * counts them; and it reports the connection closed as soon as the process exits, even when a grandchild still holds
 * the pipes open.
 */
export class StdioTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  /** Stdout lines dropped because they were not MCP messages (or were too long). */
  droppedLines = 0;

  private child: ChildProcessWithoutNullStreams | undefined;
  private groupId: number | undefined;
  private exited = false;
  private closeReported = false;
  private stopping: Promise<void> | undefined;
  /** Settles when the process we started has exited (and was reaped). */
  private leaderExited: Promise<void> = Promise.resolve();
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private discardingLine = false;
  private stderrPartial = "";
  private readonly inbox: JSONRPCMessage[] = [];
  private delivering = false;
  private closeWhenDelivered = false;

  constructor(private readonly options: StdioTransportOptions) {}

  /** The server's process id (also its process group id), once started and until it exits. */
  get pid(): number | undefined {
    return this.exited ? undefined : this.child?.pid;
  }

  /** Spawns the server; resolves once it runs, rejects (e.g. `ENOENT`) when it cannot be started. */
  start(): Promise<void> {
    if (this.child) return Promise.reject(new Error("StdioTransport already started"));
    const env: Record<string, string> = {};
    for (const name of INHERITED_ENV) {
      const value = process.env[name];
      // Skip exported shell functions, as the SDK does.
      if (value !== undefined && !value.startsWith("()")) env[name] = value;
    }
    Object.assign(env, this.options.env);
    const isWindows = process.platform === "win32";
    const child = spawn(this.options.command, this.options.args ?? [], {
      env,
      ...(this.options.cwd ? { cwd: this.options.cwd } : {}),
      stdio: ["pipe", "pipe", "pipe"],
      // A new session and process group (pgid = pid), so that stopping reaches the server's own children too.
      detached: !isWindows,
      windowsHide: true,
    });
    this.child = child;
    this.leaderExited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    // spawn() returns once the command was executed, after setsid(): the group exists from here on.
    if (child.pid !== undefined && !isWindows) {
      this.groupId = child.pid;
      trackGroup(child.pid);
    }
    child.stdout.on("data", (chunk: Buffer) => this.readStdout(chunk));
    child.stderr.on("data", (chunk: Buffer) => this.readStderr(chunk));
    // EPIPE and the like: the exit that follows reports the loss.
    child.stdin.on("error", (error) => this.onerror?.(error));
    child.stdout.on("error", (error) => this.onerror?.(error));
    child.stderr.on("error", () => undefined);
    return new Promise<void>((resolve, reject) => {
      let spawned = false;
      child.once("error", (error) => {
        if (!spawned) reject(error);
        else this.onerror?.(error);
      });
      child.once("spawn", () => {
        spawned = true;
        resolve();
      });
      child.once("exit", (code, signal) => this.onExit({ code, signal }));
      child.once("close", () => this.reportClosed());
    });
  }

  send(message: JSONRPCMessage): Promise<void> {
    const stdin = this.child?.stdin;
    if (!stdin || this.exited || this.stopping || !stdin.writable) return Promise.reject(new Error("Not connected"));
    return new Promise<void>((resolve, reject) => {
      stdin.write(`${JSON.stringify(message)}\n`, (error) => (error ? reject(error) : resolve()));
    });
  }

  /** Stops the server: closes stdin, SIGTERM to its process group, SIGKILL after `killGraceMs`. Resolves when gone. */
  async close(): Promise<void> {
    if (this.child) {
      try {
        this.child.stdin.end();
      } catch {
        // Already closed.
      }
      await this.stopGroup();
    }
    this.reportClosed();
  }

  private onExit(exit: ProcessExit): void {
    this.exited = true;
    this.options.onExit?.(exit);
    // The process is gone; whatever it started goes too, and the connection is over even if a grandchild still
    // holds stdout open.
    void this.stopGroup();
    setTimeout(() => this.reportClosed(), CLOSE_AFTER_EXIT_MS).unref();
  }

  private stopGroup(): Promise<void> {
    this.stopping ??= (async () => {
      const groupId = this.groupId;
      if (groupId === undefined) {
        // Windows, or never started: only the direct child can be signalled.
        if (!this.exited) this.child?.kill("SIGTERM");
        return;
      }
      if (signalGroup(groupId, "SIGTERM") && !(await groupGone(groupId, this.leaderExited, this.options.killGraceMs ?? 2000))) {
        if (signalGroup(groupId, "SIGKILL")) await groupGone(groupId, this.leaderExited, 2000);
      }
      liveGroups.delete(groupId);
    })();
    return this.stopping;
  }

  private reportClosed(): void {
    if (this.closeReported) return;
    if (this.delivering) {
      // Messages read before the end are handed over first.
      this.closeWhenDelivered = true;
      return;
    }
    this.closeReported = true;
    this.pending = [];
    this.pendingBytes = 0;
    this.onclose?.();
  }

  private readStdout(chunk: Buffer): void {
    const maxLineBytes = this.options.maxLineBytes ?? 64 * 1024 * 1024;
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf(10, start);
      if (newline === -1) break;
      const piece = chunk.subarray(start, newline);
      start = newline + 1;
      if (this.discardingLine) {
        this.discardingLine = false;
        this.drop(`(a line longer than ${maxLineBytes} bytes)`);
        continue;
      }
      if (this.pending.length === 0) {
        this.readLine(piece);
        continue;
      }
      this.pending.push(piece);
      const line = Buffer.concat(this.pending, this.pendingBytes + piece.length);
      this.pending = [];
      this.pendingBytes = 0;
      if (line.length > maxLineBytes) this.drop(`(a line longer than ${maxLineBytes} bytes)`);
      else this.readLine(line);
    }
    if (start >= chunk.length || this.discardingLine) return;
    const rest = chunk.subarray(start);
    this.pendingBytes += rest.length;
    if (this.pendingBytes > maxLineBytes) {
      // Too long to be a message we accept: skip the rest of it rather than hold it in memory.
      this.pending = [];
      this.pendingBytes = 0;
      this.discardingLine = true;
      return;
    }
    this.pending.push(rest);
  }

  private readLine(line: Buffer): void {
    let text = line.toString("utf8");
    if (text.endsWith("\r")) text = text.slice(0, -1);
    if (text.trim() === "") return;
    let message: JSONRPCMessage;
    try {
      // Anything that is not a JSON object cannot be a message: skip parsing it.
      if (text.trimStart()[0] !== "{") throw new Error("not JSON");
      message = JSONRPCMessageSchema.parse(JSON.parse(text));
    } catch {
      this.drop(text.slice(0, DROPPED_SAMPLE_CHARS));
      return;
    }
    this.inbox.push(message);
    if (!this.delivering) this.deliver();
  }

  /**
   * Hands messages over in order. The SDK runs notification handlers a microtask later but handles responses at once,
   * so a call's last progress notification and its result, read in one chunk, would reach the caller the wrong way
   * round (and the progress be dropped): after a notification, the next message waits for the microtasks queued by it.
   */
  private deliver(): void {
    this.delivering = true;
    while (this.inbox.length > 0) {
      const message = this.inbox.shift()!;
      try {
        this.onmessage?.(message);
      } catch (error) {
        this.onerror?.(error instanceof Error ? error : new Error(String(error)));
      }
      if (!("id" in message)) {
        // Stay "delivering" until the microtask: a message read meanwhile (the result) queues up behind.
        queueMicrotask(() => this.deliver());
        return;
      }
    }
    this.delivering = false;
    if (this.closeWhenDelivered) this.reportClosed();
  }

  private drop(sample: string): void {
    this.droppedLines++;
    this.options.onDroppedLine?.(sample);
  }

  private readStderr(chunk: Buffer): void {
    const maxChars = this.options.maxStderrLineChars ?? 1000;
    const lines = (this.stderrPartial + chunk.toString("utf8")).split("\n");
    // A line without its end yet: keep its start only, so that a flood without newlines stays bounded.
    this.stderrPartial = (lines.pop() ?? "").slice(0, maxChars);
    const onLine = this.options.onStderrLine;
    if (!onLine) return;
    for (const line of lines) {
      const trimmed = line.endsWith("\r") ? line.slice(0, -1) : line;
      if (trimmed.trim() !== "") onLine(trimmed.slice(0, maxChars));
    }
  }
}
