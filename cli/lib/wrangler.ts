import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CliError, ExitCode } from "./exit-codes.ts";
import { wranglerBin } from "./wrangler-dev.ts";

/** One line of wrangler's machine-readable output (WRANGLER_OUTPUT_FILE_PATH, NDJSON). */
export interface WranglerOutputEntry {
  type: string;
  code?: number;
  message?: string;
  targets?: string[];
  [field: string]: unknown;
}

export interface WranglerResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** Entries wrangler wrote to its output file. */
  entries: WranglerOutputEntry[];
}

export interface WranglerRunOptions {
  cwd?: string;
  /** Written to wrangler's stdin (secret values travel only this way). */
  stdin?: string;
  /** Receives wrangler's output lines as they come. */
  onLine?: (line: string, stream: "stdout" | "stderr") => void;
  /** Receives wrangler's output as it comes, in whatever pieces it arrives (for `tail`). */
  onChunk?: (chunk: string, stream: "stdout" | "stderr") => void;
  /** Aborting interrupts wrangler (SIGINT to its process group, so that it cleans up, as on Ctrl-C). */
  signal?: AbortSignal;
}

/** Cloudflare API error codes that mean the credentials were refused. */
const AUTH_CODES = new Set([1000, 1001, 9106, 9109, 10000, 10001]);

export const AUTH_HINT =
  "Run `npx wrangler login`, or set CLOUDFLARE_API_TOKEN (an API token with Workers Scripts, Workers Queues and Account Settings permissions) and CLOUDFLARE_ACCOUNT_ID.";

/**
 * Runs the real wrangler with the user's credentials from the environment (CLOUDFLARE_API_TOKEN,
 * CLOUDFLARE_ACCOUNT_ID, or its own login). Results are read from wrangler's machine-readable output
 * file, not from its text. Wrangler runs in its own process group, stopped with us.
 */
export async function runWrangler(args: string[], options: WranglerRunOptions = {}): Promise<WranglerResult> {
  const dir = await mkdtemp(join(tmpdir(), "jetstream-relay-wrangler-"));
  const outputFile = join(dir, "output.ndjson");
  try {
    const child = spawn(process.execPath, [wranglerBin(), ...args], {
      cwd: options.cwd,
      detached: true,
      stdio: ["pipe", "pipe", "pipe"],
      env: {
        ...process.env,
        WRANGLER_OUTPUT_FILE_PATH: outputFile,
        WRANGLER_SEND_METRICS: process.env.WRANGLER_SEND_METRICS ?? "false",
        WRANGLER_HIDE_BANNER: "true",
        FORCE_COLOR: "0",
      },
    });
    const signalGroup = (signal: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, signal);
      } catch {
        // already gone
      }
    };
    const stopGroup = () => signalGroup("SIGTERM");
    let killTimer: NodeJS.Timeout | undefined;
    const interrupt = () => {
      signalGroup("SIGINT");
      killTimer = setTimeout(stopGroup, 5_000);
    };
    process.once("exit", stopGroup);
    options.signal?.addEventListener("abort", interrupt, { once: true });
    const collected = { stdout: "", stderr: "" };
    for (const stream of ["stdout", "stderr"] as const) {
      let pending = "";
      child[stream].setEncoding("utf8").on("data", (chunk: string) => {
        collected[stream] = (collected[stream] + chunk).slice(-65_536); // a long tail must not grow without bound
        options.onChunk?.(chunk, stream);
        if (!options.onLine) return;
        pending += chunk;
        const lines = pending.split("\n");
        pending = lines.pop() ?? "";
        for (const line of lines) options.onLine(line, stream);
      });
    }
    child.stdin.on("error", () => {}); // wrangler may exit before reading all of stdin
    child.stdin.end(options.stdin ?? "");
    const exitCode = await new Promise<number>((resolve, reject) => {
      child.once("error", reject);
      child.once("close", (code, signal) => resolve(code ?? (signal === "SIGINT" ? ExitCode.interrupted : 1)));
    });
    clearTimeout(killTimer);
    process.removeListener("exit", stopGroup);
    options.signal?.removeEventListener("abort", interrupt);
    return { exitCode, ...collected, entries: await readOutputFile(outputFile) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// eslint-disable-next-line no-control-regex
const stripAnsi = (text: string) => text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "");

async function readOutputFile(path: string): Promise<WranglerOutputEntry[]> {
  let text = "";
  try {
    text = await readFile(path, "utf8");
  } catch {
    return [];
  }
  const entries: WranglerOutputEntry[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    try {
      entries.push(JSON.parse(line) as WranglerOutputEntry);
    } catch {
      // a line wrangler did not finish writing
    }
  }
  return entries;
}

