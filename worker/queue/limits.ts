/**
 * The one set of size limits for queue messages and `sendBatch` calls, whoever builds them (the live
 * stream and replays through the Packer, the consumer's follow-ups, dead-letter replays). Sizes are those
 * of the V8 serialization the messages are sent as, computed (message-size.ts).
 */
export const QUEUE_LIMITS = {
  /**
   * Target size of one message: two 64 KB billing units, within the 128 KB limit. Queues bill per 64 KB,
   * so bigger messages cost the same per event, and each message costs CPU of its own on the way.
   */
  messageTargetBytes: 120_000,
  /**
   * An event larger than this travels as a blob: half the limit, so that a message of it alone fits even
   * if V8 held its strings with two bytes per character (message-size.ts).
   */
  maxInlineEventBytes: 63_000,
  batchMaxMessages: 100,
  /** sendBatch allows 256 KB in total; a margin is kept. */
  batchMaxBytes: 250_000,
  /** Events per message at most (JETSTREAM_MAX_EVENTS_PER_MESSAGE); by default the byte target binds first. */
  maxEventsPerMessage: 1000,
} as const;

export type QueueLimits = { [K in keyof typeof QUEUE_LIMITS]: number };

/**
 * Half the sizes, which fit even if every text took twice its computed size (the one way a computed
 * size can be short; message-size.ts): for a batch sent again after the queue refused it.
 */
export function cautious(limits: QueueLimits): QueueLimits {
  return { ...limits, messageTargetBytes: limits.messageTargetBytes / 2, batchMaxBytes: limits.batchMaxBytes / 2 };
}

/**
 * The limits of messages built from texts the relay did not decode from a socket (the consumer's
 * follow-ups, dead-letter replays), sent once with no smaller second try: cautious from the start.
 */
export const CAUTIOUS_LIMITS: QueueLimits = cautious(QUEUE_LIMITS);

/** Longest delay a queue message can be given (Cloudflare Queues: 12 hours). */
export const MAX_DELAY_SECONDS = 43_200;

/**
 * Whether `addedEvents` events of `addedBytes` still fit a message of `bytes` holding `events` events.
 * An empty message takes anything: an event never waits for a message large enough.
 */
export function fitsMessage(limits: QueueLimits, bytes: number, events: number, addedBytes: number, addedEvents = 1): boolean {
  return events === 0 || (bytes + addedBytes <= limits.messageTargetBytes && events + addedEvents <= limits.maxEventsPerMessage);
}

/** Whether a message of `addedBytes` still fits a sendBatch of `bytes` holding `messages` messages. */
export function fitsBatch(limits: QueueLimits, bytes: number, messages: number, addedBytes: number): boolean {
  return messages < limits.batchMaxMessages && bytes + addedBytes <= limits.batchMaxBytes;
}
