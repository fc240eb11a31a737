import type { Command } from "commander";
import type { RelayStatus } from "../../worker/api-types.ts";
import { clock } from "../lib/stats-view.ts";
import { commandHelp } from "../lib/help.ts";
import { addConnectionOptions, addWatchOptions, type ConnectionFlags, connect, type WatchFlags } from "../lib/operate-options.ts";
import { renderStatus } from "../lib/status-view.ts";
import { expectShape } from "../lib/validate.ts";
import { failureLines, showOnceOrWatch } from "../lib/watch-view.ts";

export function register(program: Command): void {
  const command = program
    .command("status")
    .summary("Connection state: connected?, endpoint and wire, position (seq on v2), lag, last error, reconnects, configuration")
    .description(
      "Show the relay's connection to Jetstream (GET /status): its state, the endpoint in use with its wire (v2 or legacy) and the failover list, the position (on v2 the instance's seq, the exact resume point), the cursor and lag, the last error, reconnects, ConsumerTooSlow closes if any, and the effective configuration (secrets omitted) with any configuration problem and how to fix it.",
    );
  addConnectionOptions(command, { jsonWhenPiped: true });
  addWatchOptions(command);
  command.addHelpText(
    "after",
    commandHelp({
      examples: ["jetstream-relay status", "jetstream-relay status --watch", "jetstream-relay status --json | jq -r .state", "jetstream-relay status --json | jq '.position.seq'"],
      nonInteractive: [
        "Off a terminal it prints one JSON document (the answer of GET /status); --no-json prints the text view.",
        "jetstream-relay status --watch --interval 10 --json   # one JSON line per poll",
        "To gate on the relay's state use `jetstream-relay health` (exit 3 when unhealthy).",
      ],
    }),
  );
  command.action(async (flags: ConnectionFlags & WatchFlags) => {
    const { client, output } = await connect(flags, { jsonWhenPiped: true });
    const url = client.target.url;
    const c = output.out;
    await showOnceOrWatch<RelayStatus>({
      output,
      watch: flags.watch,
      intervalMs: flags.interval,
      count: flags.count,
      fetch: async () => expectShape<RelayStatus>((await client.get("/status")).body, "GET /status", url, (s) => typeof s.state === "string"),
      render: (status, context) => {
        const watch = context.watch;
        const header = `${c.bold("jetstream-relay status")} ${c.dim("·")} ${url}${watch ? `  ${c.dim(`every ${watch.intervalMs / 1000}s · updated ${clock(context.now)} · Ctrl-C to stop`)}` : ""}`;
        const lines = renderStatus(status, { url, colors: c, now: context.now, header });
        if (watch?.failure) lines.splice(1, 0, ...failureLines(watch.failure, c));
        return lines;
      },
    });
  });
}
