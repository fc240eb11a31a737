// docs/cost.md's summary and tables are the cost model's (worker/cost/); a change of a price or of the
// model without `npx tsx bin/cost-table.ts --write` fails here.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, test } from "vitest";
import { COST_END, COST_START, costSummaryInPage, costTablesInPage, renderCostSummary, renderCostTables, withCostTables } from "../../worker/cost/cost-table.ts";
import { estimateCost } from "../../worker/cost/cost-model.ts";
import { profileActivity } from "../../worker/cost/relay-profile.ts";

const page = readFileSync(join(import.meta.dirname, "../../docs/cost.md"), "utf8");

test("docs/cost.md's summary and tables are the model's (regenerate with `npx tsx bin/cost-table.ts --write`)", () => {
  expect(costTablesInPage(page), `docs/cost.md lacks the markers ${COST_START} … ${COST_END}`).not.toBeNull();
  expect(costTablesInPage(page), "docs/cost.md's tables differ from the model: run `npx tsx bin/cost-table.ts --write`").toBe(renderCostTables());
  expect(costSummaryInPage(page), "docs/cost.md's summary differs from the model: run `npx tsx bin/cost-table.ts --write`").toBe(renderCostSummary());
  expect(withCostTables(page)).toBe(page);
});

test("a changed page is caught (the check can fail)", () => {
  const changed = page.replace(/\*\*\$\d+\.\d\d\*\*/, "**$0.01**");
  expect(changed).not.toBe(page);
  expect(costTablesInPage(changed)).not.toBe(renderCostTables());
});

test("the relay profile of the posts relay, by hand: 30 events/s, partly filled messages every 200 ms", () => {
  // 6 events per message (30 × 0.2 s) of 598 B = 3,588 B: one unit; 5 messages/s; the consumer's 0 s
  // timeout takes each as it comes (under 10 a second): 5 invocations/s of 6 events in 6 lanes, one
  // request each in batch mode: 30 requests/s.
  const a = profileActivity({ eventsPerSecond: 30, mode: "batch" });
  expect(a.detail).toMatchObject({ eventsPerMessage: 6, unitsPerMessage: 1, messagesPerSecond: 5, invocationsPerSecond: 5, requestsPerSecond: 30 });
  expect(a.queueUnitsWritten + a.queueUnitsRead + a.queueUnitsDeleted).toBe(15);
  // Paid: $5 + queue 15/s × 2,592,000 = 38,880,000 → $15.152; object requests (1.5 frames/20 + 0.2 alarms
  // + 5 × 2 calls per invocation + 1/60)/s × 2,592,000 = 30,369,600, 1 M included → $4.40544; Workers
  // requests (5 + 1/60)/s × 2,592,000 = 13,003,200, 10 M included → $0.90096; CPU within the allowance:
  // total $25.4584.
  expect(estimateCost(a, "paid").totalUsd).toBeCloseTo(25.4584, 6);
});

test("the whole network in batch mode, by hand: messages fill to ~120 KB (2 units)", () => {
  // 5,000 × 0.2 s = 1,000 events per interval, capped at 200 per message: 25 messages/s of 2 units; past
  // 10 invocations a second batches fill: 10 invocations/s of 500 events, 6 lanes of ~84: 1 request each.
  const a = profileActivity({ eventsPerSecond: 5000, mode: "batch" });
  expect(a.detail).toMatchObject({ eventsPerMessage: 200, unitsPerMessage: 2, messagesPerSecond: 25, invocationsPerSecond: 10, requestsPerSecond: 60 });
});
