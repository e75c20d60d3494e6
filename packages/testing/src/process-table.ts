import { readdirSync, readFileSync } from "node:fs";

/** A live (not zombie) process, read from `/proc`. */
export interface ProcessEntry {
  pid: number;
  ppid: number;
  /** Process group id. */
  pgid: number;
  /** The command line, arguments joined by spaces. */
  command: string;
}

/** Every live process on this machine, from `/proc` (Linux; empty elsewhere). Zombies are left out. */
export function listProcesses(): ProcessEntry[] {
  let names: string[];
  try {
    names = readdirSync("/proc");
  } catch {
    return [];
  }
  const entries: ProcessEntry[] = [];
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      // The command name in parentheses may hold spaces: the fields that follow start after the last ")".
      const [state, ppid, pgid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (state === "Z" || state === "X") continue;
      const command = readFileSync(`/proc/${name}/cmdline`, "utf8").split("\0").join(" ").trim();
      entries.push({ pid: Number(name), ppid: Number(ppid), pgid: Number(pgid), command });
    } catch {
      // The process ended while we read it.
    }
  }
  return entries;
}

/** Live processes whose command line contains `marker` (other than this one). */
export function processesMatching(marker: string): ProcessEntry[] {
  return listProcesses().filter((entry) => entry.pid !== process.pid && entry.command.includes(marker));
}

/** Live processes whose parent is `pid` (default: this process). */
export function childProcessesOf(pid: number = process.pid): ProcessEntry[] {
  return listProcesses().filter((entry) => entry.ppid === pid);
}
