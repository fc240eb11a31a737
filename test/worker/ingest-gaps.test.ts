/**
 * Gap detection: when the relay resumes from a cursor older than the server's retention, the server
 * silently clamps it to its oldest event; the relay records the gap (time range, endpoint), shows it in
 * statistics and as a health reason until acknowledged. An ordinary reconnect records none.
 * Isolation and configuration: see ingest-support.ts (server instance "gap").
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { appendFixtureEvents, configure, connections, control, serverLog, statusOf, tapQueue, waitFor, type QueueTap } from "./ingest-support.ts";

const INSTANCE = "gap";
let tap: QueueTap;
const relay = () => env.RELAY.getByName("relay");

const appendFixtures = (startUs: number) => appendFixtureEvents(INSTANCE, startUs);

beforeAll(async () => {
  await control(INSTANCE, "reset", {});
  configure(INSTANCE, { JETSTREAM_GAP_THRESHOLD_SECONDS: "30" });
  tap = tapQueue();
  await waitFor(async () => (await statusOf()).state === "connected", "connected");
});

describe("gaps", () => {
  it("records no gap on an ordinary reconnect", async () => {
    const now = Date.now() * 1000;
    const first = await appendFixtures(now - 100_000_000);
    await waitFor(() => first.every((t) => tap.timeUs().has(t)), "enqueued");
    await control(INSTANCE, "misbehave", { action: "drop" });
    await waitFor(async () => (await connections(INSTANCE)).filter((c) => c.open).length === 1, "reconnected");
    await waitFor(async () => (await relay().getStats()).totalReceived > 0 && (await statusOf()).state === "connected", "connected");
    const stats = await relay().getStats();
    expect(stats.gapsDetected).toBe(0);
    expect((await relay().getHealth()).healthy).toBe(true);
  });

  it("detects a resume past the server's retention, reports it, and clears it from health once acknowledged", async () => {
    const now = Date.now() * 1000;
    const before = await statusOf();
    expect(before.cursor).not.toBeNull();
    // Disconnected (refused) while events happen and then fall out of the server's retention.
    await control(INSTANCE, "misbehave", { action: "refuse", status: 502, count: 1000 });
    await control(INSTANCE, "misbehave", { action: "drop" });
    await waitFor(async () => (await statusOf()).state !== "connected", "disconnected");
    const lost = await appendFixtures(now - 80_000_000);
    await control(INSTANCE, "retention", { seconds: 50 });
    const kept = await appendFixtures(now - 5_000_000);
    const { oldestUs } = await serverLog(INSTANCE);
    expect(oldestUs).toBe(now - 5_000_000);
    await control(INSTANCE, "misbehave", { action: "refuse", status: 502, count: 0 });

    await waitFor(() => kept.every((t) => tap.timeUs().has(t)), "the retained events enqueued");
    expect(lost.some((t) => tap.timeUs().has(t))).toBe(false);
    const stats = await relay().getStats();
    expect(stats.gapsDetected).toBe(1);
    const [gap] = stats.gaps;
    const resumedAt = (await connections(INSTANCE)).filter((c) => c.refused === null).at(-1)!.cursor!;
    expect(gap.fromUs).toBe(resumedAt);
    expect(gap.fromUs).toBeLessThan(now - 80_000_000);
    expect(gap.toUs).toBeGreaterThanOrEqual(now - 5_000_000);
    expect(gap.from).toBe(new Date(Math.floor(gap.fromUs / 1000)).toISOString());
    expect(gap.endpoint).toContain(`/${INSTANCE}/subscribe`);
    expect(gap.acknowledged).toBe(false);

    const health = await relay().getHealth();
    expect(health.healthy).toBe(false);
    expect(health.reasons.map((r) => r.code)).toEqual(["gap"]);

    expect(await relay().acknowledgeGaps()).toEqual({ acknowledged: 1 });
    expect((await relay().getHealth()).healthy).toBe(true);
    const after = await relay().getStats();
    expect(after.gapsDetected).toBe(1);
    expect(after.gaps[0].acknowledged).toBe(true);
  });

  it("resetStats() keeps the cursor and unacknowledged gaps", async () => {
    const cursor = (await statusOf()).cursor;
    const { resetAt } = await relay().resetStats();
    const stats = await relay().getStats();
    expect(stats.cursor).toBe(cursor);
    expect(stats.statsResetAt).toBe(resetAt);
    expect(stats.totalReceived).toBe(0);
    expect(stats.gaps).toEqual([]); // the only gap was acknowledged
  });
});
