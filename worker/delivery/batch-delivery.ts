// Delivery of one queue batch to the webhook: lanes of requests, what became of each event.
import type { DeadLetterInput } from "./dead-letter-store.ts";
import type { MessageOrigin, QueuedEvent } from "../queue/message.ts";
import { classifyFailure, classifyResponse, fullReason, type Outcome } from "./classify-response.ts";
import type { DeliveryConfig } from "./delivery-config.ts";
import { eventBody } from "./event-body.ts";
import { batchId, describeEvent, eventId } from "./event-id.ts";
import { drainBody } from "./drain-body.ts";
import { readBodyHead } from "./read-body-head.ts";
import { eventStub, readEventText, type EventText } from "./event-text.ts";
import type { DeliveryPorts } from "./ports.ts";
import type { Signer } from "./signing.ts";
import { batchBody, buildWebhookRequest, type WebhookRequest } from "./webhook-request.ts";
import { errorMessage } from "../errors.ts";
import { utf8Length } from "./utf8-length.ts";
import { holdGroup } from "./delivery-pause.ts";

/** Consecutive retryable failures after which the rest of the batch waits instead of being tried. */
const PAUSE_AFTER_FAILURES = 3;
/** A batch stops starting requests after this long (the queue gives a consumer 15 minutes). */
const BATCH_TIME_BUDGET_MS = 5 * 60_000;

/**
 * Why and how long events wait before their follow-up message is delivered: the attempt count of the
 * failure that set them back (0 = not a failure: no delay) and the webhook's Retry-After, if any.
 */
export interface RetryGroup {
  attempts: number;
  retryAfterSeconds?: number;
}

/** What became of one event of the batch. */
export type Fate =
  | { kind: "delivered"; at: number }
  /** To be sent again. `counted`: this event failed (attempts grew); otherwise it waits behind another. */
  | { kind: "follow-up"; attempts: number; counted: boolean; group: RetryGroup }
  | { kind: "dead"; letter: DeadLetterInput; permanent: boolean; hasContent: boolean }
  /** Delivered before: its message came again (queues deliver at least once) after the first delivery removed its text. */
  | { kind: "duplicate" };

export interface Item {
  /** Index of the batch message it came in. */
  origin: number;
  /** That message's origin (its follow-up keeps to it). */
  from: MessageOrigin;
  event: QueuedEvent;
  did: string;
  receivedAt: number;
  raw?: string;
  /** What the webhook gets for it: its text, or its legacy shape (WEBHOOK_EVENT_FORMAT=v1). */
  body?: string;
  id?: string;
  fate?: Fate;
}

export interface Tally {
  requests: number;
  lastError?: { message: string; at: string };
  lastSuccessAt?: string;
  /** The webhook answered 410 Gone: delivery is to pause. */
  gone?: { at: string; reason: string };
}

/**
 * Delivers the events of a batch lane by lane, one request at a time per lane (keeping each DID's
 * order). When the webhook asks to wait (Retry-After), keeps failing or answers 410 Gone, the rest of
 * the batch is not tried now: it waits in the follow-up messages (without counting an attempt).
 */
export class BatchDelivery {
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

  /** Delivery is paused (410 Gone): nothing is sent, every event waits in a follow-up behind `group`. */
  hold(group: RetryGroup): void {
    this.paused = group;
  }

  async run(lane: Item[]): Promise<void> {
    // A DID whose event must be retried: its later events wait behind it.
    const blocked = new Map<string, RetryGroup>();
    const batchMode = this.config.batchSize > 1;
    let position = 0;
    // Batch mode: an event taken that did not fit the last request's body opens the next one.
    let carried: Item | null = null;
    while (position < lane.length || carried) {
      const chunk: Item[] = [];
      // The body's "[", "]" and commas.
      let bytes = 1;
      if (carried && !this.mustWait(carried, blocked)) {
        chunk.push(carried);
        bytes += utf8Length(carried.body as string) + 1;
      }
      carried = null;
      while (position < lane.length && chunk.length < this.config.batchSize) {
        const item = lane[position++];
        if (this.mustWait(item, blocked)) continue;
        // Inline events (nearly all) are taken without a promise: this runs for every event.
        const ready = typeof item.event.raw === "string" ? this.take(item, item.event.raw) : await this.readAndTake(item, blocked);
        if (!ready) continue;
        if (batchMode) {
          const size = utf8Length(item.body as string) + 1;
          if (chunk.length > 0 && bytes + size > this.config.maxBatchBytes) {
            carried = item;
            break;
          }
          bytes += size;
        }
        chunk.push(item);
      }
      if (chunk.length === 0) continue;
      // Reading an oversized event awaited: other lanes may have used up the budget meanwhile.
      if (this.outOfBudget()) for (const item of chunk) this.wait(item, { attempts: 0 }, blocked);
      else await this.deliver(chunk, blocked);
    }
  }

  /** Whether the event must wait (behind its DID's failure, a pause, or the batch's time or request budget); sets its fate then. */
  private mustWait(item: Item, blocked: Map<string, RetryGroup>): boolean {
    const waitFor = blocked.get(item.did) ?? this.paused ?? (this.outOfBudget() ? { attempts: 0 } : null);
    if (!waitFor) return false;
    this.wait(item, waitFor, blocked);
    return true;
  }

