import { constants } from "node:os";
import type { Logger } from "@mcpstore/core";

const STOP_SIGNALS: readonly NodeJS.Signals[] = ["SIGINT", "SIGTERM"];

/** Options of {@link StopSignals}. */
export interface StopSignalsOptions {
  /** Receives the stop (info) and the forced exit (warn). Default: nothing is logged. */
  logger?: Logger;
}

/** The exit status of a command stopped by `signal`: 128 + its number, as shells report it (130 for SIGINT). */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0);
}

/**
 * SIGINT and SIGTERM for a command that starts server processes, listened to before it starts any. The first signal
 * asks for a graceful stop: {@link StopSignals.signal} aborts and {@link StopSignals.requested} resolves, and the
 * command closes what it opened. The second exits at once with {@link signalExitCode}: exiting runs the store's exit
 * hook, which SIGKILLs the process group of every stdio server still running, synchronously, so that none outlives
 * the command. (Without listeners, Node's default for these signals ends the process without running that hook.)
 */
export class StopSignals {
  private readonly controller = new AbortController();
  private readonly logger: Logger | undefined;
  private first: NodeJS.Signals | undefined;
  private resolveRequested!: (signal: NodeJS.Signals) => void;
  /** Aborted at the first signal. */
  readonly signal: AbortSignal = this.controller.signal;
  /** Resolves with the first signal. */
  readonly requested: Promise<NodeJS.Signals> = new Promise((resolve) => (this.resolveRequested = resolve));

  private readonly onSignal = (signal: NodeJS.Signals) => {
    if (this.first !== undefined) {
      this.logger?.warn({ signal }, "stopping now: killing every service process");
      process.exit(signalExitCode(signal));
    }
    this.first = signal;
    this.logger?.info({ signal }, "stopping");
    this.controller.abort();
    this.resolveRequested(signal);
  };

  /** Listens from now on, until {@link StopSignals.close}. */
  constructor(options: StopSignalsOptions = {}) {
    this.logger = options.logger;
    for (const name of STOP_SIGNALS) process.on(name, this.onSignal);
  }

  /** The first signal received, if any. */
  get received(): NodeJS.Signals | undefined {
    return this.first;
  }

  /** Stops listening: Node's defaults apply again. */
  close(): void {
    for (const name of STOP_SIGNALS) process.off(name, this.onSignal);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
