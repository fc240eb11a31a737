import { ExitCode } from "./exit-codes.ts";

/**
 * Ctrl-C (SIGINT) ends the command with exit code 130 and SIGTERM with 143, after the 'exit' listeners
 * have run (they restore the terminal: cursor shown, prompt state left).
 */
let installed = false;

export function exitOnSignals(): void {
  if (installed) return;
  installed = true;
  process.once("SIGINT", () => {
    process.stderr.write("\n");
    process.exit(ExitCode.interrupted);
  });
  process.once("SIGTERM", () => process.exit(143));
}
