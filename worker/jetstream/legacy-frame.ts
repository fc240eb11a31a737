/**
 * Parsing and classification of Jetstream frames. A frame is one JSON event; only the fields the relay
 * needs are read (unknown fields, like the v2 server's per-instance `cursor`, are ignored) and the text
 * itself travels on unchanged.
 */

import { isV2Payload, parseV2Payload } from "./v2-frame.ts";
import type { EventKind, ParsedFrame } from "./parsed-frame.ts";

export type { EventFrame, EventKind, ParsedFrame } from "./parsed-frame.ts";

/**
 * The head of a commit in Jetstream's own layout (its Go encoder writes the fields in this order, the
 * record after them). Values without quotes or escapes read here are exactly what JSON.parse would give.
 */
const COMMIT_HEAD = /^\{"did":"([^"\\]+)","time_us":([1-9]\d{0,15}),"kind":"commit","commit":\{"rev":"[^"\\]*","operation":"([^"\\]+)","collection":"([^"\\]+)","rkey":"[^"\\]*"[,}]/;

/**
 * Reads a frame. A commit in Jetstream's own layout is read from its head, without parsing its record:
 * this runs for every frame and parsing whole events (and collecting their garbage) was the largest cost
 * of reading. Its text is then not checked here; the consumer parses every event before sending it and
 * dead-letters one that is not JSON. Anything else is parsed whole.
 */
export function parseFrame(text: string): ParsedFrame {
  const head = COMMIT_HEAD.exec(text);
  if (head !== null && text.endsWith("}")) {
    const timeUs = Number(head[2]);
    if (Number.isSafeInteger(timeUs)) return { type: "commit", did: head[1], timeUs, collection: head[4], operation: head[3] };
  }
  // A v2 event's payload (what the relay forwards from the v2 wire), read again by the consumer.
  if (isV2Payload(text)) return parseV2Payload(text);
  return parseWhole(text);
}

function parseWhole(text: string): ParsedFrame {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { type: "malformed", reason: "not JSON" };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return { type: "malformed", reason: "not a JSON object" };
  const event = value as Record<string, unknown>;
  const { did, time_us: timeUs, kind } = event;
  if (typeof did !== "string" || did === "") return { type: "malformed", reason: "missing did" };
  if (typeof timeUs !== "number" || !Number.isSafeInteger(timeUs) || timeUs <= 0) return { type: "malformed", reason: "missing or invalid time_us" };
  if (typeof kind !== "string") return { type: "malformed", reason: "missing kind" };
  if (kind === "commit") {
    const commit = event.commit as Record<string, unknown> | undefined;
    if (typeof commit !== "object" || commit === null) return { type: "malformed", reason: "commit event without commit" };
    const { collection, operation } = commit;
    if (typeof collection !== "string" || collection === "") return { type: "malformed", reason: "commit without collection" };
    if (typeof operation !== "string" || operation === "") return { type: "malformed", reason: "commit without operation" };
    return { type: "commit", did, timeUs, collection, operation };
  }
  if (kind === "identity" || kind === "account") return { type: kind, did, timeUs };
  return { type: "unknown-kind", did, timeUs, kind };
}

/** What the relay wants forwarded. */
export interface ForwardFilter {
  wantsCollection: (collection: string) => boolean;
  /** null = every DID. */
  dids: ReadonlySet<string> | null;
  kinds: ReadonlySet<EventKind>;
}

/**
 * Forward or skip. Filters are applied here too, not only by the server: events can arrive before an
 * `options_update` takes effect, and identity/account events ignore the collection filter.
 */
export function shouldForward(frame: ParsedFrame, filter: ForwardFilter): boolean {
  if (frame.type === "malformed" || frame.type === "unknown-kind") return false;
  if (!filter.kinds.has(frame.type)) return false;
  if (filter.dids !== null && !filter.dids.has(frame.did)) return false;
  return frame.type !== "commit" || filter.wantsCollection(frame.collection);
}
