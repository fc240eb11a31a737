import { resumeCursor } from "./ledger.ts";
import { wireOf } from "../jetstream/request.ts";

/**
 * Where a stream stands in Jetstream: the events of `instance` up to `timeUs` were handled, and a resume
 * asks for `timeUs` again (replay is inclusive). Each instance stamps `time_us` with its own clock, so a
 * time means something only together with the instance it came from. Pure.
 */
export interface Position {
  /** The endpoint (as configured in JETSTREAM_URL) whose clock `timeUs` is on; null if unknown (saved by an older version). */
  instance: string | null;
  timeUs: number;
  /** The instance's seq (v2 wire): the exact resume point there. */
  seq?: number | null;
  /**
   * No event handled yet: the time is when the first connection opened (minus the failover rewind), so
   * that a restart before the first event still resumes from there. Not a point to measure gaps from.
   */
  estimated?: boolean;
}

/**
 * The cursor to ask `endpoint` for: on the position's own instance its seq (v2: exact) or its time; on
 * any other instance its time rewound by `rewindUs` (seqs are per instance, and the other clock may run
 * behind; the rewind makes up for it, at the price of a few duplicates).
 */
export function cursorFor(position: Position | null, endpoint: string, rewindUs: number): number | null {
  if (position === null) return null;
  if (position.instance !== endpoint) return position.timeUs - rewindUs;
  return position.seq != null && wireOf(endpoint) === "v2" ? position.seq : position.timeUs;
}

/** The storage form of a position, and the bare `cursor` older versions read. */
export interface SavedPosition {
  position: Position | null;
  cursor: number | null;
}

export function savedForm(position: Position | null): SavedPosition {
  return { position, cursor: position?.timeUs ?? null };
}

/**
 * The position to resume from after a start: the saved one (or, from an older version, its bare cursor
 * of unknown instance), rewound to the oldest event the webhook has not acknowledged, at most
 * `maxRewindUs` (stream/ledger.ts resumeCursor).
 */
export function resumePosition(saved: { position: unknown; cursor: unknown; oldestUnacked: unknown; oldestUnackedFrom?: unknown }, maxRewindUs: number): Position | null {
  const position = readPosition(saved.position);
  const cursor = position?.timeUs ?? (typeof saved.cursor === "number" ? saved.cursor : null);
  const oldest = typeof saved.oldestUnacked === "number" ? saved.oldestUnacked : null;
  const timeUs = resumeCursor(cursor, oldest, maxRewindUs);
  if (timeUs === null) return null;
  const instance = position?.instance ?? null;
  if (position !== null && timeUs === position.timeUs) return { instance, timeUs, seq: position.seq ?? null, ...(position.estimated ? { estimated: true } : {}) };
  // Rewound to the oldest unacknowledged message: by the seq of its first event when it came from the
  // same instance (v2), else by its time.
  const from = readPosition({ ...(saved.oldestUnackedFrom as object), timeUs });
  const seq = timeUs === oldest && from?.instance === instance && instance !== null ? (from.seq ?? null) : null;
  return { instance, timeUs, seq };
}

function readPosition(value: unknown): Position | null {
  if (typeof value !== "object" || value === null) return null;
  const { instance, timeUs, seq, estimated } = value as Record<string, unknown>;
  if (typeof timeUs !== "number" || !Number.isSafeInteger(timeUs)) return null;
  const position: Position = { instance: typeof instance === "string" ? instance : null, timeUs, seq: typeof seq === "number" && Number.isSafeInteger(seq) ? seq : null };
  return estimated === true ? { ...position, estimated: true } : position;
}

/** The configured endpoint a position came from, so that a start resumes there without a rewind; else the first. */
export function startingEndpoint(position: Position | null, endpoints: readonly string[]): number {
  const index = position?.instance ? endpoints.indexOf(position.instance) : -1;
  return index === -1 ? 0 : index;
}
