import type { CompactEvent, QueuedEvent } from "./message.ts";
import { parseFrame } from "../jetstream/legacy-frame.ts";

/**
 * The whole event behind one element of a queue message: a QueuedEvent as it is, a CompactEvent with
 * its `did` and `time_us` read from its text as the relay object read them (jetstream/legacy-frame.ts: from the
 * head of a commit, else by parsing it; a text that does not say them gets "" and 0, and is dead-lettered
 * later if it is not JSON). Null for anything else.
 */
export function completeEvent(element: unknown): QueuedEvent | null {
  if (typeof element !== "object" || element === null) return null;
  const e = element as Partial<QueuedEvent>;
  if (typeof e.did === "string") {
    e.attempts = Number(e.attempts) || 0; // the message is this batch's own copy
    return e as QueuedEvent;
  }
  if (typeof e.raw !== "string") return null;
  const frame = parseFrame(e.raw);
  const read = frame.type === "malformed" ? null : frame;
  return { raw: e.raw, did: read?.did ?? "", timeUs: read?.timeUs ?? 0, receivedAt: Number((e as CompactEvent).receivedAt) || 0, attempts: 0 };
}
