/**
 * What travels through the events queue: the events, and the messages that carry them with where they
 * come from. Pure types and builders (no Workers runtime types); the consumer reads messages with
 * read-message.ts, which also reads those written by earlier versions.
 */

/** One Jetstream event on its way to the webhook. */
export interface QueuedEvent {
  /** The event exactly as received from Jetstream (JSON text). Absent when it travels as a blob. */
  raw?: string;
  /**
   * Id of the blob holding an event too large for a queue message: in the relay object's storage, or,
   * in a dead-letter message, the id of the dead letter in the dead-letter store.
   */
  blob?: string;
  /** The event's `did` (repository); deliveries are ordered per DID. */
  did: string;
  /** The event's `time_us`. */
  timeUs: number;
  /** Epoch milliseconds at which the relay received it from Jetstream (for delivery latency). */
  receivedAt: number;
  /** Delivery attempts already made (0 when first enqueued). */
  attempts: number;
}

/**
 * A live event as the relay object enqueues it: only its text and when it arrived. Its `did` and
 * `time_us` are in the text, where the consumer reads them (worker/queue/complete-event.ts); not
 * repeating them takes ~12% off every message, so off the queue's bill too. Everything else (follow-ups,
 * dead-letter replays, blobs) travels as a whole QueuedEvent.
 */
export interface CompactEvent {
  raw: string;
  receivedAt: number;
}

/**
 * Where a message comes from, which decides what its settlement means:
 * - `live`: the relay's stream. The relay object's ledger holds it until the consumer settles it, and
 *   resumes from it after a restart.
 * - `retry`: events of the live stream the consumer sends again (a follow-up). The ledger holds it too.
 * - `replay`: an operator-requested replay (time travel); its follow-ups stay part of it. The ledger
 *   does not hold it: it must not pull back the live stream's resume point.
 * - `dead-letter`: events replayed from the dead-letter store, and their follow-ups; once delivered, the
 *   consumer removes them from the store. Their blobs are dead letters' ids.
 */
export type MessageOrigin =
  | { origin: "live"; replayId?: undefined }
  | { origin: "retry"; replayId?: undefined }
  | { origin: "replay"; replayId: string }
  | { origin: "dead-letter"; replayId?: undefined };

export const LIVE: MessageOrigin = { origin: "live" };
export const RETRY: MessageOrigin = { origin: "retry" };
export const DEAD_LETTER: MessageOrigin = { origin: "dead-letter" };
export function replayOrigin(replayId: string): MessageOrigin {
  return { origin: "replay", replayId };
}

/** The body of one queue message as written now (v2): many events packed together, and their origin. */
export type QueueMessage<E extends QueuedEvent | CompactEvent = QueuedEvent | CompactEvent> = MessageOrigin & {
  v: 2;
  /**
   * Ledger id: the relay object counts a live or retry message as unacknowledged until the consumer
   * reports it settled (see DeliveryReport); on restart it resumes from the oldest unacknowledged event.
   */
  ledgerId: string;
  events: E[];
};

/** A message of whole events: what the consumer sends again, and dead-letter replays. */
export type WholeEventsBody = QueueMessage<QueuedEvent>;

/**
 * The body v1 messages had, written by versions before the origin was explicit; a deployed queue may
 * still hold them, so the consumer reads them (read-message.ts). Nothing writes them any more. Their
 * origin was in string prefixes: ledger ids "dlq-" (dead-letter replay) and "retry-" (follow-up), blob
 * ids "dead-letter:", events marked `fromDeadLetters`, and `replayId` on replays.
 */
export interface LegacyMessageBody {
  v: 1;
  ledgerId: string;
  events: (QueuedEvent | CompactEvent)[];
  replayId?: string;
}

/** Anything a message of the events queue may hold. */
export type QueueMessageBody = QueueMessage | LegacyMessageBody;

/** A message body with the given origin (the one way bodies are built). */
export function messageBody<E extends QueuedEvent | CompactEvent>(from: MessageOrigin, ledgerId: string, events: E[]): QueueMessage<E> {
  return from.origin === "replay" ? { v: 2, origin: "replay", replayId: from.replayId, ledgerId, events } : { v: 2, origin: from.origin, ledgerId, events };
}

/** The origin of the follow-up message that carries events of a message of origin `from` again. */
export function followUpOrigin(from: MessageOrigin): MessageOrigin {
  return from.origin === "live" ? RETRY : from;
}

/** Whether the relay object's ledger holds messages of this origin (its resume point waits for them). */
export function heldByLedger(from: MessageOrigin): boolean {
  return from.origin === "live" || from.origin === "retry";
}
