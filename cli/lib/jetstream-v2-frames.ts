/**
 * Jetstream v2 (`network.bsky.jetstream.subscribeEvents`, xrpc.v1.json framing) frames, built from legacy
 * v1 event text exactly as the v2 server's encoder writes them: one JSON object per frame, payload keys in
 * alphabetical order (the lexicon-generated structs), `time` as RFC 3339 UTC with six fractional digits.
 * The record (and the upstream `identity`/`account` object) is cut from the legacy text, never
 * re-serialised. The v2 server renders a record with cbor.ToJSON (Go, map keys sorted) on both its wires;
 * legacy v1 hosts wrote the same bytes except blob objects (`$type, ref, mimeType, size`, a struct's
 * order, where the v2 server writes `mimeType` before `ref`): those keep the legacy order here. Pure.
 */

import { V2_PATH, V2_TYPE_PREFIX, wireTime } from "../../worker/jetstream/v2-frame.ts";

export { V2_PATH, wireTime };
export const V2_SUBPROTOCOL = "xrpc.v1.json";
/** Cursors below this are seqs, at or above it unix µs timestamps (both wires of a v2 server). */
export const SEQ_CURSOR_LIMIT = 1e15;

export type V2Kind = "commit" | "identity" | "account" | "sync";
export const V2_KINDS: readonly V2Kind[] = ["commit", "identity", "account", "sync"];

