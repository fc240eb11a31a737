import type { Command } from "commander";
import type { Gap } from "../../worker/api-types.ts";
import { formatDuration, formatGapSeqs, formatTime } from "../lib/terminal-format.ts";
import { commandHelp } from "../lib/help.ts";
import { addConnectionOptions, type ConnectionFlags, connect } from "../lib/operate-options.ts";
import type { StatsAnswer } from "../lib/stats-view.ts";
import { renderTable } from "../lib/table.ts";
import { expectShape } from "../lib/validate.ts";

export function register(program: Command): void {
  const gaps = program
    .command("gaps")
    .summary("Gaps in the stream (a resume older than Jetstream's retention): list, acknowledge")
    .description(
      "A gap is detected when the relay resumed from a cursor older than Jetstream keeps (24-36 h): the events in between are lost upstream. On the v2 wire the server says so itself (CursorTooOld, OutdatedCursor): the gap is exact, whatever its size, and names the seqs from the one asked for to the one the server resumed at; on the legacy wire a gap is inferred when the first event comes much later than the cursor. A gap stays among /health's reasons until an operator acknowledges it.",
    );

  const list = gaps
    .command("list", { isDefault: true })
    .description("List the detected gaps (from GET /stats)");
  addConnectionOptions(list, { jsonWhenPiped: true });
  list.addHelpText(
    "after",
    commandHelp({
      examples: ["jetstream-relay gaps", "jetstream-relay gaps list --json"],
      nonInteractive: ["Off a terminal it prints the gaps as one JSON array."],
    }),
  );
  list.action(async (flags: ConnectionFlags) => {
    const { client, output } = await connect(flags, { jsonWhenPiped: true });
    const stats = expectShape<StatsAnswer>((await client.get("/stats")).body, "GET /stats", client.target.url, (s) => typeof s.totalReceived === "number");
    const found: Gap[] = stats.gaps ?? [];
    if (output.json) {
      output.document(found);
      return;
    }
    const c = output.out;
    if (found.length === 0) {
      output.lines([`no gaps detected${stats.gapsDetected ? ` (${stats.gapsDetected} counted before the list was trimmed)` : ""}`]);
      return;
    }
    output.lines(
      renderTable(
        [
          { header: "from" },
          { header: "to" },
          { header: "missing", align: "right" },
          { header: "seqs", align: "right" },
          { header: "detected" },
          { header: "endpoint" },
          { header: "acknowledged" },
          { header: "known" },
        ],
        found.map((gap) => [
          gap.from,
          gap.to,
          formatDuration((gap.toUs - gap.fromUs) / 1e6),
          formatGapSeqs(gap),
          formatTime(gap.detectedAt),
          gap.endpoint,
          gap.acknowledged ? "yes" : c.yellow("no"),
          gap.exact ? `exact${gap.reason ? `: ${gap.reason}` : ""}` : c.dim("inferred (legacy wire: first event much later than the cursor)"),
        ]),
        { header: c.dim },
      ),
    );
  });

  const ack = gaps.command("ack").description("Acknowledge every detected gap (POST /gaps/ack, needs the admin token)");
  addConnectionOptions(ack);
  ack.addHelpText(
    "after",
    commandHelp({
      examples: ["jetstream-relay gaps ack"],
      nonInteractive: ["It never asks anything: JETSTREAM_RELAY_TOKEN=… jetstream-relay gaps ack --json"],
    }),
  );
  ack.action(async (flags: ConnectionFlags) => {
    const { client, output } = await connect(flags);
    const { body } = await client.post<{ acknowledged?: number }>("/gaps/ack");
    if (output.json) output.document(body ?? {});
    else output.lines([`${body?.acknowledged ?? 0} gap${body?.acknowledged === 1 ? "" : "s"} acknowledged`]);
  });
}
