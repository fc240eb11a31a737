import { DEAD_LETTER, LIVE, replayOrigin, RETRY, type MessageOrigin } from "./message.ts";

/**
 * A queue message as the consumer reads it, whichever version wrote it: its origin, its ledger id and
 * its elements (each read by complete-event.ts, which refuses what is not an event).
 */
export interface ReadMessage {
  from: MessageOrigin;
  ledgerId: string;
  events: unknown[];
}

/**
 * The prefixes by which v1 messages (LegacyMessageBody) said their origin. Read only: messages written
 * before the origin was explicit may still wait in a deployed queue.
 */
const V1_DEAD_LETTER_LEDGER = "dlq-";
const V1_RETRY_LEDGER = "retry-";
const V1_DEAD_LETTER_BLOB = "dead-letter:";

/** The message in a queue message's body; null for a body that is not one (dead-lettered as it is). */
export function readMessage(body: unknown): ReadMessage | null {
  if (typeof body !== "object" || body === null) return null;
  const b = body as Record<string, unknown>;
  if (typeof b.ledgerId !== "string" || !Array.isArray(b.events)) return null;
  if (b.v === 2) {
    const from = originOf(b.origin, b.replayId);
    return from && { from, ledgerId: b.ledgerId, events: b.events };
  }
  if (b.v === 1) return readV1(b.ledgerId, b.events, b.replayId);
  return null;
}

function originOf(origin: unknown, replayId: unknown): MessageOrigin | null {
  switch (origin) {
    case "live":
    case "retry":
    case "dead-letter":
      return { origin };
    case "replay":
      return typeof replayId === "string" ? { origin, replayId } : null;
    default:
      return null;
  }
}

function readV1(ledgerId: string, events: unknown[], replayId: unknown): ReadMessage {
  if (ledgerId.startsWith(V1_DEAD_LETTER_LEDGER)) {
    // Their blobs named the dead letter behind a prefix, and each event was marked `fromDeadLetters`.
    return { from: DEAD_LETTER, ledgerId, events: events.map(v1DeadLetterEvent) };
  }
  if (typeof replayId === "string") return { from: replayOrigin(replayId), ledgerId, events };
  return { from: ledgerId.startsWith(V1_RETRY_LEDGER) ? RETRY : LIVE, ledgerId, events };
}

function v1DeadLetterEvent(element: unknown): unknown {
  if (typeof element !== "object" || element === null) return element;
  const { fromDeadLetters: _, ...event } = element as Record<string, unknown>;
  if (typeof event.blob === "string" && event.blob.startsWith(V1_DEAD_LETTER_BLOB)) event.blob = event.blob.slice(V1_DEAD_LETTER_BLOB.length);
  return event;
}
