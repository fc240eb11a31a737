// The bench's order within a run (bench/run-order.ts): wire twins side by side, the v2 twin first every other run.
import { expect, test } from "vitest";
import { runOrder, twinOf } from "../../bench/run-order.ts";

const configs = [{ name: "batch" }, { name: "batch v2", wire: "v2" as const }, { name: "reading" }, { name: "reading v2", wire: "v2" as const }, { name: "baseline" }];
const names = (list: { name: string }[]) => list.map((c) => c.name).join(", ");

test.each([
  [1, "batch, batch v2, reading, reading v2, baseline"],
  [2, "batch v2, batch, reading v2, reading, baseline"],
  [3, "batch, batch v2, reading, reading v2, baseline"],
])("run %i: %s", (run, order) => expect(names(runOrder(configs, run))).toBe(order));

test("a v2 configuration's twin is the legacy one before it; any other is its own", () => {
  expect(twinOf(configs[1], configs).name).toBe("batch");
  expect(twinOf(configs[3], configs).name).toBe("reading");
  expect(twinOf(configs[4], configs).name).toBe("baseline");
  expect(twinOf(configs[0], configs).name).toBe("batch");
});
