import type { Command } from "commander";
import type { RelayStatus } from "../../worker/api-types.ts";
import { formatCursor } from "../lib/terminal-format.ts";
import { commandHelp } from "../lib/help.ts";
import { addConnectionOptions, type ConnectionFlags, connect } from "../lib/operate-options.ts";

export function register(program: Command): void {
  const command = program
    .command("reconnect")
    .summary("Drop the Jetstream connection and connect again from the saved cursor")
    .description(
      "Force the relay to reconnect to Jetstream from its saved cursor (POST /reconnect, needs the admin token): nothing is lost or skipped. Useful when an endpoint is stuck or after a Jetstream incident.",
    );
  addConnectionOptions(command);
  command.addHelpText(
    "after",
    commandHelp({
      examples: ["jetstream-relay reconnect", "jetstream-relay reconnect && jetstream-relay status --watch"],
      nonInteractive: ["It never asks anything: JETSTREAM_RELAY_TOKEN=… jetstream-relay reconnect --json"],
    }),
  );
  command.action(async (flags: ConnectionFlags) => {
    const { client, output } = await connect(flags);
    const { body } = await client.post<RelayStatus | undefined>("/reconnect");
    if (output.json) {
      output.document(body ?? {});
      return;
    }
    const state = body?.state ? ` (now ${body.state}${body.endpoint ? ` to ${body.endpoint}` : ""})` : "";
    output.lines([`${output.out.green("reconnecting")} from cursor ${formatCursor(body?.cursor ?? null)}${state}`]);
  });
}
