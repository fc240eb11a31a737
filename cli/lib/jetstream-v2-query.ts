/**
 * The v2 endpoint's request, as the server judges it before upgrading: the kinds/dids/collections filter
 * (repeated query keys, ANDed; collections constrain commits only) and the cursor plan (seq below 1e15,
 * inclusive, a seq below the retention floor refused with CursorTooOld; a µs timestamp clamped to the
 * floor with an OutdatedCursor notice; a future cursor = live). Errors carry the server's XRPC error
 * name and message text. Pure.
 */
import { collectionMatcher, isValidNsid, MAX_WANTED_COLLECTIONS, MAX_WANTED_DIDS, parseWantedCollections, parseWantedDids } from "../../worker/jetstream/identifiers.ts";
import { cursorTooOldMessage, SEQ_CURSOR_LIMIT, V2_KINDS, type V2Kind } from "./jetstream-v2-frames.ts";

export interface V2Query {
  /** Empty = every kind. */
  kinds: V2Kind[];
  /** Empty = every collection. */
  collections: string[];
  /** Empty = every DID. */
  dids: string[];
  /** The cursor as given (a seq below 1e15, else unix µs); null = live. */
  cursor: number | null;
  /** 0 = no limit; applies to the whole frame. */
  maxMessageSizeBytes: number;
}

/** A pre-upgrade refusal: HTTP status, XRPC error name, message. */
export interface V2Refusal {
  status: number;
  error: string;
  message: string;
}

const invalid = (message: string): { refusal: V2Refusal } => ({ refusal: { status: 400, error: "InvalidRequest", message } });
const invalidOptions = (detail: string) => invalid(`subscribe: invalid options: ${detail}`);

/** Validates a subscribeEvents query like the server's ParseQueryV2 (same checks, same order, same texts). */
export function parseV2Query(params: URLSearchParams): { query: V2Query } | { refusal: V2Refusal } {
  if (params.get("compress") === "true") {
    return invalid("compress=true / Socket-Encoding: zstd is the /subscribe (v1) opt-in; this endpoint uses zstdDictionary=<id> with the dictionary from getZstdDictionary");
  }
  if (params.has("zstdDictionary")) return invalid("zstdDictionary is not supported by this replay server (it serves uncompressed frames only)");
  if (params.has("wantedDids")) return invalidOptions("wantedDids is the legacy /subscribe parameter; use dids");
  if (params.has("wantedCollections")) return invalidOptions("wantedCollections is the legacy /subscribe parameter; use collections");
  if (params.has("requireHello")) return invalidOptions("requireHello is not supported on this endpoint; it is server-push only (subscriber-sourced messages were removed)");

  const kinds = params.getAll("kinds");
  if (kinds.length > 4) return invalidOptions(`too many kinds values: ${kinds.length} > 4`);
  for (const kind of kinds) {
    if (!(V2_KINDS as readonly string[]).includes(kind)) return invalidOptions(`unknown kind ${JSON.stringify(kind)} (valid: commit, identity, account, sync)`);
  }
  const dids = params.getAll("dids");
  if (dids.length > MAX_WANTED_DIDS) return invalidOptions(`too many dids values: ${dids.length} > ${MAX_WANTED_DIDS}`);
  const collections = params.getAll("collections");
  if (collections.length > MAX_WANTED_COLLECTIONS) return invalidOptions(`too many collections values: ${collections.length} > ${MAX_WANTED_COLLECTIONS}`);
  const parsedDids = parseWantedDids(dids);
  if ("error" in parsedDids) return invalidOptions(parsedDids.error);
  for (const raw of collections) {
    // unlike the legacy wire, a wildcard's head must itself be a valid NSID prefix
    if (raw.endsWith(".*") && !isValidNsid(`${raw.slice(0, -2)}.x`)) return invalidOptions(`invalid collection wildcard: ${raw}`);
  }
  const parsedCollections = parseWantedCollections(collections);
  if ("error" in parsedCollections) return invalidOptions(parsedCollections.error);
  if (collections.length > 0 && kinds.length > 0 && !kinds.includes("commit")) return invalidOptions("collections filter can never apply: kinds excludes commit");

  let maxMessageSizeBytes = 0;
  if (params.has("maxMessageSizeBytes")) {
    const values = params.getAll("maxMessageSizeBytes");
    if (values.length !== 1 || values[0] === "") return invalidOptions("maxMessageSizeBytes must be one unsigned 32-bit integer");
    if (!/^\d+$/.test(values[0]) || Number(values[0]) > 0xffff_ffff) return invalidOptions(`invalid maxMessageSizeBytes ${JSON.stringify(values[0])}`);
    maxMessageSizeBytes = Number(values[0]);
  }

  const rawCursor = params.get("cursor") ?? "";
  let cursor: number | null = null;
  if (rawCursor !== "") {
    if (!/^[+-]?\d+$/.test(rawCursor)) return invalid(`subscribe: invalid cursor: ${JSON.stringify(rawCursor)}`);
    cursor = Number(rawCursor);
    if (cursor < 0) return invalid(`subscribe: invalid cursor: negative value ${cursor}`);
  }
  return { query: { kinds: kinds as V2Kind[], collections, dids, cursor, maxMessageSizeBytes } };
}

