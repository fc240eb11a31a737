import { V2_TYPE_PREFIX } from "../jetstream/v2-frame.ts";
import { sha256Hex } from "./sha256.ts";

// webhook-id: the idempotency key of an event. It is derived from what the event *is*, never from how
// or when it was delivered, so a redelivery, a replay from the cursor or the same event read from
// another Jetstream instance (whose time_us and per-instance cursor differ) all carry the same id. An
// event from the v2 wire (its message's payload) has the id of its legacy twin, whatever the body format.

/** Fields of an event that are set per Jetstream instance, not by the network. */
const INSTANCE_FIELDS = new Set(["time_us", "cursor"]);

/** The webhook-id of one event given as the text received from Jetstream: 128 bits of SHA-256 of its identity. */
export function eventId(raw: string): string {
  return describeEvent(raw).id;
}

/** The event's webhook-id, and whether its text is JSON (an event that is not must not be sent). */
export function describeEvent(raw: string): { id: string; json: boolean } {
  const { identity, json } = identify(raw);
  return { id: `evt_${sha256Hex(identity, 4)}`, json };
}

/** The webhook-id of a batch request: derived from the ids of its events, in order. */
export function batchId(eventIds: string[]): string {
  return `bat_${sha256Hex(eventIds.join(","), 4)}`;
}

/** What makes an event unique, as text, and whether the text is JSON. */
function identify(raw: string): { identity: string; json: boolean } {
  let event: unknown;
  try {
    event = JSON.parse(raw);
  } catch {
    return { identity: `raw\n${raw}`, json: false };
  }
  return { identity: identityOfValue(event, raw), json: true };
}

function identityOfValue(value: unknown, raw: string): string {
  if (!isObject(value)) return `raw\n${raw}`;
  const v2Kind = typeof value.$type === "string" && value.$type.startsWith(V2_TYPE_PREFIX) ? value.$type.slice(V2_TYPE_PREFIX.length) : null;
  const did = typeof value.did === "string" ? value.did : "";
  // A v2 commit's fields are where its legacy twin has them in `commit` (read in place: no copy per event).
  if (v2Kind === "commit") return commitIdentity(did, value);
  const event = v2Kind === null ? value : legacyTwin(value, v2Kind);
  const { commit, identity, account } = event;
  if (event.kind === "commit" && isObject(commit)) return commitIdentity(did, commit);
  if (event.kind === "identity" && isObject(identity) && identity.seq !== undefined) return `identity\n${did}\n${identity.seq}`;
  if (event.kind === "account" && isObject(account) && account.seq !== undefined) return `account\n${did}\n${account.seq}`;
  return `other\n${canonicalJson(event, true)}`;
}

/** A template gives what String() gives for every JSON value, without an array per event. */
function commitIdentity(did: string, commit: Record<string, unknown>): string {
  return `commit\n${did}\n${commit.collection}\n${commit.rkey}\n${commit.rev}\n${commit.operation}`;
}

/**
 * The legacy event a v2 payload stands for, without what is per instance there: `seq`, `time` and the
 * `$type` framing (legacy: `time_us`, `cursor`). A commit's fields go into its `commit` object; any other
 * kind keeps its own object (`identity`, `account`, `sync`…) at the top level, as legacy events do.
 */
function legacyTwin(payload: Record<string, unknown>, kind: string): Record<string, unknown> {
  const { $type: _type, seq: _seq, time: _time, did, ...content } = payload;
  return kind === "commit" ? { did, kind, commit: content } : { ...content, did, kind };
}

/** JSON with sorted keys (and, at the top level, without the per-instance fields). */
function canonicalJson(value: unknown, topLevel = false): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(",")}]`;
  if (isObject(value)) {
    const keys = Object.keys(value)
      .filter((k) => !(topLevel && INSTANCE_FIELDS.has(k)))
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
