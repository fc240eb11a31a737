// Number and time formatting for the CLI's terminal output (pure), compact: "3m05s", "2026-11-29 03:12:09Z
// (4s ago)", "—" for a missing value (the dashboard's web page has its own style: worker/http/dashboard-format.ts).
import type { Gap, StreamPosition } from "../../worker/api-types.ts";
import { isoFromUs } from "../../worker/time-us.ts";

// Not Intl.NumberFormat: creating one loads locale data and costs a short command 20-40 ms.
const integer = {
  format(value: number): string {
    const rounded = Math.round(value);
    const digits = String(Math.abs(rounded)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return rounded < 0 ? `-${digits}` : digits;
  },
};

export function formatCount(value: number | null | undefined): string {
  return typeof value === "number" && Number.isFinite(value) ? integer.format(value) : "—";
}

export function formatRate(perSecond: number | null | undefined): string {
  if (typeof perSecond !== "number" || !Number.isFinite(perSecond)) return "—";
  if (perSecond >= 100) return `${integer.format(perSecond)}/s`;
  return `${perSecond.toFixed(perSecond >= 10 ? 1 : 2)}/s`;
}

export function formatDuration(seconds: number | null | undefined): string {
  if (typeof seconds !== "number" || !Number.isFinite(seconds)) return "—";
  const s = Math.abs(seconds);
  const sign = seconds < 0 ? "-" : "";
  if (s < 1) return `${sign}${Math.round(s * 1000)}ms`;
  if (s < 60) return `${sign}${s.toFixed(s < 10 ? 1 : 0)}s`;
  if (s < 3600) return `${sign}${Math.floor(s / 60)}m${String(Math.floor(s % 60)).padStart(2, "0")}s`;
  if (s < 86400) return `${sign}${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
  return `${sign}${Math.floor(s / 86400)}d${String(Math.floor((s % 86400) / 3600)).padStart(2, "0")}h`;
}

export function formatMs(ms: number | null | undefined): string {
  return typeof ms === "number" && Number.isFinite(ms) ? formatDuration(ms / 1000) : "—";
}

/** An ISO time as "2026-11-29 03:12:09Z (4s ago)". */
export function formatTime(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return "—";
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return iso;
  const text = new Date(at).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
  const ago = (now - at) / 1000;
  return ago >= 0 ? `${text} (${formatDuration(ago)} ago)` : `${text} (in ${formatDuration(-ago)})`;
}

/** A Jetstream cursor (unix µs) with its time. */
export function formatCursor(cursorUs: number | null | undefined, now = Date.now()): string {
  if (typeof cursorUs !== "number") return "—";
  return `${cursorUs} · ${formatTime(isoFromUs(cursorUs), now)}`;
}

/** An endpoint by its host (and port): the wire is said apart, the full URL is on the endpoint line. */
export function endpointHost(endpoint: string): string {
  try {
    return new URL(endpoint).host || endpoint;
  } catch {
    return endpoint;
  }
}

/**
 * Where the relay stands: "seq 12,345 on jetstream.us-east.bsky.network (v2) · 2026-11-29 03:12:09Z (4s ago)";
 * on the legacy wire, which has no seq, the time first.
 */
export function formatPosition(position: StreamPosition | null | undefined, now = Date.now()): string {
  if (!position) return "—";
  const where = `${position.endpoint ? ` on ${endpointHost(position.endpoint)}` : ""}${position.wire ? ` (${position.wire})` : ""}`;
  const time = formatTime(position.time || isoFromUs(position.timeUs), now);
  return typeof position.seq === "number" ? `seq ${formatCount(position.seq)}${where} · ${time}` : `${time}${where}`;
}

/** The seqs of an exact gap (v2): "100,000 → 102,500"; "—" when the server named none. */
export function formatGapSeqs(gap: Gap): string {
  if (typeof gap.toSeq !== "number") return "—";
  return `${typeof gap.fromSeq === "number" ? formatCount(gap.fromSeq) : "?"} → ${formatCount(gap.toSeq)}`;
}

export function formatPercent(part: number, whole: number): string {
  if (!whole) return "—";
  return `${((part / whole) * 100).toFixed(1)}%`;
}
