import type { CompactEvent, QueuedEvent } from "../contract.ts";

/** Jetstream writes `did` and `time_us` first; values without quotes or escapes read here are what JSON.parse gives. */
const HEAD = /^\{"did":"([^"\\]+)","time_us":([1-9]\d{0,15})[,}]/;

/**
 * The whole event behind one element of a queue message: a QueuedEvent as it is, a CompactEvent with
 * its `did` and `time_us` read from its text (from its head, else by parsing it; an event whose text
 * does not say them gets "" and 0, and is dead-lettered later if it is not JSON). Null for anything else.
 */
export function completeEvent(element: unknown): QueuedEvent | null {
  if (typeof element !== "object" || element === null) return null;
  const e = element as Partial<QueuedEvent>;
  if (typeof e.did === "string") {
    e.attempts = Number(e.attempts) || 0; // the message is this batch's own copy
    return e as QueuedEvent;
  }
  if (typeof e.raw !== "string") return null;
  const { did, timeUs } = readHead(e.raw);
  return { raw: e.raw, did, timeUs, receivedAt: Number((e as CompactEvent).receivedAt) || 0, attempts: 0 };
}

function readHead(raw: string): { did: string; timeUs: number } {
  const head = HEAD.exec(raw);
  if (head) return { did: head[1], timeUs: Number(head[2]) };
  try {
    const value = JSON.parse(raw) as { did?: unknown; time_us?: unknown };
    return { did: typeof value?.did === "string" ? value.did : "", timeUs: typeof value?.time_us === "number" ? value.time_us : 0 };
  } catch {
    return { did: "", timeUs: 0 };
  }
}
