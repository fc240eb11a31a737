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

/** When partly filled messages leave: see `Outbox`. */
export interface SendTiming {
  /** Above 0: a partly filled message waits up to this long for more events. 0: group commit. */
  lingerMs: number;
  /** Group commit: least time between the starts of two sends that carry a partly filled message. */
  spacingMs: number;
}

/**
 * Events on their way into the queue: packed in arrival order (queue/packer.ts), sent one batch at a
 * time, and removed only once the queue accepted them, so a failed send is simply built again and
 * retried with backoff (whatever arrives meanwhile waits for the retry).
 *
 * When a batch leaves, with `lingerMs` 0 (the default): group commit. Full messages go as soon as the
 * previous send resolved; a partly filled one too, unless another left less than `spacingMs` ago — then
 * it goes when that much time has passed, with whatever arrived meanwhile. So an event after a quiet
 * spell goes at once, and under load messages fill by themselves: a local queue accepts a send in well
 * under a millisecond, too fast for waiting on the previous send alone to gather anything.
 * With `lingerMs` above 0 (the earlier rule): a partly filled message waits for more events up to that
 * long, full batches go at once.
 */
export class Outbox {
  private packer: Packer;
  private sending = false;
  /** The linger or spacing timer, or the retry timer after a failed send. */
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** The timer is a retry's backoff: nothing is sent before it fires. */
  private retrying = false;
  private failures = 0;
  /** When the last send that could carry a partly filled message started (ms). */
  private lastPartialAt = Number.NEGATIVE_INFINITY;
  private readonly lingerMs: number;
  private readonly spacingMs: number;

  constructor(
    private readonly newPacker: () => Packer,
    timing: SendTiming,
    private readonly hooks: OutboxHooks,
  ) {
    this.packer = newPacker();
    this.lingerMs = timing.lingerMs;
    this.spacingMs = timing.spacingMs;
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
    if (this.lingerMs > 0) {
      if (this.packer.hasFullBatch || urgent) {
        this.clearTimer();
        void this.flush(!urgent);
      } else if (this.timer === null) {
        this.startTimer(this.lingerMs);
      }
      return;
    }
    const next = this.groupCommit(urgent);
    if (next !== "wait") {
      this.clearTimer();
      void this.flush(next === "full");
    } else if (this.timer === null) {
      this.startTimer(Math.max(0, this.lastPartialAt + this.spacingMs - Date.now()));
    }
  }

  /** Group commit: what may leave now — full messages only, everything, or nothing before the spacing passed. */
  private groupCommit(urgent: boolean): "full" | "all" | "wait" {
    if (urgent) return "all";
    if (this.packer.hasFullMessage) return "full";
    return Date.now() - this.lastPartialAt >= this.spacingMs ? "all" : "wait";
  }

  private startTimer(ms: number): void {
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, ms);
  }

  /**
   * One batch at a time, in arrival order. `fullOnly`: full messages only, so that messages are not cut
   * half-empty under load.
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
        let batch = peek(fullOnly);
        // Never expected (a full message waits when asked for): group commit then sends what waits rather than stall.
        if (!batch && fullOnly && this.lingerMs === 0) batch = peek((fullOnly = false));
        if (!batch) break;
        if (!fullOnly) this.lastPartialAt = Date.now();
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
        if (this.lingerMs > 0) {
          if (!packer.hasFullBatch && !urgent) break;
          fullOnly = !urgent;
        } else {
          const next = this.groupCommit(urgent);
          if (next === "wait") break;
          fullOnly = next === "full";
        }
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
