/**
 * How packed messages reach the queue (worker/queue/enqueue.ts): one `send` per message, two in
 * parallel, and when only the first of the two is accepted, only the second's events go again; when
 * only the second is, everything goes again (duplicates, never loss). Isolation and configuration: see
 * ingest-support.ts (server instances "sends" and "sends-flood").
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { COLLECTIONS, configure, control, expectedForwarded, serverLog, statusOf, tapQueue, waitFor, type QueueTap } from "./ingest-support.ts";

let tap: QueueTap;
let nextUs = Date.now() * 1000;

/** `count` posts of distinct DIDs, 1 ms apart: what the relay forwards, with their time_us. */
function posts(count: number): { events: string[]; times: number[] } {
  const times = Array.from({ length: count }, () => (nextUs += 1000));
  const events = times.map((timeUs, i) =>
    JSON.stringify({ did: `did:plc:sends${timeUs}`, time_us: timeUs, kind: "commit", commit: { rev: `3l${i}`, operation: "create", collection: "app.bsky.feed.post", rkey: `r${i}`, record: { text: `post ${i}` }, cid: "bafyreib" } }),
  );
  return { events, times };
}

/** How many times each time_us was accepted by the queue. */
function acceptedCounts(): Map<number, number> {
  const counts = new Map<number, number>();
  for (const e of tap.events()) counts.set(e.timeUs, (counts.get(e.timeUs) ?? 0) + 1);
  return counts;
}

beforeAll(async () => {
  await control("sends", "reset", {});
  // Fifteen events wait for the flush timer as two messages (10 + 5): one batch of two sends.
  configure("sends", { JETSTREAM_MAX_EVENTS_PER_MESSAGE: "10", JETSTREAM_FLUSH_MS: "300" });
  tap = tapQueue();
  await waitFor(async () => (await statusOf()).state === "connected", "connected");
});

describe("two messages, two sends", () => {
  it("sends only the second message again when only it failed", async () => {
    const before = { calls: tap.calls, sends: tap.sends, stats: (await env.RELAY.getByName("relay").getStats()).queue };
    tap.failCalls = new Set([tap.calls + 2]);
    const { events, times } = posts(15);
    await control("sends", "append", { events });
    await waitFor(() => times.every((t) => acceptedCounts().has(t)), "all fifteen enqueued");
    const counts = acceptedCounts();
    expect(times.map((t) => counts.get(t))).toEqual(times.map(() => 1));
    expect(tap.calls - before.calls).toBe(3); // two, then the second again
    expect(tap.sends - before.sends).toBe(2);
    const queue = (await env.RELAY.getByName("relay").getStats()).queue;
    expect(queue.messagesSent - before.stats.messagesSent).toBe(2);
    expect(queue.eventsEnqueued - before.stats.eventsEnqueued).toBe(15);
    expect(queue.sendCalls - before.stats.sendCalls).toBe(3);
  });

  it("sends both again when only the first failed: the second's events twice, none lost", async () => {
    const before = { calls: tap.calls, stats: (await env.RELAY.getByName("relay").getStats()).queue };
    tap.failCalls = new Set([tap.calls + 1]);
    const { events, times } = posts(15);
    await control("sends", "append", { events });
    await waitFor(() => times.every((t) => acceptedCounts().has(t)), "all fifteen enqueued");
    const counts = acceptedCounts();
    // The first message held the ten oldest, the second the five newest.
    expect(times.map((t) => counts.get(t))).toEqual([...times.slice(0, 10).map(() => 1), ...times.slice(10).map(() => 2)]);
    expect(tap.calls - before.calls).toBe(4);
    const queue = (await env.RELAY.getByName("relay").getStats()).queue;
    expect(queue.messagesSent - before.stats.messagesSent).toBe(2); // what the relay committed
    expect(queue.eventsEnqueued - before.stats.eventsEnqueued).toBe(15);
    expect((await statusOf()).cursor).toBeGreaterThanOrEqual(times[14] - 1000);
  });
});

describe("a flood", () => {
  it("sends full messages one per call with send, never sendBatch", async () => {
    await control("sends-flood", "reset", {});
    configure("sends-flood", { JETSTREAM_FLUSH_MS: "200" });
    tap.failCalls = new Set();
    const before = { bodies: tap.bodies.length, sends: tap.sends, batches: tap.batches };
    const flood = env.RELAY.getByName("flood");
    await waitFor(async () => (await flood.getStatus()).state === "connected", "the second relay connected");
    const startUs = (nextUs += 1_000_000);
    await control("sends-flood", "flood", { count: 3000, startUs, stepUs: 10 });
    const expected = expectedForwarded((await serverLog("sends-flood")).events, COLLECTIONS).filter((t) => t >= startUs);
    await waitFor(() => expected.every((t) => acceptedCounts().has(t)), "every wanted event of the flood enqueued", 30_000);
    const accepted = tap.bodies.length - before.bodies;
    expect(accepted).toBeGreaterThanOrEqual(10);
    expect(tap.sends - before.sends).toBe(accepted);
    expect(tap.batches - before.batches).toBe(0);
    expect((await flood.getStats()).queue.sendCalls).toBe(accepted);
    // Delivered before the file ends (the runtime stops with it). The consumer reports to the object named "relay".
    const forwarded = (await flood.getStats()).forwarded;
    await waitFor(async () => {
      const s = await env.RELAY.getByName("relay").getStats();
      return s.delivery.unackedMessages === 0 && s.delivery.delivered >= s.forwarded + forwarded;
    }, "every message of the flood delivered", 120_000);
    // ~2,700 webhook requests, one per event, six at a time: minutes on a machine busy with other work.
  }, 240_000);
});
