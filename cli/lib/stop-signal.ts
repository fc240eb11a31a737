import { ExitCode } from "./exit-codes.ts";

/**
 * For long-running commands that must clean up (stop wrangler's process group, close servers): replaces
 * the default Ctrl-C/SIGTERM handlers with a promise that resolves on the first signal, and sets the
 * exit code (130 for Ctrl-C, 143 for SIGTERM). A second Ctrl-C exits at once.
 */
export function stopSignal(): { stopped: Promise<NodeJS.Signals>; isStopped(): boolean } {
  process.removeAllListeners("SIGINT");
  process.removeAllListeners("SIGTERM");
  let stopped = false;
  const promise = new Promise<NodeJS.Signals>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      if (stopped) process.exit(process.exitCode ?? ExitCode.interrupted);
      stopped = true;
      process.exitCode = signal === "SIGINT" ? ExitCode.interrupted : 143;
      resolve(signal);
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
  return { stopped: promise, isStopped: () => stopped };
}
