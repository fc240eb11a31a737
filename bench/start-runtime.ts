/** Starts bench/local-runtime.ts in a process group of its own and waits for its URL. */
import type { ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { spawnGroup } from "../cli/lib/process-group.ts";
import { envFileReaderEnv, writeEnvFiles } from "../cli/lib/wrangler-dev.ts";
import { parseJsonc } from "../cli/lib/jsonc.ts";
import { REPO_ROOT } from "../test/support/local-worker.ts";

export interface LocalRuntime {
  url: string;
  /** The runtime's process group leader (its workerd processes share the group). */
  process: ChildProcess;
  dispose(): Promise<void>;
}

/** Settings of the events queue's consumer that differ from the shipped wrangler.jsonc (e.g. an earlier version's). */
export interface ConsumerOverrides {
  max_batch_timeout?: number;
  max_batch_size?: number;
}

/** The shipped wrangler.jsonc with the events consumer's settings changed, written to `folder` (its `main` made absolute). */
async function wranglerConfigWith(folder: string, consumer: ConsumerOverrides): Promise<string> {
  const config = parseJsonc(await readFile(join(REPO_ROOT, "wrangler.jsonc"), "utf8")) as { main: string; $schema?: string; queues: { consumers: Record<string, unknown>[] } };
  delete config.$schema;
  config.main = join(REPO_ROOT, config.main);
  config.queues.consumers[0] = { ...config.queues.consumers[0], ...consumer };
  const path = join(folder, "wrangler.json");
  await writeFile(path, JSON.stringify(config, null, 2));
  return path;
}

export async function startLocalRuntime(vars: Record<string, string>, timeoutMs = 60_000, consumer?: ConsumerOverrides): Promise<LocalRuntime> {
  const folder = await mkdtemp(join(tmpdir(), "jetstream-relay-bench-"));
  const envFiles = await writeEnvFiles(folder, vars);
  const configPath = consumer ? await wranglerConfigWith(folder, consumer) : join(REPO_ROOT, "wrangler.jsonc");
  const group = spawnGroup(process.execPath, ["--import", "tsx", join(REPO_ROOT, "bench/local-runtime.ts"), configPath, envFiles.join(delimiter), join(folder, "state")], {
    cwd: REPO_ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...envFileReaderEnv(process.env), CI: "true", WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_HIDE_BANNER: "true", FORCE_COLOR: "0" },
  });
  const { child, exited } = group;
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
  }).catch(async (error: unknown) => {
    await group.kill();
    await rm(folder, { recursive: true, force: true });
    throw error;
  });
  return {
    url,
    process: child,
    async dispose() {
      await group.stop();
      await rm(folder, { recursive: true, force: true });
    },
  };
}
