/**
 * The relay on Jetstream v2, inside workerd against our test server's v2 endpoint
 * (`/NAME/xrpc/network.bsky.jetstream.subscribeEvents`, see jetstream-test-server.ts): the request's
 * filters and subprotocol, payloads forwarded as cut from their frames, resume by seq after a restart,
 * failover between instances with their own seq spaces and clocks, exact gaps (CursorTooOld before the
 * upgrade, #info OutdatedCursor as the first frame) of seconds and of hours, ConsumerTooSlow.
 * Each test starts a fresh relay object (storage and alarm deleted, then evicted) on its own server
 * instances; the alarm period is 60 s so that only runDurableObjectAlarm() runs it. Events are built with
 * commitEvent and told apart by rkey (two instances stamp the same event with their own time and seq).
 * Isolation and configuration: see ingest-support.ts (instances "v2…", webhook path /hook-v2).
 */
import { env } from "cloudflare:workers";
import { abortAllDurableObjects, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, inject, it } from "vitest";
import type { RelayStats } from "../../worker/contract.ts";
import { commitEvent, configure, control, jetstreamWs, rkeyOf, statusOf, tapQueue, waitFor, type QueueTap } from "./ingest-support.ts";

const V2_PATH = "xrpc/network.bsky.jetstream.subscribeEvents";
const relay = () => env.RELAY.getByName("relay");
const v2Url = (instance: string) => `${jetstreamWs()}/${instance}/${V2_PATH}`;
let tap: QueueTap;

interface V2Connection {
  id: number;
  wire: string;
  cursor: number | null;
  startSeq: number | null;
  kinds: string[];
  collections: string[];
  dids: string[];
  subprotocol: string | null;
  open: boolean;
  refused: number | null;
  sent: number;
  error?: string | null;
}
const connections = (instance: string) => control<V2Connection[]>(instance, "connections");

/** `count` events 1 ms apart from `startUs`, keyed `tag-i`, as each instance would stamp them (plus its clock offset). */
function events(tag: string, count: number, startUs: number, offsetUs = 0): { keys: string[]; texts: string[] } {
  const keys = Array.from({ length: count }, (_, i) => `${tag}-${i}`);
  return { keys, texts: keys.map((rkey, i) => commitEvent({ did: "did:plc:vtwovtwovtwovtwo0001", timeUs: startUs + i * 1000 + offsetUs, collection: "app.bsky.feed.post", rkey })) };
}

const enqueued = () => tap.events().map((e) => rkeyOf(e.raw ?? ""));
const missing = (keys: string[]) => {
  const have = new Set(enqueued());
  return keys.filter((k) => !have.has(k));
};
const allEnqueued = (keys: string[], what: string) => waitFor(() => missing(keys).length === 0, what, 20_000);

/** Forgets the previous test's relay and starts one on the given v2 endpoints. */
async function freshRelay(instances: string[], overrides: Record<string, string> = {}, seqStarts: number[] = []): Promise<void> {
  for (const [i, name] of instances.entries()) {
    await control(name, "reset", {});
    if (seqStarts[i] !== undefined) await control(name, "seq", { start: seqStarts[i] });
  }
  configure(instances[0], {
    // What an earlier test of this file set, unset again (an empty value is an unset one).
    JETSTREAM_DIDS: "",
    JETSTREAM_KINDS: "",
    JETSTREAM_FAILOVER_AFTER: "",
    JETSTREAM_REPLAY_IDLE_SECONDS: "",
    JETSTREAM_URL: instances.map(v2Url).join(","),
    JETSTREAM_ALARM_SECONDS: "60",
    WEBHOOK_URL: `${inject("webhookBase")}/hook-v2`,
    ...overrides,
  });
  await runInDurableObject(relay(), async (_instance, state) => {
    await state.storage.deleteAlarm();
    await state.storage.deleteAll();
  });
  await abortAllDurableObjects();
  tap = tapQueue();
  await waitFor(async () => (await statusOf()).state === "connected" && (await connections(instances[0])).some((c) => c.open), `a fresh relay connected to ${instances[0]}`);
}

