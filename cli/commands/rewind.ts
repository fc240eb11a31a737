import type { Command } from "commander";
import { commandHelp } from "../lib/help.ts";
import { addConnectionOptions } from "../lib/operate-options.ts";
import { addFollowOptions, startReplay, type StartFlags } from "../lib/replay-flow.ts";
import { parseCollections, parseDurationMs } from "../lib/replay-window.ts";
import { CliError, ExitCode } from "../lib/exit-codes.ts";

export function register(program: Command): void {
  const command = program
    .command("rewind")
    .summary("Time travel: re-deliver everything since a while ago (rewind 2h)")
    .description(
      "Re-deliver every event from DURATION ago up to the relay's live position (POST /replay), e.g. after the webhook mishandled events for an hour. Live delivery carries on; each event keeps its webhook-id, so idempotent receivers are safe. Jetstream keeps about a day; an older start is refused. Needs the admin token.",
    )
    .argument("<duration>", "how far back: 90s, 30m, 2h, 1h30m, 1d")
    .option("--collections <list>", "only these collections, comma-separated (default: the relay's own)", parseCollections)
    .option("-y, --yes", "do not ask");
  addConnectionOptions(command);
  addFollowOptions(command);
  command.addHelpText(
    "after",
    commandHelp({
      examples: ["jetstream-relay rewind 2h", "jetstream-relay rewind 30m --collections app.bsky.feed.post --watch"],
      nonInteractive: [
        "Without a terminal it needs --yes (exit 2 otherwise): jetstream-relay rewind 2h --yes --json",
        "With --watch --json: one JSON line ({replay}) per poll until it is over; exit 1 if it failed or was cancelled.",
      ],
    }),
  );
  command.action(async (duration: string, flags: StartFlags & { collections?: string[] }) => {
    const ms = parseDurationMs(duration);
    if (ms === null || ms <= 0) throw new CliError(`${JSON.stringify(duration)} is not a duration`, ExitCode.usage, "use e.g. 90s, 30m, 2h, 1h30m or 1d (for a window with an end: jetstream-relay replay --from … --to …)");
    await startReplay({ from: { ms: Date.now() - ms, reading: `${duration} ago` }, collections: flags.collections }, flags, `jetstream-relay rewind ${duration} --yes`);
  });
}
