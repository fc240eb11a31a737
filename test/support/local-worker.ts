import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type RunningWorker, startWranglerDev } from "../../cli/lib/wrangler-dev.ts";

export const REPO_ROOT = resolve(import.meta.dirname, "../..");

export interface LocalWorker extends RunningWorker {
  persistTo: string;
  /** Kill (SIGKILL) or stop, then start again on the same port with the same storage. */
  restart(how?: "kill" | "stop"): Promise<LocalWorker>;
  /** Stop and delete the storage folder. */
  dispose(): Promise<void>;
}

/**
 * The real worker in wrangler's local runtime (`wrangler dev`), with its own storage folder and random
 * ports, for tests that drive it from outside (CLI, browser, end to end). Output goes to the test's stderr
 * only when JETSTREAM_RELAY_TEST_VERBOSE is set.
 */
export async function startLocalWorker(vars: Record<string, string>, options: { persistTo?: string; port?: number; inspectorPort?: number } = {}): Promise<LocalWorker> {
  const persistTo = options.persistTo ?? (await mkdtemp(join(tmpdir(), "jetstream-relay-state-")));
  const running = await startWranglerDev({
    config: join(REPO_ROOT, "wrangler.jsonc"),
    persistTo,
    port: options.port,
    inspectorPort: options.inspectorPort,
    vars,
    onOutput: process.env.JETSTREAM_RELAY_TEST_VERBOSE ? (line) => process.stderr.write(`[worker] ${line}\n`) : undefined,
  });
  return {
    ...running,
    persistTo,
    async restart(how = "kill") {
      await (how === "kill" ? running.kill() : running.stop());
      return startLocalWorker(vars, { persistTo, port: running.port });
    },
    async dispose() {
      await running.stop();
      await rm(persistTo, { recursive: true, force: true });
    },
  };
}
