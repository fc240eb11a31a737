// The cost model's arithmetic, pinned by worked examples computed by hand (in the comments) from the
// prices of worker/cost/prices.ts. A month is 30 days = 2,592,000 s.
import { describe, expect, test } from "vitest";
import { estimateCost, monthlyQuantities, queueUnits, type Activity } from "../../worker/cost/cost-model.ts";
import { PRICES } from "../../worker/cost/prices.ts";

/** A quiet relay: ~30 events/s, one queue message every 200 ms, one consumer invocation a second. */
const quiet: Activity = {
  websocketMessagesIn: 30,
  alarms: 0.2, // every 5 s
  objectCalls: 1, // one report per consumer invocation
  alwaysOnObjects: 1,
  queueUnitsWritten: 5,
  queueUnitsRead: 5,
  queueUnitsDeleted: 5,
  consumerInvocations: 1,
  consumerCpuMs: 0.6,
  workerRequests: 1 / 60, // the cron, once a minute
  subrequests: 11,
  rowsWritten: 1.2, // 6 rows per alarm
  rowsRead: 0.2,
  storedGb: 0.01,
};

const line = (estimate: ReturnType<typeof estimateCost>, item: string) => estimate.lines.find((l) => l.item === item)!;

describe("worked example 1: a quiet relay on Workers Paid", () => {
  const paid = estimateCost(quiet, "paid");

  test("Durable Object requests: (30/20 + 0.2 + 1) = 2.7/s × 2,592,000 = 6,998,400; 5,998,400 beyond 1M × $0.15/M = $0.89976", () => {
    expect(line(paid, "do-requests").perMonth).toBeCloseTo(6_998_400, 3);
    expect(line(paid, "do-requests").usd).toBeCloseTo(0.89976, 8);
  });

  test("duration: 0.125 GB × 2,592,000 s = 324,000 GB-s, inside the 400,000 included (81%): $0", () => {
    expect(line(paid, "do-duration").perMonth).toBe(324_000);
    expect(line(paid, "do-duration").allowanceUsed).toBeCloseTo(0.81, 10);
    expect(line(paid, "do-duration").usd).toBe(0);
  });

  test("queue operations: 15/s × 2,592,000 = 38,880,000; 37,880,000 beyond 1M × $0.40/M = $15.152", () => {
    expect(line(paid, "queue-operations").perMonth).toBeCloseTo(38_880_000, 3);
    expect(line(paid, "queue-operations").usd).toBeCloseTo(15.152, 8);
  });

  test("Workers requests: (1 + 1/60)/s × 2,592,000 = 2,635,200, inside 10M; rows written 3,110,400, inside 50M: $0", () => {
    expect(line(paid, "workers-requests").perMonth).toBeCloseTo(2_635_200, 3);
    expect(line(paid, "workers-requests").usd).toBe(0);
    expect(line(paid, "sqlite-rows-written").perMonth).toBeCloseTo(3_110_400, 3);
    expect(line(paid, "sqlite-rows-written").usd).toBe(0);
  });

  test("total: $5 subscription + $0.89976 + $15.152 = $21.05176; over the allowance: requests and queue operations", () => {
    expect(paid.totalUsd).toBeCloseTo(21.05176, 8);
    expect(paid.overAllowance).toEqual(["do-requests", "queue-operations"]);
  });
});

describe("worked example 2: the same relay on Workers Free", () => {
  const free = estimateCost(quiet, "free");

  test("costs nothing, but three kinds run past the daily allowance (× 30 days) and would fail", () => {
    expect(free.totalUsd).toBe(0);
    // requests 6,998,400 > 100,000 × 30 = 3,000,000; rows written 3,110,400 > 100,000 × 30; queue 38,880,000 > 10,000 × 30 = 300,000.
    expect(free.overAllowance).toEqual(["do-requests", "sqlite-rows-written", "queue-operations"]);
    expect(line(free, "queue-operations").allowanceUsed).toBeCloseTo(129.6, 10);
    // rows written: 1.2/s = 103,680 a day, 3.7% over 100,000: the alarm every 5 s alone passes it.
    expect(line(free, "sqlite-rows-written").allowanceUsed).toBeCloseTo(1.0368, 10);
  });

  test("duration fits: 324,000 GB-s against 13,000 × 30 = 390,000 (83.1%); 0.6 ms of CPU and 11 subrequests per invocation fit 10 ms and 50", () => {
    expect(line(free, "do-duration").allowanceUsed).toBeCloseTo(324_000 / 390_000, 10);
    expect(line(free, "workers-cpu").overAllowance).toBe(false);
    expect(line(free, "subrequests").overAllowance).toBe(false);
  });

  test("a consumer invocation of 2,000 events at 19 µs each (38 ms) is over Free's 10 ms; 60 webhook requests over its 50", () => {
    const heavy = estimateCost({ ...quiet, consumerCpuMs: 38, subrequests: 60 }, "free");
    expect(heavy.overAllowance).toContain("workers-cpu");
    expect(heavy.overAllowance).toContain("subrequests");
    expect(line(heavy, "workers-cpu").note).toContain("38 ms");
  });
});

describe("worked example 3: storage and CPU beyond Paid's allowance", () => {
  test("12 GB stored: 7 GB-month beyond 5 × $0.20 = $1.40; 100 CPU ms/s = 259,200,000 ms, 229,200,000 beyond 30M × $0.02/M = $4.584", () => {
    const paid = estimateCost({ ...quiet, storedGb: 12, consumerCpuMs: 100 }, "paid");
    expect(line(paid, "sqlite-storage").usd).toBeCloseTo(1.4, 10);
    expect(line(paid, "workers-cpu").usd).toBeCloseTo(4.584, 10);
    expect(paid.totalUsd).toBeCloseTo(5 + 0.89976 + 15.152 + 1.4 + 4.584, 8);
  });

  test("nothing running: Paid costs its $5 minimum, Free nothing, and nothing is over", () => {
    const idle = Object.fromEntries(Object.keys(quiet).map((k) => [k, 0])) as unknown as Activity;
    expect(estimateCost(idle, "paid")).toMatchObject({ totalUsd: 5, overAllowance: [] });
    expect(estimateCost(idle, "free")).toMatchObject({ totalUsd: 0, overAllowance: [] });
    expect(Object.values(monthlyQuantities(idle)).every((q) => q === 0)).toBe(true);
  });
});

test("queue units: 1,000-byte KB and ~100 bytes of metadata, at least one per message", () => {
  expect(queueUnits(0)).toBe(1);
  expect(queueUnits(63_900)).toBe(1); // 64,000 with metadata: exactly one unit
  expect(queueUnits(63_901)).toBe(2);
  expect(queueUnits(119_600)).toBe(2); // the bench's packed message
  expect(queueUnits(127_901)).toBe(3);
});

test("every price names its page and the read date's table has each billed item once", () => {
  const items = PRICES.map((p) => p.item);
  expect(new Set(items).size).toBe(items.length);
  for (const p of PRICES) expect(p.page).toMatch(/^https:\/\/developers\.cloudflare\.com\//);
});
