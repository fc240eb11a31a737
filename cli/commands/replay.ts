import type { Command } from "commander";
import { CliError, ExitCode } from "../lib/exit-codes.ts";
import { commandHelp } from "../lib/help.ts";
import { addConnectionOptions, type ConnectionFlags } from "../lib/operate-options.ts";
import { addFollowOptions, cancelReplay, type FollowFlags, showReplay, startReplay, type StartFlags } from "../lib/replay-flow.ts";
import { parseCollections, resolveTime } from "../lib/replay-window.ts";

export function register(program: Command): void {
  const replay = program
    .command("replay")
    .summary("Time travel: replay a window of the past to the webhook (start, status, cancel)")
    .description(
      "Re-deliver the events of a past window (POST /replay): the relay reads them again from Jetstream on a second connection while live delivery carries on, and each event keeps the webhook-id it had the first time. Jetstream keeps about a day; an older window is refused. Every replay command needs the admin token.",
    );
  replay.addHelpText(
    "after",
    commandHelp({
      examples: [
        "jetstream-relay replay --from 14:00 --to 15:00          # today 14:00–15:00 UTC (asks first)",
        "jetstream-relay replay status --watch                   # follow the latest replay until it is over",
        "jetstream-relay replay cancel",
        "jetstream-relay rewind 2h                               # everything since 2 h ago",
      ],
      nonInteractive: ["Starting one without a terminal needs --yes (exit 2 otherwise): jetstream-relay replay --from 14:00 --to 15:00 --yes --json"],
    }),
  );

  const start = replay
    .command("start", { isDefault: true })
    .description("Replay --from … [--to …] (asks first; without a terminal needs --yes)")
    .requiredOption("--from <time>", "start of the window: ISO time, HH:MM (today, UTC) or a duration ago (2h)")
    .option("--to <time>", "end of the window, exclusive (default: the relay's live position)")
    .option("--collections <list>", "only these collections, comma-separated (default: the relay's own)", parseCollections)
    .option("-y, --yes", "do not ask");
  addConnectionOptions(start);
  addFollowOptions(start);
  start.addHelpText(
    "after",
    commandHelp({
      examples: [
        "jetstream-relay replay --from 14:00 --to 15:00          # today 14:00–15:00 UTC",
        "jetstream-relay replay --from 2026-01-31T14:00:00Z --to 2026-01-31T14:30:00Z --collections app.bsky.feed.post",
        "jetstream-relay replay --from 3h --to 1h --watch        # from 3 h ago to 1 h ago, progress until done",
      ],
      nonInteractive: [
        "Without a terminal it needs --yes (exit 2 otherwise): jetstream-relay replay --from 14:00 --to 15:00 --yes --json",
        "Times: a bare HH:MM is today in UTC; an ISO time without zone is UTC; a duration is that long ago.",
        "With --watch --json: one JSON line ({replay}) per poll until it is over; exit 1 if it failed or was cancelled.",
      ],
    }),
  );
  start.action(async (flags: StartFlags & { from: string; to?: string; collections?: string[] }) => {
    const now = Date.now();
    const window = { from: time(flags.from, "--from", now), to: flags.to === undefined ? undefined : time(flags.to, "--to", now), collections: flags.collections };
    await startReplay(window, flags, "jetstream-relay replay --from … --to … --yes");
  });

  const status = replay.command("status").description("Progress of the latest replay (GET /replay); --watch follows it until it is over");
  addConnectionOptions(status);
  addFollowOptions(status);
  status.addHelpText(
    "after",
    commandHelp({
      examples: ["jetstream-relay replay status", "jetstream-relay replay status --watch"],
      nonInteractive: ["It never asks anything: jetstream-relay replay status --json | jq .replay.progress"],
    }),
  );
  status.action(async (flags: ConnectionFlags & FollowFlags) => showReplay(flags));

  const cancel = replay.command("cancel").description("Stop the running replay (POST /replay/cancel); what was enqueued is still delivered");
  addConnectionOptions(cancel);
  cancel.addHelpText(
    "after",
    commandHelp({
      examples: ["jetstream-relay replay cancel"],
      nonInteractive: ["It never asks anything: jetstream-relay replay cancel --json"],
    }),
  );
  cancel.action(async (flags: ConnectionFlags) => cancelReplay(flags));
}

function time(text: string, flag: string, now: number) {
  try {
    return resolveTime(text, now);
  } catch (error) {
    throw new CliError(`${flag}: ${(error as Error).message}`, ExitCode.usage);
  }
}
