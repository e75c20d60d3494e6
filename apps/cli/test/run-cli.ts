import { spawn, type ChildProcess } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The built command. */
export const CLI_PATH = join(dirname(fileURLToPath(import.meta.url)), "../dist/cli.js");

/** What a finished run printed and how it exited. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Options of {@link runCli}. */
export interface RunCliOptions {
  cwd: string;
  /** Added to a clean environment (no MCPSTORE_* or LOG_LEVEL of the caller; HOME is `cwd`). */
  env?: Record<string, string | undefined>;
  timeoutMs?: number;
}

/** The caller's environment without what would change the command's behaviour. */
export function cleanEnv(home: string, extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith("MCPSTORE_") && key !== "LOG_LEVEL" && !key.startsWith("VITEST") && key !== "NODE_OPTIONS") env[key] = value;
  }
  Object.assign(env, { HOME: home, NO_COLOR: "1" }, extra);
  for (const [key, value] of Object.entries(env)) if (value === undefined) delete env[key];
  return env;
}

/** Runs `mcpstore ...args` as a subprocess and waits for it to exit. */
export function runCli(args: readonly string[], options: RunCliOptions): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_PATH, ...args], { cwd: options.cwd, env: cleanEnv(options.cwd, options.env), stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`mcpstore ${args.join(" ")} did not exit within ${options.timeoutMs ?? 60_000} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, options.timeoutMs ?? 60_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A running `mcpstore run api`. */
export interface RunningApi {
  child: ChildProcess;
  /** What it printed before it was ready. */
  banner: string;
  /** The URL on its first line. */
  url: string;
  stderr(): string;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** Starts `mcpstore run api ...args` and resolves once its banner is printed (the services are up by then). */
export function startApi(args: readonly string[], options: RunCliOptions): Promise<RunningApi> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_PATH, "run", "api", "--port", "0", ...args], {
      cwd: options.cwd,
      env: cleanEnv(options.cwd, options.env),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    const exited = new Promise<number | null>((done) => child.on("close", (code) => done(code)));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`run api did not start\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, options.timeoutMs ?? 60_000);
    child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout!.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(stdout);
      if (match && stdout.includes("  try ") && stdout.endsWith("\n")) {
        clearTimeout(timer);
        resolve({
          child,
          banner: stdout,
          url: match[1]!,
          stderr: () => stderr,
          stop: () => {
            if (child.exitCode === null) child.kill("SIGTERM");
            return exited;
          },
        });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`run api exited with ${code} before it was ready\nstdout: ${stdout}\nstderr: ${stderr}`));
    });
  });
}
