// The queue consumer: delivers the events of a batch to the webhook (per-DID order, DIDs in parallel),
// re-enqueues only the events that must be tried again (or all of them while delivery is paused by a
// 410 Gone), dead-letters the rest, and reports to the relay object what is settled.
import type { ConfigProblem, DeliveryReport, Env } from "../contract.ts";
import type { DeadLetterInput } from "./dead-letter-store.ts";
import { completeEvent } from "../queue/complete-event.ts";
import { heldByLedger, type QueueMessageBody } from "../queue/message.ts";
import { readMessage, type ReadMessage } from "../queue/read-message.ts";
import { twice, twiceOrWhy } from "./attempt-twice.ts";
import { backoffSeconds } from "../backoff.ts";
import { retryDelaySeconds } from "./classify-response.ts";
import { BatchDelivery, type Item, type RetryGroup, type Tally } from "./batch-delivery.ts";
import { parseDeliveryConfig, type DeliveryConfig } from "./delivery-config.ts";
import { assignLanes, packFollowUps, sendBatches, type FollowUpEntry, type FollowUpMessage } from "./delivery-plan.ts";
import { eventId } from "./event-id.ts";
import { relayBlob } from "./event-text.ts";
import { portsFromEnv, type DeliveryPorts } from "./ports.ts";
import { holdGroup } from "./delivery-pause.ts";
import { errorMessage } from "../errors.ts";
import { createSigner } from "./signing.ts";

export { consumeDeadLetterQueue } from "./dead-letter-intake.ts";

/** While the configuration is broken, messages wait this long before they are tried again. */
export const CONFIG_ERROR_RETRY_SECONDS = 300;
/** Latency samples per report, at most. */
const MAX_LATENCY_SAMPLES = 1000;

export async function consumeEvents(batch: MessageBatch<QueueMessageBody>, env: Env, _ctx: ExecutionContext): Promise<void> {
  await deliverBatch(batch, env, portsFromEnv(env));
}

/** Handles one batch of the events queue and returns the report it sent to the relay object. */
export async function deliverBatch(batch: MessageBatch<QueueMessageBody>, env: Env, ports: DeliveryPorts): Promise<DeliveryReport> {
  const { config, problems } = parseDeliveryConfig(env);
  if (!config) return holdForConfiguration(batch, problems, ports);

  // Asked while the messages are read. A relay object that cannot answer does not stop delivery: a
  // webhook still gone answers 410 again and the batch waits.
  const pauseAsked = ports.deliveryPause().catch((error: unknown) => {
    console.error(`jetstream-relay: could not ask the relay object whether delivery is paused, delivering: ${errorMessage(error)}`);
    return null;
  });
  const tally: Tally = { requests: 0 };
  const signer = config.signingKey ? await createSigner(config.signingKey) : null;
  const items: Item[] = [];
  const malformed: { origin: number; letter: DeadLetterInput }[] = [];
  const read: (ReadMessage | null)[] = batch.messages.map((message) => readMessage(message.body));
  for (const [origin, message] of read.entries()) {
    if (!message) {
      const raw = JSON.stringify(batch.messages[origin].body) ?? "null";
      malformed.push({ origin, letter: { id: eventId(raw), raw, error: "malformed queue message", attempts: 0, failedAt: ports.now() } });
      continue;
    }
    for (const element of message.events) {
      const event = completeEvent(element);
      if (event) {
        items.push({ origin, from: message.from, event, did: event.did, receivedAt: Number(event.receivedAt) || 0 });
      } else {
        const raw = JSON.stringify(element) ?? "null";
        malformed.push({ origin, letter: { id: eventId(raw), raw, error: "malformed queued event", attempts: 0, failedAt: ports.now() } });
      }
    }
  }

  const lanes = assignLanes(items, config.concurrency);
  const delivery = new BatchDelivery(config, signer, ports, tally);
  const pause = await pauseAsked;
  if (pause) delivery.hold(holdGroup(pause, ports.now(), config));
  await Promise.all(lanes.map((lane) => delivery.run(lane)));
  const ordered = lanes.flat();

  // Nothing may be lost: whatever cannot be handed on sends its whole message round again.
  const retryOrigins = new Set<number>();
  const dead = [...malformed, ...ordered.flatMap((item) => (item.fate?.kind === "dead" ? [{ origin: item.origin, letter: item.fate.letter }] : []))];
  let deadLetterStoreError: string | null | undefined;
  if (dead.length > 0) {
    deadLetterStoreError = await twiceOrWhy(() => ports.deadLetters.add(dead.map((d) => d.letter)), "store dead letters");
    if (deadLetterStoreError !== null) for (const d of dead) retryOrigins.add(d.origin);
  }
  const pending: DeliveryReport["pending"] = [];
  let followUpMessages = 0;
  for (const group of sendBatches(planFollowUps(ordered, config, ports))) {
    const sent = await twice(() => ports.send(group.map((m) => ({ body: m.body, contentType: "v8", delaySeconds: m.delaySeconds }))), "enqueue follow-up messages");
    if (sent) followUpMessages += group.length;
    for (const message of group) {
      if (!sent) for (const origin of message.origins) retryOrigins.add(origin);
      // Only the live stream's follow-ups: those of replays must not pull back the point the relay
      // resumes from after a restart.
      else if (heldByLedger(message.body)) {
        pending.push({ ledgerId: message.body.ledgerId, oldestTimeUs: Math.min(...message.body.events.map((e) => e.timeUs)) });
      }
    }
  }

  const settled: string[] = [];
  for (const [origin, message] of batch.messages.entries()) {
    if (retryOrigins.has(origin)) {
      message.retry({ delaySeconds: config.retryBaseSeconds });
      continue;
    }
    message.ack();
    // The relay object ignores ledger ids it does not hold (a replay's); dead-letter replays have none to settle.
    const settles = read[origin];
    if (settles && settles.from.origin !== "dead-letter") settled.push(settles.ledgerId);
  }

  const replayed = ordered.filter((i) => i.fate?.kind === "delivered" && i.from.origin === "dead-letter").map((i) => i.id as string);
  if (replayed.length > 0) await twice(() => ports.deadLetters.remove(replayed), "remove replayed dead letters");

  const report = buildReport(pause !== null || tally.gone !== undefined, ordered, malformed.length, settled, pending, retryOrigins, tally);
  if (tally.gone) console.error(`jetstream-relay: the webhook answered 410 Gone: delivery is paused, the events wait in the queue (resume: jetstream-relay webhook resume)`);
  report.billing = { retriedMessages: retryOrigins.size, followUpMessages, deadLetterQueueMessages: 0 };
  if (deadLetterStoreError !== undefined) report.deadLetterStoreError = deadLetterStoreError;
  await twice(() => ports.settle(report), "report to the relay object");
  return report;
}

