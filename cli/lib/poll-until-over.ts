import { CliError, ExitCode } from "./exit-codes.ts";
import type { LiveScreen } from "./live-screen.ts";
import type { Output } from "./output.ts";
import { sleep } from "./watch.ts";

/**
 * Polls a background job (a replay, a dead-letter replay) every `intervalMs` while it runs, showing each
 * answer. A failed poll is shown (on the live screen, else as a message) and polling goes on; a refused
 * token, or anything that is not the relay's answer, ends it. The screen is stopped in every case.
 */
export async function pollUntilOver<T>(options: {
  first: T;
  running: (latest: T) => boolean;
  poll: () => Promise<T>;
  show: (latest: T, failure?: string) => void;
  screen: LiveScreen | null;
  output: Output;
  intervalMs: number;
}): Promise<T> {
  const { running, poll, show, screen, output, intervalMs } = options;
  let latest = options.first;
  try {
    show(latest);
    while (running(latest)) {
      await sleep(intervalMs);
      try {
        latest = await poll();
        show(latest);
      } catch (error) {
        if (!(error instanceof CliError) || error.exitCode === ExitCode.authRefused) throw error;
        if (screen) show(latest, `✗ poll failed at ${new Date().toISOString().slice(11, 19)}Z: ${error.message}; retrying`);
        else output.message(`${output.err.red("poll failed")}: ${error.message}`);
      }
    }
  } finally {
    screen?.stop();
  }
  return latest;
}
