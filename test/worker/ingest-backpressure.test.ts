/**
 * Backpressure: memory stays bounded. When the queue refuses messages or cannot keep up, the relay stops
 * reading (closes the socket, state "paused"), keeps retrying the send, never moves the cursor past what
 * is not enqueued, and resumes from the cursor once caught up. Nothing is dropped.
 * Isolation and configuration: see ingest-support.ts (server instance "bp"); the buffer bound is set low
 * (500 events) and the queue is made to fail or to be slow by the tap.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { COLLECTIONS, configure, connections, control, expectedForwarded, missingBelowCursor, serverLog, statusOf, tapQueue, waitFor, type QueueTap } from "./ingest-support.ts";

const INSTANCE = "bp";
let tap: QueueTap;
const relay = () => env.RELAY.getByName("relay");

beforeAll(async () => {
  await control(INSTANCE, "reset", {});
  // A failed send waits out its backoff (125 ms, 250 ms, … whatever arrives meanwhile): the captured events
  // (fewer than 500) fit the bound until three sends failed; the 3,000-event flood does not.
  configure(INSTANCE, { JETSTREAM_MAX_BUFFERED_EVENTS: "500", JETSTREAM_SEND_FAILURES_BEFORE_PAUSE: "3", JETSTREAM_MAX_EVENTS_PER_MESSAGE: "25" });
  tap = tapQueue();
  await waitFor(async () => (await statusOf()).state === "connected", "connected");
});

describe("backpressure", () => {
  it("pauses reading while sending keeps failing, retries, and resumes from the cursor without loss", async () => {
    // Six failed calls: at least three failed attempts in a row (an attempt is one or two calls, queue/enqueue.ts).
    tap.failNext = 6;
    const startUs = Date.now() * 1000;
    await control(INSTANCE, "append", { fixtures: true, startUs, stepUs: 1000 });
    const expected = expectedForwarded((await serverLog(INSTANCE)).events, COLLECTIONS);
    const paused = await waitFor(async () => {
      const s = await statusOf();
      return s.state === "paused" ? s : null;
    }, "paused");
    expect(paused.lastError).toMatch(/paused: the queue refuses messages/);
    expect(missingBelowCursor(expected, tap.timeUs(), paused.cursor)).toEqual([]);
    await waitFor(async () => (await connections(INSTANCE)).every((c) => !c.open), "socket closed while paused");

    await waitFor(() => expected.every((t) => tap.timeUs().has(t)), "every wanted event enqueued", 20_000);
    expect(tap.failures).toBe(6);
    await waitFor(async () => (await statusOf()).state === "connected", "reading again");
    const stats = await relay().getStats();
    expect(stats.queue.backpressurePauses).toBe(1);
    const resumed = (await connections(INSTANCE)).at(-1)!;
    expect(resumed.open).toBe(true);
    expect(resumed.cursor).not.toBeNull();
  });

  it("pauses when more events wait than the bound, and catches up from the cursor", async () => {
    const before = (await relay().getStats()).queue.backpressurePauses;
    tap.delayMs = 200;
    const startUs = Date.now() * 1000 + 1_000_000;
    await control(INSTANCE, "flood", { count: 3000, startUs, stepUs: 10 });
    const expected = expectedForwarded((await serverLog(INSTANCE)).events, COLLECTIONS).filter((t) => t >= startUs);
    await waitFor(async () => (await relay().getStats()).queue.backpressurePauses > before, "paused by the bound");
    tap.delayMs = 0;
    await waitFor(() => expected.every((t) => tap.timeUs().has(t)), "every wanted event of the flood enqueued", 30_000);
    const conns = await connections(INSTANCE);
    const afterPause = conns.filter((c) => c.cursor !== null && c.cursor >= startUs);
    expect(afterPause.length).toBeGreaterThanOrEqual(1);
    for (const c of afterPause) expect(missingBelowCursor(expected, tap.timeUs(), c.cursor)).toEqual([]);
    await waitFor(async () => (await statusOf()).state === "connected", "reading again");
  });
});
