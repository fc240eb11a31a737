/** CPU seconds (user + system) used so far by the processes of a process group, or only those running `command` (Linux /proc; null elsewhere). */
import { readdirSync, readFileSync } from "node:fs";

const TICKS_PER_SECOND = 100;

export function groupCpuSeconds(processGroup: number, command?: string): number | null {
  let entries: string[];
  try {
    entries = readdirSync("/proc").filter((name) => /^\d+$/.test(name));
  } catch {
    return null;
  }
  let ticks = 0;
  for (const pid of entries) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    } catch {
      continue; // gone meanwhile
    }
    // Fields after the command name (which may contain spaces) start with the state (field 3).
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(fields[2]) !== processGroup) continue;
    if (command !== undefined && stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")) !== command) continue;
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / TICKS_PER_SECOND;
}

/** Pids of the processes whose command is `command` (Linux /proc; none elsewhere). */
export function processesNamed(command: string): number[] {
  let entries: string[];
  try {
    entries = readdirSync("/proc").filter((name) => /^\d+$/.test(name));
  } catch {
    return [];
  }
  return entries.filter((pid) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      // A zombie (state Z) takes no CPU.
      return stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")) === command && stat[stat.lastIndexOf(")") + 2] !== "Z";
    } catch {
      return false;
    }
  }).map(Number);
}

/** CPU seconds used so far by this process. */
export function ownCpuSeconds(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}
