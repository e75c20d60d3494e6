import type { Logger } from "../logger.js";
import type { ProcessExit } from "./stdio-transport.js";
import type { TransportHooks } from "./transports.js";

/** Lines of stderr kept per service. */
export const STDERR_LINES = 20;
/** Characters kept of each stderr line. */
const STDERR_LINE_CHARS = 500;
/** Stderr lines and dropped stdout lines update the cached service info at most this often. */
const INFO_THROTTLE_MS = 200;

/** Where a {@link ServerOutputRecorder} keeps what it records: the service's own fields, shown in its info. */
export interface RecordedOutput {
  /** The last {@link STDERR_LINES} lines of stderr, across restarts of the process. */
  readonly stderrTail: string[];
  /** Stdout lines that were not MCP messages and were dropped, across restarts of the process. */
  stdoutDroppedLines: number;
  /** Replaces secrets of the service's config with `***`. */
  scrub(text: string): string;
}

/** What a {@link ServerOutputRecorder} needs from its connection. */
export interface ServerOutputRecorderOptions {
  service: RecordedOutput;
  logger: Logger;
  serviceName: string;
  agentId: string | undefined;
  /** True once the connection is closed for good: nothing is reported after that. */
  isClosed(): boolean;
  /** Something shown in the service info changed (stderr, dropped lines). */
  onInfoChange(): void;
}

/** What the latest run of a stdio server left to explain a failure with (all of it secret-free). */
export interface ServerRun {
  /** How the process ended, once it has. */
  exit: ProcessExit | undefined;
  /** The first stdout line of the run that was not an MCP message, cut short. */
  firstDroppedLine: string | undefined;
  /** The last line of the stderr tail (which spans runs). */
  lastStderrLine: string | undefined;
}

/** What the recorder keeps of one run, filled in by that run's transport hooks. */
type RunRecord = { exit?: ProcessExit; firstDroppedLine?: string };

/**
 * Records what a stdio server prints besides MCP messages: a short, secret-free tail of its stderr and the count of
 * stdout lines that were dropped; and, for the latest run, how it ended and its first dropped line. A flood of either
 * updates the service info at most every {@link INFO_THROTTLE_MS}.
 */
export class ServerOutputRecorder {
  private infoTimer: NodeJS.Timeout | undefined;
  private run: RunRecord = {};

  constructor(private readonly options: ServerOutputRecorderOptions) {}

  /** What the latest run (the transport of the latest {@link hooks}) left to explain a failure with. */
  lastRun(): ServerRun {
    return { exit: this.run.exit, firstDroppedLine: this.run.firstDroppedLine, lastStderrLine: this.options.service.stderrTail.at(-1) };
  }

  /** The transport hooks that feed the recorder, for a new run (a new transport). */
  hooks(): TransportHooks {
    const { service, logger } = this.options;
    const run: RunRecord = {};
    this.run = run;
    return {
      onStderrLine: (line) => {
        // Scrubbed before it is cut, so that the cut cannot leave the start of a secret.
        service.stderrTail.push(service.scrub(line).slice(0, STDERR_LINE_CHARS));
        if (service.stderrTail.length > STDERR_LINES) service.stderrTail.shift();
        this.infoChangedSoon();
      },
      onDroppedLine: (sample) => {
        run.firstDroppedLine ??= service.scrub(sample);
        service.stdoutDroppedLines++;
        this.infoChangedSoon();
        if (service.stdoutDroppedLines === 1 || service.stdoutDroppedLines % 1000 === 0) {
          logger.debug(
            { service: this.options.serviceName, agentId: this.options.agentId, dropped: service.stdoutDroppedLines, sample: service.scrub(sample) },
            "dropped stdout lines that are not MCP messages",
          );
        }
      },
      onProcessExit: (exit) => {
        run.exit = exit;
      },
    };
  }

  /** Cancels a pending info update (the connection is closing). */
  stop(): void {
    clearTimeout(this.infoTimer);
  }

  /** Reports an info change within {@link INFO_THROTTLE_MS}, once for any number of changes (a stderr flood). */
  private infoChangedSoon(): void {
    if (this.infoTimer || this.options.isClosed()) return;
    this.infoTimer = setTimeout(() => {
      this.infoTimer = undefined;
      if (!this.options.isClosed()) this.options.onInfoChange();
    }, INFO_THROTTLE_MS);
    this.infoTimer.unref();
  }
}
