import type { QueueMessageBody } from "../contract.ts";
import { backoffDelay } from "../backoff.ts";
import type { EnqueueOutcome } from "../queue/enqueue.ts";
import { leadingMessages, type Packer, type PackedBatch, type PendingEvent } from "../queue/packer.ts";

/** An event waiting for the queue, with the instance whose clock (and seq space) its `cursorBefore` is on. */
export interface OutboxEvent extends PendingEvent {
  instance: string | null;
  seq: number | null;
  /** v2: the seq to resume from (inclusive) so that this event is read again. */
  seqBefore: number | null;
}

export interface OutboxHooks {
  send(bodies: QueueMessageBody[]): Promise<EnqueueOutcome>;
  nextLedgerId(): string;
  /** Calls made to the queue, accepted or not. */
  called(calls: number): void;
  /** The queue accepted these messages (their events have left the outbox). */
  sent(batch: PackedBatch): void;
  /** A send failed; `failures` counts them in a row. */
  sendFailed(error: unknown, failures: number): void;
  /** Nothing waits any more. */
  drained(): void;
  /** Everything waiting should go now, not only full messages (reading is paused, or the stream ends). */
  urgent(): boolean;
}

/** Retry of a failed send to the queue: first delay and cap. */
const SEND_RETRY = { baseMs: 250, maxMs: 30_000, healthyAfterMs: 0, failoverAfter: 1 };

/**
 * Events on their way into the queue: packed in arrival order (queue/packer.ts), sent one batch at a
 * time, and removed only once the queue accepted them, so a failed send is simply built again and
 * retried with backoff.
 *
 * When a batch leaves: with `lingerMs` 0 (the default), group commit — what waits leaves as soon as the
 * previous send resolved, so a lone event goes at once and packing grows with the load by itself (while
 * a send is on its way the next events gather; under a flood they fill whole messages). Full messages go
 * first; a partly filled one goes when nothing full waits, one send later at most. With `lingerMs` above
 * 0, a partly filled message waits for more events up to that long (fewer messages at moderate rates).
 */
export class Outbox {
  private packer: Packer;
  private sending = false;
  /** The linger timer (lingerMs > 0) or the retry timer after a failed send. */
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** The timer is a retry's backoff: nothing is sent before it fires. */
  private retrying = false;
  private failures = 0;

  constructor(
    private readonly newPacker: () => Packer,
    private readonly lingerMs: number,
    private readonly hooks: OutboxHooks,
  ) {
    this.packer = newPacker();
  }

  get size(): number {
    return this.packer.size;
  }
  get bytes(): number {
    return this.packer.bytes;
  }
  /** The oldest event not yet in the queue. */
  get oldest(): OutboxEvent | undefined {
    return this.packer.oldest as OutboxEvent | undefined;
  }
  get sendFailures(): number {
    return this.failures;
  }

  add(event: OutboxEvent): void {
    this.packer.add(event);
    this.schedule();
  }

  /** Sends what waits if nothing is on its way (the watchdog calls it). */
  kick(): void {
    if (this.packer.size > 0 && !this.sending && this.timer === null) void this.flush();
  }

  /** Forgets everything waiting (a cancelled replay). */
  clear(): void {
    this.clearTimer();
    this.packer = this.newPacker();
    this.sending = false;
    this.failures = 0;
  }

  private schedule(): void {
    if (this.sending || this.retrying) return;
    const urgent = this.hooks.urgent();
    if (this.lingerMs === 0 || this.packer.hasFullBatch || urgent) {
      this.clearTimer();
      void this.flush(this.fullFirst(urgent));
    } else if (this.timer === null) {
      this.timer = setTimeout(() => {
        this.timer = null;
        void this.flush();
      }, this.lingerMs);
    }
  }

  /**
   * Whether the next batch takes full messages only: with group commit, while a full one waits (the
   * partly filled rest goes next round, with what arrived meanwhile); with a linger, always when not
   * urgent (the rest waits for its timer).
   */
  private fullFirst(urgent: boolean): boolean {
    if (urgent) return false;
    return this.lingerMs === 0 ? this.packer.hasFullMessage : true;
  }

  /**
   * One batch at a time, in arrival order. `fullOnly`: full messages only (see `fullFirst`), so that
   * messages are not cut half-empty under load.
   */
  private async flush(fullOnly = false): Promise<void> {
    if (this.sending || this.packer.size === 0) return;
    const packer = this.packer;
    this.sending = true;
    let retryInMs: number | null = null;
    try {
      while (packer.size > 0) {
        // After a refusal, smaller messages: they fit even where a computed size fell short.
        const peek = (full: boolean) => packer.peekBatch(() => this.hooks.nextLedgerId(), { fullOnly: full, cautious: this.failures > 0 });
        // Group commit never leaves events waiting for a timer: if nothing full could be built, the rest goes.
        const batch = peek(fullOnly) ?? (fullOnly && this.lingerMs === 0 ? peek(false) : null);
        if (!batch) break;
        const outcome = await this.hooks.send(batch.messages.map((m) => m.body));
        if (packer !== this.packer) return;
        this.hooks.called(outcome.calls);
        if (outcome.accepted > 0) {
          const accepted = leadingMessages(batch, outcome.accepted);
          this.failures = 0;
          packer.commit(accepted);
          this.hooks.sent(accepted);
        }
        if (outcome.accepted < batch.messages.length) {
          this.failures++;
          this.hooks.sendFailed(outcome.error, this.failures);
          retryInMs = backoffDelay(this.failures, SEND_RETRY, Math.random());
          break;
        }
        if (packer.size === 0) this.hooks.drained();
        const urgent = this.hooks.urgent();
        if (this.lingerMs > 0 && !packer.hasFullBatch && !urgent) break;
        fullOnly = this.fullFirst(urgent);
      }
    } finally {
      if (packer === this.packer) this.sending = false;
    }
    if (packer !== this.packer) return;
    if (retryInMs !== null) {
      this.clearTimer();
      this.retrying = true;
      this.timer = setTimeout(() => {
        this.timer = null;
        this.retrying = false;
        void this.flush();
      }, retryInMs);
    } else if (this.packer.size > 0) {
      this.schedule();
    }
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.retrying = false;
  }
}
