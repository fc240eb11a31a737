import { isoFromUs } from "../time-us.ts";
import type { EventFrame, ParsedFrame } from "./parsed-frame.ts";

/**
 * Frames of the v2 wire (`/xrpc/network.bsky.jetstream.subscribeEvents`, framing `xrpc.v1.json`): every
 * frame is one JSON object, `{"$type":"message","payload":{…}}` or `{"$type":"error",…}`. An event's
 * payload is what the relay forwards, cut from the frame's text, never re-serialised. Pure.
 *
 * The server's encoder writes a payload's keys in alphabetical order; a commit is
 * `{"$type":"…#commit","cid"?,"collection","did","operation","record"?,"rev","rkey","seq","time"}`, its
 * record between its head and its tail. Commits are read from both ends without parsing the record
 * (as legacy commits are read from their head: parsing whole events was the largest cost of reading);
 * anything else is parsed whole.
 */

export const V2_PATH = "/xrpc/network.bsky.jetstream.subscribeEvents";
export const V2_TYPE_PREFIX = "network.bsky.jetstream.subscribeEvents#";

const MESSAGE_PREFIX = '{"$type":"message","payload":';
/** A commit's head as the server's encoder writes it: cid (absent on deletes), collection, did, operation. */
const COMMIT_FIELDS = String.raw`\{"\$type":"network\.bsky\.jetstream\.subscribeEvents#commit",(?:"cid":"[^"\\]*",)?"collection":"([^"\\]+)","did":"([^"\\]+)","operation":"([^"\\]+)"[,}]`;
// One expression for the whole head: matching the literal prefixes in it is cheaper than startsWith.
const FRAME_COMMIT_HEAD = new RegExp(String.raw`^\{"\$type":"message","payload":${COMMIT_FIELDS}`);
const PAYLOAD_COMMIT_HEAD = new RegExp(`^${COMMIT_FIELDS}`);
const SEQ_KEY = ',"seq":';
const TIME_KEY = ',"time":"';

/** A v2 frame: an event (with its seq and its payload's text), an advisory, a terminal error, or neither. */
export type V2Frame =
  | { type: "event"; event: EventFrame & { seq: number }; payload: string }
  | { type: "info"; name: string; message: string }
  | { type: "error"; error: string; message: string }
  | { type: "malformed"; reason: string };

export function parseV2Frame(text: string): V2Frame {
  const end = text.length - 1;
  if (text.startsWith(MESSAGE_PREFIX) && text.charCodeAt(end) === 125 /* } */) {
    // Read in place; the payload is cut only once it is known to be a commit.
    const commit = readCommit(text, FRAME_COMMIT_HEAD, end);
    if (commit) return { type: "event", event: commit, payload: text.slice(MESSAGE_PREFIX.length, end) };
  }
  const value = parseObject(text);
  if (typeof value === "string") return { type: "malformed", reason: value };
  if (value.$type === "error") return { type: "error", error: String(value.error ?? "unknown"), message: String(value.message ?? "") };
  if (value.$type !== "message" || !isObject(value.payload)) return { type: "malformed", reason: "not a v2 message frame" };
  const payload = value.payload;
  if (payload.$type === `${V2_TYPE_PREFIX}info`) return { type: "info", name: String(payload.name ?? ""), message: String(payload.message ?? "") };
  const event = readParsedPayload(payload);
  if ("reason" in event) return { type: "malformed", reason: event.reason };
  // The payload's text as the server wrote it (the frame is the prefix, the payload and one brace);
  // a frame laid out otherwise gives its payload re-serialised.
  const framed = text.startsWith(MESSAGE_PREFIX) && text.endsWith("}");
  return { type: "event", event, payload: framed ? text.slice(MESSAGE_PREFIX.length, -1) : JSON.stringify(payload) };
}

/** Reads a v2 payload text (what the relay forwards): for the consumer, as parseFrame reads legacy events. */
export function parseV2Payload(text: string): ParsedFrame & { seq?: number } {
  const commit = readCommit(text, PAYLOAD_COMMIT_HEAD, text.length);
  if (commit) return commit;
  const value = parseObject(text);
  if (typeof value === "string") return { type: "malformed", reason: value };
  const event = readParsedPayload(value);
  return "reason" in event ? { type: "malformed", reason: event.reason } : event;
}

/** The text as a JSON object, or why it is not one. */
function parseObject(text: string): Record<string, unknown> | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return "not JSON";
  }
  return isObject(value) ? value : "not a JSON object";
}

export function isV2Payload(text: string): boolean {
  return text.startsWith(`{"$type":"${V2_TYPE_PREFIX}`);
}

/**
 * A commit payload in the server's layout, ending at `end` (exclusive) in `text`, whose head `head`
 * matches, or null. Its head gives the collection, DID and operation; its tail, fixed in shape, the seq
 * and the time: `…"rkey":"…","seq":123,"time":"2024-09-09T19:46:02.329308Z"}`. Read by position, without
 * copying or searching the text: this runs for every frame.
 */
