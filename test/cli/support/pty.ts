import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { join } from "node:path";
import { BIN } from "./run-cli.ts";

const DRIVER = join(import.meta.dirname, "pty-driver.py");

/** The real command running in a pseudo-terminal (python3's pty module), with keys to type and output to wait for. */
export interface PtySession {
  /** Everything the terminal showed so far (raw, escape sequences included). */
  output(): string;
  type(text: string): void;
  /** Waits until the output (from character `from` on) matches (bounded); returns the output. A number is the timeout. */
  waitFor(pattern: RegExp | string, options?: number | { timeoutMs?: number; from?: number }): Promise<string>;
  /** Resolves with the exit code (128 + n when killed by a signal). */
  exited: Promise<number>;
  kill(): void;
}

export function runInPty(args: string[], options: { env?: Record<string, string | undefined>; rows?: number; cols?: number; cwd?: string } = {}): PtySession {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined || key.startsWith("JETSTREAM_RELAY_") || ["NO_COLOR", "FORCE_COLOR", "CI"].includes(key)) continue;
    env[key] = value;
  }
  env.TERM = "xterm-256color";
  for (const [key, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  const child: ChildProcessWithoutNullStreams = spawn(
    "python3",
    [DRIVER, String(options.rows ?? 40), String(options.cols ?? 120), "--", process.execPath, BIN, ...args],
    { env, cwd: options.cwd, stdio: ["pipe", "pipe", "pipe"] },
  );
  let text = "";
  const waiters = new Set<() => void>();
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    text += chunk;
    for (const wake of waiters) wake();
  });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const exited = new Promise<number>((resolve) => child.on("close", (code) => resolve(code ?? -1)));
  let done = false;
  void exited.then(() => {
    done = true;
    for (const wake of waiters) wake();
  });
  return {
    output: () => text,
    type: (keys) => child.stdin.write(keys),
    exited,
    kill: () => child.kill("SIGKILL"),
    waitFor(pattern, options = {}) {
      const { timeoutMs = 20_000, from = 0 } = typeof options === "number" ? { timeoutMs: options } : options;
      const matches = () => {
        const seen = text.slice(from);
        return typeof pattern === "string" ? seen.includes(pattern) : pattern.test(seen);
      };
      return new Promise((resolve, reject) => {
        const check = () => {
          if (matches()) {
            finish();
            resolve(text);
          } else if (done) {
            finish();
            reject(new Error(`the command exited before showing ${pattern}; it showed:\n${JSON.stringify(text)}\n${stderr}`));
          }
        };
        const timer = setTimeout(() => {
          finish();
          reject(new Error(`timed out waiting for ${pattern}; the terminal showed:\n${JSON.stringify(text)}\n${stderr}`));
        }, timeoutMs);
        const finish = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
  };
}
