import type { QueueMessageBody } from "./message.ts";

/**
 * Hands packed messages to the queue. One or two messages (the full messages of a flood, or what a flush
 * found waiting) go one `send` each, in parallel: `sendBatch` carries every message base64-encoded inside
 * a JSON body (workerd's queue binding), a third more bytes for the relay object to encode and for the
 * queue to decode, which measured costlier than a second call. Queues bills per message either way. More
 * messages — only small ones fit, e.g. one event each with JETSTREAM_MAX_EVENTS_PER_MESSAGE — share one
 * `sendBatch`, which is all or nothing.
 */
export const MAX_SEPARATE_SENDS = 2;

export interface EnqueueOutcome {
  /** How many messages, counted from the first, the queue has. */
  accepted: number;
  /**
   * Why the message after those failed; null when all were accepted. A later message may have been
   * accepted anyway: its events are sent again (duplicates, never loss).
   */
  error: unknown;
  /** Calls made to the queue. */
  calls: number;
}

/** The producer side of the queue binding, as far as the relay uses it. */
export interface QueueProducer {
  send(body: QueueMessageBody, options?: QueueSendOptions): Promise<unknown>;
  sendBatch(messages: Iterable<MessageSendRequest<QueueMessageBody>>): Promise<unknown>;
}

export async function enqueue(queue: QueueProducer, bodies: QueueMessageBody[], timeoutMs: number): Promise<EnqueueOutcome> {
  if (bodies.length > MAX_SEPARATE_SENDS) {
    try {
      await withTimeout(queue.sendBatch(bodies.map((body) => ({ body, contentType: "v8" }))), timeoutMs, "sendBatch");
      return { accepted: bodies.length, error: null, calls: 1 };
    } catch (error) {
      return { accepted: 0, error, calls: 1 };
    }
  }
  const results = await Promise.allSettled(bodies.map((body) => withTimeout(queue.send(body, { contentType: "v8" }), timeoutMs, "send")));
  const failed = results.findIndex((r) => r.status === "rejected");
  if (failed === -1) return { accepted: bodies.length, error: null, calls: bodies.length };
  return { accepted: failed, error: (results[failed] as PromiseRejectedResult).reason, calls: bodies.length };
}

/** A call that has not settled by then counts as failed (and is retried: duplicates, never loss). */
function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