/**
 * Follow-up messages for the events to try again. Events that wait behind a failure travel with it
 * (same group, behind it); groups of the same attempt count share messages. The delay of a group is the
 * backoff for its attempt count, or the webhook's Retry-After when that is longer.
 */
function planFollowUps(ordered: Item[], config: DeliveryConfig, ports: DeliveryPorts): FollowUpMessage[] {
  const waiting = ordered.flatMap((item) => (item.fate?.kind === "follow-up" ? [{ item, fate: item.fate }] : []));
  // Events of different origins never share a follow-up message.
  const keyOf = (item: Item, group: RetryGroup) => `${group.attempts}|${item.from.origin}|${item.from.replayId ?? ""}`;
  const retryAfter = new Map<string, number>();
  for (const { item, fate } of waiting) {
    const key = keyOf(item, fate.group);
    retryAfter.set(key, Math.max(retryAfter.get(key) ?? 0, fate.group.retryAfterSeconds ?? 0));
  }
  const delays = new Map<string, number>();
  const entries: FollowUpEntry[] = waiting.map(({ item, fate }) => {
    const group = keyOf(item, fate.group);
    let delaySeconds = delays.get(group);
    if (delaySeconds === undefined) {
      const backoff = fate.group.attempts === 0 ? 0 : backoffSeconds(fate.group.attempts, config.retryBaseSeconds, config.retryMaxSeconds, ports.random);
      delaySeconds = retryDelaySeconds(backoff, retryAfter.get(group));
      delays.set(group, delaySeconds);
    }
    return { event: { ...item.event, attempts: fate.attempts }, origin: item.origin, from: item.from, group, delaySeconds };
  });
  return packFollowUps(entries, () => crypto.randomUUID());
}

function buildReport(
  held: boolean,
  ordered: Item[],
  malformed: number,
  settled: string[],
  pending: DeliveryReport["pending"],
  retryOrigins: Set<number>,
  tally: Tally,
): DeliveryReport {
  const report: DeliveryReport = {
    settled,
    pending,
    delivered: 0,
    retried: 0,
    failed: 0,
    deadLettered: malformed,
    requests: tally.requests,
    latenciesMs: [],
    blobsDone: [],
  };
  if (tally.lastError) report.lastError = tally.lastError;
  if (tally.lastSuccessAt) report.lastSuccessAt = tally.lastSuccessAt;
  if (tally.gone) report.gone = tally.gone;
  if (held) report.held = ordered.filter((item) => item.fate?.kind === "follow-up" && !item.fate.counted).length;
  for (const item of ordered) {
    const fate = item.fate;
    if (!fate) continue;
    let blobDone = false;
    if (fate.kind === "delivered") {
      report.delivered += 1;
      if (report.latenciesMs.length < MAX_LATENCY_SAMPLES) report.latenciesMs.push(Math.max(0, fate.at - item.receivedAt));
      if (item.from.origin !== "dead-letter") report.newestDeliveredTimeUs = Math.max(report.newestDeliveredTimeUs ?? 0, item.event.timeUs);
      blobDone = true;
    } else if (fate.kind === "follow-up") {
      if (fate.counted) report.retried += 1;
    } else if (fate.kind === "duplicate") {
      continue;
    } else {
      report.deadLettered += 1;
      if (fate.permanent) report.failed += 1;
      blobDone = fate.hasContent;
    }
    const blob = relayBlob(item.event, item.from);
    if (blobDone && blob && !retryOrigins.has(item.origin)) report.blobsDone.push(blob);
  }
  return report;
}

/** Without a usable configuration nothing can be delivered: keep every message and say why. */
async function holdForConfiguration(batch: MessageBatch<QueueMessageBody>, problems: ConfigProblem[], ports: DeliveryPorts): Promise<DeliveryReport> {
  batch.retryAll({ delaySeconds: CONFIG_ERROR_RETRY_SECONDS });
  const message = `webhook delivery is paused by a configuration error: ${problems.map((p) => p.message).join(" ")}`;
  console.error(message);
  const report: DeliveryReport = {
    settled: [],
    pending: [],
    delivered: 0,
    retried: 0,
    failed: 0,
    deadLettered: 0,
    requests: 0,
    lastError: { message, at: new Date(ports.now()).toISOString() },
    latenciesMs: [],
    blobsDone: [],
    billing: { retriedMessages: batch.messages.length, followUpMessages: 0, deadLetterQueueMessages: 0 },
  };
  await twice(() => ports.settle(report), "report to the relay object");
  return report;
}