/** The failure wrangler reported, as a CliError: refused credentials exit 4, anything else 1. */
export function wranglerFailure(what: string, result: WranglerResult): CliError {
  const failed = result.entries.find((e) => e.type === "command-failed");
  const detail = failed?.message ?? lastErrorLine(result.stderr) ?? `wrangler exited with code ${result.exitCode}`;
  const code = failed?.code;
  const text = `${detail}${code !== undefined ? ` [code: ${code}]` : ""}`;
  const stderr = stripAnsi(result.stderr);
  if ((code !== undefined && AUTH_CODES.has(code)) || /not logged in|authentication error|invalid (api|access) token/i.test(`${detail}\n${stderr}`)) {
    return new CliError(`${what}: Cloudflare refused the credentials (${text})`, ExitCode.authRefused, AUTH_HINT);
  }
  const reason = stderr
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("🪵") && !l.includes(detail))
    .slice(0, 3)
    .join(" ");
  return new CliError(`${what}: ${text}`, ExitCode.failure, reason ? `wrangler said: ${reason}` : undefined);
}

function lastErrorLine(stderr: string): string | undefined {
  const lines = stripAnsi(stderr)
    .split("\n")
    .map((l) => l.replace(/^✘\s*\[ERROR\]\s*/, "").trim())
    .filter((l) => l && !l.startsWith("🪵"));
  return lines[0];
}

async function runOrThrow(what: string, args: string[], options: WranglerRunOptions = {}): Promise<WranglerResult> {
  const result = await runWrangler(args, options);
  if (result.exitCode !== 0) throw wranglerFailure(what, result);
  return result;
}

export interface CloudflareIdentity {
  email: string | null;
  authType: string | null;
  accounts: { id: string; name: string }[];
}

/** Who wrangler is logged in as; a CliError (exit 4) with the fix when it is not. */
export async function whoami(cwd?: string): Promise<CloudflareIdentity> {
  const result = await runWrangler(["whoami", "--json"], { cwd });
  type WhoamiJson = { loggedIn?: boolean; email?: string; authType?: string; accounts?: { id: string; name: string }[] };
  let parsed: WhoamiJson | null;
  try {
    parsed = JSON.parse(result.stdout) as WhoamiJson;
  } catch {
    parsed = null;
  }
  if (result.exitCode !== 0 || !parsed?.loggedIn) {
    if (result.exitCode !== 0 && parsed === null) throw wranglerFailure("checking Cloudflare credentials", result);
    throw new CliError("not logged in to Cloudflare", ExitCode.authRefused, AUTH_HINT);
  }
  return { email: parsed.email ?? null, authType: parsed.authType ?? null, accounts: parsed.accounts ?? [] };
}

/** Whether a queue of this name exists in the account. */
export async function queueExists(name: string, cwd?: string): Promise<boolean> {
  const result = await runWrangler(["queues", "info", name], { cwd });
  if (result.exitCode === 0) return true;
  const failed = result.entries.find((e) => e.type === "command-failed");
  if (failed && failed.code === undefined && /does not exist/.test(failed.message ?? "")) return false;
  throw wranglerFailure(`looking up queue ${name}`, result);
}

/** Creates a queue found missing; true when created now, false when it appeared meanwhile (reused). */
export async function createQueue(name: string, cwd?: string): Promise<boolean> {
  const result = await runWrangler(["queues", "create", name], { cwd });
  if (result.exitCode === 0) return true;
  // Created meanwhile by someone else: reuse it.
  if (await queueExists(name, cwd)) return false;
  throw wranglerFailure(`creating queue ${name}`, result);
}

/** Sets a secret of the worker; the value goes to wrangler's stdin, never to its command line. */
export async function putSecret(config: string, name: string, value: string, cwd?: string): Promise<void> {
  await runOrThrow(`setting secret ${name}`, ["secret", "put", name, "--config", config], { cwd, stdin: value });
}

/** Deploys the worker; returns its workers.dev URL (from wrangler's machine-readable output) or null. */
export async function deployWorker(config: string, cwd?: string, onLine?: WranglerRunOptions["onLine"]): Promise<{ url: string | null; versionId: string | null; targets: string[] }> {
  const result = await runOrThrow("deploying the worker", ["deploy", "--config", config], { cwd, onLine });
  const deploy = result.entries.find((e) => e.type === "deploy");
  const targets = deploy?.targets ?? [];
  const url = targets.find((t) => /^https?:\/\//.test(t)) ?? null;
  return { url, versionId: typeof deploy?.version_id === "string" ? deploy.version_id : null, targets };
}
