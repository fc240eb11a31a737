/**
 * Ingestion, happy path and odd frames: the relay object connects by itself to our Jetstream test server,
 * forwards the wanted commit events of real captured events to the queue, skips the rest, survives
 * malformed frames, sends oversized events as blobs, puts many DIDs in an options_update, and never
 * lets its cursor get ahead of what the queue holds.
 * Isolation and configuration: see ingest-support.ts (this file's server instance: "fwd").
 */
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { inject } from "vitest";
import { QUEUE_LIMITS } from "../../worker/queue/packer.ts";
import { serializedBytes } from "../../worker/queue/message-size.ts";
import { beforeAll, describe, expect, it } from "vitest";
import { COLLECTIONS, configure, connections, control, expectedForwarded, missingBelowCursor, serverLog, statusOf, tapQueue, waitFor, type QueueTap } from "./ingest-support.ts";

const INSTANCE = "fwd";
let tap: QueueTap;

beforeAll(async () => {
  await control(INSTANCE, "reset", {});
  configure(INSTANCE);
  tap = tapQueue();
});

describe("forwarding", () => {
  it("connects by itself, live, with the configured filters", async () => {
    const relay = env.RELAY.getByName("relay");
    const status = await waitFor(async () => ((await relay.getStatus()).state === "connected" ? relay.getStatus() : null), "connected");
    expect(status.endpoint).toBe(`${inject("jetstreamBase")}/${INSTANCE}/subscribe`);
    const [conn] = await connections(INSTANCE);
    expect(conn.cursor).toBeNull();
    expect(conn.wantedCollections).toEqual(COLLECTIONS);
    expect(conn.wantedDids).toEqual([]);
  });

  it("forwards the wanted commits of every real fixture event and skips the rest", async () => {
    const before = await env.RELAY.getByName("relay").getStats();
    const sentBefore = (await connections(INSTANCE)).reduce((n, c) => n + c.sent, 0);
    const startUs = Date.now() * 1000 - 30_000_000;
    await control(INSTANCE, "append", { fixtures: true, startUs, stepUs: 1000 });
    const log = await serverLog(INSTANCE);
    const expected = expectedForwarded(log.events, COLLECTIONS);
    expect(expected.length).toBeGreaterThan(100);
    await waitFor(() => expected.every((t) => tap.timeUs().has(t)), "all wanted events enqueued");

    // Nothing unwanted went to the queue, and each event travels as the exact frame text.
    const byTime = new Map(log.events.map((raw) => [JSON.parse(raw).time_us as number, raw]));
    for (const e of tap.events()) {
      expect(expected).toContain(e.timeUs);
      expect(e.raw).toBe(byTime.get(e.timeUs));
      expect(e.did).toBe(JSON.parse(e.raw!).did);
      expect(e.attempts).toBe(0);
    }
    const stats = await waitFor(async () => {
      const s = await env.RELAY.getByName("relay").getStats();
      const sent = (await connections(INSTANCE)).reduce((n, c) => n + c.sent, 0);
      return s.totalReceived - before.totalReceived === sent - sentBefore ? s : null;
    }, "every frame received");
    expect(stats.forwarded - before.forwarded).toBe(expected.length);
    // The server filters by collection: what it sent beyond the forwarded ones are identity/account events.
    expect(stats.skipped - before.skipped).toBe(stats.totalReceived - before.totalReceived - expected.length);
    expect(stats.skipped - before.skipped).toBe(log.events.filter((e) => /"kind":"(identity|account)"/.test(e)).length);
    expect(stats.kindCounts.identity).toBeGreaterThan(0);
    expect(stats.kindCounts.account).toBeGreaterThan(0);
    expect(stats.eventCounts["app.bsky.feed.like"]).toBeGreaterThan(50);
    expect(stats.eventCounts["app.bsky.feed.repost"]).toBeUndefined();
    expect(stats.operationCounts["app.bsky.graph.follow"]).toMatchObject({ create: expect.any(Number), delete: expect.any(Number) });
    // Packed: many events per queue message, every message and batch within the limits.
    expect(tap.bodies.length).toBeLessThan(expected.length / 5);
    for (const body of tap.bodies) expect(serializedBytes(body)).toBeLessThanOrEqual(QUEUE_LIMITS.messageTargetBytes);
    expect([...tap.contentTypes]).toEqual(["v8"]);
    // The cursor reached the last event (all were durable or skipped).
    await waitFor(async () => (await statusOf()).cursor === log.newestUs, "cursor at the newest event");
  });

  it("counts and skips malformed frames and unknown kinds, ignores unknown fields, and stays connected", async () => {
    const before = await env.RELAY.getByName("relay").getStats();
    const t = Date.now() * 1000;
    const v2 = `{"did":"did:plc:v2cursor","time_us":${t + 3},"kind":"commit","cursor":12345,"commit":{"rev":"r","operation":"create","collection":"app.bsky.feed.post","rkey":"k","record":{"text":"v2"},"cid":"c"}}`;
    await control(INSTANCE, "append", {
      raw: [
        "this is not json",
        `{"kind":"commit","commit":{}}`,
        `[1,2,3]`,
        `{"did":"did:plc:x","time_us":${t + 1},"kind":"sync"}`,
        `{"did":"did:plc:x","time_us":${t + 2},"kind":"commit"}`,
        v2,
      ],
    });
    await waitFor(() => tap.timeUs().has(t + 3), "the v2 event with an unknown field enqueued");
    const stats = await env.RELAY.getByName("relay").getStats();
    expect(stats.malformed - before.malformed).toBe(4);
    expect(stats.kindCounts.unknown ?? 0).toBe((before.kindCounts.unknown ?? 0) + 1);
    expect(tap.events().find((e) => e.timeUs === t + 3)!.raw).toBe(v2);
    const status = await statusOf();
    expect(status.lastError).toBeNull();
    expect(status.state).toBe("connected");
    expect(status.reconnects).toBe(0);
    expect((await connections(INSTANCE)).length).toBe(1);
  });

  it("never lets the cursor (live or persisted) pass an event that is not yet in the queue", async () => {
    tap.delayMs = 150; // slow queue: many events wait while we look
    const startUs = Date.now() * 1000;
    await control(INSTANCE, "flood", { count: 3000, startUs, stepUs: 10 });
    const log = await serverLog(INSTANCE);
    const expected = expectedForwarded(log.events, COLLECTIONS).filter((t) => t >= startUs);
    const relay = env.RELAY.getByName("relay");
    let samples = 0;
    const violations: unknown[] = []; // collected here: waitFor retries on a thrown assertion
    await waitFor(
      async () => {
        const status = await relay.getStatus();
        const live = missingBelowCursor(expected, tap.timeUs(), status.cursor);
        const saved = await runInDurableObject(relay, (_instance, state) => state.storage.get<number>("cursor"));
        const persisted = missingBelowCursor(expected, tap.timeUs(), saved ?? null);
        if (live.length > 0 || persisted.length > 0) violations.push({ cursor: status.cursor, saved, live: live.length, persisted: persisted.length });
        samples++;
        const enqueued = tap.timeUs();
        return expected.every((t) => enqueued.has(t));
      },
      "the flood enqueued",
      60_000,
      50,
    );
    expect(violations).toEqual([]);
    tap.delayMs = 0;
    expect(samples).toBeGreaterThan(3);
    // Persisted by the alarm whatever the traffic: the saved cursor catches up with the last event.
    const last = Math.max(...expected);
    await waitFor(async () => ((await runInDurableObject(relay, (_i, state) => state.storage.get<number>("cursor"))) ?? 0) >= last, "persisted cursor");
  });

  it("sends an event too large for a queue message as a blob, delivered from the object's storage", async () => {
    const t = Date.now() * 1000;
    const text = "x".repeat(150_000) + " é 日本 🎉";
    const raw = JSON.stringify({ did: "did:plc:bigrecord", time_us: t, kind: "commit", commit: { rev: "r", operation: "create", collection: "app.bsky.feed.post", rkey: "big", record: { $type: "app.bsky.feed.post", text }, cid: "c" } });
    await control(INSTANCE, "append", { events: [raw] });
    const queued = await waitFor(() => tap.events().find((e) => e.timeUs === t), "the big event enqueued");
    expect(queued.raw).toBeUndefined();
    expect(queued.blob).toEqual(expect.any(String));
    expect((await env.RELAY.getByName("relay").getStats()).queue.oversizedEvents).toBe(1);
    // The real consumer fetches the blob, delivers the exact text and then lets the relay delete it.
    const webhook = inject("webhookBase");
    const delivered = await waitFor(async () => {
      const res = await fetch(`${webhook}/_control/requests?match=did:plc:bigrecord`);
      const { requests } = (await res.json()) as { requests: { body: string }[] };
      return requests.find((r) => r.body === raw);
    }, "the big event delivered to the webhook", 30_000);
    expect(delivered.body).toBe(raw);
    await waitFor(async () => (await env.RELAY.getByName("relay").getBlob(queued.blob!)) === null, "blob deleted after delivery", 30_000);
  });

  it("learns from the real consumer what was delivered: the ledger empties, delivery counts grow", async () => {
    const stats = await waitFor(async () => {
      const s = await env.RELAY.getByName("relay").getStats();
      return s.delivery.unackedMessages === 0 && s.delivery.delivered >= s.forwarded ? s : null;
    }, "every message settled", 60_000);
    expect(stats.delivery.oldestUnackedUs).toBeNull();
    expect(stats.delivery.lastSuccessAt).not.toBeNull();
    expect(stats.queue.eventsEnqueued).toBe(stats.forwarded);
  });
});

