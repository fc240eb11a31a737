/**
 * Time travel, end to end inside workerd: the relay object, its real local queue and consumer, our
 * Jetstream test server (instance "rewind") and the webhook receiver (path /rewind-hook).
 * After events were delivered (and, say, mishandled by the receiver although it answered 200), a replay
 * of a window re-delivers exactly that window, with the same webhook-ids, while live events keep flowing;
 * a collection-bounded replay re-delivers only those collections; refused requests say why; a window
 * older than the server still keeps is reported as a gap.
 */
import { env } from "cloudflare:workers";
import { abortAllDurableObjects, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { inject } from "vitest";
import { beforeAll, describe, expect, it } from "vitest";
import type { RelayStats, ReplayProgress } from "../../worker/contract.ts";
import { admin, body } from "./http-support.ts";
import { COLLECTIONS, configure, connections, control, expectedForwarded, statusOf, waitFor } from "./ingest-support.ts";

const INSTANCE = "rewind";
const HOOK = "/rewind-hook";
const relay = () => env.RELAY.getByName("relay");
const iso = (us: number) => new Date(us / 1000).toISOString();

interface Delivery {
  timeUs: number;
  id: string;
  collection: string | null;
}

async function deliveries(): Promise<Delivery[]> {
  const res = await fetch(`${inject("webhookBase")}/_control/requests?path=${HOOK}`);
  const { requests } = (await res.json()) as { requests: { headers: Record<string, string>; body: string; answer: number | string }[] };
  return requests.map((r) => {
    const event = JSON.parse(r.body) as { time_us: number; commit?: { collection: string } };
    return { timeUs: event.time_us, id: r.headers["webhook-id"], collection: event.commit?.collection ?? null };
  });
}

function countByTime(list: Delivery[]): Map<number, number> {
  const counts = new Map<number, number>();
  for (const d of list) counts.set(d.timeUs, (counts.get(d.timeUs) ?? 0) + 1);
  return counts;
}

let templates: string[] = [];
let salt = 0;

/** Distinct events (own rkey/rev, hence own webhook-id) made from the real captured ones, `stepUs` apart. */
function distinctEvents(startUs: number, stepUs = 1000): string[] {
  salt++;
  return templates.map((raw, i) => {
    const event = JSON.parse(raw) as Record<string, any>;
    event.time_us = startUs + i * stepUs;
    if (event.commit) event.commit = { ...event.commit, rkey: `3lrw${salt}x${i}`, rev: `3lrw${salt}x${i}` };
    return JSON.stringify(event);
  });
}

async function append(events: string[]): Promise<number[]> {
  await control(INSTANCE, "append", { events });
  return expectedForwarded(events, COLLECTIONS);
}

async function startReplay(request: Record<string, unknown>): Promise<{ status: number; json: Record<string, any> }> {
  const res = await admin("/replay", { body: request });
  return { status: res.status, json: await body<Record<string, any>>(res) };
}

async function replayNow(): Promise<ReplayProgress | null> {
  return (await body<{ replay: ReplayProgress | null }>(await admin("/replay"))).replay;
}

let firstStartUs = 0;
let firstExpected: number[] = [];
let firstIds = new Map<number, string>();

beforeAll(async () => {
  await control("rewind-templates", "load", { fixtures: true });
  templates = (await control<{ events: string[] }>("rewind-templates", "log?full=1")).events;
  await control(INSTANCE, "reset", {});
  await fetch(`${inject("webhookBase")}/_control/reset`, { method: "POST", body: JSON.stringify({ path: HOOK }) });
  configure(INSTANCE, { WEBHOOK_URL: `${inject("webhookBase")}${HOOK}`, JETSTREAM_REPLAY_IDLE_SECONDS: "1", JETSTREAM_GAP_THRESHOLD_SECONDS: "10" });
  await waitFor(async () => (await statusOf()).state === "connected", "connected");

  // The first delivery: every wanted event once, answered 200 by the receiver.
  firstStartUs = Date.now() * 1000 - 120_000_000;
  firstExpected = await append(distinctEvents(firstStartUs));
  expect(firstExpected.length).toBeGreaterThan(100);
  await waitFor(async () => {
    const counts = countByTime(await deliveries());
    return firstExpected.every((t) => counts.get(t) === 1);
  }, "the first delivery of every event", 30_000);
  firstIds = new Map((await deliveries()).map((d) => [d.timeUs, d.id]));
});

describe("rewind and replay", () => {
  it("re-delivers exactly the window with the same webhook-ids, resumes after a dropped connection, while live events keep flowing", async () => {
    const fromUs = firstStartUs + 100_000;
    const toUs = firstStartUs + 400_000;
    const window = firstExpected.filter((t) => t >= fromUs && t < toUs);
    expect(window.length).toBeGreaterThan(30);
    const liveCursorBefore = (await statusOf()).cursor!;

    // The replay's connection (the next one the server sees) stalls after 20 events, so the replay is
    // still running while live events arrive (long enough: its silence is not looked at for a minute).
    (env as Record<string, unknown>).JETSTREAM_REPLAY_IDLE_SECONDS = "60";
    await control(INSTANCE, "misbehave", { action: "stall-after", events: 20, count: 1 });
    const started = await startReplay({ from: iso(fromUs), to: iso(toUs) });
    expect(started.status).toBe(202);
    const replay = started.json.replay as ReplayProgress;
    expect(replay).toMatchObject({ state: "running", fromUs, toUs, from: iso(fromUs), to: iso(toUs), collections: COLLECTIONS, eventsReplayed: 0 });
    const replayConnection = await waitFor(async () => (await connections(INSTANCE)).find((c) => c.cursor === fromUs), "the replay's own connection");
    expect(replayConnection.wantedCollections).toEqual(COLLECTIONS);

    await waitFor(async () => ((await replayNow())?.positionUs ?? 0) > fromUs, "the replay under way");
    const live = await append(distinctEvents(Date.now() * 1000 - 1_000_000));
    await waitFor(async () => {
      const counts = countByTime(await deliveries());
      return live.every((t) => counts.get(t) === 1);
    }, "the live events delivered during the replay", 30_000);
    const during = (await replayNow())!;
    expect(during.state).toBe("running");
    expect(during.progress).toBeGreaterThan(0);
    expect(during.progress).toBeLessThan(1);
    const stats = await body<RelayStats>(await admin("/stats"));
    expect(stats.replay?.id).toBe(replay.id);
    // The live cursor moved on; the replay never moved it back.
    expect(stats.cursor!).toBeGreaterThanOrEqual(Math.max(...live));
    expect(stats.cursor!).toBeGreaterThan(liveCursorBefore);

    // The replay's connection drops; it resumes from its own position, without repeating anything.
    (env as Record<string, unknown>).JETSTREAM_REPLAY_IDLE_SECONDS = "1";
    await control(INSTANCE, "misbehave", { action: "drop" });
    const done = await waitFor(async () => {
      const r = await replayNow();
      return r?.state === "done" ? r : null;
    }, "the replay done", 30_000);
    expect(done).toMatchObject({ id: replay.id, progress: 1, eventsReplayed: window.length, error: null });
    expect(done.gap ?? null).toBeNull();
    const resumed = (await connections(INSTANCE)).filter((c) => c.cursor !== null && c.cursor > fromUs && c.cursor < toUs);
    expect(resumed.length).toBeGreaterThanOrEqual(1);

    const inWindow = new Set(window);
    await waitFor(async () => {
      const counts = countByTime(await deliveries());
      return window.every((t) => counts.get(t) === 2);
    }, "the window delivered a second time", 30_000);
    await new Promise((r) => setTimeout(r, 1500)); // anything extra would have arrived by now
    const all = await deliveries();
    const counts = countByTime(all);
    for (const t of firstExpected) expect(counts.get(t), `event ${t}`).toBe(inWindow.has(t) ? 2 : 1);
    for (const d of all.filter((d) => inWindow.has(d.timeUs))) expect(d.id).toBe(firstIds.get(d.timeUs));
    expect(all.filter((d) => d.timeUs >= firstStartUs && d.timeUs < firstStartUs + 60_000_000).length).toBe(firstExpected.length + window.length);
  });

  it("replays only the requested collections", async () => {
    const before = await deliveries();
    const fromUs = firstStartUs;
    const toUs = firstStartUs + 2_000_000;
    const started = await startReplay({ from: iso(fromUs), to: iso(toUs), collections: ["app.bsky.feed.like"] });
    expect(started.status).toBe(202);
    expect(started.json.replay.collections).toEqual(["app.bsky.feed.like"]);
    const likes = (await deliveries()).filter((d) => firstExpected.includes(d.timeUs) && d.collection === "app.bsky.feed.like").map((d) => d.timeUs);
    const expectedLikes = [...new Set(likes)].filter((t) => t >= fromUs && t < toUs);
    expect(expectedLikes.length).toBeGreaterThan(10);
    const done = await waitFor(async () => {
      const r = await replayNow();
      return r?.state === "done" ? r : null;
    }, "the replay done", 30_000);
    expect(done.eventsReplayed).toBe(expectedLikes.length);
    await waitFor(async () => (await deliveries()).length >= before.length + expectedLikes.length, "the likes delivered again", 30_000);
    await new Promise((r) => setTimeout(r, 1500));
    const added = (await deliveries()).slice(before.length);
    expect(added.map((d) => d.timeUs).sort()).toEqual([...expectedLikes].sort());
    expect(added.every((d) => d.collection === "app.bsky.feed.like")).toBe(true);
  });

  it("survives a restart of the relay object: resumes from its saved position and completes the window", async () => {
    const fromUs = firstExpected[Math.floor(firstExpected.length / 2)];
    const toUs = firstExpected.at(-1)! + 1000; // ISO times in the request have millisecond precision
    const window = firstExpected.filter((t) => t >= fromUs && t < toUs);
    expect(window.length).toBeGreaterThan(40);
    const before = countByTime(await deliveries());
    (env as Record<string, unknown>).JETSTREAM_REPLAY_IDLE_SECONDS = "60";
    await control(INSTANCE, "misbehave", { action: "stall-after", events: 20, count: 1 });
    const started = await startReplay({ from: iso(fromUs), to: iso(toUs) });
    expect(started.status).toBe(202);
    // Wait until an alarm saved a position past the start, then kill every object (storage is kept).
    await waitFor(async () => {
      await runDurableObjectAlarm(relay());
      return runInDurableObject(relay(), async (_instance, state) => ((await state.storage.get<{ enqueuedUs: number | null }>("replay"))?.enqueuedUs ?? 0) > fromUs);
    }, "a saved replay position");
    await abortAllDurableObjects();
    (env as Record<string, unknown>).JETSTREAM_REPLAY_IDLE_SECONDS = "1";
    const done = await waitFor(async () => {
      await runDurableObjectAlarm(relay());
      const r = await relay().getReplay();
      return r?.state === "done" ? r : null;
    }, "the replay done after the restart", 30_000);
    expect(done.id).toBe(started.json.replay.id);
    const resumedAt = (await connections(INSTANCE)).map((c) => c.cursor).filter((c): c is number => c !== null && c > fromUs && c < toUs);
    expect(resumedAt.length).toBeGreaterThanOrEqual(1);
    await waitFor(async () => {
      const counts = countByTime(await deliveries());
      return window.every((t) => (counts.get(t) ?? 0) > (before.get(t) ?? 0));
    }, "the whole window delivered again", 30_000);
    const after = countByTime(await deliveries());
    // Events enqueued after the last save may come twice (at least once, never skipped); nothing outside the window.
    for (const t of window) expect((after.get(t) ?? 0) - (before.get(t) ?? 0)).toBeLessThanOrEqual(2);
    for (const t of firstExpected.filter((t) => t < fromUs || t >= toUs)) expect(after.get(t)).toBe(before.get(t));
  });

  it("refuses what it cannot do, with a clear message, and replays nothing then", async () => {
    const connectionsBefore = (await connections(INSTANCE)).length;
    const tooOld = await startReplay({ from: "25h" });
    expect(tooOld.status).toBe(409);
    expect(tooOld.json.code).toBe("refused");
    expect(tooOld.json.error).toMatch(/older than the Jetstream server keeps events \(24 h, JETSTREAM_RETENTION_HOURS\): the oldest time that can be replayed is \d{4}-/);

    const outside = await startReplay({ from: "1m", collections: ["app.bsky.actor.profile"] });
    expect(outside.status).toBe(409);
    expect(outside.json.error).toMatch(/app\.bsky\.actor\.profile is not among the relay's collections/);

    const future = await startReplay({ from: "1m", to: new Date(Date.now() + 3_600_000).toISOString() });
    expect(future.status).toBe(409);
    expect(future.json.error).toMatch(/"to" .* is in the future/);
    expect((await connections(INSTANCE)).length).toBe(connectionsBefore);

    // One at a time: a second request while one runs is refused; cancel stops the running one.
    await control(INSTANCE, "misbehave", { action: "stall-after", events: 1, count: 1 });
    const running = await startReplay({ from: iso(firstStartUs), to: iso(firstStartUs + 1_000_000) });
    expect(running.status).toBe(202);
    const second = await startReplay({ from: "1m" });
    expect(second.status).toBe(409);
    expect(second.json.error).toMatch(/a replay is already running \(replay-/);
    const cancelled = await body<{ replay: ReplayProgress }>(await admin("/replay/cancel", { method: "POST" }));
    expect(cancelled.replay).toMatchObject({ id: running.json.replay.id, state: "cancelled" });
    expect(cancelled.replay.finishedAt).not.toBeNull();
    expect((await replayNow())!.state).toBe("cancelled");
    const noToken = await admin("/replay", { body: { from: "1m" }, token: null });
    expect([401, 403]).toContain(noToken.status);
  });

  it("reports a window the server no longer keeps as a gap, in the replay and in the relay's gaps", async () => {
    // The server keeps only the last 20 s now; the replay asks for 50 s ago.
    await control(INSTANCE, "retention", { seconds: 20 });
    const recent = await append(distinctEvents(Date.now() * 1000 - 2_000_000));
    await waitFor(async () => {
      const counts = countByTime(await deliveries());
      return recent.every((t) => counts.get(t) === 1);
    }, "recent events delivered", 30_000);
    const gapsBefore = (await relay().getStats()).gapsDetected;
    const started = await startReplay({ from: "50s" });
    expect(started.status).toBe(202);
    const done = await waitFor(async () => {
      const r = await replayNow();
      return r?.state === "done" ? r : null;
    }, "the replay done", 30_000);
    expect(done.gap).toBeTruthy();
    expect(done.gap!.fromUs).toBe(done.fromUs);
    expect(done.gap!.toUs - done.gap!.fromUs).toBeGreaterThan(10_000_000);
    const stats = await relay().getStats();
    expect(stats.gapsDetected).toBe(gapsBefore + 1);
    expect(stats.gaps.at(-1)).toEqual(done.gap);
    // What the server still had was replayed.
    expect(done.eventsReplayed).toBeGreaterThanOrEqual(recent.length);
    await control(INSTANCE, "retention", { seconds: null });
  });
});
