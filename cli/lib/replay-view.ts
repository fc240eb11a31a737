import type { ReplayProgress } from "../../worker/api-types.ts";
import type { Colors } from "./colors.ts";
import { formatCount, formatDuration, formatTime } from "./terminal-format.ts";
import { renderPairs } from "./table.ts";
import { isoFromUs } from "../../worker/time-us.ts";

/** The readable view of a replay's progress (pure). */
export function renderReplay(replay: ReplayProgress | null, c: Colors, now = Date.now()): string[] {
  if (!replay) return ["no replay has been requested on this relay yet", c.dim("start one: jetstream-relay rewind 2h   ·   jetstream-relay replay --from 14:00 --to 15:00")];
  const state = { running: c.cyan, done: c.green, failed: c.red, cancelled: c.yellow }[replay.state] ?? ((s: string) => s);
  const pairs: [string, string][] = [
    ["replay", `${replay.id}  ${state(replay.state)}`],
    ["progress", `${progressBar(replay.progress)} ${Math.round(replay.progress * 100)}%`],
    ["window", `${formatTime(replay.from, now)} → ${formatTime(replay.to, now)} (${formatDuration((replay.toUs - replay.fromUs) / 1e6)})`],
    ["collections", replay.collections.join(", ")],
    ["position", replay.positionUs === null ? "—" : formatTime(isoFromUs(replay.positionUs), now)],
    ["events", `${formatCount(replay.eventsReplayed)} re-delivered (same webhook-id as the first time)`],
    ["started", formatTime(replay.startedAt, now)],
  ];
  if (replay.finishedAt) pairs.push(["finished", formatTime(replay.finishedAt, now)]);
  if (replay.gap) pairs.push(["gap", c.red(`${replay.gap.from} → ${replay.gap.to}: no longer kept by the server, not replayed`)]);
  if (replay.error) pairs.push(["error", c.red(replay.error)]);
  return renderPairs(pairs, { label: c.dim });
}

/** One line per poll when the output is not a terminal (nothing is redrawn there). */
export function replayLine(replay: ReplayProgress): string {
  return `${new Date().toISOString()} ${replay.id} ${replay.state} ${Math.round(replay.progress * 100)}% ${replay.eventsReplayed} events`;
}

export function progressBar(share: number, width = 24): string {
  const filled = Math.round(Math.min(1, Math.max(0, share)) * width);
  return `[${"#".repeat(filled)}${"-".repeat(width - filled)}]`;
}
