import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const SCRIPT = fileURLToPath(new URL("./fixtures/lease-worker.mjs", import.meta.url));
const DIST = fileURLToPath(new URL("../dist/index.js", import.meta.url));

/** A message of the worker (see fixtures/lease-worker.mjs). */
export interface WorkerMessage {
  type: string;
  fence?: number;
  accepted?: boolean;
  reason?: string;
  error?: string;
}

/** A lease worker in its own `node` process, with its messages and a way to wait for the next one that matches. */
export class LeaseWorkerProcess {
  readonly child: ChildProcess;
  readonly messages: WorkerMessage[] = [];
  private readonly waiters = new Set<() => void>();
  private stderr = "";

  constructor(environment: Record<string, string>) {
    if (!existsSync(DIST)) throw new Error(`build @mcpstore/redis first (npx tsup): ${DIST} is missing`);
    this.child = spawn(process.execPath, [SCRIPT], { env: { ...process.env, ...environment }, stdio: ["pipe", "pipe", "pipe"] });
    let buffer = "";
    this.child.stdout!.on("data", (chunk: Buffer) => {
      buffer += chunk.toString();
      let newline: number;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        this.messages.push(JSON.parse(buffer.slice(0, newline)) as WorkerMessage);
        buffer = buffer.slice(newline + 1);
      }
      for (const wake of [...this.waiters]) wake();
    });
    this.child.stderr!.on("data", (chunk: Buffer) => (this.stderr = (this.stderr + chunk.toString()).slice(-4_000)));
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** The first message from index `from` on that `match`es, waiting up to `timeoutMs`; resolves with it and its index. */
  next(match: (message: WorkerMessage) => boolean, from: number, timeoutMs: number): Promise<{ message: WorkerMessage; index: number }> {
    return new Promise((resolve, reject) => {
      const check = () => {
        for (let index = from; index < this.messages.length; index += 1) {
          if (match(this.messages[index]!)) {
            finish();
            resolve({ message: this.messages[index]!, index });
            return;
          }
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`worker ${this.pid}: no matching message within ${timeoutMs} ms; stderr: ${this.stderr.trim() || "none"}`));
      }, timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** Ends the worker (SIGCONT first, in case it is paused; SIGKILL after 2 s) and waits for it to exit. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once("exit", resolve));
    this.child.kill("SIGCONT");
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 2_000);
    await exited;
    clearTimeout(timer);
  }
}
