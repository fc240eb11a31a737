// The benchmark's latency table (bench/latency-report.ts): per configuration and rate, per 1,000 events delivered.
import { expect, test } from "vitest";
import type { LatencyResult } from "../../bench/latency.ts";
import { formatLatencyReport, latencyRows } from "../../bench/latency-report.ts";

const result = (over: Partial<LatencyResult> = {}): LatencyResult => ({
  config: "ours (per-event)",
  rate: 1000,
  achievedRate: 998.4,
  events: 3000,
  expected: 2700,
  delivered: 2700,
  lost: 0,
  p50: 41.6,
  p99: 212,
  queueMessages: 270,
  queueOperations: 810,
  webhookRequests: 2700,
  timedOut: false,
  ...over,
});

test("a row per configuration and rate: rates asked and achieved, latency, queue and webhook figures per event", () => {
  expect(latencyRows([result()])).toEqual([["ours (per-event)", "1,000 (998)", "2,700 / 2,700", "42", "212", "100.0", "300", "1.000"]]);
});

test("says when a rate did not deliver everything in time, and prints – where nothing was delivered", () => {
  const [row] = latencyRows([result({ delivered: 0, timedOut: true, p50: Number.NaN, p99: Number.NaN })]);
  expect(row[2]).toBe("0 / 2,700 (timed out)");
  expect(row.slice(3)).toEqual(["–", "–", "–", "–", "–"]);
});

test("the printed table names what latency means and the seconds per rate", () => {
  const text = formatLatencyReport([result(), result({ config: "baseline", rate: 100, achievedRate: 100 })], 3);
  expect(text).toContain("3 s per rate");
  expect(text).toContain("queue operations / 1,000 events");
  expect(text).toMatch(/baseline\s+100 \(100\)/);
  expect(text).toContain("from the upstream's send of each event to its arrival at the webhook");
});
