import type { ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { envFileText, unwritableVariables } from "./env-file.ts";
import { CliError, ExitCode } from "./exit-codes.ts";
import { spawnGroup } from "./process-group.ts";

/** Options for running the worker in wrangler's local runtime (workerd, local queues and storage). */
export interface WranglerDevOptions {
  /** Path to the wrangler configuration. */
  config: string;
  ip?: string;
  /** Port to serve on; 0 or absent picks a free one. */
  port?: number;
  /** Inspector port; null disables the inspector. */
  inspectorPort?: number | null;
  /** Folder for local persistence (Durable Object storage, queues). */
  persistTo?: string;
  /** Worker variables and secrets. Written to private env files, never put on the command line; they reach the worker unchanged. */
  vars?: Record<string, string>;
  /** Receives wrangler's output lines (stdout and stderr). */
  onOutput?: (line: string, stream: "stdout" | "stderr") => void;
  /** How long to wait for the worker to answer (ms). */
  readyTimeoutMs?: number;
}

export interface RunningWorker {
  url: string;
  port: number;
  process: ChildProcess;
  /** Resolves with the exit code (or signal) once wrangler has exited. */
  exited: Promise<number | NodeJS.Signals | null>;
  /** Stops wrangler and its child processes (SIGTERM, then SIGKILL after a grace period). */
  stop(): Promise<void>;
  /** Kills wrangler and its children at once (SIGKILL), as a crash would. */
  kill(): Promise<void>;
}

export function wranglerBin(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve("wrangler/package.json")), "bin", "wrangler.js");
}

export async function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, host, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * Writes the variables into private env files for `--env-file` (one per variable, mode 0600, in `dir`),
 * each read back by wrangler as exactly the value (env-file.ts); returns their paths. Throws a CliError
 * naming every variable whose value wrangler's reader cannot hold.
 */
export async function writeEnvFiles(dir: string, vars: Record<string, string>): Promise<string[]> {
  const problems = unwritableVariables(vars);
  if (problems.length > 0) {
    throw new CliError(`cannot pass these variables to the local worker unchanged:\n  ${problems.join("\n  ")}`, ExitCode.usage, "use another value for the local run");
  }
  const paths: string[] = [];
  for (const [index, [name, value]] of Object.entries(vars).entries()) {
    const path = join(dir, `${index}.env`);
    await writeFile(path, envFileText(name, value)!, { mode: 0o600 });
    paths.push(path);
  }
  if (paths.length === 0) {
    // Without any --env-file, wrangler would read .dev.vars or .env beside the configuration instead.
    paths.push(join(dir, "none.env"));
    await writeFile(paths[0], "", { mode: 0o600 });
  }
  return paths;
}

/** How wrangler reads the env files: only them (not the process environment), whatever the caller's environment says. */
export function envFileReaderEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { DOTENV_KEY: _vault, ...rest } = env;
  return { ...rest, CLOUDFLARE_INCLUDE_PROCESS_ENV: "false", CLOUDFLARE_LOAD_DEV_VARS_FROM_DOT_ENV: "true" };
}

export async function startWranglerDev(options: WranglerDevOptions): Promise<RunningWorker> {
  const ip = options.ip ?? "127.0.0.1";
  const port = options.port || (await freePort(ip));
  const secretsDir = await mkdtemp(join(tmpdir(), "jetstream-relay-vars-"));
  const envFiles = await writeEnvFiles(secretsDir, options.vars ?? {}).catch(async (error: unknown) => {
    await rm(secretsDir, { recursive: true, force: true });
    throw error;
  });

  const args = [wranglerBin(), "dev", "--config", options.config, "--ip", ip, "--port", String(port), ...envFiles.flatMap((file) => ["--env-file", file])];
  args.push("--show-interactive-dev-session=false", "--log-level", "log");
  if (options.inspectorPort === null || options.inspectorPort === undefined) {
    args.push("--inspector-port", String(await freePort("127.0.0.1")));
  } else {
    args.push("--inspector-port", String(options.inspectorPort));
  }
  if (options.persistTo) args.push("--persist-to", options.persistTo);

  const group = spawnGroup(process.execPath, args, {
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...envFileReaderEnv(process.env),
      CI: "true",
      WRANGLER_SEND_METRICS: "false",
      CLOUDFLARE_CF_FETCH_ENABLED: "false",
      WRANGLER_HIDE_BANNER: "true",
      FORCE_COLOR: "0",
    },
  });
  const { child, exited } = group;
  const output: string[] = [];
  for (const stream of ["stdout", "stderr"] as const) {
    let pending = "";
    child[stream]!.setEncoding("utf8").on("data", (chunk: string) => {
      pending += chunk;
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) {
        output.push(line);
        if (output.length > 200) output.shift();
        options.onOutput?.(line, stream);
      }
    });
  }

  const cleanup = () => rm(secretsDir, { recursive: true, force: true });
  const stop = async () => {
    await group.stop();
    await cleanup();
  };
  const kill = async () => {
    await group.kill();
    await cleanup();
  };

  const url = `http://${ip.includes(":") ? `[${ip}]` : ip}:${port}`;
  const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
  let exitedEarly = false;
  void exited.then(() => (exitedEarly = true));
  while (true) {
    if (exitedEarly) {
      await stop();
      throw new Error(`wrangler dev exited before serving:\n${output.slice(-30).join("\n")}`);
    }
    try {
      const res = await fetch(`${url}/`, { signal: AbortSignal.timeout(2_000) });
      await res.body?.cancel();
      break;
    } catch {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`wrangler dev did not answer on ${url} in time:\n${output.slice(-30).join("\n")}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  return { url, port, process: child, exited, stop, kill };
}
