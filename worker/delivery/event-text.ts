import type { MessageOrigin, QueuedEvent } from "../queue/message.ts";
import type { DeliveryPorts } from "./ports.ts";

/**
 * The text of a queued event, or why there is none: `settled` when its blob is gone because the event
 * was already delivered (or dead-lettered with its text) — the queue delivered its message twice —,
 * `lost` when nothing says where it went.
 */
export type EventText = { text: string } | { gone: "settled" | "lost" };

/**
 * Reads the text of a queued event: inline, else from its blob, which a dead-letter message's events
 * have in the dead-letter store (large dead letters being replayed) and the others in the relay object.
 */
export async function readEventText(event: QueuedEvent, from: MessageOrigin, ports: DeliveryPorts): Promise<EventText> {
  if (typeof event.raw === "string") return { text: event.raw };
  if (typeof event.blob !== "string") return { gone: "lost" };
  const fromStore = from.origin === "dead-letter";
  const text = fromStore ? await ports.deadLetters.getRaw(event.blob) : await ports.getBlob(event.blob);
  if (text !== null) return { text };
  const settled = fromStore ? await ports.deadLetters.settled(event.blob) : await ports.blobSettled(event.blob);
  return { gone: settled ? "settled" : "lost" };
}

/** What is kept of an event whose text is lost: its reference (a stub: never sent as the event). */
export function eventStub(event: QueuedEvent): string {
  return JSON.stringify({ did: event.did, time_us: event.timeUs, blob: event.blob ?? null });
}

/** Whether the relay object may delete this event's blob once the event is delivered or dead-lettered. */
export function relayBlob(event: QueuedEvent, from: MessageOrigin): string | null {
  return event.blob && from.origin !== "dead-letter" ? event.blob : null;
}