  /** The event goes on in a follow-up message, behind `group` (no attempt counted); its DID's later events wait with it. */
  private wait(item: Item, group: RetryGroup, blocked: Map<string, RetryGroup>): void {
    item.fate = { kind: "follow-up", attempts: item.event.attempts, counted: false, group };
    blocked.set(item.did, group);
  }

  /** The batch may start no more requests: its time is up, or it made as many as it may (the rest go on in an immediate follow-up). */
  private outOfBudget(): boolean {
    return this.tally.requests >= this.config.maxRequestsPerBatch || this.ports.now() > this.deadline;
  }

  /** Reads the text of an event that travels by reference, then takes it; false when it is not to be sent now. */
  private async readAndTake(item: Item, blocked: Map<string, RetryGroup>): Promise<boolean> {
    let read: EventText;
    try {
      read = await readEventText(item.event, item.from, this.ports);
    } catch (error) {
      this.fail(item, { kind: "retry", reason: `could not read the oversized event ${item.event.blob}: ${errorMessage(error)}` }, blocked);
      return false;
    }
    if ("text" in read) return this.take(item, read.text);
    if (read.gone === "settled") {
      item.fate = { kind: "duplicate" };
      return false;
    }
    const stub = eventStub(item.event);
    const error = `the event's text is gone (blob ${item.event.blob ?? "none"}); only its reference is kept`;
    this.noteError(error);
    item.fate = {
      kind: "dead",
      permanent: true,
      hasContent: false,
      letter: { id: eventId(stub), raw: stub, stub: true, error, attempts: item.event.attempts, failedAt: this.ports.now() },
    };
    return false;
  }

  /** Gives the event its text, id and body; false (dead-lettered) when the text is not JSON or has no body in the configured format. */
  private take(item: Item, raw: string): boolean {
    const { id, json } = describeEvent(raw);
    item.raw = raw;
    item.id = id;
    const body = json ? eventBody(raw, this.config.eventFormat) : null;
    if (body === null || "problem" in body) {
      const error = body
        ? `the event cannot be sent as WEBHOOK_EVENT_FORMAT=${this.config.eventFormat}: ${body.problem}; kept here, not sent`
        : // Read by the relay from its head only (jetstream/legacy-frame.ts): broken further on, it would break the request.
          "the event is not valid JSON (the upstream sent it broken): kept here, not sent";
      this.noteError(error);
      // The letter keeps the event as received: a replay shapes it again, in the format configured then.
      item.fate = { kind: "dead", permanent: true, hasContent: true, letter: { id, raw, error, attempts: item.event.attempts, failedAt: this.ports.now() } };
      return false;
    }
    item.body = body.text;
    return true;
  }

  private async deliver(chunk: Item[], blocked: Map<string, RetryGroup>): Promise<void> {
    // Counted before the first await, so that lanes starting meanwhile see it (the request budget).
    this.tally.requests += 1;
    const single = this.config.batchSize === 1;
    const bodies = chunk.map((item) => item.body as string);
    const body = single ? bodies[0] : batchBody(bodies);
    const id = single ? (chunk[0].id as string) : batchId(chunk.map((item) => item.id as string));
    const eventIds = single ? undefined : chunk.map((item) => item.id as string);
    const request = await buildWebhookRequest(this.config, this.signer, id, body, Math.floor(this.ports.now() / 1000), eventIds);
    const outcome = await this.post(request);
    const at = this.ports.now();
    if (outcome.kind === "ack") {
      this.tally.lastSuccessAt = new Date(at).toISOString();
      this.consecutiveFailures = 0;
    }
    if (outcome.kind === "gone") {
      // Not the events' fault: they wait, with the rest of the batch, without counting an attempt.
      this.noteError(outcome.reason);
      this.tally.gone ??= { at: new Date(at).toISOString(), reason: "webhook answered HTTP 410 Gone" };
      this.paused = holdGroup(null, at, this.config);
      for (const item of chunk) this.wait(item, this.paused, blocked);
      return;
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
      if (response.ok) await drainBody(response);
      else detail = await readBodyHead(response);
      return classifyResponse(response.status, response.headers.get("retry-after"), detail, this.ports.now());
    } catch (error) {
      return classifyFailure(error, this.config.timeoutMs, request.url);
    }
  }

  private fail(item: Item, outcome: Exclude<Outcome, { kind: "ack" } | { kind: "gone" }>, blocked: Map<string, RetryGroup>): void {
    const attempts = item.event.attempts + 1;
    this.noteError(outcome.reason);
    const deadLetter = (error: string, permanent: boolean): Fate => ({
      kind: "dead",
      permanent,
      hasContent: item.raw !== undefined,
      letter: {
        id: item.id ?? `blob_${item.event.blob}`,
        raw: item.raw ?? eventStub(item.event),
        ...(item.raw === undefined ? { stub: true } : {}),
        error,
        attempts,
        failedAt: this.ports.now(),
      },
    });
    if (outcome.kind === "permanent") item.fate = deadLetter(fullReason(outcome), true);
    else if (attempts >= this.config.maxAttempts) item.fate = deadLetter(`gave up after ${attempts} attempts; last: ${fullReason(outcome)}`, false);
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
