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
