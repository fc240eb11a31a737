// Number and time formatting for the dashboard's web page (pure; English, UTC), in words and spaced units:
// "3 min 5 s", "2026-11-29 03:10:05 UTC", with null for a missing time (the CLI's terminal output has its
// own, compact style: cli/lib/terminal-format.ts).

const integer = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat("en-US", { maximumFractionDigits: 1 });

export function formatCount(n: number | null | undefined): string {
  return typeof n === "number" && Number.isFinite(n) ? integer.format(n) : "—";
}

export function formatRate(n: number | null | undefined): string {
  return typeof n === "number" && Number.isFinite(n) ? `${decimal.format(n)}/s` : "—";
}

/** 0..100 with one decimal, or "—" when there is nothing to divide by. */
export function formatPercent(part: number, whole: number): string {
  if (!(whole > 0)) return "—";
  return `${decimal.format((part / whole) * 100)}%`;
}

/** 0.8 s · 12 s · 3 min 5 s · 2 h 3 min · 1 d 2 h */
export function formatDuration(seconds: number | null | undefined): string {
  if (typeof seconds !== "number" || !Number.isFinite(seconds)) return "—";
  const s = Math.max(0, seconds);
  if (s < 10) return `${decimal.format(s)} s`;
  if (s < 60) return `${Math.round(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

/** "2026-11-29 03:10:05 UTC", or null for a missing or unparsable time. */
export function formatTime(iso: string | null | undefined): string | null {
  if (!iso) return null;
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return null;
  return new Date(ms).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
}

/** "12 s ago" / "in 4 s", relative to now. */
export function formatAgo(iso: string | null | undefined, now: Date): string | null {
  if (!iso) return null;
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return null;
  const seconds = (now.getTime() - ms) / 1000;
  return seconds >= 0 ? `${formatDuration(seconds)} ago` : `in ${formatDuration(-seconds)}`;
}