/** Evicts the relay (storage kept) and lets the alarm alone bring it back. */
async function restart(): Promise<void> {
  await abortAllDurableObjects();
  tap = tapQueue();
  expect(await runDurableObjectAlarm(relay())).toBe(true);
}

describe("Jetstream v2", () => {
  it("subscribes with kinds, collections and the subprotocol, and forwards each payload as cut from its frame", async () => {
    await freshRelay(["v2f"], { JETSTREAM_KINDS: "commit,account" });
    const [conn] = await connections("v2f");
    expect(conn).toMatchObject({ wire: "v2", kinds: ["commit", "account"], collections: ["app.bsky.feed.post", "app.bsky.feed.like", "app.bsky.graph.*"], dids: [], subprotocol: "xrpc.v1.json" });
    expect(conn.cursor).toBeNull();
    const batch = events("f", 50, Date.now() * 1000);
    await control("v2f", "append", { events: batch.texts });
    await allEnqueued(batch.keys, "every event enqueued");
    for (const e of tap.events()) {
      expect(e.raw).toMatch(/^\{"\$type":"network\.bsky\.jetstream\.subscribeEvents#commit","cid":"bafytest","collection":"app\.bsky\.feed\.post","did":"did:plc:vtwovtwovtwovtwo0001",/);
      expect(e.raw).toMatch(/,"seq":\d+,"time":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z"\}$/);
      expect(e.did).toBe("did:plc:vtwovtwovtwovtwo0001");
    }
    const status = await statusOf();
    expect(status.wire).toBe("v2");
    expect(status.position).toMatchObject({ wire: "v2", seq: 50, endpoint: expect.stringContaining("/v2f/xrpc/") });
  });

  it("resumes by seq on the same instance after a restart, losing nothing and sending nothing twice", async () => {
    await freshRelay(["v2r"], {}, [500]);
    const first = events("r1", 40, Date.now() * 1000);
    await control("v2r", "append", { events: first.texts });
    await allEnqueued(first.keys, "the first events enqueued");
    await waitFor(async () => ((await relay().getStats()).delivery.unackedMessages === 0 ? true : null), "delivered");
    await runDurableObjectAlarm(relay()); // saves the position
    const saved = (await relay().getStats()).position!;
    expect(saved).toMatchObject({ seq: 539, wire: "v2" });
    const count = (await connections("v2r")).length;
    await abortAllDurableObjects();
    const during = events("r2", 30, Date.now() * 1000 + 1_000_000);
    await control("v2r", "append", { events: during.texts });
    await restart();
    await waitFor(async () => (await connections("v2r")).length > count, "reconnected");
    expect((await connections("v2r"))[count].cursor).toBe(539);
    await allEnqueued(during.keys, "the events published while down enqueued");
    // The resume is inclusive: the event at the saved seq is the only one the restarted relay reads again.
    expect(enqueued().filter((k) => k?.startsWith("r1-"))).toEqual(["r1-39"]);
  });

  it("fails over between instances with their own seq spaces and clocks, losing nothing", async () => {
    // b's clock runs 3 s behind a's, its seqs start at 1,000,000.
    await freshRelay(["v2a", "v2b"], { JETSTREAM_FAILOVER_AFTER: "1" }, [1, 1_000_000]);
    const startUs = Date.now() * 1000;
    const before = events("x1", 30, startUs);
    await control("v2a", "append", { events: before.texts });
    await control("v2b", "append", { events: events("x1", 30, startUs, -3_000_000).texts });
    await allEnqueued(before.keys, "the first events from a");
    await control("v2a", "misbehave", { action: "refuse", status: 503, count: 100 });
    const after = events("x2", 30, startUs + 100_000);
    await control("v2a", "misbehave", { action: "drop" });
    await control("v2b", "append", { events: after.texts.map((t) => t.replace(/"time_us":(\d+)/, (_m, us) => `"time_us":${Number(us) - 3_000_000}`)) });
    await waitFor(async () => (await connections("v2b")).some((c) => c.open), "failed over to b");
    const onB = (await connections("v2b")).find((c) => c.open)!;
    // A seq from a means nothing on b: b is asked for a time, rewound by JETSTREAM_FAILOVER_REWIND_SECONDS.
    expect(onB.cursor).toBeGreaterThan(1e15);
    expect(onB.cursor).toBeLessThanOrEqual(startUs + 29_000 - 10_000_000);
    await allEnqueued(after.keys, "every event of b after the switch");
    await waitFor(async () => ((await statusOf()).position?.seq ?? 0) >= 1_000_000, "the position on b's seqs");

    // A restart resumes on b by its own seq.
    await waitFor(async () => ((await relay().getStats()).delivery.unackedMessages === 0 ? true : null), "delivered");
    await runDurableObjectAlarm(relay());
    const count = (await connections("v2b")).length;
    const later = events("x3", 20, startUs + 200_000, -3_000_000);
    await control("v2b", "append", { events: later.texts });
    await restart();
    await waitFor(async () => (await connections("v2b")).length > count, "back on b");
    expect((await connections("v2b"))[count].cursor).toBe(1_000_059);
    await allEnqueued(later.keys, "the later events");
  });

  it.each([
    ["seconds", 20],
    ["hours", 4 * 3600],
  ])("records an exact gap of %s when the server no longer has the saved seq (CursorTooOld), and resumes from its floor", async (_label, spanSeconds) => {
    const instance = `v2g${spanSeconds}`;
    await freshRelay([instance]);
    const nowUs = Date.now() * 1000;
    const old = events("g1", 10, nowUs - spanSeconds * 1e6 - 60_000_000);
    await control(instance, "append", { events: old.texts });
    await allEnqueued(old.keys, "the old events enqueued");
    await waitFor(async () => ((await relay().getStats()).delivery.unackedMessages === 0 ? true : null), "delivered");
    await runDurableObjectAlarm(relay());
    await abortAllDurableObjects();
    // While the relay is down: more events, then the server forgets everything older than `spanSeconds`.
    const lost = events("g2", 10, nowUs - spanSeconds * 1e6 - 30_000_000);
    const kept = events("g3", 10, nowUs - 5_000_000);
    await control(instance, "append", { events: [...lost.texts, ...kept.texts] });
    await control(instance, "retention", { seconds: spanSeconds });
    await restart();
    await allEnqueued(kept.keys, "what the server still has");
    const conns = await connections(instance);
    expect(conns.some((c) => c.refused === 400 && c.error === "CursorTooOld")).toBe(true);
    const stats: RelayStats = await relay().getStats();
    const gap = stats.gaps.at(-1)!;
    expect(gap).toMatchObject({ exact: true, fromSeq: 10, toSeq: 21, endpoint: expect.stringContaining(`/${instance}/xrpc/`), acknowledged: false });
    expect(gap.reason).toMatch(/^CursorTooOld: /);
    expect(gap.toUs - gap.fromUs).toBeGreaterThan((spanSeconds + 25) * 1e6);
    expect(missing(lost.keys)).toEqual(lost.keys); // gone at the server: reported, not invented
    expect((await relay().getHealth()).reasons.map((r) => r.code)).toContain("gap");
  });

  it("reconnects at once from its seq after ConsumerTooSlow, counts it, and loses nothing", async () => {
    await freshRelay(["v2s"]);
    // The next two connections are closed as too slow after 15 events each.
    await control("v2s", "misbehave", { action: "too-slow-after", events: 15, count: 2 });
    await relay().reconnect();
    await waitFor(async () => (await connections("v2s")).filter((c) => c.open).length === 1 && (await connections("v2s")).length === 2, "reconnected");
    const batch = events("s", 60, Date.now() * 1000);
    await control("v2s", "append", { events: batch.texts });
    await allEnqueued(batch.keys, "every event despite two ConsumerTooSlow");
    const status = await statusOf();
    expect(status.consumerTooSlow).toBe(2);
    expect(status.lastError).toMatch(/ConsumerTooSlow/);
    const conns = await connections("v2s");
    expect(conns.length).toBe(4);
    // A seq cursor at or before the last event handled (before what still waited for the queue).
    expect(conns[2].cursor).toBeGreaterThanOrEqual(1);
    expect(conns[2].cursor).toBeLessThanOrEqual(15);
    // Nothing was forwarded twice: the resume at the last seq handled sends that one event again, and it is recognised.
    expect(enqueued().length).toBe(60);
  });

  it("shows a refusal (429) with the server's words and fails over to the same host's legacy wire, losing nothing", async () => {
    await freshRelay(["v2w"], { JETSTREAM_URL: `${v2Url("v2w")},${jetstreamWs()}/v2w/subscribe`, JETSTREAM_FAILOVER_AFTER: "2" });
    const first = events("w1", 20, Date.now() * 1000);
    await control("v2w", "append", { events: first.texts });
    await allEnqueued(first.keys, "the first events, on v2");
    await control("v2w", "misbehave", { action: "refuse", status: 429, count: 100, wire: "v2" });
    await control("v2w", "misbehave", { action: "drop" });
    const second = events("w2", 20, Date.now() * 1000 + 1_000_000);
    await control("v2w", "append", { events: second.texts });
    await waitFor(async () => (await statusOf()).wire === "legacy" && (await statusOf()).state === "connected", "on the legacy wire");
    await allEnqueued(second.keys, "the events published across the switch");
    const status = await statusOf();
    expect(status.lastError).toMatch(/server said 429: .*RateLimitExceeded/);
    expect((await connections("v2w")).some((c) => c.wire === "v2" && c.refused === 429)).toBe(true);
  });

  it("reports a replay that starts below the server's floor as an exact gap (#info OutdatedCursor)", async () => {
    await freshRelay(["v2o"], { JETSTREAM_REPLAY_IDLE_SECONDS: "1" });
    const nowUs = Date.now() * 1000;
    const gone = events("o1", 10, nowUs - 50_000_000);
    const kept = events("o2", 10, nowUs - 10_000_000);
    await control("v2o", "append", { events: [...gone.texts, ...kept.texts] });
    await allEnqueued([...gone.keys, ...kept.keys], "live");
    await control("v2o", "retention", { seconds: 20 });
    const started = await relay().startReplay({ fromUs: nowUs - 55_000_000 });
    expect(started.state).toBe("running");
    const done = await waitFor(async () => {
      await runDurableObjectAlarm(relay());
      const r = await relay().getReplay();
      return r?.state === "done" ? r : null;
    }, "the replay done", 30_000);
    expect(done.gap).toMatchObject({ exact: true, fromUs: nowUs - 55_000_000, toSeq: 11, reason: expect.stringMatching(/^OutdatedCursor: requested timestamp cursor below retention floor; starting at seq 11/) });
    expect(done.gap!.toUs).toBe(nowUs - 10_000_000);
    expect((await relay().getStats()).gaps.at(-1)).toEqual(done.gap);
    expect(done.eventsReplayed).toBe(10);
  });

  it("keeps its position when an event's display time was rewritten earlier (the seq moves on, the time never back)", async () => {
    await freshRelay(["v2t"]);
    const startUs = Date.now() * 1000;
    const batch = events("t", 3, startUs);
    // The third event's `time` was rewritten by an operator's import: an hour earlier than the second's.
    batch.texts[2] = batch.texts[2].replace(/"time_us":(\d+)/, `"time_us":${startUs - 3_600_000_000}`);
    await control("v2t", "append", { events: batch.texts });
    await allEnqueued(batch.keys, "all three");
    await waitFor(async () => ((await statusOf()).position?.seq === 3 ? true : null), "the position at seq 3");
    expect((await statusOf()).position!.timeUs).toBe(startUs + 1000);
  });

  it("filters DIDs itself when they do not fit a v2 URL, and says so in /status", async () => {
    const dids = Array.from({ length: 1200 }, (_, i) => `did:plc:${String(i).padStart(24, "d")}`);
    await freshRelay(["v2d"], { JETSTREAM_DIDS: dids.join(",") });
    const [conn] = await connections("v2d");
    expect(conn.dids).toEqual([]);
    const status = await statusOf();
    expect(status.configWarnings).toContainEqual(expect.objectContaining({ variable: "JETSTREAM_DIDS", message: expect.stringContaining("1200 DIDs do not fit a v2 request's URL") }));
    const listed = commitEvent({ did: dids[7], timeUs: Date.now() * 1000, collection: "app.bsky.feed.post", rkey: "listed" });
    const other = commitEvent({ did: "did:plc:notlistednotlistednotlist", timeUs: Date.now() * 1000 + 1, collection: "app.bsky.feed.post", rkey: "other" });
    const after = commitEvent({ did: dids[8], timeUs: Date.now() * 1000 + 2, collection: "app.bsky.feed.post", rkey: "after" });
    await control("v2d", "append", { events: [listed, other, after] });
    await allEnqueued(["listed", "after"], "the listed DIDs' events");
    expect(enqueued()).not.toContain("other");
  });

  it.each(["v2", "legacy"])("loses nothing when a fresh relay restarts before its first event (%s wire)", async (wire) => {
    const instance = `v2e${wire}`;
    await freshRelay([instance], wire === "legacy" ? { JETSTREAM_URL: `${jetstreamWs()}/${instance}/subscribe` } : {});
    // Saved at once when the first connection opened: no event, no alarm.
    await waitFor(async () => ((await runInDurableObject(relay(), (_i, state) => state.storage.get<{ estimated?: boolean }>("position")))?.estimated ? true : null), "a saved position");
    await abortAllDurableObjects();
    const missed = events(`e${wire}`, 20, Date.now() * 1000 + 100_000);
    await control(instance, "append", { events: missed.texts });
    await restart();
    await allEnqueued(missed.keys, "the events published while the relay was down");
    // Measured from no event, a quiet start is no gap.
    expect((await relay().getStats()).gapsDetected).toBe(0);
  });

  it.each(["v2", "legacy"])("loses nothing when a fresh relay restarts before its first alarm, its events stamped before the time it opened at (%s wire)", async (wire) => {
    const instance = `v2k${wire}`;
    await freshRelay([instance], wire === "legacy" ? { JETSTREAM_URL: `${jetstreamWs()}/${instance}/subscribe` } : {});
    await waitFor(async () => ((await runInDurableObject(relay(), (_i, state) => state.storage.get<{ estimated?: boolean }>("position")))?.estimated ? true : null), "the estimate saved");
    // A server whose events carry times from before the relay's estimate (a lagging clock, rewritten
    // display times): a time cursor at the estimate would skip them.
    const early = events(`k${wire}`, 30, Date.now() * 1000 - 120_000_000);
    await control(instance, "append", { events: early.texts });
    await allEnqueued(early.keys, "the first events enqueued");
    // The first event replaced the estimate: saved at once, before any alarm.
    await waitFor(async () => {
      const saved = await runInDurableObject(relay(), (_i, state) => state.storage.get<{ estimated?: boolean; timeUs: number }>("position"));
      return saved && !saved.estimated ? saved : null;
    }, "the first event's position saved");
    await abortAllDurableObjects();
    await restart();
    await waitFor(async () => (await connections(instance)).filter((c) => c.open).length === 1 && (await connections(instance)).length === 2, "reconnected");
    // The resume starts at the first event (its seq on v2, its time on the legacy wire): all of them come again.
    await allEnqueued(early.keys, "every early event read again after the restart");
  });
});