/** The event fields the filter reads. */
export interface FilterableEvent {
  kind: string | null;
  did: string | null;
  collection: string | null;
}

/** The server's Wants(): kinds AND dids AND (not a commit, or no collections, or a matching collection). */
export function v2Filter(query: V2Query): (event: FilterableEvent) => boolean {
  const kinds = query.kinds.length > 0 ? new Set<string>(query.kinds) : null;
  const dids = query.dids.length > 0 ? new Set(query.dids) : null;
  const parsed = parseWantedCollections(query.collections);
  const collections = query.collections.length > 0 && "patterns" in parsed ? collectionMatcher(parsed.patterns) : null;
  return (event) => {
    if (kinds && (event.kind === null || !kinds.has(event.kind))) return false;
    if (dids && (event.did === null || !dids.has(event.did))) return false;
    if (collections === null || event.kind !== "commit" || !event.collection) return true;
    return collections(event.collection);
  };
}

/** What the cursor resolution needs to know of the log (seqs as the wire shows them). */
export interface SeqSpace {
  /** The seq of the oldest retained event (the retention floor); equals nextSeq when the log is empty. */
  floorSeq: number;
  /** The seq the next appended event will get. */
  nextSeq: number;
  /** time_us of the oldest retained event once retention dropped older ones (the floor for time cursors), else null. */
  oldestUs: number | null;
  /** The seq of the first event with time_us ≥ timeUs; nextSeq when there is none. */
  seqAtOrAfter(timeUs: number): number;
}

/** Where a v2 subscription starts, and the OutdatedCursor notice to send first (or a refusal). */
export type V2Start = { startSeq: number; outdated: boolean } | { refusal: V2Refusal };

/** The server's ResolveCursor with RejectBelowFloor (the v2 policy). */
export function resolveV2Cursor(cursor: number | null, space: SeqSpace): V2Start {
  if (cursor === null) return { startSeq: space.nextSeq, outdated: false };
  if (cursor < SEQ_CURSOR_LIMIT) {
    if (cursor >= space.nextSeq) return { startSeq: space.nextSeq, outdated: false }; // a future seq: live
    const start = Math.max(cursor, 1); // seq 0 is never an event's: it means "from the first"
    if (start < space.floorSeq) return { refusal: { status: 400, error: "CursorTooOld", message: cursorTooOldMessage(cursor, space.floorSeq) } };
    return { startSeq: start, outdated: false };
  }
  if (space.oldestUs !== null && cursor < space.oldestUs) return { startSeq: space.floorSeq, outdated: true };
  return { startSeq: space.seqAtOrAfter(cursor), outdated: false };
}

/**
 * The legacy `/subscribe` of a v2 server: a cursor below 1e15 is a seq, clamped silently to the floor (as
 * v1 always clamped); at or above it a µs timestamp (clamped too). Returns the seq to start at.
 */
export function resolveLegacySeqCursor(cursor: number | null, space: SeqSpace): number {
  if (cursor === null || cursor >= space.nextSeq && cursor < SEQ_CURSOR_LIMIT) return space.nextSeq;
  if (cursor < SEQ_CURSOR_LIMIT) return Math.max(cursor, 1, space.floorSeq);
  return space.oldestUs !== null && cursor < space.oldestUs ? space.floorSeq : space.seqAtOrAfter(cursor);
}