function readCommit(text: string, head: RegExp, end: number): (EventFrame & { seq: number }) | null {
  const fields = head.exec(text);
  if (fields === null || fields[0].length > end) return null;
  // `time` is its last value, 27 characters, then `"}`; the seq's digits come before its key.
  const time = end - 29;
  if (text.charCodeAt(end - 1) !== 125 /* } */ || text.charCodeAt(end - 2) !== 34 /* " */ || !hasAt(text, time - TIME_KEY.length, TIME_KEY)) return null;
  const digitsEnd = time - TIME_KEY.length;
  let digits = digitsEnd;
  while (digitsEnd - digits <= 16 && isDigit(text.charCodeAt(digits - 1))) digits--;
  // The seq key follows the end of a string (the rkey's): a bare quote never occurs inside one.
  if (digits === digitsEnd || digitsEnd - digits > 16 || !hasAt(text, digits - SEQ_KEY.length, SEQ_KEY) || text.charCodeAt(digits - SEQ_KEY.length - 1) !== 34 /* " */) return null;
  let seq = 0;
  for (let i = digits; i < digitsEnd; i++) seq = seq * 10 + (text.charCodeAt(i) - 48);
  const timeUs = wireTimeAt(text, time);
  if (!Number.isSafeInteger(seq) || seq === 0 || timeUs === null) return null;
  return { type: "commit", did: fields[2], timeUs, collection: fields[1], operation: fields[3], seq };
}

/** Whether `key` is in `text` at `at` (a short key: cheaper than startsWith with a position). */
function hasAt(text: string, at: number, key: string): boolean {
  if (at < 0) return false;
  for (let i = 0; i < key.length; i++) if (text.charCodeAt(at + i) !== key.charCodeAt(i)) return false;
  return true;
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

function readParsedPayload(payload: Record<string, unknown>): (EventFrame & { seq: number }) | { reason: string } {
  const type = typeof payload.$type === "string" && payload.$type.startsWith(V2_TYPE_PREFIX) ? payload.$type.slice(V2_TYPE_PREFIX.length) : null;
  if (type === null) return { reason: "payload without a subscribeEvents $type" };
  const { did, seq, time } = payload;
  if (typeof did !== "string" || did === "") return { reason: "missing did" };
  if (typeof seq !== "number" || !Number.isSafeInteger(seq) || seq <= 0) return { reason: "missing or invalid seq" };
  const timeUs = typeof time === "string" ? parseWireTime(time) : null;
  if (timeUs === null) return { reason: "missing or invalid time" };
  if (type === "commit") {
    const { collection, operation } = payload;
    if (typeof collection !== "string" || collection === "") return { reason: "commit without collection" };
    if (typeof operation !== "string" || operation === "") return { reason: "commit without operation" };
    return { type: "commit", did, timeUs, collection, operation, seq };
  }
  if (type === "identity" || type === "account" || type === "sync") return { type, did, timeUs, seq };
  return { type: "unknown-kind", did, timeUs, kind: type, seq };
}

/** `time` as the server writes it, RFC 3339 UTC with six fractional digits → unix µs; anything else is parsed as a date. */
export function parseWireTime(time: string): number | null {
  const exact = time.length === 27 ? wireTimeAt(time, 0) : null;
  if (exact !== null) return exact;
  const ms = Date.parse(time);
  return Number.isFinite(ms) ? ms * 1000 : null;
}

// Many events share a second: the date part is parsed once per second.
let cachedSecond = "";
let cachedSecondUs = 0;

/** The wire's `time` written at `at` in `text` (`2024-09-09T19:46:02.329308Z`) → unix µs, without copying it when its second is the last one read. */
function wireTimeAt(text: string, at: number): number | null {
  if (text.charCodeAt(at + 19) !== 46 /* . */ || text.charCodeAt(at + 26) !== 90 /* Z */) return null;
  let micros = 0;
  for (let i = at + 20; i < at + 26; i++) {
    const code = text.charCodeAt(i);
    if (!isDigit(code)) return null;
    micros = micros * 10 + (code - 48);
  }
  if (cachedSecond === "" || !hasAt(text, at, cachedSecond)) {
    const second = text.slice(at, at + 19);
    if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/.test(second)) return null;
    const ms = Date.parse(`${second}Z`);
    if (!Number.isFinite(ms)) return null;
    cachedSecond = second;
    cachedSecondUs = ms * 1000;
  }
  return cachedSecondUs + micros;
}

/** unix µs → the v2 wire's `time` (exactly six fractional digits). */
export function wireTime(timeUs: number): string {
  return `${isoFromUs(timeUs).slice(0, 19)}.${String(((timeUs % 1_000_000) + 1_000_000) % 1_000_000).padStart(6, "0")}Z`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
