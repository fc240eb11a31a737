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
const COMMIT_PREFIX = `{"$type":"${V2_TYPE_PREFIX}commit",`;
const COMMIT_HEAD = /(?:"cid":"[^"\\]*",)?"collection":"([^"\\]+)","did":"([^"\\]+)","operation":"([^"\\]+)"[,}]/y;
const REV_KEY = ',"rev":"';
const SEQ_KEY = ',"seq":';
const TIME_KEY = ',"time":"';

/** A v2 frame: an event (with its seq and its payload's text), an advisory, a terminal error, or neither. */
export type V2Frame =
  | { type: "event"; event: EventFrame & { seq: number }; payload: string }
  | { type: "info"; name: string; message: string }
  | { type: "error"; error: string; message: string }
  | { type: "malformed"; reason: string };

export function parseV2Frame(text: string): V2Frame {
  if (text.startsWith(MESSAGE_PREFIX) && text.endsWith("}")) {
    const payload = text.slice(MESSAGE_PREFIX.length, -1);
    const commit = readCommit(payload);
    if (commit) return { type: "event", event: commit, payload };
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
  const commit = readCommit(text);
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

function readCommit(payload: string): (EventFrame & { seq: number }) | null {
  if (!payload.startsWith(COMMIT_PREFIX)) return null;
  COMMIT_HEAD.lastIndex = COMMIT_PREFIX.length;
  const head = COMMIT_HEAD.exec(payload);
  if (head === null) return null;
  // The tail, read by position: `…,"seq":123,"time":"2024-09-09T19:46:02.329308Z"}`.
  const at = payload.lastIndexOf(SEQ_KEY);
  if (at === -1 || payload.lastIndexOf(REV_KEY, at) === -1) return null;
  let end = at + SEQ_KEY.length;
  let seq = 0;
  for (let c = payload.charCodeAt(end); c >= 48 && c <= 57; c = payload.charCodeAt(++end)) seq = seq * 10 + (c - 48);
  if (end === at + SEQ_KEY.length || end - at - SEQ_KEY.length > 16 || !payload.startsWith(TIME_KEY, end)) return null;
  const time = end + TIME_KEY.length;
  if (payload.length !== time + 29 || payload.charCodeAt(time + 19) !== 46 /* . */ || !payload.endsWith('Z"}')) return null;
  const timeUs = wireTimeUs(payload.slice(time, time + 19), payload.slice(time + 20, time + 26));
  if (!Number.isSafeInteger(seq) || seq === 0 || timeUs === null) return null;
  return { type: "commit", did: head[2], timeUs, collection: head[1], operation: head[3], seq };
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
  const exact = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{6})Z$/.exec(time);
  if (exact) return wireTimeUs(exact[1], exact[2]);
  const ms = Date.parse(time);
  return Number.isFinite(ms) ? ms * 1000 : null;
}

// Many events share a second: the date part is parsed once per second.
let cachedSecond = "";
let cachedSecondUs = 0;

function wireTimeUs(second: string, micros: string): number | null {
  if (second !== cachedSecond) {
    const ms = Date.parse(`${second}Z`);
    if (!Number.isFinite(ms)) return null;
    cachedSecond = second;
    cachedSecondUs = ms * 1000;
  }
  return cachedSecondUs + Number(micros);
}

/** unix µs → the v2 wire's `time` (exactly six fractional digits). */
export function wireTime(timeUs: number): string {
  return `${isoFromUs(timeUs).slice(0, 19)}.${String(((timeUs % 1_000_000) + 1_000_000) % 1_000_000).padStart(6, "0")}Z`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
