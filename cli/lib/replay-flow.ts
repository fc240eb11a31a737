import { type Command, Option } from "commander";
import type { RelayStatus, ReplayProgress } from "../../worker/api-types.ts";
import { ask, requireConfirmationPossible } from "./confirm.ts";
import { CliError, ExitCode } from "./exit-codes.ts";
import { formatTime } from "./terminal-format.ts";
import { LiveScreen } from "./live-screen.ts";
import { type ConnectionFlags, connect, DEFAULT_INTERVAL_S, parseSeconds, type WatchFlags } from "./operate-options.ts";
import type { Output } from "./output.ts";
import type { RelayClient } from "./relay-client.ts";
import { checkWindow, isoOf, replayBody, type ReplayWindow } from "./replay-window.ts";
import { renderReplay, replayLine } from "./replay-view.ts";
import { expectShape } from "./validate.ts";
import { pollUntilOver } from "./poll-until-over.ts";

/** --watch (until the replay is over) and --interval. */
export type FollowFlags = Pick<WatchFlags, "watch" | "interval">;
/** The flags of `rewind` and `replay` (start). */
export type StartFlags = ConnectionFlags & FollowFlags & { yes?: boolean };

export function addFollowOptions(command: Command): Command {
  return command
    .option("-w, --watch", "follow the progress until the replay is over (in place on a terminal; one JSON line per poll with --json)")
    .addOption(new Option("-i, --interval <seconds>", "seconds between polls under --watch").argParser(parseSeconds).default(DEFAULT_INTERVAL_S * 1000, String(DEFAULT_INTERVAL_S)));
}

type ReplayAnswer = { replay: ReplayProgress | null };
const isAnswer = (a: Record<string, unknown>) => "replay" in a;

/**
 * Starts a replay: checks the window, asks on a terminal (or needs --yes), POST /replay, then shows the
 * progress once or, with --watch, until the replay is over.
 */
export async function startReplay(window: ReplayWindow, flags: StartFlags, example: string): Promise<void> {
  const nowMs = Date.now();
  const problem = checkWindow(window, nowMs);
  if (problem) throw new CliError(problem, ExitCode.usage);
  const mode = requireConfirmationPossible(flags.yes, "replaying a window of the past (its events go to the webhook again)", example);
  const { client, output } = await connect(flags);
  if (mode === "ask") {
    const status = expectShape<RelayStatus>((await client.get("/status")).body, "GET /status", client.target.url, (s) => typeof s.state === "string");
    output.message(describeWindow(window, status, client.target.url, output));
    if (!(await ask("Re-deliver the events of this window?"))) throw new CliError("nothing was replayed", ExitCode.failure);
  }
  const { body } = await client.post<ReplayAnswer>("/replay", replayBody(window));
  const replay = expectShape<ReplayAnswer>(body, "POST /replay", client.target.url, isAnswer).replay;
  if (!flags.watch) {
    if (output.json) output.document({ replay });
    else output.lines([...renderReplay(replay, output.out), "", output.out.dim("follow it: jetstream-relay replay status --watch   ·   stop it: jetstream-relay replay cancel")]);
    return;
  }
  await follow(client, output, flags.interval, replay);
}

/** `replay status [--watch]`. */
export async function showReplay(flags: ConnectionFlags & FollowFlags): Promise<void> {
  const { client, output } = await connect(flags);
  const replay = await fetchReplay(client);
  if (flags.watch && replay?.state === "running") {
    await follow(client, output, flags.interval, replay);
    return;
  }
  if (output.json) output.document({ replay });
  else output.lines(renderReplay(replay, output.out));
  if (flags.watch) exitCodeFor(replay);
}

/** `replay cancel`. */
export async function cancelReplay(flags: ConnectionFlags): Promise<void> {
  const { client, output } = await connect(flags);
  const before = await fetchReplay(client);
  const { body } = await client.post<ReplayAnswer>("/replay/cancel");
  const replay = expectShape<ReplayAnswer>(body, "POST /replay/cancel", client.target.url, isAnswer).replay;
  if (output.json) {
    output.document({ replay });
    return;
  }
  const note = before?.state === "running" ? output.out.yellow("cancelled; events already enqueued are still delivered") : "no replay was running";
  output.lines([note, "", ...renderReplay(replay, output.out)]);
}

async function fetchReplay(client: RelayClient): Promise<ReplayProgress | null> {
  return expectShape<ReplayAnswer>((await client.get("/replay")).body, "GET /replay", client.target.url, isAnswer).replay;
}

/**
 * Polls GET /replay until the replay is over: redrawn in place on a terminal, one JSON line per poll
 * with --json, a line per poll otherwise. A failed poll is shown and polling goes on (a refused token ends it).
 */
async function follow(client: RelayClient, output: Output, intervalMs: number, first: ReplayProgress | null): Promise<void> {
  const screen = !output.json && process.stdout.isTTY ? new LiveScreen(process.stdout) : null;
  const show = (replay: ReplayProgress | null, failure?: string) => {
    if (output.json) output.jsonLine({ replay });
    else if (screen) screen.render([...renderReplay(replay, output.out), "", failure ? output.out.red(failure) : output.out.dim(`every ${intervalMs / 1000}s until it is over · Ctrl-C stops watching (the replay goes on)`)]);
    else if (replay) output.lines([replayLine(replay)]);
  };
  const latest = await pollUntilOver({ first, running: (replay) => replay?.state === "running", poll: () => fetchReplay(client), show, screen, output, intervalMs });
  if (!output.json && !screen && latest) output.lines(renderReplay(latest, output.out));
  exitCodeFor(latest);
}

/** A replay that failed or was cancelled ends the command with exit 1. */
function exitCodeFor(replay: ReplayProgress | null): void {
  if (replay && (replay.state === "failed" || replay.state === "cancelled")) {
    process.stderr.write(`replay ${replay.id} ${replay.state}${replay.error ? `: ${replay.error}` : ""}\n`);
    process.exitCode = ExitCode.failure;
  }
}

function describeWindow(window: ReplayWindow, status: RelayStatus, url: string, output: Output): string {
  const c = output.err;
  const to = window.to
    ? `${isoOf(window.to.ms)} (${window.to.reading})`
    : `the relay's live position${status.cursorTime ? ` (now ${formatTime(status.cursorTime)})` : ""}`;
  return [
    `${c.bold("Replay")} on ${url}:`,
    `  from  ${isoOf(window.from.ms)} (${window.from.reading})`,
    `  to    ${to}`,
    `  collections  ${window.collections?.join(", ") ?? `the relay's own (${status.config?.collections.join(", ") ?? "?"})`}`,
    "Every event of this window is delivered to the webhook again, with the same webhook-id as the first time;",
    "live delivery carries on meanwhile.",
  ].join("\n");
}
