import type { ConfigProblem, RelayStatus } from "../../worker/api-types.ts";
import type { Colors } from "./colors.ts";
import { formatCount, formatCursor, formatDuration, formatPosition, formatTime } from "./terminal-format.ts";
import { renderPairs } from "./table.ts";

/** The human-readable connection status, with the configuration (secrets never included) and its problems. */
export function renderStatus(status: RelayStatus, context: { url: string; colors: Colors; now: number; header?: string }): string[] {
  const c = context.colors;
  const now = context.now;
  const lines: string[] = [];
  lines.push(context.header ?? `${c.bold("jetstream-relay status")} ${c.dim("·")} ${context.url}`);
  lines.push("");
  const pairs: [string, string][] = [["state", stateText(status, c, now)]];
  pairs.push(["endpoint", `${status.endpoint ?? "—"}${status.wire ? c.dim(` · ${status.wire} wire`) : ""}`]);
  if (status.endpoints?.length > 1) pairs.push(["failover", status.endpoints.join(", ")]);
  pairs.push(["position", formatPosition(status.position, now)]);
  pairs.push(["cursor", formatCursor(status.cursor, now)]);
  pairs.push(["lag", formatDuration(status.lagSeconds)]);
  pairs.push(["last frame", formatTime(status.lastFrameAt, now)]);
  pairs.push(["reconnects", formatCount(status.reconnects)]);
  if (status.consumerTooSlow > 0) {
    const times = `${formatCount(status.consumerTooSlow)} time${status.consumerTooSlow === 1 ? "" : "s"}`;
    pairs.push(["too slow", `${c.yellow(`ConsumerTooSlow ${times}`)} ${c.dim("(the server closed: the relay read too slowly; it resumed from its position)")}`]);
  }
  if (status.lastError) pairs.push(["last error", `${c.red(status.lastError)} ${c.dim(formatTime(status.lastErrorAt, now))}`]);
  if (status.nextAttemptAt) pairs.push(["next attempt", formatTime(status.nextAttemptAt, now)]);
  if (status.deliveryPause) {
    const pause = status.deliveryPause;
    const held = `${formatCount(pause.held)} event${pause.held === 1 ? "" : "s"} put back on the queue so far`;
    pairs.push(["delivery", `${c.red(`paused since ${formatTime(pause.since, now)}: ${pause.reason}`)} ${c.dim(`(${held}, none dead-lettered; resume: jetstream-relay webhook resume)`)}`]);
  }
  lines.push(...renderPairs(pairs, { label: c.dim }));

  const config = status.config;
  if (config) {
    lines.push("");
    lines.push(c.bold("configuration"));
    const yesNo = (value: boolean) => (value ? "yes" : "no");
    lines.push(
      ...renderPairs(
        [
          // The relay shows the webhook's scheme and host only (its path may be its secret), and a fingerprint.
          ["webhook", config.webhookOrigin ? `${config.webhookOrigin} ${c.dim(`(fingerprint ${config.webhookFingerprint})`)}` : "—"],
          ["collections", config.collections.length ? config.collections.join(", ") : "(all)"],
          ["kinds", config.kinds.join(", ")],
          ["DIDs", config.dids ? formatCount(config.dids) : "all"],
          ["batch mode", yesNo(config.batchMode)],
          ["signed", yesNo(config.webhookSigned)],
          ["bearer token", yesNo(config.webhookBearer)],
          ["admin token", config.adminTokenSet ? "set" : c.yellow("not set (control commands are refused)")],
        ],
        { indent: "  ", label: c.dim },
      ),
    );
  }
  lines.push(...problemList("configuration problems", status.configErrors ?? [], c.red, "✗", c));
  lines.push(...problemList("configuration warnings", status.configWarnings ?? [], c.yellow, "!", c));
  const notes = status.notes ?? [];
  if (notes.length > 0) {
    lines.push("", c.yellow(c.bold(`notes (${notes.length})`)));
    for (const note of notes) lines.push(`  ${c.yellow("!")} ${note.code}: ${note.message}`);
  }
  return lines;
}

/** A titled list of configuration problems, each with its fix; nothing when there are none. */
function problemList(title: string, problems: ConfigProblem[], tint: (text: string) => string, mark: string, c: Colors): string[] {
  if (problems.length === 0) return [];
  const lines = ["", tint(c.bold(`${title} (${problems.length})`))];
  for (const problem of problems) lines.push(`  ${tint(mark)} ${problem.variable}: ${problem.message}`, `    ${c.dim("fix:")} ${problem.fix}`);
  return lines;
}

function stateText(status: RelayStatus, c: Colors, now: number): string {
  switch (status.state) {
    case "connected":
      return `${c.green("connected")}${status.connectedSince ? c.dim(` since ${formatTime(status.connectedSince, now)}`) : ""}`;
    case "config-error":
      return c.red("not connecting: configuration error");
    case "backoff":
      return c.yellow("waiting to reconnect");
    case "paused":
      return c.yellow("paused (queue backpressure)");
    case "connecting":
      return c.yellow("connecting");
    default:
      return String(status.state);
  }
}
