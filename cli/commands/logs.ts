import { resolve } from "node:path";
import type { Command } from "commander";
import { CliError, ExitCode } from "../lib/exit-codes.ts";
import { PROJECT_FILE, readProjectFile } from "../lib/project-file.ts";
import { stopSignal } from "../lib/stop-signal.ts";

interface LogsFlags {
  json?: boolean;
  status?: string[];
  search?: string;
  samplingRate?: string;
  name?: string;
  dir?: string;
  color?: boolean;
}

export function register(program: Command): void {
  program
    .command("logs")
    .description("Live logs of the deployed relay (wrangler tail): readable on a terminal, JSON lines otherwise")
    .option("--json", "one JSON object per line, even on a terminal")
    .option("--status <outcome...>", "only these outcomes: ok, error, canceled")
    .option("--search <text>", "only invocations whose console output contains this text")
    .option("--sampling-rate <fraction>", "log only this fraction of invocations (0–1)")
    .option("--name <worker>", `worker name (default: from ${PROJECT_FILE})`)
    .option("--dir <dir>", "project folder (default: the current folder)")
    .addHelpText(
      "after",
      `
Uses the Cloudflare credentials wrangler uses. Ctrl-C stops (exit 130).

Examples:
  jetstream-relay logs
  jetstream-relay logs --status error
  jetstream-relay logs --json | jq 'select(.outcome != "ok")'`,
    )
    .action(async (flags: LogsFlags) => {
      await runLogs(flags);
    });
}

async function runLogs(flags: LogsFlags): Promise<void> {
  const stop = stopSignal();
  const dir = resolve(flags.dir ?? process.cwd());
  const project = await readProjectFile(dir);
  const name = flags.name ?? project?.name;
  if (!name) throw new CliError(`which worker? no ${PROJECT_FILE} in ${dir}`, ExitCode.usage, "pass --name WORKER, or run `jetstream-relay init` first");
  for (const s of flags.status ?? []) if (!["ok", "error", "canceled"].includes(s)) throw new CliError(`--status takes ok, error or canceled, not ${s}`, ExitCode.usage);
  if (flags.samplingRate !== undefined) {
    const rate = Number(flags.samplingRate);
    if (!(rate > 0 && rate <= 1)) throw new CliError(`--sampling-rate must be a fraction in (0, 1], not ${flags.samplingRate}`, ExitCode.usage);
  }

  const args = ["tail", name, "--format", "json"];
  if (project && !flags.name) args.push("--config", project.wranglerConfig);
  for (const s of flags.status ?? []) args.push("--status", s);
  if (flags.search) args.push("--search", flags.search);
  if (flags.samplingRate) args.push("--sampling-rate", flags.samplingRate);

  const readable = !flags.json && Boolean(process.stdout.isTTY);
  const { JsonStreamSplitter, formatTailEvent } = await import("../lib/tail-format.ts");
  const { runWrangler, wranglerFailure } = await import("../lib/wrangler.ts");
  const splitter = new JsonStreamSplitter();
  const abort = new AbortController();
  void stop.stopped.then(() => abort.abort());
  process.stderr.write(`tailing ${name}… (Ctrl-C stops)\n`);
  let events = 0;
  const result = await runWrangler(args, {
    cwd: dir,
    signal: abort.signal,
    onChunk: (chunk, stream) => {
      if (stream === "stderr") return;
      const { values } = splitter.push(chunk);
      for (const value of values) {
        events++;
        if (readable) process.stdout.write(`${formatTailEvent(value as Parameters<typeof formatTailEvent>[0]).join("\n")}\n`);
        else process.stdout.write(`${JSON.stringify(value)}\n`);
      }
    },
  });
  if (stop.isStopped()) return;
  if (result.exitCode !== 0) throw wranglerFailure(`tailing ${name}`, result);
  process.stderr.write(`the tail ended after ${events} events\n`);
}
