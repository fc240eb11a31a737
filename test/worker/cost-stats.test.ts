/**
 * The live cost estimate: the relay object turns what it counted over the last hour into a projected
 * month (GET /stats `cost`), and warns — in /stats, /status and /health, never making it unhealthy — past
 * the plan's allowance or COST_BUDGET_USD_PER_MONTH. Known rates are fed through the consumer's real
 * reports (RPC `settle`) into a meter whose window started ~an hour ago.
 */
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import type { DeliveryReport, HealthReport, RelayStats, RelayStatus } from "../../worker/contract.ts";
import { CostMeter } from "../../worker/cost/cost-meter.ts";
import { readSettings } from "../../worker/config/settings.ts";
import { body, call } from "./http-support.ts";
import { configure } from "./ingest-support.ts";
import { busyStats, HOSTILE, NOW } from "./http-fixtures.ts";
import { renderDashboard } from "../../worker/http/dashboard.ts";
import { costReport } from "../../worker/cost/cost-report.ts";
import { profileActivity } from "../../worker/cost/relay-profile.ts";

const MONTH = 2_592_000;
const WINDOW_START_AGO_MS = 3_590_000;

function report(requests: number, delivered: number, billing: DeliveryReport["billing"]): DeliveryReport {
  return { settled: [], pending: [], delivered, retried: 0, failed: 0, deadLettered: 0, requests, latenciesMs: [], blobsDone: [], billing };
}

/** Starts the object's meter ~an hour back (no counts then), so that what follows is a known rate. */
async function meterFromAnHourAgo(name: string): Promise<void> {
  await runInDurableObject(env.RELAY.getByName(name), (instance) => {
    (instance as unknown as { stats: { meter: CostMeter } }).stats.meter = new CostMeter(Date.now() - WINDOW_START_AGO_MS);
  });
}

const line = (stats: RelayStats, item: string) => stats.cost!.lines.find((l) => l.item === item)!;
const near = (actual: number, expected: number) => expect(Math.abs(actual - expected) / expected).toBeLessThan(0.002);

describe("Workers Paid with a budget of $1", () => {
  beforeAll(async () => {
    configure("cost-stats", { COST_BUDGET_USD_PER_MONTH: "1" });
    await meterFromAnHourAgo("relay");
    // 36 consumer invocations in the hour, each 1,000 events in 1,000 webhook requests (per-event mode),
    // 10 messages retried and 5 follow-up messages sent.
    for (let i = 0; i < 36; i++) await env.RELAY.getByName("relay").settle(report(1000, 1000, { retriedMessages: 10, followUpMessages: 5, deadLetterQueueMessages: 0 }));
  });

  it("projects the month from the hour's rates", async () => {
    const stats = await body<RelayStats>(await call("/stats"));
    const cost = stats.cost!;
    expect(cost).toMatchObject({ plan: "paid", subscriptionUsd: 5, budgetUsdPerMonth: 1, pricesReadOn: "2026-12-07" });
    const w = cost.windowSeconds;
    expect(w).toBeGreaterThanOrEqual(3590);
    expect(w).toBeLessThan(3650);
    // Workers requests: 36 invocations + the cron's one a minute: (36/w + 1/60) × 2,592,000 ≈ 69,192 at w = 3,590.
    near(line(stats, "workers-requests").perMonth, (36 / w + 1 / 60) * MONTH);
    // CPU: 36,000 events × 0.232 ms (the bench's per-event figure) / w × 2,592,000 ≈ 6,030,262 ms.
    near(line(stats, "workers-cpu").perMonth, ((36_000 * 0.232) / w) * MONTH);
    // Subrequests: 36,000 webhook requests + 36 × 2 calls to the relay object (the pause question, the report).
    near(line(stats, "subrequests").perMonth, (36_072 / w) * MONTH);
    // Queue: 180 follow-ups written, read and deleted, 360 retried messages read again: 900 operations (at least:
    // the relay's own sends, if any, add to it).
    expect(line(stats, "queue-operations").perMonth).toBeGreaterThanOrEqual((900 / w) * MONTH * 0.998);
    // The relay object is held around the clock: 0.125 GB × 2,592,000 s.
    expect(line(stats, "do-duration").perMonth).toBe(324_000);
    expect(cost.totalUsdPerMonth).toBeGreaterThanOrEqual(5);
    expect(cost.assumptions.join(" ")).toContain("20 to one request");
  });

  it("warns past the budget in /stats, /status and /health, where it is a note, not a reason", async () => {
    const stats = await body<RelayStats>(await call("/stats"));
    expect(stats.cost!.warnings).toContainEqual({ code: "cost-over-budget", message: expect.stringContaining("over COST_BUDGET_USD_PER_MONTH ($1.00)") });
    const status = await body<RelayStatus>(await call("/status"));
    expect(status.notes?.map((n) => n.code)).toContain("cost-over-budget");
    const response = await call("/health");
    const health = (await response.json()) as HealthReport;
    expect(health.notes?.map((n) => n.code)).toContain("cost-over-budget");
    expect(health.reasons.map((r) => r.code)).not.toContain("cost-over-budget");
  });

  it("shows it on the dashboard and in /metrics", async () => {
    const page = await (await call("/stats/html")).text();
    expect(page).toMatch(/<section id="cost">[\s\S]*projected month: <span id="cost-total"/);
    expect(page).toContain("over COST_BUDGET_USD_PER_MONTH");
    const metrics = await (await call("/metrics")).text();
    expect(metrics).toMatch(/^jetstream_relay_cost_projected_usd_per_month \d+(\.\d+)?$/m);
    expect(metrics).toContain('jetstream_relay_cost_warnings{code="cost-over-budget"} 1');
  });
});

