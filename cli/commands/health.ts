import type { Command } from "commander";
import type { HealthReport } from "../../worker/api-types.ts";
import { CliError, ExitCode } from "../lib/exit-codes.ts";
import { healthHint } from "../lib/health-hints.ts";
import { formatTime } from "../lib/terminal-format.ts";
import { commandHelp } from "../lib/help.ts";
import { addConnectionOptions, type ConnectionFlags, connect, parseSeconds } from "../lib/operate-options.ts";
import type { Output } from "../lib/output.ts";
import { expectShape } from "../lib/validate.ts";
import { sleep } from "../lib/watch.ts";

type HealthAnswer = HealthReport & { deadLetters?: { total: number; evicted: number } | null };

export function register(program: Command): void {
  const command = program
    .command("health")
    .summary("Exit 0 when the relay is healthy, 3 with the reasons when not")
    .description(
      "Check the relay's health (GET /health): configured, connected (or reconnecting within its grace period), not stale, delivering, no unacknowledged gap. Exit 0 when healthy, 3 when the relay answers that it is unhealthy (the reasons are printed), 1 when it cannot be reached. With --wait it polls until healthy.",
    )
    .option("--wait <seconds>", "poll until healthy, for at most this long (exit 3 if still unhealthy)", parseSeconds);
  addConnectionOptions(command);
  command.addHelpText(
    "after",
    commandHelp({
      examples: ["jetstream-relay health", "jetstream-relay health --json", "jetstream-relay health --wait 120   # after a deploy"],
      nonInteractive: [
        "It never asks anything; use the exit code: jetstream-relay health || echo \"relay unhealthy ($?)\"",
        "jetstream-relay health --json   # {\"healthy\": false, \"reasons\": [{\"code\", \"message\"}], \"checkedAt\"} on stdout",
      ],
    }),
  );
  command.action(async (flags: ConnectionFlags & { wait?: number }) => {
    const { client, output } = await connect(flags);
    const check = async () =>
      expectShape<HealthAnswer>((await client.get("/health", [503])).body, "GET /health", client.target.url, (h) => typeof h.healthy === "boolean");
    let report = await check();
    if (flags.wait && !report.healthy) {
      const deadline = Date.now() + flags.wait;
      if (!output.json) output.message(`waiting up to ${flags.wait / 1000}s for ${client.target.url} to be healthy…`);
      while (!report.healthy && Date.now() < deadline) {
        await sleep(Math.min(2_000, Math.max(0, deadline - Date.now())));
        try {
          report = await check();
        } catch (error) {
          if (!(error instanceof CliError) || error.exitCode === ExitCode.authRefused || Date.now() >= deadline) throw error;
        }
      }
    }
    if (output.json) output.document(report);
    else output.lines(renderHealth(report, client.target.url, output));
    if (!report.healthy) process.exitCode = ExitCode.unhealthy;
  });
}

function renderHealth(report: HealthAnswer, url: string, output: Output): string[] {
  const c = output.out;
  // Notes (the projected cost) never make it unhealthy: they are shown, and the exit code stays.
  const notes = (report.notes ?? []).map((note) => `  ${c.yellow("!")} ${note.code}: ${note.message}`);
  if (report.healthy) return [`${c.green("healthy")} ${c.dim(`· ${url} · checked ${formatTime(report.checkedAt)}`)}`, ...notes];
  const lines = [`${c.red("unhealthy")} ${c.dim(`· ${url} · checked ${formatTime(report.checkedAt)}`)}`];
  for (const reason of report.reasons) {
    lines.push(`  ${c.red("✗")} ${reason.code}: ${reason.message}`);
    const hint = healthHint(reason.code);
    lines.push(`    ${c.dim(`fix: ${hint.todo} · more: ${hint.runbook}`)}`);
  }
  return [...lines, ...notes];
}