/** A JSON string as Go's encoder (and the server's) writes it: `<`, `>`, `&`, U+2028/9 escaped. */
export function jsonString(text: string): string {
  return JSON.stringify(text).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** `{"$type":"message","payload":{"$type":"…#info","message":…,"name":…}}`; info frames carry no seq. */
export function v2InfoFrame(name: string, message?: string): string {
  const text = message ? `,"message":${jsonString(message)}` : "";
  return `{"$type":"message","payload":{"$type":"${V2_TYPE_PREFIX}info"${text},"name":${jsonString(name)}}}`;
}

/** A terminal error frame (`ConsumerTooSlow`, …); the server closes the connection right after it. */
export function v2ErrorFrame(error: string, message?: string): string {
  return `{"$type":"error","error":${jsonString(error)}${message ? `,"message":${jsonString(message)}` : ""}}`;
}

/** The #info the server sends first when a timestamp cursor was below its retention floor. */
export function outdatedCursorFrame(startSeq: number): string {
  return v2InfoFrame("OutdatedCursor", `requested timestamp cursor below retention floor; starting at seq ${startSeq}`);
}

/** The error frame the server sends to a reader it drops; `cursor` is the next seq it would have read. */
export function consumerTooSlowFrame(lag: number, cursor: number): string {
  return v2ErrorFrame("ConsumerTooSlow", `reading below the floor rate ${lag} events behind the tip; reconnect with cursor=${cursor}`);
}

/** The XRPC error envelope of a v2 HTTP refusal (`{"error":…,"message":…}`). */
export function xrpcErrorBody(error: string, message?: string): string {
  return `{"error":${jsonString(error)}${message ? `,"message":${jsonString(message)}` : ""}}`;
}

/** The CursorTooOld message of the server (cursor.go), carrying the requested cursor and the floor seq. */
export function cursorTooOldMessage(cursor: number, floorSeq: number): string {
  return `subscribe: cursor too old: cursor ${cursor} below lookback floor ${floorSeq}; re-backfill from your last seq`;
}

/**
 * The v2 message frame of one legacy event, with this instance's `seq`; null when the text is not a
 * legacy commit, identity or account event (the server has nothing to encode: it skips such events).
 */
export function v2MessageFrame(legacyText: string, seq: number): string | null {
  const top = objectMembers(legacyText, 0);
  if (top === null) return null;
  const did = stringAt(legacyText, top.get("did"));
  const timeUs = numberAt(legacyText, top.get("time_us"));
  const kind = stringAt(legacyText, top.get("kind"));
  if (did === null || timeUs === null || !Number.isSafeInteger(timeUs) || timeUs < 0) return null;
  const common = { did: jsonString(did), seq: String(seq), time: jsonString(wireTime(timeUs)) };
  const open = `{"$type":"message","payload":{"$type":"${V2_TYPE_PREFIX}${kind}"`;

  if (kind === "identity" || kind === "account") {
    const upstream = top.get(kind);
    if (upstream === undefined || legacyText[upstream.start] !== "{") return null;
    const object = legacyText.slice(upstream.start, upstream.end);
    const members =
      kind === "identity"
        ? `"did":${common.did},"identity":${object},"seq":${common.seq},"time":${common.time}`
        : `"account":${object},"did":${common.did},"seq":${common.seq},"time":${common.time}`;
    return `${open},${members}}}`;
  }
  if (kind !== "commit") return null;

  const commitSpan = top.get("commit");
  const commit = commitSpan ? objectMembers(legacyText, commitSpan.start) : null;
  if (commit === null) return null;
  const rev = stringAt(legacyText, commit.get("rev"));
  const operation = stringAt(legacyText, commit.get("operation"));
  const collection = stringAt(legacyText, commit.get("collection"));
  const rkey = stringAt(legacyText, commit.get("rkey"));
  if (rev === null || operation === null || collection === null || rkey === null) return null;
  const isDelete = operation === "delete";
  const recordSpan = commit.get("record");
  const cid = stringAt(legacyText, commit.get("cid"));
  if (!isDelete && (recordSpan === undefined || legacyText[recordSpan.start] !== "{")) return null;

  let members = "";
  if (!isDelete && cid !== null) members += `,"cid":${jsonString(cid)}`;
  members += `,"collection":${jsonString(collection)},"did":${common.did},"operation":${jsonString(operation)}`;
  if (!isDelete) members += `,"record":${legacyText.slice(recordSpan!.start, recordSpan!.end)}`;
  members += `,"rev":${jsonString(rev)},"rkey":${jsonString(rkey)},"seq":${common.seq},"time":${common.time}`;
  return `${open}${members}}}`;
}

const MESSAGE_PREFIX = '{"$type":"message","payload":';

/** The payload object's text cut from a message frame in the server's layout (`{"$type":"message","payload":…}`), else null. */
export function v2PayloadText(frame: string): string | null {
  return frame.startsWith(MESSAGE_PREFIX) && frame.endsWith("}") ? frame.slice(MESSAGE_PREFIX.length, -1) : null;
}

/**
 * The legacy event as a v2 server's `/subscribe` sends it: `"cursor":<seq>` right after `time_us` (the
 * server's field order: did, time_us, cursor, kind, …). Text without a top-level time_us is returned as is.
 */
export function legacyWithCursor(legacyText: string, seq: number): string {
  const span = objectMembers(legacyText, 0)?.get("time_us");
  if (span === undefined) return legacyText;
  return `${legacyText.slice(0, span.end)},"cursor":${seq}${legacyText.slice(span.end)}`;
}

// --- a minimal JSON scanner: where each member's value lies in the text, without building values ---

interface Span {
  start: number;
  end: number;
}

/** The members of the object starting at `from` (first occurrence of a key wins), or null if not an object. */
function objectMembers(text: string, from: number): Map<string, Span> | null {
  let i = skipSpace(text, from);
  if (text[i] !== "{") return null;
  const members = new Map<string, Span>();
  i = skipSpace(text, i + 1);
  if (text[i] === "}") return members;
  for (;;) {
    if (text[i] !== '"') return null;
    const keyEnd = skipValue(text, i);
    if (keyEnd < 0) return null;
    const key = JSON.parse(text.slice(i, keyEnd)) as string;
    i = skipSpace(text, keyEnd);
    if (text[i] !== ":") return null;
    const start = skipSpace(text, i + 1);
    const end = skipValue(text, start);
    if (end < 0) return null;
    if (!members.has(key)) members.set(key, { start, end });
    i = skipSpace(text, end);
    if (text[i] === "}") return members;
    if (text[i] !== ",") return null;
    i = skipSpace(text, i + 1);
  }
}

/** The index just past the JSON value starting at `i`, or -1 if there is none. */
function skipValue(text: string, i: number): number {
  const c = text[i];
  if (c === '"') {
    for (let j = i + 1; j < text.length; j++) {
      if (text[j] === "\\") j++;
      else if (text[j] === '"') return j + 1;
    }
    return -1;
  }
  if (c === "{" || c === "[") {
    let depth = 0;
    for (let j = i; j < text.length; j++) {
      const d = text[j];
      if (d === '"') {
        j = skipValue(text, j) - 1;
        if (j < 0) return -1;
      } else if (d === "{" || d === "[") depth++;
      else if (d === "}" || d === "]") {
        depth--;
        if (depth === 0) return j + 1;
      }
    }
    return -1;
  }
  const scalar = /^(?:-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i, i + 40));
  return scalar ? i + scalar[0].length : -1;
}

function skipSpace(text: string, i: number): number {
  while (i < text.length && (text[i] === " " || text[i] === "\n" || text[i] === "\r" || text[i] === "\t")) i++;
  return i;
}

function stringAt(text: string, span: Span | undefined): string | null {
  return span && text[span.start] === '"' ? (JSON.parse(text.slice(span.start, span.end)) as string) : null;
}

function numberAt(text: string, span: Span | undefined): number | null {
  if (!span) return null;
  const value = Number(text.slice(span.start, span.end));
  return Number.isFinite(value) ? value : null;
}
