// Consumer of the Cloudflare dead-letter queue: messages whose consumer failed past max_retries land
// there. Their events are kept in the dead-letter store (listable, replayable) instead of expiring.
import type { DeliveryReport, Env } from "../contract.ts";
import type { DeadLetterInput } from "./dead-letter-store.ts";
import { completeEvent } from "../queue/complete-event.ts";
import type { QueueMessageBody } from "../queue/message.ts";
import { readMessage } from "../queue/read-message.ts";
import { twice } from "./attempt-twice.ts";
import { eventId } from "./event-id.ts";
import { eventStub, eventText, relayBlob } from "./event-text.ts";
import { portsFromEnv, type DeliveryPorts } from "./ports.ts";
import { errorMessage } from "../errors.ts";

/** Delay before the dead-letter queue delivers messages again that the store could not take. */
const STORE_RETRY_SECONDS = 60;
const REASON = "its queue message failed past max_retries and reached the dead-letter queue";

export async function consumeDeadLetterQueue(batch: MessageBatch<QueueMessageBody>, env: Env, _ctx: ExecutionContext): Promise<void> {
  await keepDeadLetteredMessages(batch, portsFromEnv(env));
}

/** Stores every event of the batch in the dead-letter store; returns the report sent to the relay object. */
export async function keepDeadLetteredMessages(batch: MessageBatch<QueueMessageBody>, ports: DeliveryPorts): Promise<DeliveryReport | null> {
  const letters: DeadLetterInput[] = [];
  const settled: string[] = [];
  const blobsDone: string[] = [];
  const failedAt = ports.now();
  for (const message of batch.messages) {
    const read = readMessage(message.body);
    if (!read) {
      const raw = JSON.stringify(message.body) ?? "null";
      letters.push({ id: eventId(raw), raw, error: `malformed queue message; ${REASON}`, attempts: message.attempts, failedAt });
      continue;
    }
    for (const element of read.events) {
      const event = completeEvent(element);
      if (!event) {
        const raw = JSON.stringify(element) ?? "null";
        letters.push({ id: eventId(raw), raw, error: `malformed queued event; ${REASON}`, attempts: message.attempts, failedAt });
        continue;
      }
      let raw: string | null = null;
      let readError = "";
      try {
        raw = await eventText(event, read.from, ports);
      } catch (error) {
        readError = `; its text could not be read: ${errorMessage(error)}`;
      }
      const text = raw ?? eventStub(event);
      letters.push({ id: eventId(text), raw: text, error: `${REASON}${readError}`, attempts: event.attempts, failedAt });
      const blob = relayBlob(event, read.from);
      if (raw !== null && blob) blobsDone.push(blob);
    }
    if (read.from.origin !== "dead-letter") settled.push(read.ledgerId);
  }
  if (letters.length > 0 && !(await twice(() => ports.deadLetters.add(letters), "store dead letters"))) {
    // Not stored: let the queue deliver these messages again, a minute later.
    batch.retryAll({ delaySeconds: STORE_RETRY_SECONDS });
    return null;
  }
  batch.ackAll();
  const report: DeliveryReport = {
    settled,
    pending: [],
    delivered: 0,
    retried: 0,
    failed: 0,
    deadLettered: letters.length,
    requests: 0,
    lastError: { message: `${letters.length} event(s) were dead-lettered because ${REASON}`, at: new Date(failedAt).toISOString() },
    latenciesMs: [],
    blobsDone,
    billing: { retriedMessages: 0, followUpMessages: 0, deadLetterQueueMessages: batch.messages.length },
  };
  await twice(() => ports.settle(report), "report to the relay object");
  return report;
}