describe("the dashboard's cost section", () => {
  it("escapes what it shows (a warning's text, a line's note)", () => {
    const cost = costReport(profileActivity({ eventsPerSecond: 30, mode: "batch" }), { seconds: 3600, since: NOW.getTime() - 3_600_000 }, "paid", 1);
    cost.warnings[0].message = HOSTILE;
    cost.lines[0].note = HOSTILE;
    const page = renderDashboard({ stats: { ...busyStats(), cost }, status: null, health: null, deadLetters: null, version: "test", now: NOW, problems: [] });
    expect(page).toContain("<section id=\"cost\">");
    expect(page).not.toContain(HOSTILE);
    expect(page).toContain("&lt;img src=x onerror=alert(1)&gt;");
  });
});

describe("Workers Free", () => {
  it("warns that a consumer invocation's webhook requests pass Free's 50 subrequests, and costs nothing", async () => {
    configure("cost-stats", { CLOUDFLARE_PLAN: "free", COST_BUDGET_USD_PER_MONTH: "" });
    await meterFromAnHourAgo("cost-free");
    for (let i = 0; i < 2; i++) await env.RELAY.getByName("cost-free").settle(report(120, 120, { retriedMessages: 0, followUpMessages: 0, deadLetterQueueMessages: 0 }));
    const stats = await env.RELAY.getByName("cost-free").getStats();
    expect(stats.cost).toMatchObject({ plan: "free", totalUsdPerMonth: 0, subscriptionUsd: 0, budgetUsdPerMonth: null });
    expect(stats.cost!.lines.find((l) => l.item === "subrequests")).toMatchObject({ overAllowance: true, note: expect.stringContaining("122 per consumer invocation") });
    expect(stats.cost!.warnings).toEqual([{ code: "cost-over-allowance", message: expect.stringContaining("Workers Free's allowance") }]);
  });
});

describe("the cost settings", () => {
  it("a bad CLOUDFLARE_PLAN or budget turns the estimate off and says so as a warning, the relay runs", () => {
    const base = { WEBHOOK_URL: "https://example.com/hook", JETSTREAM_COLLECTIONS: "app.bsky.feed.post" };
    expect(readSettings({ ...base }).cost).toEqual({ plan: "paid", budgetUsdPerMonth: null });
    expect(readSettings({ ...base, CLOUDFLARE_PLAN: "Free", COST_BUDGET_USD_PER_MONTH: "$12.50" }).cost).toEqual({ plan: "free", budgetUsdPerMonth: 12.5 });
    for (const bad of [{ CLOUDFLARE_PLAN: "enterprise" }, { COST_BUDGET_USD_PER_MONTH: "lots" }, { COST_BUDGET_USD_PER_MONTH: "-1" }]) {
      const settings = readSettings({ ...base, ...bad });
      expect(settings.cost).toBeNull();
      expect(settings.ingest).not.toBeNull();
      expect(settings.problems).toEqual([]);
      expect(settings.warnings).toEqual([expect.objectContaining({ variable: Object.keys(bad)[0], message: expect.stringContaining("the cost estimate is off until it is fixed") })]);
    }
  });
});
