import type { Command } from "commander";
import type { DeliveryResume } from "../../worker/api-types.ts";
import { formatTime } from "../lib/terminal-format.ts";
import { commandHelp } from "../lib/help.ts";
import { addConnectionOptions, type ConnectionFlags, connect } from "../lib/operate-options.ts";
import { expectShape } from "../lib/validate.ts";

export function register(program: Command): void {
  const webhook = program
    .command("webhook")
    .summary("Webhook delivery: resume it after the webhook answered 410 Gone")
    .description(
      "A webhook that answers 410 Gone asks not to be sent anything more (Standard Webhooks): the relay then pauses delivery, keeps every event waiting in the queue (none is dead-lettered) and says so in /health (reason webhook-gone) and /status. Delivery resumes when an operator says so, or by itself once WEBHOOK_URL is changed and deployed.",
    );

  const resume = webhook
    .command("resume")
    .description("Resume webhook delivery paused by a 410 Gone answer (POST /webhook/resume, needs the admin token): the waiting events are delivered again");
  addConnectionOptions(resume);
  resume.addHelpText(
    "after",
    commandHelp({
      examples: ["jetstream-relay webhook resume", "jetstream-relay webhook resume && jetstream-relay health --wait 900"],
      nonInteractive: ["It never asks anything: JETSTREAM_RELAY_TOKEN=… jetstream-relay webhook resume --json   # {\"resumed\": true, \"pause\": {\"since\", \"reason\"}}"],
    }),
  );
  resume.action(async (flags: ConnectionFlags) => {
    const { client, output } = await connect(flags);
    const { body } = await client.post<unknown>("/webhook/resume");
    const answer = expectShape<DeliveryResume>(body, "POST /webhook/resume", client.target.url, (r) => typeof r.resumed === "boolean");
    if (output.json) {
      output.document(answer);
      return;
    }
    if (!answer.resumed || !answer.pause) {
      output.lines(["webhook delivery was not paused: nothing to resume"]);
      return;
    }
    output.lines([
      `${output.out.green("resumed")} webhook delivery ${output.out.dim(`(paused since ${formatTime(answer.pause.since)}: ${answer.pause.reason})`)}`,
      output.out.dim("the waiting events come round again within their hold (up to WEBHOOK_RETRY_MAX_SECONDS); if the webhook still answers 410, delivery pauses again"),
    ]);
  });
}
