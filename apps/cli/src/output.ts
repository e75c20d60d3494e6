import { MCPStoreError } from "@mcpstore/core";

const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
const FRAME_MS = 80;

/** A spinner on stderr, or nothing where nobody watches (not a terminal, or `--json`). */
export interface Progress {
  update(text: string): void;
  stop(): void;
}

/** Where a command writes: tables and lines for people, or one JSON document for scripts (`--json`). */
export class Output {
  constructor(
    /** `--json`: stdout gets exactly one JSON document; errors on stderr are JSON too. */
    readonly json: boolean,
    private readonly stdout: NodeJS.WriteStream = process.stdout,
    private readonly stderr: NodeJS.WriteStream = process.stderr,
  ) {}

  /** A line for people (not written with `--json`). */
  line(text = ""): void {
    if (!this.json) this.stdout.write(`${text}\n`);
  }

  /** A note on stderr (not written with `--json`). */
  note(text: string): void {
    if (!this.json) this.stderr.write(`${text}\n`);
  }

  /** The command's result: `value` as JSON with `--json`, else what `human` prints. */
  result(value: unknown, human: () => void): void {
    if (this.json) this.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    else human();
  }

  /** Columns padded to their widest cell; `-` for an empty one. */
  table(headers: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number | undefined>>): void {
    const cells = rows.map((row) => headers.map((_, index) => String(row[index] ?? "") || "-"));
    const widths = headers.map((header, index) => Math.max(header.length, ...cells.map((row) => row[index]!.length)));
    const format = (row: readonly string[]) => row.map((cell, index) => (index === row.length - 1 ? cell : cell.padEnd(widths[index]!))).join("  ");
    this.line(format(headers));
    for (const row of cells) this.line(format(row));
  }

  /** An error on stderr: `error [CODE]: message` and its issues, or `{ "error": ... }` with `--json`. */
  error(error: unknown): void {
    const known = MCPStoreError.isInstance(error);
    const code = known ? error.code : "INTERNAL_ERROR";
    const message = error instanceof Error ? error.message : String(error);
    const details = known ? error.details : undefined;
    if (this.json) {
      this.stderr.write(`${JSON.stringify({ error: { code, message, ...(details ? { details } : {}) } })}\n`);
      return;
    }
    this.stderr.write(`error [${code}]: ${message}\n`);
    const issues = details?.issues as Array<{ path: string; message: string }> | undefined;
    if (Array.isArray(issues) && issues.length > 1) for (const issue of issues) this.stderr.write(`  ${issue.path}: ${issue.message}\n`);
  }

  /**
   * A spinner on stderr while something is waited for, on a terminal only. (Written here rather than taken from a
   * spinner package: the small ones loop forever on a terminal that reports zero columns, and exit on SIGINT.)
   */
  progress(text: string): Progress {
    const stream = this.stderr;
    if (this.json || !stream.isTTY) return { update() {}, stop() {} };
    let current = text;
    let frame = 0;
    const draw = () => {
      const width = stream.columns > 2 ? stream.columns - 2 : 78;
      stream.write(`\r\x1b[2K${FRAMES[frame++ % FRAMES.length]} ${current.slice(0, width)}`);
    };
    draw();
    const timer = setInterval(draw, FRAME_MS);
    timer.unref();
    return {
      update: (next) => {
        current = next;
      },
      stop: () => {
        clearInterval(timer);
        stream.write("\r\x1b[2K");
      },
    };
  }
}

/** Cuts a text to `max` characters, on one line. */
export function shorten(text: string | undefined, max = 60): string {
  const line = (text ?? "").replace(/\s+/g, " ").trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
