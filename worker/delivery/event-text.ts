import type { MessageOrigin, QueuedEvent } from "../queue/message.ts";
import type { DeliveryPorts } from "./ports.ts";

/**
 * The text of a queued event: inline, else from its blob, which a dead-letter message's events have in
 * the dead-letter store (oversized dead letters being replayed) and the others in the relay object.
 * Null when it is gone.
 */
export function eventText(event: QueuedEvent, from: MessageOrigin, ports: DeliveryPorts): Promise<string | null> {
  if (typeof event.raw === "string") return Promise.resolve(event.raw);
  if (typeof event.blob !== "string") return Promise.resolve(null);
  return from.origin === "dead-letter" ? ports.deadLetters.getRaw(event.blob) : ports.getBlob(event.blob);
}

/** What is kept of an event whose text could not be read: its reference. */
export function eventStub(event: QueuedEvent): string {
  return JSON.stringify({ did: event.did, time_us: event.timeUs, blob: event.blob ?? null });
}

/** Whether the relay object may delete this event's blob once the event is delivered or dead-lettered. */
export function relayBlob(event: QueuedEvent, from: MessageOrigin): string | null {
  return event.blob && from.origin !== "dead-letter" ? event.blob : null;
}
