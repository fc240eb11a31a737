// Consumer of the Cloudflare dead-letter queue: messages whose consumer failed past max_retries land
// there. Their events are kept in the dead-letter store (listable, replayable) instead of expiring.
import type { DeliveryReport, Env } from "../contract.ts";
import type { DeadLetterInput } from "./dead-letter-store.ts";
import { completeEvent } from "../queue/complete-event.ts";
import type { QueueMessageBody } from "../queue/message.ts";
import { readMessage } from "../queue/read-message.ts";
import { twice, twiceOrWhy } from "./attempt-twice.ts";
import { eventId } from "./event-id.ts";
import { eventStub, readEventText, relayBlob, type EventText } from "./event-text.ts";
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
      let text: EventText | null = null;
      let readError = "";
      try {
        text = await readEventText(event, read.from, ports);
      } catch (error) {
        readError = `; its text could not be read: ${errorMessage(error)}`;
      }
      // Its blob is gone because it was delivered already: this message came again, nothing to keep.
      if (text && "gone" in text && text.gone === "settled") continue;
      if (text && "text" in text) {
        letters.push({ id: eventId(text.text), raw: text.text, error: REASON, attempts: event.attempts, failedAt });
        const blob = relayBlob(event, read.from);
        if (blob) blobsDone.push(blob);
      } else {
        const stub = eventStub(event);
        const why = readError || `; its text is gone (blob ${event.blob ?? "none"}): only its reference is kept`;
        letters.push({ id: eventId(stub), raw: stub, stub: true, error: `${REASON}${why}`, attempts: event.attempts, failedAt });
      }
    }
    if (read.from.origin !== "dead-letter") settled.push(read.ledgerId);
  }
  const storeError = letters.length > 0 ? await twiceOrWhy(() => ports.deadLetters.add(letters), "store dead letters") : null;
  if (storeError !== null) {
    // Not stored: let the queue deliver these messages again, a minute later (and /health says so).
    batch.retryAll({ delaySeconds: STORE_RETRY_SECONDS });
    await twice(() => ports.settle({ ...emptyReport(), deadLetterStoreError: storeError }), "report to the relay object");
    return null;
  }
  batch.ackAll();
  const report: DeliveryReport = {
    ...emptyReport(),
    settled,
    deadLettered: letters.length,
    blobsDone,
    billing: { retriedMessages: 0, followUpMessages: 0, deadLetterQueueMessages: batch.messages.length },
  };
  if (letters.length > 0) {
    report.lastError = { message: `${letters.length} event(s) were dead-lettered because ${REASON}`, at: new Date(failedAt).toISOString() };
    report.deadLetterStoreError = null;
  }
  await twice(() => ports.settle(report), "report to the relay object");
  return report;
}

function emptyReport(): DeliveryReport {
  return { settled: [], pending: [], delivered: 0, retried: 0, failed: 0, deadLettered: 0, requests: 0, latenciesMs: [], blobsDone: [] };
}
