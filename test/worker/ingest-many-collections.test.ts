/**
 * Statistics cannot grow without bound nor keep the cursor from being saved: with a prefix filter anyone
 * can mint collections (a PDS accepts unknown lexicons), so 50,000 events of 50,000 distinct collections
 * under `app.test.*` must leave the per-collection counters bounded (their totals still adding up) and the
 * cursor saved: after an alarm and an eviction, the relay resumes past the last event.
 * The alarm period is 60 s so that only runDurableObjectAlarm() runs it; JETSTREAM_MAX_REWIND_SECONDS=0
 * makes the resume point the saved cursor itself (no rewind to unacknowledged events).
 * Isolation and configuration: see ingest-support.ts (server instance "many", webhook path /hook-many).
 */
import { env } from "cloudflare:workers";
import { abortAllDurableObjects, runDurableObjectAlarm } from "cloudflare:test";
import { beforeAll, describe, expect, it, inject } from "vitest";
import { commitEvent, configure, connections, control, statusOf, tapQueue, waitFor, type QueueTap } from "./ingest-support.ts";

const INSTANCE = "many";
const COLLECTION_COUNT = 50_000;
/** The bound asserted on the per-collection counters: a few hundred named collections plus "other". */
const MAX_COLLECTION_KEYS = 1_001;
let tap: QueueTap;
const relay = () => env.RELAY.getByName("relay");
const enqueuedCount = () => tap.bodies.reduce((n, b) => n + b.events.length, 0);

/** `count` events from `startUs`, 1 µs apart, each of its own collection app.test.cNNNNNNNNNNNNNNNNNNNN (long names: the counters outgrow 2 MB). */
function events(first: number, count: number, startUs: number): string[] {
  return Array.from({ length: count }, (_, i) => {
    const n = first + i;
    return commitEvent({ did: `did:plc:many${n % 50}`, timeUs: startUs + i, collection: `app.test.c${String(n).padStart(20, "0")}`, rkey: `k${n}` });
  });
}

async function append(list: string[]): Promise<void> {
  for (let i = 0; i < list.length; i += 5000) await control(INSTANCE, "append", { events: list.slice(i, i + 5000) });
}

beforeAll(async () => {
  await control(INSTANCE, "reset", {});
  configure(INSTANCE, {
    JETSTREAM_COLLECTIONS: "app.test.*",
    JETSTREAM_ALARM_SECONDS: "60",
    JETSTREAM_MAX_REWIND_SECONDS: "0",
    WEBHOOK_URL: `${inject("webhookBase")}/hook-many`,
  });
  tap = tapQueue();
  await waitFor(async () => (await statusOf()).state === "connected", "connected");
});

describe("50,000 distinct collections", () => {
  it("keeps the per-collection counters bounded and still saves the cursor", async () => {
    const startUs = Date.now() * 1000;
    const lastUs = startUs + COLLECTION_COUNT - 1;
    await append(events(0, COLLECTION_COUNT, startUs));
    await waitFor(() => enqueuedCount() >= COLLECTION_COUNT, "all 50,000 events enqueued", 120_000, 200);

    // Memory: the per-collection counters stay bounded, and their totals still add up.
    const stats = await relay().getStats();
    expect(stats.totalEvents).toBe(COLLECTION_COUNT);
    expect.soft(Object.keys(stats.eventCounts).length).toBeLessThanOrEqual(MAX_COLLECTION_KEYS);
    expect.soft(Object.keys(stats.operationCounts).length).toBeLessThanOrEqual(MAX_COLLECTION_KEYS);
    expect.soft(Object.values(stats.eventCounts).reduce((a, b) => a + b, 0)).toBe(stats.totalEvents);

    // The cursor: saved by the alarm, so that after an eviction the relay resumes past the last event.
    expect(await runDurableObjectAlarm(relay())).toBe(true);
    expect.soft((await relay().getStats()).storage).toEqual({ ok: true, lastError: null });
    // (The consumer settles every message on the object: let it finish before the object is dropped.)
    await waitFor(async () => (await relay().getStats()).delivery.unackedMessages === 0, "every message delivered", 120_000, 200);
    const before = (await connections(INSTANCE)).length;
    await abortAllDurableObjects();
    expect(await runDurableObjectAlarm(relay())).toBe(true);
    const resumed = await waitFor(async () => (await connections(INSTANCE))[before], "reconnected after the eviction", 30_000);
    expect(resumed.cursor, "the cursor the relay resumed from after the eviction").not.toBeNull();
    expect(resumed.cursor!).toBeGreaterThanOrEqual(lastUs);

    // And it keeps being saved: more events, another alarm, another eviction.
    await waitFor(async () => (await statusOf()).state === "connected", "connected again");
    const moreUs = lastUs + 1_000_000;
    await append(events(COLLECTION_COUNT, 100, moreUs));
    await waitFor(() => tap.timeUs().has(moreUs + 99), "100 more enqueued", 60_000, 500);
    expect(await runDurableObjectAlarm(relay())).toBe(true);
    await waitFor(async () => (await relay().getStats()).delivery.unackedMessages === 0, "every message delivered", 60_000, 200);
    const count = (await connections(INSTANCE)).length;
    await abortAllDurableObjects();
    expect(await runDurableObjectAlarm(relay())).toBe(true);
    const again = await waitFor(async () => (await connections(INSTANCE))[count], "reconnected after the second eviction", 30_000);
    expect(again.cursor!).toBeGreaterThanOrEqual(moreUs + 99);
  });
});
