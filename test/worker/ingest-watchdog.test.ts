/**
 * The alarm as heartbeat and watchdog, and restarts: a stalled socket is replaced by the alarm; after
 * the object is evicted the alarm alone brings the connection back, from the persisted cursor, losing
 * nothing; on restart the relay rewinds to the oldest event the webhook has not acknowledged, bounded by
 * the maximum rewind.
 * The alarm period here is 60 s so that only runDurableObjectAlarm() runs it during a test: what
 * happens is then the alarm's doing. Eviction = abortAllDurableObjects() (keeps storage, drops the
 * instance, its memory and its sockets). Isolation and configuration: see ingest-support.ts
 * (server instance "wd", webhook path /hook-wd).
 */
import { env } from "cloudflare:workers";
import { abortAllDurableObjects, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { appendFixtureEvents, COLLECTIONS, configure, connections, control, expectedForwarded, missingBelowCursor, serverLog, statusOf, tapQueue, waitFor, type QueueTap } from "./ingest-support.ts";

const INSTANCE = "wd";
const HOOK = "/hook-wd";
let tap: QueueTap;
const relay = () => env.RELAY.getByName("relay");

async function webhook(route: string, body: unknown): Promise<void> {
  await fetch(`${inject("webhookBase")}/_control/${route}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
}

async function saved(): Promise<{ cursor: number | null; oldestUnacked: number | null }> {
  return runInDurableObject(relay(), async (_i, state) => ({
    cursor: (await state.storage.get<number | null>("cursor")) ?? null,
    oldestUnacked: (await state.storage.get<number | null>("oldestUnacked")) ?? null,
  }));
}

const appendFixtures = (startUs: number) => appendFixtureEvents(INSTANCE, startUs);

beforeAll(async () => {
  await control(INSTANCE, "reset", {});
  await webhook("reset", { path: HOOK });
  configure(INSTANCE, { JETSTREAM_ALARM_SECONDS: "60", JETSTREAM_STALL_SECONDS: "1", WEBHOOK_URL: `${inject("webhookBase")}${HOOK}` });
  tap = tapQueue();
  await waitFor(async () => (await statusOf()).state === "connected", "connected");
});

describe("watchdog", () => {
  it("replaces a stalled socket when the alarm runs, and resumes from the cursor", async () => {
    await control(INSTANCE, "misbehave", { action: "stall-after", events: 10, count: 1 });
    await control(INSTANCE, "misbehave", { action: "drop" });
    await waitFor(async () => (await connections(INSTANCE)).filter((c) => c.open).length === 1, "reconnected");
    const expected = await appendFixtures(Date.now() * 1000);
    await waitFor(async () => (await connections(INSTANCE)).at(-1)!.sent === 10, "10 events sent, then silence");
    await new Promise((r) => setTimeout(r, 1500));
    const before = (await connections(INSTANCE)).length;
    expect((await statusOf()).state).toBe("connected"); // nothing but the alarm notices a silent socket

    expect(await runDurableObjectAlarm(relay())).toBe(true);
    await waitFor(() => expected.every((t) => tap.timeUs().has(t)), "every wanted event enqueued");
    const conns = await connections(INSTANCE);
    expect(conns.length).toBe(before + 1);
    expect(missingBelowCursor(expected, tap.timeUs(), conns.at(-1)!.cursor)).toEqual([]);
    expect((await statusOf()).lastError).toMatch(/no frame for more than 1 s/);
  });

  it("persists the cursor on every alarm, and after an eviction the alarm alone reconnects from it, losing nothing", async () => {
    tap.delayMs = 100;
    const startUs = Date.now() * 1000;
    await control(INSTANCE, "flood", { count: 2000, startUs, stepUs: 10 });
    const { events } = await serverLog(INSTANCE);
    const expected = expectedForwarded(events, COLLECTIONS).filter((t) => t >= startUs);
    await waitFor(() => tap.events().filter((e) => e.timeUs >= startUs).length > 200, "some of the flood enqueued");
    await runDurableObjectAlarm(relay());
    const persisted = await saved();
    expect(persisted.cursor).not.toBeNull();
    expect(missingBelowCursor(expected, tap.timeUs(), persisted.cursor)).toEqual([]);

    const connectionsBefore = (await connections(INSTANCE)).length;
    await abortAllDurableObjects();
    await waitFor(async () => (await connections(INSTANCE)).every((c) => !c.open), "the evicted object's socket is gone");
    tap.delayMs = 0;

    // No RPC: only the alarm runs (it constructs the object, which loads its state and reconnects).
    expect(await runDurableObjectAlarm(relay())).toBe(true);
    await waitFor(async () => (await connections(INSTANCE)).length > connectionsBefore, "reconnected after eviction");
    const resumed = (await connections(INSTANCE))[connectionsBefore];
    expect(resumed.cursor).not.toBeNull();
    expect(resumed.cursor!).toBeLessThanOrEqual(persisted.cursor!);
    await waitFor(() => expected.every((t) => tap.timeUs().has(t)), "every wanted event of the flood enqueued", 30_000);
  });
});

describe("restart", () => {
  it("resumes from the oldest event the webhook has not acknowledged, but never beyond the maximum rewind", async () => {
    // The webhook refuses everything: delivered events stay unacknowledged in the ledger.
    await webhook("rules", { path: HOOK, action: "respond", status: 503 });
    const first = await appendFixtures(Date.now() * 1000);
    await waitFor(() => first.every((t) => tap.timeUs().has(t)), "first events enqueued");
    await waitFor(async () => (await relay().getStats()).delivery.lastError !== null, "delivery failing", 30_000);
    const second = await appendFixtures(Date.now() * 1000 + 2_000_000);
    await waitFor(() => second.every((t) => tap.timeUs().has(t)), "second events enqueued");
    await runDurableObjectAlarm(relay());
    const persisted = await saved();
    expect(persisted.oldestUnacked).not.toBeNull();
    expect(persisted.oldestUnacked!).toBeLessThanOrEqual(Math.min(...first));
    expect(persisted.cursor!).toBeGreaterThanOrEqual(Math.max(...second));

    let count = (await connections(INSTANCE)).length;
    await abortAllDurableObjects();
    await runDurableObjectAlarm(relay());
    await waitFor(async () => (await connections(INSTANCE)).length > count, "reconnected");
    expect((await connections(INSTANCE))[count].cursor).toBe(persisted.oldestUnacked);

    // With a maximum rewind of 0.5 s the relay resumes only half a second behind its cursor.
    (env as Record<string, unknown>).JETSTREAM_MAX_REWIND_SECONDS = "0.5";
    await waitFor(() => tap.events().filter((e) => e.timeUs === Math.max(...second)).length >= 2, "the replay enqueued again");
    await runDurableObjectAlarm(relay());
    const again = await saved();
    expect(again.oldestUnacked!).toBeLessThan(again.cursor! - 500_000);
    count = (await connections(INSTANCE)).length;
    await abortAllDurableObjects();
    await runDurableObjectAlarm(relay());
    await waitFor(async () => (await connections(INSTANCE)).length > count, "reconnected");
    expect((await connections(INSTANCE))[count].cursor).toBe(again.cursor! - 500_000);
    await webhook("reset", { path: HOOK });
  });

  it("keeps working in memory when storage writes fail, and says so", async () => {
    await waitFor(async () => (await statusOf()).state === "connected", "connected");
    // Storage failures cannot be produced for real here: the object's put() is made to throw.
    await runInDurableObject(relay(), (_instance, state) => {
      Object.defineProperty(state.storage, "put", { configurable: true, value: async () => { throw new Error("disk full (injected)"); } });
    });
    await runDurableObjectAlarm(relay());
    const stats = await relay().getStats();
    expect(stats.storage).toEqual({ ok: false, lastError: expect.stringContaining("disk full (injected)") });
    expect((await relay().getHealth()).reasons.map((r) => r.code)).toContain("storage");
    const expected = await appendFixtures(Date.now() * 1000 + 30_000_000);
    await waitFor(() => expected.every((t) => tap.timeUs().has(t)), "still forwarding");
    await runInDurableObject(relay(), (_instance, state) => {
      delete (state.storage as unknown as Record<string, unknown>).put;
    });
    await runDurableObjectAlarm(relay());
    expect((await relay().getStats()).storage).toEqual({ ok: true, lastError: null });
  });

  it("does not connect (nor overwrite its cursor) while its saved state cannot be read, and recovers on the next alarm", async () => {
    await waitFor(async () => (await statusOf()).state === "connected", "connected");
    await runDurableObjectAlarm(relay());
    const before = await saved();
    // A failing read at start cannot be produced for real here: get() is made to throw and the object's
    // start-up load is run again (an internal method, reached through runInDurableObject).
    await runInDurableObject(relay(), async (instance, state) => {
      Object.defineProperty(state.storage, "get", { configurable: true, value: async () => { throw new Error("unreadable (injected)"); } });
      const internals = instance as unknown as { loaded: boolean; load(): Promise<void> };
      internals.loaded = false;
      await internals.load();
    });
    const count = (await connections(INSTANCE)).length;
    await control(INSTANCE, "misbehave", { action: "drop" });
    await new Promise((r) => setTimeout(r, 1000));
    await runDurableObjectAlarm(relay()); // storage still unreadable: nothing happens
    expect((await connections(INSTANCE)).length).toBe(count);
    const status = await statusOf();
    expect(status.state).not.toBe("connected");
    expect(status.lastError).toMatch(/could not read the saved cursor/);
    expect((await relay().getHealth()).reasons.map((r) => r.code)).toContain("storage");

    await runInDurableObject(relay(), (_instance, state) => {
      delete (state.storage as unknown as Record<string, unknown>).get;
    });
    expect(await saved()).toEqual(before); // the alarms of the failing period wrote nothing
    await runDurableObjectAlarm(relay()); // reads the state, then reconnects from the saved cursor
    await waitFor(async () => (await connections(INSTANCE)).length > count, "reconnected");
    // The resume point rule (this file's maximum rewind is 0.5 s since the restart test).
    const { cursor, oldestUnacked } = before;
    const resume = oldestUnacked === null || oldestUnacked >= cursor! ? cursor : Math.max(oldestUnacked, cursor! - 500_000);
    expect((await connections(INSTANCE))[count].cursor).toBe(resume);
  });
});
