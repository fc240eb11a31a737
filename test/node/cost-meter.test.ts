// The live meter: counts over simulated time become per-second rates over (at most) the last hour, and
// the report warns only after five minutes of measurement.
import { expect, test } from "vitest";
import { COST_WINDOW_MS, CostMeter } from "../../worker/cost/cost-meter.ts";
import { costReport, WARNING_AFTER_SECONDS } from "../../worker/cost/cost-report.ts";

const assume = { otherWorkerRequestsPerSecond: 1 / 60, consumerCpuMsPerEvent: 0.019, storedGb: 0.001 };
const T0 = Date.parse("2026-12-07T12:00:00Z");

/** Runs the meter for `minutes`, each minute: 6,000 frames, 300 messages of 1 unit, 60 invocations of 100 events, 12 alarms. */
function run(meter: CostMeter, fromMinute: number, minutes: number): number {
  let now = T0;
  for (let m = fromMinute; m < fromMinute + minutes; m++) {
    now = T0 + (m + 1) * 60_000;
    meter.add("frames", 6000);
    meter.add("relayUnits", 300);
    meter.add("relayMessages", 300);
    meter.add("consumerInvocations", 60);
    meter.add("deliveredEvents", 6000);
    meter.add("webhookRequests", 600);
    meter.add("alarms", 12);
    meter.add("rowsWritten", 72);
    meter.tick(now);
  }
  return now;
}

test("rates per second over the measured minutes: 100 frames/s, 5 units written, read and deleted, 1 invocation", () => {
  const meter = new CostMeter(T0);
  const now = run(meter, 0, 10);
  const { activity, windowSeconds } = meter.activity(now, assume);
  expect(windowSeconds).toBe(600);
  expect(activity).toMatchObject({ websocketMessagesIn: 100, queueUnitsWritten: 5, queueUnitsRead: 5, queueUnitsDeleted: 5, consumerInvocations: 1, alarms: 0.2, rowsWritten: 1.2, subrequests: 12, workerRequests: 1 / 60 });
  expect(activity.consumerCpuMs).toBeCloseTo(100 * 0.019, 10);
});

test("only the last hour counts: a quiet first hour leaves the window", () => {
  const meter = new CostMeter(T0);
  // Minutes 0–59 quiet (ticks only), then 90 busy minutes: the rate is the busy one.
  for (let m = 1; m <= 60; m++) meter.tick(T0 + m * 60_000);
  const now = run(meter, 60, 90);
  const { activity, windowSeconds } = meter.activity(now, assume);
  expect(windowSeconds).toBeLessThanOrEqual(COST_WINDOW_MS / 1000);
  expect(windowSeconds).toBeGreaterThanOrEqual(COST_WINDOW_MS / 1000 - 60);
  expect(activity.websocketMessagesIn).toBeCloseTo(100, 6);
});

test("retries read again and follow-ups and dead-letter queue messages are written, read and deleted", () => {
  const meter = new CostMeter(T0);
  meter.add("relayUnits", 200); // 100 messages of 2 units
  meter.add("relayMessages", 100);
  meter.add("retriedMessages", 10); // 10 × 2 units read again
  meter.add("followUpMessages", 30); // 1 unit each
  meter.add("deadLetterQueueMessages", 5); // 5 × 2 units
  const { activity } = meter.activity(T0 + 100_000, assume);
  // written 200 + 30 + 10 = 240 units over 100 s; read 240 + 20 = 260.
  expect(activity.queueUnitsWritten).toBeCloseTo(2.4, 10);
  expect(activity.queueUnitsRead).toBeCloseTo(2.6, 10);
  expect(activity.queueUnitsDeleted).toBeCloseTo(2.4, 10);
});

test("no warning before five minutes of measurement, then the budget's", () => {
  const meter = new CostMeter(T0);
  run(meter, 0, 10);
  const early = meter.activity(T0 + 60_000, assume);
  expect(costReport(early.activity, { seconds: WARNING_AFTER_SECONDS - 1, since: T0 }, "paid", 1).warnings).toEqual([]);
  expect(costReport(early.activity, { seconds: WARNING_AFTER_SECONDS, since: T0 }, "paid", 1).warnings.map((w) => w.code)).toContain("cost-over-budget");
});
