import { CliError, ExitCode } from "./exit-codes.ts";

export interface PollLoop<T> {
  intervalMs: number;
  /** Stop after this many polls; absent: until interrupted. */
  count?: number;
  poll(): Promise<T>;
  onResult(value: T, at: Date): void;
  /** A failed poll is shown and the loop keeps going. */
  onError(error: CliError, at: Date): void;
}

/**
 * Polls at a steady interval (measured from the start of each poll). A poll that fails for a reason that
 * may pass (unreachable, timeout, a failing relay) is reported and the loop goes on; a refused token
 * ends it (exit 4), as it will not fix itself. Returns whether the last poll succeeded.
 */
export async function pollEvery<T>(loop: PollLoop<T>): Promise<boolean> {
  let lastOk = false;
  for (let i = 0; loop.count === undefined || i < loop.count; i++) {
    const started = Date.now();
    try {
      loop.onResult(await loop.poll(), new Date());
      lastOk = true;
    } catch (error) {
      if (!(error instanceof CliError) || error.exitCode === ExitCode.authRefused) throw error;
      loop.onError(error, new Date());
      lastOk = false;
    }
    if (loop.count !== undefined && i + 1 >= loop.count) break;
    await sleep(Math.max(0, loop.intervalMs - (Date.now() - started)));
  }
  return lastOk;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
