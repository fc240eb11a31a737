import type { CompactEvent, QueuedEvent } from "./message.ts";
import { QUEUE_LIMITS } from "./limits.ts";
import { compactEventBytes, elementBytes } from "./message-size.ts";

export interface EventToQueue {
  event: QueuedEvent | CompactEvent;
  /** What it adds to a queue message. */
  bytes: number;
  /** It travels as a blob: too large for a message. */
  oversized: boolean;
}

/**
 * How an event read from Jetstream travels: compact (its text and time of receipt) when it fits a
 * message, else as a reference to a blob whose text `putBlob` stores first (it throws when storage fails).
 */
export function eventToQueue(text: string, did: string, timeUs: number, receivedAt: number, putBlob: (id: string, text: string) => void): EventToQueue {
  const bytes = compactEventBytes(text);
  if (bytes <= QUEUE_LIMITS.maxInlineEventBytes) return { event: { raw: text, receivedAt }, bytes, oversized: false };
  const blob = crypto.randomUUID();
  putBlob(blob, text);
  const event: QueuedEvent = { blob, did, timeUs, receivedAt, attempts: 0 };
  return { event, bytes: elementBytes(event), oversized: true };
}
