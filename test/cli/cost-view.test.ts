// The cost estimate in the CLI: `stats` shows it in one line (and `--json` the object), `status` and
// `health` show its warnings as notes, and a note never changes `health`'s exit code. The relay's answer
// is the worker's own report (costReport) for a known activity, served by a local fake relay.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HealthReport, RelayStats } from "../../worker/api-types.ts";
import { costReport } from "../../worker/cost/cost-report.ts";
import { profileActivity } from "../../worker/cost/relay-profile.ts";
import { ensureBundle } from "./support/bundle.ts";
import { type FakeRelay, healthyReport, sampleStats, sampleStatus, startFakeRelay } from "./support/fake-relay.ts";
import { runCli } from "./support/run-cli.ts";

// The posts relay of docs/cost.md on Workers Paid ($25.46 a month) with a $10 budget.
const cost = costReport(profileActivity({ eventsPerSecond: 30, mode: "batch" }), { seconds: 3600, since: Date.now() - 3_600_000 }, "paid", 10);
const notes = cost.warnings;

let relay: FakeRelay;
let env: Record<string, string>;

beforeAll(async () => {
  ensureBundle();
  relay = await startFakeRelay({
    "GET /stats": { json: sampleStats({ cost }) },
    "GET /status": { json: { ...sampleStatus(), notes } },
    "GET /health": { json: { ...healthyReport(), notes } satisfies HealthReport },
  });
  env = { JETSTREAM_RELAY_URL: relay.url };
});
afterAll(() => relay.close());

describe("the cost in the CLI", () => {
  it("the report warns past the allowance and past the budget (the fixture is what it claims)", () => {
    expect(cost.totalUsdPerMonth).toBe(25.46);
    expect(notes.map((n) => n.code)).toEqual(["cost-over-allowance", "cost-over-budget"]);
  });

  it("stats: one line with the month, its biggest items, the allowance and the budget; then the warnings", async () => {
    const result = await runCli(["stats", "--no-json"], { env });
    expect(result.code).toBe(0);
    const line = result.stdout.split("\n").find((l) => l.startsWith("cost"));
    expect(line).toMatch(/^cost +\$25\.46\/month \(\$5\.00 minimum \+ Queues operations \$15\.15 \+ Durable Object requests \$4\.41 \+ Workers requests \$0\.90 · 3 item\(s\) past the plan's allowance; most used: Queues operations 3,888% · budget \$10\.00 · at the last 1h00m's rates\)$/);
    expect(result.stdout).toContain("over COST_BUDGET_USD_PER_MONTH ($10.00)");
  });

  it("stats --json: the cost object as the relay gave it", async () => {
    const result = await runCli(["stats", "--json"], { env });
    const stats = JSON.parse(result.stdout) as RelayStats;
    expect(stats.cost).toEqual(cost);
  });

  it("health: healthy, exit 0, with the notes shown", async () => {
    const result = await runCli(["health"], { env });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^healthy/);
    expect(result.stdout).toContain("! cost-over-budget:");
    expect(result.stdout).toContain("! cost-over-allowance:");
  });

  it("health --json: the notes in the document, exit 0", async () => {
    const result = await runCli(["health", "--json"], { env });
    expect(result.code).toBe(0);
    expect((JSON.parse(result.stdout) as HealthReport).notes).toEqual(notes);
  });

  it("status: the notes after the configuration", async () => {
    const result = await runCli(["status", "--no-json"], { env });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/notes \(2\)\n {2}! cost-over-allowance: /);
  });
});
