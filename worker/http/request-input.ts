import { readAtMost } from "../read-at-most.ts";
import type { DeadLetterReplayRequest, DeadLetterSelection, ReplayRequest } from "../contract.ts";

/** Input that failed validation; its message is returned to the caller as a 400 (413 for a body over the bound). */
export class InputError extends Error {
  constructor(
    message: string,
    readonly status: 400 | 413 = 400,
  ) {
    super(message);
  }
}

export const MAX_BODY_BYTES = 1_000_000;
const MAX_IDS = 10_000;
const MAX_COLLECTIONS = 100;
export const DLQ_DEFAULT_LIMIT = 50;
export const DLQ_MAX_LIMIT = 1000;
/** The largest byte budget of a /dlq page (the default is 4 MB: dead-letter-store.ts). */
export const DLQ_MAX_PAGE_BYTES = 8_000_000;

/** Reads a JSON object body (any content type: `curl -d` sends form encoding). */
export async function readJsonObject(request: Request): Promise<Record<string, unknown>> {
  const text = await readBoundedText(request, MAX_BODY_BYTES);
  if (text.trim() === "") throw new InputError("The body is empty; send a JSON object.");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new InputError(`The body is not valid JSON (${(error as Error).message}).`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new InputError("The body must be a JSON object.");
  return value as Record<string, unknown>;
}

/**
 * The body as text, refused (413) past `limit` bytes: by its Content-Length before reading, and while
 * reading a body without one (chunked), whose reading stops there.
 */
async function readBoundedText(request: Request, limit: number): Promise<string> {
  const tooLarge = () => new InputError(`The body is larger than ${limit} bytes.`, 413);
  if (Number(request.headers.get("content-length") ?? 0) > limit) throw tooLarge();
  const { bytes, overflowed, error } = await readAtMost(request.body, limit);
  if (error !== undefined) throw error;
  if (overflowed) throw tooLarge();
  return new TextDecoder().decode(bytes);
}

function rejectUnknownFields(body: Record<string, unknown>, known: string[]): void {
  const unknown = Object.keys(body).filter((key) => !known.includes(key));
  if (unknown.length > 0) throw new InputError(`Unknown field${unknown.length > 1 ? "s" : ""} ${unknown.map((k) => JSON.stringify(k)).join(", ")}; expected ${known.join(", ")}.`);
}

/** `{"ids": ["…", …]}` or `{"all": true}`. */
export function parseSelection(body: Record<string, unknown>): DeadLetterSelection {
  const usage = 'Send {"ids": ["<id>", …]} or {"all": true}.';
  rejectUnknownFields(body, ["ids", "all"]);
  if ("ids" in body && "all" in body) throw new InputError(`Give either "ids" or "all", not both. ${usage}`);
  if ("all" in body) {
    if (body.all !== true) throw new InputError(`"all" must be true. ${usage}`);
    return { all: true };
  }
  if (!("ids" in body)) throw new InputError(usage);
  const ids = body.ids;
  if (!Array.isArray(ids) || ids.length === 0) throw new InputError(`"ids" must be a non-empty array of strings. ${usage}`);
  if (ids.length > MAX_IDS) throw new InputError(`At most ${MAX_IDS} ids per request (got ${ids.length}); use {"all": true} or several requests.`);
  if (!ids.every((id) => typeof id === "string" && id !== "")) throw new InputError(`Every id in "ids" must be a non-empty string. ${usage}`);
  return { ids: [...new Set(ids as string[])] };
}

/** Body of POST /dlq/replay: a selection with an optional "job" id, or only a "job" id (attach, resume). */
export function parseDeadLetterReplay(body: Record<string, unknown>): DeadLetterReplayRequest {
  const { job, ...rest } = body;
  if (job !== undefined && (typeof job !== "string" || !/^[A-Za-z0-9_-]{1,100}$/.test(job))) {
    throw new InputError('"job" must be an id of 1 to 100 letters, digits, "-" or "_" (the one a replay answered with, or one you choose).');
  }
  if (typeof job === "string" && Object.keys(rest).length === 0) return { job };
  const selection = parseSelection(rest);
  return typeof job === "string" ? { ...selection, job } : selection;
}

/** `?offset=&limit=&maxBytes=` of GET /dlq. */
export function parsePaging(url: URL): { offset: number; limit: number; maxBytes?: number } {
  const read = (name: string, fallback: number, min: number, max: number) => {
    const raw = url.searchParams.get(name);
    if (raw === null || raw === "") return fallback;
    if (!/^\d+$/.test(raw)) throw new InputError(`"${name}" must be a whole number (got ${JSON.stringify(raw)}).`);
    const value = Number(raw);
    if (value < min || value > max) throw new InputError(`"${name}" must be between ${min} and ${max} (got ${value}).`);
    return value;
  };
  const paging: { offset: number; limit: number; maxBytes?: number } = { offset: read("offset", 0, 0, Number.MAX_SAFE_INTEGER), limit: read("limit", DLQ_DEFAULT_LIMIT, 1, DLQ_MAX_LIMIT) };
  if (url.searchParams.has("maxBytes")) paging.maxBytes = read("maxBytes", DLQ_MAX_PAGE_BYTES, 1000, DLQ_MAX_PAGE_BYTES);
  return paging;
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** "90s", "15m", "2h", "1d", "1h30m" → seconds; null when the text is not a duration. */
export function parseDuration(text: string): number | null {
  const trimmed = text.trim();
  if (!/^(\d+(\.\d+)?[smhd])+$/.test(trimmed)) return null;
  let seconds = 0;
  for (const [, amount, unit] of trimmed.matchAll(/(\d+(?:\.\d+)?)([smhd])/g)) seconds += Number(amount) * UNIT_SECONDS[unit!]!;
  return seconds;
}

/** An ISO time, or a duration meaning "that long ago", → unix microseconds. */
export function parseInstant(value: unknown, field: string, nowMs: number): number {
  if (typeof value !== "string" || value.trim() === "") {
    throw new InputError(`"${field}" must be an ISO time (2026-01-31T12:00:00Z) or a duration ago (90s, 15m, 2h, 1d).`);
  }
  const duration = parseDuration(value);
  if (duration !== null) return Math.round((nowMs - duration * 1000) * 1000);
  // Only full timestamps: Date.parse accepts loose forms ("1", "May 5") that would mean surprising times.
  if (!/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(value.trim())) {
    throw new InputError(`"${field}" is ${JSON.stringify(value)}: not an ISO time (2026-01-31T12:00:00Z) nor a duration ago (90s, 15m, 2h, 1d).`);
  }
  const ms = Date.parse(value.trim());
  if (Number.isNaN(ms)) throw new InputError(`"${field}" is ${JSON.stringify(value)}: not a valid time.`);
  return ms * 1000;
}

/** Body of POST /replay: `{"from": ISO-or-duration, "to"?: ISO-or-duration, "collections"?: [...]}`. */
export function parseReplayRequest(body: Record<string, unknown>, nowMs: number): ReplayRequest {
  rejectUnknownFields(body, ["from", "to", "collections"]);
  if (!("from" in body)) throw new InputError('"from" is required: an ISO time or a duration ago, e.g. {"from": "2h"}.');
  const fromUs = parseInstant(body.from, "from", nowMs);
  const request: ReplayRequest = { fromUs };
  if (fromUs > nowMs * 1000) throw new InputError('"from" is in the future.');
  if (body.to !== undefined) {
    const toUs = parseInstant(body.to, "to", nowMs);
    if (toUs <= fromUs) throw new InputError('"to" must be later than "from".');
    request.toUs = toUs;
  }
  if (body.collections !== undefined) {
    const collections = body.collections;
    if (!Array.isArray(collections) || collections.length === 0) throw new InputError('"collections" must be a non-empty array of NSIDs (or prefix.*).');
    if (collections.length > MAX_COLLECTIONS) throw new InputError(`At most ${MAX_COLLECTIONS} collections (got ${collections.length}).`);
    for (const collection of collections) {
      if (typeof collection !== "string" || !/^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(\.\*)?$/.test(collection) || !collection.includes(".")) {
        throw new InputError(`"collections" holds ${JSON.stringify(collection)}, which is not an NSID (app.bsky.feed.post) nor a prefix (app.bsky.graph.*).`);
      }
    }
    request.collections = collections as string[];
  }
  return request;
}
