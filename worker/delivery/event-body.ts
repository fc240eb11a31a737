import { isV2Payload } from "../jetstream/v2-frame.ts";
import { v1Event, type V1Event } from "./v1-event.ts";

/**
 * What the webhook receives of each event (WEBHOOK_EVENT_FORMAT):
 * - `as-received`: the event exactly as Jetstream sent it: a legacy event's text, or on the v2 wire the
 *   message frame's `payload` object, cut from the frame's text;
 * - `v1`: a v2 event turned into the legacy Jetstream JSON (v1-event.ts); legacy events go unchanged.
 * Batch mode applies the same rule to each event of its array. The webhook-id never depends on it.
 */
export const EVENT_FORMATS = ["as-received", "v1"] as const;
export type EventFormat = (typeof EVENT_FORMATS)[number];

/** The text the webhook gets for an event received as `raw` (JSON, checked before), or why there is none. */
export function eventBody(raw: string, format: EventFormat): V1Event {
  if (format === "as-received" || !isV2Payload(raw)) return { text: raw };
  return v1Event(raw);
}
