import { execFile } from "node:child_process";

/**
 * Samples the command lines of every process on the machine (`ps -eo args`) until stopped, to prove
 * that a secret never appears in any process's argv while a command runs.
 */
export function watchCommandLines(intervalMs = 25): { stop(): Promise<string[]> } {
  const seen = new Set<string>();
  let running = true;
  const loop = (async () => {
    while (running) {
      const out = await new Promise<string>((resolve) => execFile("ps", ["-eo", "args", "--no-headers", "-ww"], { maxBuffer: 16 << 20 }, (_e, stdout) => resolve(stdout ?? "")));
      for (const line of out.split("\n")) if (line.trim()) seen.add(line.trim());
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return [...seen];
    },
  };
}
