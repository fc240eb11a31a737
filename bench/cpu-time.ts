/** CPU time and processes, read from Linux /proc (nothing elsewhere). */
import { readdirSync, readFileSync } from "node:fs";

const TICKS_PER_SECOND = 100;

interface ProcessStat {
  pid: number;
  command: string;
  state: string;
  group: number;
  /** User + system CPU so far, in clock ticks. */
  ticks: number;
}

/** Every process /proc shows, null when there is no /proc. */
function processes(): ProcessStat[] | null {
  let entries: string[];
  try {
    entries = readdirSync("/proc").filter((name) => /^\d+$/.test(name));
  } catch {
    return null;
  }
  const found: ProcessStat[] = [];
  for (const pid of entries) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    } catch {
      continue; // gone meanwhile
    }
    // Fields after the command name (which may contain spaces) start with the state (field 3).
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const command = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    found.push({ pid: Number(pid), command, state: fields[0], group: Number(fields[2]), ticks: Number(fields[11]) + Number(fields[12]) });
  }
  return found;
}

/** Processes of a process group, or only those running `command`. */
export function groupProcesses(processGroup: number, command?: string): number[] {
  return (processes() ?? []).filter((p) => p.group === processGroup && (command === undefined || p.command === command)).map((p) => p.pid);
}

/** CPU seconds (user + system) used so far by the processes of a process group, or only those running `command`; null without /proc. */
export function groupCpuSeconds(processGroup: number, command?: string): number | null {
  const all = processes();
  if (all === null) return null;
  const ticks = all.filter((p) => p.group === processGroup && (command === undefined || p.command === command)).reduce((sum, p) => sum + p.ticks, 0);
  return ticks / TICKS_PER_SECOND;
}

/** Pids of the live processes whose command is `command` (a zombie takes no CPU). */
export function processesNamed(command: string): number[] {
  return (processes() ?? []).filter((p) => p.command === command && p.state !== "Z").map((p) => p.pid);
}

/** CPU seconds used so far by this process. */
export function ownCpuSeconds(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}
