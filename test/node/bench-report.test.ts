// The benchmark's printed report (bench/report.ts): the medians table and the spread of the runs.
import { expect, test } from "vitest";
import type { RunResult } from "../../bench/measure.ts";
import { formatReport } from "../../bench/report.ts";

const run = (config: string, ingest: number, endToEnd: number): RunResult => ({
  config,
  events: 1000,
  expected: 900,
  received: 1000,
  delivered: 900,
  duplicates: 0,
  lost: 0,
  ingestPerSecond: ingest,
  streamPerSecond: ingest,
  endToEndPerSecond: endToEnd,
  delayP50: 10,
  delayP99: 20,
  relayLatencyP50: 5,
  relayLatencyP99: 9,
  queueMessages: 9,
  queueBytes: 900_000,
  sendCalls: 5,
  queueOperations: 54,
  webhookRequests: 9,
  webhookConnections: 1,
  retried: 0,
  backpressurePauses: 0,
  upstreamConnections: 1,
  seconds: 1,
  workerCpuSeconds: 1,
  workerdCpuSeconds: 1_000_000 / ingest,
  benchCpuSeconds: 0.5,
  timedOut: false,
});

const base = { machine: "test", runtime: "test", events: 1000, perRequestEvents: 1000, startup: null };

test("prints the lowest and highest run of each configuration's rates when there are several runs", () => {
  const runs = [run("ours (batch)", 40_000, 20_000), run("ours (batch)", 45_000, 22_000), run("ours (batch)", 33_000, 18_000)];
  const text = formatReport({ ...base, runs: 3, medians: [run("ours (batch)", 40_000, 20_000)], runsOf: [runs] });
  expect(text).toContain("median of 3 runs");
  expect(text).toContain("ours (batch): ingest 33,000–45,000 events/s, end to end 18,000–22,000 events/s; workerd CPU 22.2–30.3 s");
});

test("prints no spread for a single run", () => {
  const text = formatReport({ ...base, runs: 1, medians: [run("ours (batch)", 40_000, 20_000)], runsOf: [[run("ours (batch)", 40_000, 20_000)]] });
  expect(text).toContain("one run");
  expect(text).not.toContain("spread over the runs");
});

test("compares the v2 wire with the legacy one run by run, on frames and on the same flood", () => {
  const legacy = [run("ours (batch)", 100_000, 40_000), run("ours (batch)", 110_000, 44_000), run("ours (batch)", 90_000, 36_000)];
  const v2 = [run("ours (batch, v2)", 90_000, 38_000), run("ours (batch, v2)", 88_000, 44_000), run("ours (batch, v2)", 81_000, 36_000)];
  // The v2 server sends fewer frames for the same flood: its events per second of the flood are higher than its frames'.
  v2.forEach((r) => (r.streamPerSecond = r.ingestPerSecond * 1.1));
  const text = formatReport({ ...base, runs: 3, medians: [legacy[0], v2[0]], runsOf: [legacy, v2] });
  // Frames: 0.9, 0.8, 0.9 → median 0.90; the flood: 0.99, 0.88, 0.99 → 0.99; end to end 0.95, 1, 1 → 1.00.
  expect(text).toContain("v2 / legacy wire, batch mode, run by run (median, lowest–highest of 3): frames read per second 0.90× (0.80–0.90); the same flood taken in 0.99× (0.88–0.99) as fast; end to end 1.00× (0.95–1.00).");
  expect(formatReport({ ...base, runs: 1, medians: [legacy[0]], runsOf: [[legacy[0]]] })).not.toContain("v2 / legacy");
  expect(formatReport({ ...base, runs: 1, medians: [legacy[0], v2[0]], runsOf: [[legacy[0]], [v2[0]]] })).toContain("v2 / legacy wire, batch mode, one run: frames read per second 0.90×;");
});

test("compares the reading alone on both wires (the same frames reach the object on either)", () => {
  const legacy = [run("ours (reading only)", 150_000, 5_000), run("ours (reading only)", 100_000, 4_000)];
  const v2 = [run("ours (reading only, v2)", 135_000, 5_000), run("ours (reading only, v2)", 105_000, 4_000)];
  const text = formatReport({ ...base, runs: 2, medians: [legacy[0], v2[0]], runsOf: [legacy, v2] });
  // 0.90 and 1.05: the upper median of two.
  expect(text).toContain("v2 / legacy wire, reading only (the object's reading, with no deliveries sharing workerd's thread), run by run (median, lowest–highest of 2): frames read per second 1.05× (0.90–1.05).");
  expect(text).not.toContain("batch mode, run by run");
});
