import { cautious, fitsBatch, fitsMessage, QUEUE_LIMITS, type QueueLimits } from "./limits.ts";
import { elementBytes, envelopeBytes } from "./message-size.ts";
import { LIVE, messageBody, type CompactEvent, type MessageOrigin, type QueuedEvent, type QueueMessage } from "./message.ts";

export { cautious, QUEUE_LIMITS, type QueueLimits } from "./limits.ts";

export interface PendingEvent {
  /** Events read from Jetstream travel compact (their did and time_us are in their text); blobs and follow-ups whole. */
  event: QueuedEvent | CompactEvent;
  /** The event's time_us. */
  timeUs: number;
  /** What the event adds to a message (`queuedEventBytes`). */
  bytes: number;
  /** The cursor as it stood when this event arrived (time_us of the previous event), null if none. */
  cursorBefore: number | null;
  /** The Jetstream instance it came from, and its seq there (v2), when known. */
  instance?: string | null;
  seq?: number | null;
}

export interface PackedMessage {
  body: QueueMessage;
  bytes: number;
  /** Where its first event came from (v2: with its seq), so that a restart can read it again exactly. */
  first: { instance: string | null; seq: number | null };
  /** Oldest time_us among its events (the ledger's value for it). */
  oldestTimeUs: number;
  /** Newest time_us among its events. */
  newestTimeUs: number;
}

export interface PackedBatch {
  messages: PackedMessage[];
  bytes: number;
  /** Number of pending events (from the front) the batch carries. */
  eventCount: number;
}

export function queuedEventBytes(event: QueuedEvent | CompactEvent): number {
  return elementBytes(event);
}

/**
 * Packs events, in arrival order, into queue messages and `sendBatch` calls within Cloudflare Queues'
 * limits (limits.ts), every message with the packer's origin.
 */
export class Packer {
  private readonly pending: PendingEvent[] = [];
  private head = 0;
  private pendingBytes = 0;

  /** Full messages one sendBatch takes (its byte limit over the message target). */
  private readonly messagesPerBatch: number;

  /** `from`: the origin of every message it builds (a replay's, for a replay). */
  constructor(
    private readonly limits: QueueLimits = QUEUE_LIMITS,
    private readonly from: MessageOrigin = LIVE,
  ) {
    this.messagesPerBatch = Math.max(1, Math.floor(limits.batchMaxBytes / limits.messageTargetBytes));
  }

  add(item: PendingEvent): void {
    this.pending.push(item);
    this.pendingBytes += item.bytes;
  }

  get size(): number {
    return this.pending.length - this.head;
  }
  get bytes(): number {
    return this.pendingBytes;
  }
  /** The oldest event not yet durably enqueued. */
  get oldest(): PendingEvent | undefined {
    return this.pending[this.head];
  }
  /** Whether enough is waiting to fill a message (no need to wait for the flush interval). */
  get hasFullMessage(): boolean {
    return this.pendingBytes >= this.limits.messageTargetBytes || this.size >= this.limits.maxEventsPerMessage;
  }
  /**
   * Whether enough is waiting to fill a whole batch (as many full messages as its byte limit takes, sent
   * together: enqueue.ts): sending then rather than per full message halves the rounds of waiting
   * for the queue.
   */
  get hasFullBatch(): boolean {
    return this.pendingBytes >= this.messagesPerBatch * this.limits.messageTargetBytes || this.size >= this.messagesPerBatch * this.limits.maxEventsPerMessage;
  }

  /**
   * The next sendBatch, built from the front without removing anything: events leave only through
   * `commit` once the queue accepted them, so a failed send is simply built again. With `fullOnly`, a
   * last message that is not full (the events ran out, or the batch's byte limit cut it) is left for
   * later: null when not even one message is full (never while `hasFullMessage`).
   */
  peekBatch(nextLedgerId: () => string, options: { fullOnly?: boolean; cautious?: boolean } = {}): PackedBatch | null {
    if (this.size === 0) return null;
    const limits = options.cautious ? cautious(this.limits) : this.limits;
    const messages: (PackedMessage & { full: boolean })[] = [];
    let batchBytes = 0;
    let i = this.head;
    while (i < this.pending.length && messages.length < limits.batchMaxMessages) {
      const body = messageBody<QueuedEvent | CompactEvent>(this.from, nextLedgerId(), []);
      const events = body.events;
      let bytes = envelopeBytes(body);
      let oldest = Number.POSITIVE_INFINITY;
      let newest = Number.NEGATIVE_INFINITY;
      let full = false;
      while (i < this.pending.length) {
        const item = this.pending[i];
        const added = item.bytes;
        const fits = fitsMessage(limits, bytes, events.length, added);
        full = !fits;
        if (!fits || !fitsBatch(limits, batchBytes, messages.length, bytes + added)) break;
        events.push(item.event);
        bytes += added;
        oldest = Math.min(oldest, item.timeUs);
        newest = Math.max(newest, item.timeUs);
        i++;
      }
      if (events.length === 0) break; // the batch is full
      const head = this.pending[i - events.length];
      messages.push({ body, bytes, first: { instance: head.instance ?? null, seq: head.seq ?? null }, oldestTimeUs: oldest, newestTimeUs: newest, full: full || events.length >= limits.maxEventsPerMessage || bytes >= limits.messageTargetBytes });
      batchBytes += bytes;
    }
    const last = messages[messages.length - 1];
    if (options.fullOnly && last && !last.full) {
      messages.pop();
      batchBytes -= last.bytes;
      i -= last.body.events.length;
    }
    if (messages.length === 0) return null;
    return { messages: messages.map(({ full: _, ...m }) => m), bytes: batchBytes, eventCount: i - this.head };
  }

  /** Removes the events of a batch the queue accepted. */
  commit(batch: PackedBatch): void {
    for (let n = 0; n < batch.eventCount; n++) {
      this.pendingBytes -= this.pending[this.head].bytes;
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.pending.length) {
      this.pending.splice(0, this.head);
      this.head = 0;
    }
  }
}

/** The first `count` messages of a batch as a batch of their own: what to commit when only they were accepted. */
export function leadingMessages(batch: PackedBatch, count: number): PackedBatch {
  const messages = batch.messages.slice(0, count);
  return {
    messages,
    bytes: messages.reduce((n, m) => n + m.bytes, 0),
    eventCount: messages.reduce((n, m) => n + m.body.events.length, 0),
  };
}
