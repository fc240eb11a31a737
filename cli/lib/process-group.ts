import { type ChildProcess, spawn, type SpawnOptions } from "node:child_process";

/** A child process in a process group of its own, stopped together with everything it started. */
export interface ProcessGroup {
  child: ChildProcess;
  /** Resolves with the exit code (or signal) once the child has exited. */
  exited: Promise<number | NodeJS.Signals | null>;
  /** SIGTERM, then SIGKILL after `graceMs`; then SIGKILL to whatever of the group is left. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL to the whole group at once, as a crash would. */
  kill(): Promise<void>;
}

/**
 * Spawns `command` as the leader of a new process group. wrangler starts further processes (Node,
 * workerd) that must stop with it; and should this process end without stopping it (an uncaught error,
 * process.exit), the group is killed too, so that no workerd lives on.
 */
export function spawnGroup(command: string, args: string[], options: Omit<SpawnOptions, "detached">): ProcessGroup {
  const child = spawn(command, args, { ...options, detached: true });
  const exited = new Promise<number | NodeJS.Signals | null>((resolve) => child.once("exit", (code, signal) => resolve(code ?? signal)));
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // already gone
    }
  };
  const killOnExit = () => signalGroup("SIGKILL");
  process.once("exit", killOnExit);
  return {
    child,
    exited,
    async stop(graceMs = 5_000) {
      if (child.exitCode === null && child.signalCode === null) {
        signalGroup("SIGTERM");
        const timer = setTimeout(() => signalGroup("SIGKILL"), graceMs);
        await exited;
        clearTimeout(timer);
      }
      signalGroup("SIGKILL"); // stragglers of the group
      process.off("exit", killOnExit);
    },
    async kill() {
      signalGroup("SIGKILL");
      await exited;
      process.off("exit", killOnExit);
    },
  };
}
