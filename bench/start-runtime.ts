/** Starts bench/local-runtime.ts in a process group of its own and waits for its URL. */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { toEnvFile } from "../cli/lib/wrangler-dev.ts";
import { REPO_ROOT } from "../test/support/local-worker.ts";

export interface LocalRuntime {
  url: string;
  /** The runtime's process group leader (its workerd processes share the group). */
  process: ChildProcess;
  dispose(): Promise<void>;
}

export async function startLocalRuntime(vars: Record<string, string>, timeoutMs = 60_000): Promise<LocalRuntime> {
  const folder = await mkdtemp(join(tmpdir(), "jetstream-relay-bench-"));
  const envFile = join(folder, "worker.env");
  await writeFile(envFile, toEnvFile(vars), { mode: 0o600 });
  const child = spawn(process.execPath, ["--import", "tsx", join(REPO_ROOT, "bench/local-runtime.ts"), join(REPO_ROOT, "wrangler.jsonc"), envFile, join(folder, "state")], {
    cwd: REPO_ROOT,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_HIDE_BANNER: "true", FORCE_COLOR: "0" },
  });
  const killGroup = () => {
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      // already gone
    }
  };
  process.once("exit", killGroup);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let errors = "";
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (errors = (errors + chunk).slice(-4000)));
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`the local runtime did not start within ${timeoutMs / 1000} s: ${errors}`)), timeoutMs);
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      out += chunk;
      const match = /ready (\S+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    void exited.then(() => reject(new Error(`the local runtime exited: ${errors}`)));
  }).catch((error: unknown) => {
    killGroup();
    throw error;
  });
  return {
    url,
    process: child,
    async dispose() {
      try {
        process.kill(-child.pid!, "SIGTERM");
      } catch {
        // already gone
      }
      const timer = setTimeout(killGroup, 5_000);
      await exited;
      clearTimeout(timer);
      killGroup();
      process.off("exit", killGroup);
      await rm(folder, { recursive: true, force: true });
    },
  };
}
