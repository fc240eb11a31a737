/**
 * Group commit (worker/stream/outbox.ts, JETSTREAM_FLUSH_MS=0, the default): a queue message leaves as
 * soon as the previous send resolved, with what arrived meanwhile, partly filled ones at most once per
 * JETSTREAM_SEND_SPACING_MS (300 ms here, to measure it on a loaded machine); an event after a quiet
 * spell goes at once. One send at a time, the cursor only past what the queue accepted, full messages
 * under load, and a failed send still waits out its backoff. Isolation and configuration: see
 * ingest-support.ts (server instance "group-commit").
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { QUEUE_LIMITS } from "../../worker/queue/packer.ts";
import { serializedBytes } from "../../worker/queue/message-size.ts";
import { COLLECTIONS, configure, control, expectedForwarded, serverLog, statusOf, tapQueue, waitFor, type QueueTap } from "./ingest-support.ts";

const INSTANCE = "group-commit";
let tap: QueueTap;
let nextUs = Date.now() * 1000;

const relay = () => env.RELAY.getByName("relay");
const received = async () => (await relay().getStats()).totalReceived;
const forwarded = async () => (await relay().getStats()).forwarded;

/** `count` posts of distinct DIDs, 1 ms apart, with their time_us. */
function posts(count: number): { events: string[]; times: number[] } {
  const times = Array.from({ length: count }, () => (nextUs += 1000));
  const events = times.map((timeUs, i) =>
    JSON.stringify({ did: `did:plc:group${timeUs}`, time_us: timeUs, kind: "commit", commit: { rev: `3l${i}`, operation: "create", collection: "app.bsky.feed.post", rkey: `r${i}`, record: { text: `post ${i}` }, cid: "bafyreib" } }),
  );
  return { events, times };
}

beforeAll(async () => {
  await control(INSTANCE, "reset", {});
  configure(INSTANCE, { JETSTREAM_FLUSH_MS: "0", JETSTREAM_SEND_SPACING_MS: "300" });
  tap = tapQueue();
  await waitFor(async () => (await statusOf()).state === "connected", "connected");
});

describe("group commit", () => {
  it("sends the first event at once, and what arrived during that send as one message right after it", async () => {
    tap.hold = true;
    const first = posts(1);
    await control(INSTANCE, "append", { events: first.events });
    // No timer: the send starts with the event (the tap holds it open).
    await waitFor(() => tap.held === 1, "the first send in flight");
    const rest = posts(5);
    const before = await received();
    await control(INSTANCE, "append", { events: rest.events });
    await waitFor(async () => (await received()) >= before + 5, "the relay read the next five");
    // One send in flight at a time; the cursor stays before what the queue has not accepted.
    expect(tap.calls).toBe(1);
    expect(tap.held).toBe(1);
    expect((await statusOf()).cursor).toBeLessThan(first.times[0]);

    tap.release();
    await waitFor(() => tap.bodies.length === 2, "the second message");
    expect(tap.bodies[0].events).toHaveLength(1);
    expect(tap.bodies[1].events).toHaveLength(5);
    expect(tap.calls).toBe(2);
    await waitFor(async () => (await statusOf()).cursor === rest.times[4], "the cursor at the last event enqueued");
  });

  it("spaces partly filled messages: the next leaves no sooner than the spacing after the last, with all that waits", async () => {
    await new Promise((resolve) => setTimeout(resolve, 300)); // a quiet spell
    const calls = tap.calls;
    const first = posts(1);
    await control(INSTANCE, "append", { events: first.events });
    await waitFor(() => tap.calls > calls, "the first send", 15_000, 5);
    const next = posts(2);
    await control(INSTANCE, "append", { events: next.events });
    await waitFor(() => [...first.times, ...next.times].every((t) => tap.timeUs().has(t)), "all three enqueued");
    expect(tap.calls - calls).toBe(2);
    const [a, b] = tap.callTimes.slice(calls);
    expect(b - a).toBeGreaterThanOrEqual(295);
    expect(tap.bodies.at(-1)!.events).toHaveLength(2);
  });

  it("packs full messages while the queue is slower than the stream", async () => {
    const sentBefore = tap.bodies.length;
    tap.hold = true;
    const startUs = (nextUs += 1_000_000);
    const already = await forwarded();
    await control(INSTANCE, "flood", { count: 3000, startUs, stepUs: 10 });
    nextUs = startUs + 3000 * 10;
    const expected = expectedForwarded((await serverLog(INSTANCE)).events, COLLECTIONS).filter((t) => t >= startUs);
    await waitFor(() => tap.held === 1, "a send in flight");
    await waitFor(async () => (await forwarded()) >= already + expected.length, "the relay read the flood while the queue held a send", 30_000);
    tap.release();
    await waitFor(() => expected.every((t) => tap.timeUs().has(t)), "every wanted event of the flood enqueued", 30_000);
    // The held message took what had arrived when it left; the rest left in full messages, all but the last.
    const sizes = tap.bodies.slice(sentBefore + 1).map((b) => serializedBytes(b));
    expect(sizes.length).toBeGreaterThan(2);
    for (const size of sizes.slice(0, -1)) expect(size).toBeGreaterThan(QUEUE_LIMITS.messageTargetBytes - 5_000);
    expect((await relay().getStats()).queue.backpressurePauses).toBe(0);
  });

  it("waits out the backoff after a failed send, whatever arrives meanwhile", async () => {
    const calls = tap.calls;
    tap.failNext = 3;
    const first = posts(1);
    await control(INSTANCE, "append", { events: first.events });
    await waitFor(() => tap.failures > 0 && tap.calls > calls, "a failed send", 15_000, 5);
    const more = posts(3);
    await control(INSTANCE, "append", { events: more.events });
    await waitFor(() => [...first.times, ...more.times].every((t) => tap.timeUs().has(t)), "all four enqueued");
    // Three failures, then one send with everything: no send while a retry waited (equal jitter:
    // at least 125 ms, then 250 ms, then 500 ms).
    expect(tap.calls - calls).toBe(4);
    const [a, b, c, d] = tap.callTimes.slice(calls);
    expect(b - a).toBeGreaterThanOrEqual(120);
    expect(c - b).toBeGreaterThanOrEqual(245);
    expect(d - c).toBeGreaterThanOrEqual(495);
    expect(tap.bodies.at(-1)!.events).toHaveLength(4);
  });
});
