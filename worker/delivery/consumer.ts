// The queue consumer: delivers the events of a batch to the webhook (per-DID order, DIDs in parallel),
// re-enqueues only the events that must be tried again, dead-letters the rest, and reports to the
// relay object what is settled.
import type { ConfigProblem, DeliveryReport, Env, QueuedEvent, QueueMessageBody } from "../contract.ts";
import { DEAD_LETTER_LEDGER_PREFIX, type DeadLetterInput } from "../dead-letter-store.ts";
import { backoffSeconds, retryDelaySeconds } from "./backoff.ts";
import { classifyFailure, classifyResponse, type Outcome } from "./classify-response.ts";
import { parseDeliveryConfig, type DeliveryConfig } from "./delivery-config.ts";
import { assignLanes, packFollowUps, sendBatches, type FollowUpEntry, type FollowUpMessage } from "./delivery-plan.ts";
import { batchId, eventId } from "./event-id.ts";
import { eventStub, eventText, relayBlob } from "./event-text.ts";
import { isMessageBody } from "./message-body.ts";
import { messageOf, twice } from "./attempt-twice.ts";
import { portsFromEnv, type DeliveryPorts } from "./ports.ts";
import { createSigner, type Signer } from "./signing.ts";
import { batchBody, buildWebhookRequest, type WebhookRequest } from "./webhook-request.ts";

export { consumeDeadLetterQueue } from "./dead-letter-intake.ts";

/** While the configuration is broken, messages wait this long before they are tried again. */
export const CONFIG_ERROR_RETRY_SECONDS = 300;
/** Latency samples per report, at most. */
const MAX_LATENCY_SAMPLES = 1000;
/** Consecutive retryable failures after which the rest of the batch waits instead of being tried. */
const PAUSE_AFTER_FAILURES = 3;
/** A batch stops starting requests after this long (the queue gives a consumer 15 minutes). */
const BATCH_TIME_BUDGET_MS = 5 * 60_000;

export async function consumeEvents(batch: MessageBatch<QueueMessageBody>, env: Env, _ctx: ExecutionContext): Promise<void> {
  await deliverBatch(batch, env, portsFromEnv(env));
}

/**
 * Why and how long events wait before their follow-up message is delivered: the attempt count of the
 * failure that set them back (0 = not a failure: no delay) and the webhook's Retry-After, if any.
 */
interface RetryGroup {
  attempts: number;
  retryAfterSeconds?: number;
}

/** What became of one event of the batch. */
type Fate =
  | { kind: "delivered"; at: number }
  /** To be sent again. `counted`: this event failed (attempts grew); otherwise it waits behind another. */
  | { kind: "follow-up"; attempts: number; counted: boolean; group: RetryGroup }
  | { kind: "dead"; letter: DeadLetterInput; permanent: boolean; hasContent: boolean };

interface Item {
  origin: number;
  event: QueuedEvent;
  did: string;
  receivedAt: number;
  raw?: string;
  id?: string;
  fate?: Fate;
}

interface Tally {
  requests: number;
  lastError?: { message: string; at: string };
  lastSuccessAt?: string;
}

