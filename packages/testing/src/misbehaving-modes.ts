/**
 * How the misbehaving fixture (`misbehaving-fixture.js --mode <mode>`) misbehaves:
 * - `normal`: serves (with the fault tools `crash`, `hang`, `wait_for_cancel`, `cancellations`, `write_stdout_garbage`, `pid`);
 * - `crash-mid-call`: exits 50 ms into its first tool call, before answering;
 * - `no-initialize`: reads stdin, never answers anything (not even `initialize`), and outlives stdin;
 * - `exit-at-once`: writes a line to stderr and exits with code 1;
 * - `garbage-stdout`: writes non-MCP lines and a huge line to stdout before serving, and a stray line every 25 ms;
 * - `stderr-flood`: writes `--flood-bytes` (default 1 MiB) to stderr before serving, then 50 lines every 20 ms;
 * - `goes-silent`: serves, then after `--silent-after-ms` (default 300) answers nothing, pings included;
 * - `flap`: serves, then exits after `--up-ms` (default 500), every time it is started;
 * - `wrapper`: forks the real server (`--inner-mode`, default `normal`, lingering after stdin closes) as a child with
 *   the same stdio, waits for it, and does not forward signals, as `npx` and shell scripts do;
 * - `slow-exit`: serves, and on SIGTERM or when stdin ends waits `--exit-delay-ms` (default 1500) before exiting 0;
 * - `lock-holder`: takes an exclusive lock file (`--lock-file`, holding its pid) before serving, and exits 3 with
 *   `LOCK HELD by <pid>` on stderr when a live process holds it (a stale lock is taken over); removes it on exit, after
 *   `--exit-delay-ms` (default 0) on SIGTERM or stdin end, as a server owning a database file does.
 */
export type MisbehavingMode =
  | "normal"
  | "crash-mid-call"
  | "no-initialize"
  | "exit-at-once"
  | "garbage-stdout"
  | "stderr-flood"
  | "goes-silent"
  | "flap"
  | "wrapper"
  | "slow-exit"
  | "lock-holder";

/** Every {@link MisbehavingMode}. */
export const MISBEHAVING_MODES: readonly MisbehavingMode[] = [
  "normal",
  "crash-mid-call",
  "no-initialize",
  "exit-at-once",
  "garbage-stdout",
  "stderr-flood",
  "goes-silent",
  "flap",
  "wrapper",
  "slow-exit",
  "lock-holder",
];
