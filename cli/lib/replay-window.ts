import { InvalidArgumentError } from "commander";

/**
 * The times of `replay --from/--to` and `rewind`, resolved on the operator's machine into exact instants
 * (so that the confirmation shows, and the relay receives, the same window). Pure: `nowMs` is passed in.
 */

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** "90s", "15m", "2h", "1d", "1h30m" → milliseconds; null when the text is not a duration. */
export function parseDurationMs(text: string): number | null {
  const trimmed = text.trim();
  if (!/^(\d+(\.\d+)?[smhd])+$/.test(trimmed)) return null;
  let seconds = 0;
  for (const [, amount, unit] of trimmed.matchAll(/(\d+(?:\.\d+)?)([smhd])/g)) seconds += Number(amount) * UNIT_SECONDS[unit!]!;
  return Math.round(seconds * 1000);
}

export interface ResolvedTime {
  ms: number;
  /** How the text was read, for the confirmation ("2h ago", "today 14:00 UTC"). */
  reading: string;
}

const EXPECTED = "an ISO time (2026-01-31T14:00:00Z), a time of today in UTC (14:00), or a duration ago (90s, 30m, 2h, 1d)";

/**
 * A duration means that long before now; a bare HH:MM[:SS] means that time of today, in UTC; otherwise a
 * full ISO date-time (a missing zone means UTC).
 */
export function resolveTime(text: string, nowMs: number): ResolvedTime {
  const value = text.trim();
  const duration = parseDurationMs(value);
  if (duration !== null) return { ms: nowMs - duration, reading: `${value} ago` };
  const clock = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(value);
  if (clock) {
    const [hours, minutes, seconds] = [Number(clock[1]), Number(clock[2]), Number(clock[3] ?? 0)];
    if (hours > 23 || minutes > 59 || seconds > 59) throw new InvalidArgumentError(`${JSON.stringify(text)} is not a time of day; expected ${EXPECTED}`);
    const today = new Date(nowMs);
    const ms = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate(), hours, minutes, seconds);
    return { ms, reading: `today ${value} UTC` };
  }
  const iso = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/i.exec(value);
  if (iso) {
    const zoned = iso[4] || !iso[1] ? value : `${value}Z`;
    const ms = Date.parse(zoned.replace(" ", "T"));
    if (!Number.isNaN(ms)) return { ms, reading: iso[4] ? "as given" : "UTC" };
  }
  throw new InvalidArgumentError(`${JSON.stringify(text)} is not a time; expected ${EXPECTED}`);
}

export interface ReplayWindow {
  from: ResolvedTime;
  /** Absent: up to the relay's live position at the time of the request. */
  to?: ResolvedTime;
  collections?: string[];
}

/** Checks a window before anything is sent: the relay would refuse these too, but later and less precisely. */
export function checkWindow(window: ReplayWindow, nowMs: number): string | null {
  const when = (t: ResolvedTime) => `${isoOf(t.ms)} (${t.reading})`;
  if (window.from.ms > nowMs) return `--from is in the future: ${when(window.from)}`;
  if (window.to && window.to.ms > nowMs) return `--to is in the future: ${when(window.to)}; a replay covers the past only (live delivery carries on by itself)`;
  if (window.to && window.to.ms <= window.from.ms) return `--to (${when(window.to)}) must be later than --from (${when(window.from)})`;
  return null;
}

/** The body of POST /replay. */
export function replayBody(window: ReplayWindow): { from: string; to?: string; collections?: string[] } {
  return {
    from: isoOf(window.from.ms),
    ...(window.to ? { to: isoOf(window.to.ms) } : {}),
    ...(window.collections ? { collections: window.collections } : {}),
  };
}

/** "app.bsky.feed.post, app.bsky.graph.*" → the list (as the relay validates them). */
export function parseCollections(text: string): string[] {
  const items = text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (items.length === 0) throw new InvalidArgumentError("expected comma-separated collections, e.g. app.bsky.feed.post,app.bsky.graph.*");
  for (const item of items) {
    if (!/^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+(\.\*)?$/.test(item)) throw new InvalidArgumentError(`${JSON.stringify(item)} is not a collection NSID (app.bsky.feed.post) nor a prefix (app.bsky.graph.*)`);
  }
  return [...new Set(items)];
}

export function isoOf(ms: number): string {
  return new Date(ms).toISOString();
}