/** Handles one batch of the events queue and returns the report it sent to the relay object. */
export async function deliverBatch(batch: MessageBatch<QueueMessageBody>, env: Env, ports: DeliveryPorts): Promise<DeliveryReport> {
  const { config, problems } = parseDeliveryConfig(env);
  if (!config) return holdForConfiguration(batch, problems, ports);

  const tally: Tally = { requests: 0 };
  const signer = config.signingKey ? await createSigner(config.signingKey) : null;
  const items: Item[] = [];
  const malformed: { origin: number; letter: DeadLetterInput }[] = [];
  for (const [origin, message] of batch.messages.entries()) {
    const body: unknown = message.body;
    if (!isMessageBody(body)) {
      const raw = JSON.stringify(body) ?? "null";
      malformed.push({ origin, letter: { id: await eventId(raw), raw, error: "malformed queue message", attempts: 0, failedAt: ports.now() } });
      continue;
    }
    for (const event of body.events) {
      if (typeof event === "object" && event !== null) {
        items.push({ origin, event: { ...event, attempts: Number(event.attempts) || 0 }, did: String(event.did ?? ""), receivedAt: Number(event.receivedAt) || 0 });
      } else {
        const raw = JSON.stringify(event) ?? "null";
        malformed.push({ origin, letter: { id: await eventId(raw), raw, error: "malformed queued event", attempts: 0, failedAt: ports.now() } });
      }
    }
  }

  const lanes = assignLanes(items, config.concurrency);
  const delivery = new BatchDelivery(config, signer, ports, tally);
  await Promise.all(lanes.map((lane) => delivery.run(lane)));
  const ordered = lanes.flat();

  // Nothing may be lost: whatever cannot be handed on sends its whole message round again.
  const retryOrigins = new Set<number>();
  const dead = [...malformed, ...ordered.flatMap((item) => (item.fate?.kind === "dead" ? [{ origin: item.origin, letter: item.fate.letter }] : []))];
  if (dead.length > 0 && !(await twice(() => ports.deadLetters.add(dead.map((d) => d.letter)), "store dead letters"))) {
    for (const d of dead) retryOrigins.add(d.origin);
  }
  const pending: DeliveryReport["pending"] = [];
  for (const group of sendBatches(planFollowUps(ordered, config, ports))) {
    const sent = await twice(() => ports.send(group.map((m) => ({ body: m.body, delaySeconds: m.delaySeconds }))), "enqueue follow-up messages");
    for (const message of group) {
      if (!sent) for (const origin of message.origins) retryOrigins.add(origin);
      else if (!message.body.ledgerId.startsWith(DEAD_LETTER_LEDGER_PREFIX)) {
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
    const ledgerId = isMessageBody(message.body) ? message.body.ledgerId : null;
    if (ledgerId && !ledgerId.startsWith(DEAD_LETTER_LEDGER_PREFIX)) settled.push(ledgerId);
  }

  const replayed = ordered.filter((i) => i.fate?.kind === "delivered" && i.event.fromDeadLetters).map((i) => i.id as string);
  if (replayed.length > 0) await twice(() => ports.deadLetters.remove(replayed), "remove replayed dead letters");

  const report = buildReport(ordered, malformed.length, settled, pending, retryOrigins, tally);
  await twice(() => ports.settle(report), "report to the relay object");
  return report;
}

/**
 * Delivers the events of a batch lane by lane, one request at a time per lane (keeping each DID's
 * order). When the webhook asks to wait (Retry-After) or keeps failing, the rest of the batch is not
 * tried now: it waits in the follow-up messages (without counting an attempt).
 */
class BatchDelivery {
  private consecutiveFailures = 0;
  private paused: RetryGroup | null = null;
  private readonly deadline: number;

  constructor(
    private config: DeliveryConfig,
    private signer: Signer | null,
    private ports: DeliveryPorts,
    private tally: Tally,
  ) {
    this.deadline = ports.now() + BATCH_TIME_BUDGET_MS;
  }

  async run(lane: Item[]): Promise<void> {
    // A DID whose event must be retried: its later events wait behind it.
    const blocked = new Map<string, RetryGroup>();
    let position = 0;
    while (position < lane.length) {
      const chunk: Item[] = [];
      while (position < lane.length && chunk.length < this.config.batchSize) {
        const item = lane[position++];
        if (await this.prepare(item, blocked)) chunk.push(item);
      }
      if (chunk.length > 0) await this.deliver(chunk, blocked);
    }
  }

  /** Resolves the event's text and id; false when it is not to be sent now. */
  private async prepare(item: Item, blocked: Map<string, RetryGroup>): Promise<boolean> {
    const waitFor = blocked.get(item.did) ?? this.paused ?? (this.ports.now() > this.deadline ? { attempts: 0 } : null);
    if (waitFor) {
      item.fate = { kind: "follow-up", attempts: item.event.attempts, counted: false, group: waitFor };
      blocked.set(item.did, waitFor);
      return false;
    }
    let raw: string | null;
    try {
      raw = await eventText(item.event, this.ports);
    } catch (error) {
      this.fail(item, { kind: "retry", reason: `could not read the oversized event ${item.event.blob}: ${messageOf(error)}` }, blocked);
      return false;
    }
    if (raw === null) {
      const stub = eventStub(item.event);
      const error = `the event's text is gone (blob ${item.event.blob ?? "none"}); only its reference is kept`;
      this.noteError(error);
      item.fate = {
        kind: "dead",
        permanent: true,
        hasContent: false,
        letter: { id: await eventId(stub), raw: stub, error, attempts: item.event.attempts, failedAt: this.ports.now() },
      };
      return false;
    }
    item.raw = raw;
    item.id = await eventId(raw);
    return true;
  }

  private async deliver(chunk: Item[], blocked: Map<string, RetryGroup>): Promise<void> {
    const single = this.config.batchSize === 1;
    const raws = chunk.map((item) => item.raw as string);
    const body = single ? raws[0] : batchBody(raws);
    const id = single ? (chunk[0].id as string) : await batchId(chunk.map((item) => item.id as string));
    const request = await buildWebhookRequest(this.config, this.signer, id, body, Math.floor(this.ports.now() / 1000));
    this.tally.requests += 1;
    const outcome = await this.post(request);
    const at = this.ports.now();
    if (outcome.kind === "ack") {
      this.tally.lastSuccessAt = new Date(at).toISOString();
      this.consecutiveFailures = 0;
    }
    for (const item of chunk) {
      if (outcome.kind === "ack") item.fate = { kind: "delivered", at };
      else this.fail(item, outcome, blocked);
    }
    if (outcome.kind === "retry") {
      this.consecutiveFailures += 1;
      if (!this.paused && (outcome.retryAfterSeconds !== undefined || this.consecutiveFailures >= PAUSE_AFTER_FAILURES)) {
        const attempts = Math.max(...chunk.map((item) => item.event.attempts + 1));
        this.paused = { attempts: Math.min(attempts, this.config.maxAttempts), retryAfterSeconds: outcome.retryAfterSeconds };
      }
    }
  }

  private async post(request: WebhookRequest): Promise<Outcome> {
    try {
      const response = await this.ports.fetch(request.url, {
        method: "POST",
        headers: request.headers,
        body: request.body,
        redirect: "manual",
        signal: AbortSignal.timeout(this.config.timeoutMs),
      });
      let detail = "";
      if (response.ok) await response.body?.cancel();
      else detail = await response.text().then((text) => text.slice(0, 200).trim(), () => "");
      return classifyResponse(response.status, response.headers.get("retry-after"), detail, this.ports.now());
    } catch (error) {
      return classifyFailure(error, this.config.timeoutMs, request.url);
    }
  }

  private fail(item: Item, outcome: Exclude<Outcome, { kind: "ack" }>, blocked: Map<string, RetryGroup>): void {
    const attempts = item.event.attempts + 1;
    this.noteError(outcome.reason);
    const deadLetter = (error: string, permanent: boolean): Fate => ({
      kind: "dead",
      permanent,
      hasContent: item.raw !== undefined,
      letter: {
        id: item.id ?? `blob_${item.event.blob}`,
        raw: item.raw ?? eventStub(item.event),
        error,
        attempts,
        failedAt: this.ports.now(),
      },
    });
    if (outcome.kind === "permanent") item.fate = deadLetter(outcome.reason, true);
    else if (attempts >= this.config.maxAttempts) item.fate = deadLetter(`gave up after ${attempts} attempts; last: ${outcome.reason}`, false);
    else {
      const group: RetryGroup = { attempts, retryAfterSeconds: outcome.retryAfterSeconds };
      item.fate = { kind: "follow-up", attempts, counted: true, group };
      blocked.set(item.did, group);
    }
  }

  private noteError(message: string): void {
    this.tally.lastError = { message, at: new Date(this.ports.now()).toISOString() };
  }
}

/**
 * Follow-up messages for the events to try again. Events that wait behind a failure travel with it
 * (same group, behind it); groups of the same attempt count share messages. The delay of a group is the
 * backoff for its attempt count, or the webhook's Retry-After when that is longer.
 */
function planFollowUps(ordered: Item[], config: DeliveryConfig, ports: DeliveryPorts): FollowUpMessage[] {
  const waiting = ordered.flatMap((item) => (item.fate?.kind === "follow-up" ? [{ item, fate: item.fate }] : []));
  const keyOf = (item: Item, group: RetryGroup) => `${group.attempts}${item.event.fromDeadLetters ? "|dead-letters" : ""}`;
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
    return { event: { ...item.event, attempts: fate.attempts }, origin: item.origin, group, delaySeconds };
  });
  return packFollowUps(entries, (group) => `${group.endsWith("|dead-letters") ? DEAD_LETTER_LEDGER_PREFIX : "retry-"}${crypto.randomUUID()}`);
}

function buildReport(
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
  for (const item of ordered) {
    const fate = item.fate;
    if (!fate) continue;
    let blobDone = false;
    if (fate.kind === "delivered") {
      report.delivered += 1;
      if (report.latenciesMs.length < MAX_LATENCY_SAMPLES) report.latenciesMs.push(Math.max(0, fate.at - item.receivedAt));
      if (!item.event.fromDeadLetters) report.newestDeliveredTimeUs = Math.max(report.newestDeliveredTimeUs ?? 0, item.event.timeUs);
      blobDone = true;
    } else if (fate.kind === "follow-up") {
      if (fate.counted) report.retried += 1;
    } else {
      report.deadLettered += 1;
      if (fate.permanent) report.failed += 1;
      blobDone = fate.hasContent;
    }
    const blob = relayBlob(item.event);
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
  };
  await twice(() => ports.settle(report), "report to the relay object");
  return report;
}
