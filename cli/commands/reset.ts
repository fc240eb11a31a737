import type { Command } from "commander";
import { ask, requireConfirmationPossible } from "../lib/confirm.ts";
import { CliError, ExitCode } from "../lib/exit-codes.ts";
import { formatCount, formatCursor, formatTime } from "../lib/terminal-format.ts";
import { commandHelp } from "../lib/help.ts";
import { addConnectionOptions, type ConnectionFlags, connect } from "../lib/operate-options.ts";
import type { StatsAnswer } from "../lib/stats-view.ts";
import { expectShape } from "../lib/validate.ts";

export function register(program: Command): void {
  const command = program
    .command("reset")
    .summary("Reset the statistics (never the cursor); asks first")
    .description(
      "Reset the relay's statistics (POST /reset, needs the admin token): counts, rates and delivery counters start again from zero. The cursor is never reset: the relay goes on from where it is, nothing is replayed or skipped. Shows what will be reset and asks; without a terminal it needs --yes.",
    )
    .option("-y, --yes", "do not ask (required without a terminal)");
  addConnectionOptions(command);
  command.addHelpText(
    "after",
    commandHelp({
      examples: ["jetstream-relay reset", "JETSTREAM_RELAY_TOKEN=… jetstream-relay reset --yes --json"],
      nonInteractive: ["Without a terminal (or with CI set) it refuses (exit 2) unless --yes is given: jetstream-relay reset --yes"],
    }),
  );
  command.action(async (flags: ConnectionFlags & { yes?: boolean }) => {
    const mode = requireConfirmationPossible(flags.yes, "reset", "jetstream-relay reset --yes");
    const { client, output } = await connect(flags);
    const c = output.err;
    if (mode === "ask") {
      const stats = expectShape<StatsAnswer>((await client.get("/stats")).body, "GET /stats", client.target.url, (s) => typeof s.totalReceived === "number");
      const collections = Object.keys(stats.eventCounts ?? {}).length;
      const d = stats.delivery;
      output.message(
        [
          `${c.bold("This resets the statistics of")} ${client.target.url}:`,
          `  • ${formatCount(stats.totalReceived)} events received, ${formatCount(stats.forwarded ?? stats.totalEvents)} forwarded, ${formatCount(stats.skipped)} skipped, ${formatCount(stats.malformed)} malformed`,
          `  • the counts of ${formatCount(collections)} collection${collections === 1 ? "" : "s"} and their operations, the rates and the per-minute history`,
          d ? `  • delivery counters: ${formatCount(d.delivered)} delivered, ${formatCount(d.retried)} retried, ${formatCount(d.failed)} failed, ${formatCount(d.deadLettered)} dead-lettered` : "  • the delivery counters",
          `  • ${formatCount(stats.reconnects)} reconnects counted`,
          `${c.bold("Kept:")} the cursor (${formatCursor(stats.cursor)}), the connection, events on their way to the webhook,`,
          `  the dead letters${stats.deadLetters ? ` (${formatCount(stats.deadLetters.total)})` : ""} and the detected gaps.`,
        ].join("\n"),
      );
      if (!(await ask("Reset the statistics?"))) throw new CliError("nothing was reset", ExitCode.failure);
    }
    const { body } = await client.post<{ resetAt?: string }>("/reset");
    if (output.json) output.document(body ?? {});
    else output.lines([`${output.out.green("statistics reset")}${body?.resetAt ? ` at ${formatTime(body.resetAt)}` : ""}; the cursor is unchanged`]);
  });
}
