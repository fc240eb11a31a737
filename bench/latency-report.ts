/** The printed latency table (bench/latency.ts): a row per configuration and rate. */
import type { LatencyResult } from "./latency.ts";

function format(value: number, digits = 0): string {
  if (!Number.isFinite(value)) return "–";
  return value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

const per1000 = (count: number, r: LatencyResult) => (r.delivered > 0 ? (count / r.delivered) * 1000 : Number.NaN);

export function latencyRows(results: LatencyResult[]): string[][] {
  return results.map((r) => [
    r.config,
    `${format(r.rate)} (${format(r.achievedRate)})`,
    `${format(r.delivered)} / ${format(r.expected)}${r.timedOut ? " (timed out)" : ""}`,
    format(r.p50),
    format(r.p99),
    format(per1000(r.queueMessages, r), 1),
    format(per1000(r.queueOperations, r), 0),
    format(r.delivered > 0 ? r.webhookRequests / r.delivered : Number.NaN, 3),
  ]);
}

export const LATENCY_HEADER = [
  "configuration",
  "events/s asked (achieved)",
  "delivered / expected",
  "p50 ms",
  "p99 ms",
  "queue messages / 1,000 events",
  "queue operations / 1,000 events",
  "webhook requests / event",
];

export function formatLatencyReport(results: LatencyResult[], seconds: number): string {
  const rows = latencyRows(results);
  const widths = LATENCY_HEADER.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  return [
    `latency at steady rates (paced, ${seconds} s per rate, the mix of real traffic; per 1,000 events delivered):`,
    line(LATENCY_HEADER),
    widths.map((w) => "─".repeat(w)).join("  "),
    ...rows.map(line),
    "added latency: from the upstream's send of each event to its arrival at the webhook (which answers 200 at once).",
    "",
  ].join("\n");
}