describe("kinds", () => {
  it("forwards identity and account events too when JETSTREAM_KINDS lists them", async () => {
    const instance = "fwd-kinds";
    await control(instance, "reset", {});
    configure(instance, { JETSTREAM_KINDS: "commit,identity,account", JETSTREAM_DIDS: "" });
    const relay = env.RELAY.getByName("kinds");
    await waitFor(async () => (await relay.getStatus()).state === "connected", "connected");
    const startUs = Date.now() * 1000 + 5_000_000;
    await control(instance, "append", { fixtures: true, startUs, stepUs: 1000 });
    const served = (await serverLog(instance)).events;
    const expected = expectedForwarded(served, COLLECTIONS, ["commit", "identity", "account"]);
    expect(expected.length).toBeGreaterThan(expectedForwarded(served, COLLECTIONS).length);
    await waitFor(() => expected.every((t) => tap.timeUs().has(t)), "commits, identity and account events enqueued");
    const accounts = tap.events().filter((e) => e.timeUs >= startUs && JSON.parse(e.raw!).kind === "account");
    expect(accounts.some((e) => JSON.parse(e.raw!).account.status === "deleted")).toBe(true);
  });
});

describe("many DIDs", () => {
  it("sends a DID list too long for a URL in an options_update, and filters by DID itself too", async () => {
    const instance = "fwd-dids";
    await control(instance, "reset", {});
    const wanted = Array.from({ length: 300 }, (_, i) => `did:plc:${String(i).padStart(24, "a")}`);
    const log = await control(INSTANCE, "log?full=1");
    const real: string[] = (log.events as string[]).slice(0, 40);
    const realDids = [...new Set(real.map((r) => JSON.parse(r).did as string))].slice(0, 5);
    configure(instance, { JETSTREAM_DIDS: [...wanted, ...realDids].join(","), JETSTREAM_KINDS: "" });
    const relay = env.RELAY.getByName("dids");
    await waitFor(async () => (await relay.getStatus()).state === "connected", "connected");
    const [conn] = await connections(instance);
    expect(conn.requireHello).toBe(true);
    expect(conn.wantedDids).toEqual([]);
    await waitFor(async () => (await connections(instance))[0].optionsUpdates.length === 1, "options_update received");
    const [update] = (await connections(instance))[0].optionsUpdates;
    expect(update.wantedDids).toHaveLength(305);
    expect(update.wantedCollections).toEqual(COLLECTIONS);

    const startUs = Date.now() * 1000 + 20_000_000; // after the other relays' events of this file
    await control(instance, "append", { fixtures: true, startUs, stepUs: 1000 });
    const served = (await serverLog(instance)).events;
    const expected = expectedForwarded(served, COLLECTIONS, ["commit"], realDids);
    expect(expected.length).toBeGreaterThan(0);
    await waitFor(() => expected.every((t) => tap.timeUs().has(t)), "events of the wanted DIDs enqueued");
    const fromThisRelay = tap.events().filter((e) => e.timeUs >= startUs && e.timeUs < startUs + 1_000_000);
    expect(new Set(fromThisRelay.map((e) => e.did))).toEqual(new Set(expected.map((t) => JSON.parse(served.find((r) => JSON.parse(r).time_us === t)!).did)));
  });
});
