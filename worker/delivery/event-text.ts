import type { QueuedEvent } from "../contract.ts";
import { DEAD_LETTER_BLOB_PREFIX } from "../dead-letter-store.ts";
import type { DeliveryPorts } from "./ports.ts";

/**
 * The text of a queued event: inline, from the relay object's blob (oversized events), or from the
 * dead-letter store (oversized dead letters being replayed). Null when it is gone.
 */
export function eventText(event: QueuedEvent, ports: DeliveryPorts): Promise<string | null> {
  if (typeof event.raw === "string") return Promise.resolve(event.raw);
  if (typeof event.blob !== "string") return Promise.resolve(null);
  if (event.blob.startsWith(DEAD_LETTER_BLOB_PREFIX)) return ports.deadLetters.getRaw(event.blob.slice(DEAD_LETTER_BLOB_PREFIX.length));
  return ports.getBlob(event.blob);
}

/** What is kept of an event whose text could not be read: its reference. */
export function eventStub(event: QueuedEvent): string {
  return JSON.stringify({ did: event.did, time_us: event.timeUs, blob: event.blob ?? null });
}

/** Whether the relay object may delete this event's blob once the event is delivered or dead-lettered. */
export function relayBlob(event: QueuedEvent): string | null {
  return event.blob && !event.blob.startsWith(DEAD_LETTER_BLOB_PREFIX) ? event.blob : null;
}
