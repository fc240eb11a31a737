/**
 * Time travel under backpressure: when the queue is slow and more replayed events wait than the bound,
 * the replay stops reading, and once the queue took them it reads on from its own position — every
 * event of the window enqueued once, marked with the replay's id, none twice, none skipped.
 * Isolation and configuration: see ingest-support.ts (server instance "rewind-bp").
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { ReplayProgress } from "../../worker/contract.ts";
import { COLLECTIONS, configure, connections, control, expectedForwarded, serverLog, statusOf, tapQueue, waitFor, type QueueTap } from "./ingest-support.ts";
import { completeEvent } from "../../worker/queue/complete-event.ts";

const INSTANCE = "rewind-bp";
let tap: QueueTap;
const relay = () => env.RELAY.getByName("relay");

beforeAll(async () => {
  await control(INSTANCE, "reset", {});
  configure(INSTANCE, { JETSTREAM_MAX_BUFFERED_EVENTS: "100", JETSTREAM_REPLAY_IDLE_SECONDS: "1" });
  tap = tapQueue();
  await waitFor(async () => (await statusOf()).state === "connected", "connected");
});

describe("replay under backpressure", () => {
  it("pauses while the queue is slow and resumes from its own position, enqueuing each event of the window once", async () => {
    const startUs = Date.now() * 1000 - 60_000_000;
    await control(INSTANCE, "flood", { count: 1500, startUs, stepUs: 1000 });
    const { events } = await serverLog(INSTANCE);
    const expected = expectedForwarded(events, COLLECTIONS);
    expect(expected.length).toBeGreaterThan(400);
    await waitFor(() => expected.every((t) => tap.timeUs().has(t)), "the live delivery enqueued", 30_000);

    tap.delayMs = 150; // every call to the queue now takes a while: the replay's buffer fills faster than it drains
    // The consumer reads this per batch. With a small request budget it always puts the rest of a batch back
    // on the queue (follow-ups, keeping the replay's id), as it does on a loaded machine when ten full
    // messages top the default 1,000: those are the delivery's messages, not the replay's enqueues.
    Object.assign(env, { WEBHOOK_MAX_REQUESTS_PER_BATCH: "50" });
    const opened = (await connections(INSTANCE)).length;
    const started: ReplayProgress = await relay().startReplay({ fromUs: startUs });
    const done = await waitFor(async () => {
      const r = await relay().getReplay();
      return r?.state === "done" ? r : null;
    }, "the replay done", 60_000);
    tap.delayMs = 0;
    await waitFor(() => tap.followUps.some((b) => b.replayId === started.id), "the consumer's follow-up of replayed events", 30_000);

    const replayed = tap.bodies.filter((b) => b.replayId === started.id).flatMap((b) => b.events.map((e) => completeEvent(e)!.timeUs));
    expect(replayed).toEqual(expected); // in order, each once
    expect(done.eventsReplayed).toBe(expected.length);
    const replayConnections = (await connections(INSTANCE)).slice(opened).filter((c) => c.cursor !== null && c.cursor >= startUs && c.cursor <= expected.at(-1)!);
    expect(replayConnections.length).toBeGreaterThan(1); // it paused and read on
  });
});
