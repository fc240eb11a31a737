import type { Command } from "commander";
import { commandHelp } from "../lib/help.ts";
import { addConnectionOptions, addWatchOptions, type ConnectionFlags, connect, type WatchFlags } from "../lib/operate-options.ts";
import { ratesBetween, renderStats, type StatsAnswer } from "../lib/stats-view.ts";
import { expectShape } from "../lib/validate.ts";
import { showOnceOrWatch } from "../lib/watch-view.ts";

export function register(program: Command): void {
  const command = program
    .command("stats")
    .summary("Statistics: totals, rates, lag, delivery health, per-collection counts")
    .description(
      "Show the relay's statistics (GET /stats): events received, forwarded and skipped with their rates, lag behind real time, the position (endpoint, wire, seq on v2) and the cursor, delivery health (delivered, retried, failed, dead-lettered, latency, last error), the queue, the month's cost projected at the last hour's rates (with its warnings: past the plan's allowance or COST_BUDGET_USD_PER_MONTH), gaps (exact ones on v2) and the counts per collection. With --watch it redraws in place and shows rates computed between polls; a failed poll is shown and polling goes on.",
    );
  addConnectionOptions(command, { jsonWhenPiped: true });
  addWatchOptions(command);
  command.addHelpText(
    "after",
    commandHelp({
      examples: [
        "jetstream-relay stats                         # the table, once",
        "jetstream-relay stats --watch --interval 5    # redraw every 5 s until Ctrl-C",
        "jetstream-relay stats --url http://127.0.0.1:8787",
        "jetstream-relay stats --json | jq .totalEvents",
        "jetstream-relay stats --json | jq .cost.totalUsdPerMonth",
      ],
      nonInteractive: [
        "Off a terminal (piped, CI) it prints one JSON document (the answer of GET /stats); --no-json prints the table.",
        "jetstream-relay stats --watch --count 10 > stats.ndjson   # one JSON line per poll, 10 polls",
      ],
    }),
  );
  command.action(async (flags: ConnectionFlags & WatchFlags) => {
    const { client, output } = await connect(flags, { jsonWhenPiped: true });
    const url = client.target.url;
    await showOnceOrWatch<StatsAnswer>({
      output,
      watch: flags.watch,
      intervalMs: flags.interval,
      count: flags.count,
      fetch: async () => expectShape<StatsAnswer>((await client.get("/stats")).body, "GET /stats", url, (s) => typeof s.totalReceived === "number"),
      render: (stats, context) =>
        renderStats(stats, {
          url,
          colors: output.out,
          now: context.now,
          rates: ratesBetween(context.previous, { value: stats, at: context.now }),
          watch: context.watch,
        }),
    });
  });
}
