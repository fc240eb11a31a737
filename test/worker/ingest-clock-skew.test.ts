/**
 * Failover between Jetstream instances whose clocks differ: two test-server instances carry the same
 * events, each stamped by its own clock — one 3 s ahead, the other 3 s behind — as two real Jetstream
 * instances would (each appends its own restamped copy; the events are told apart by their rkey, since
 * their time_us differ per instance). Moving from one instance to the other, the relay must ask for a
 * position that covers what the new instance stamped earlier (JETSTREAM_FAILOVER_REWIND_SECONDS, 10 s by
 * default, is more than the 6 s skew). "Nothing lost" is exact here: every event published after the
 * relay was connected is enqueued at least once, whichever instance it came from.
 * - A failover whose first attempt on the new endpoint is refused.
 * - A restart (eviction: abortAllDurableObjects, then the alarm alone) after a failover, in both skew
 *   directions (the relay may resume on either endpoint). Resuming on the first endpoint with the second's
 *   cursor loses events only when the first stamps earlier; the other direction fails over to the
 *   instance that stamps earlier, so it holds the fix to the same: no skipping of what the new instance
 *   stamped below the old instance's position (by a missing rewind or a dedupe across instances).
 * Before the restart every message has been delivered, so that the relay resumes from its saved position
 * rather than from an older unacknowledged event.
 * Each test starts a fresh relay object (storage and alarm deleted, then evicted) on its own pair of server
 * instances. The alarm period is 60 s so that only runDurableObjectAlarm() runs it.
 * Isolation and configuration: see ingest-support.ts (server instances "sk…", webhook path /hook-skew).
 */
import { env } from "cloudflare:workers";
import { abortAllDurableObjects, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { beforeAll, describe, expect, it, inject } from "vitest";
import { commitEvent, configure, connections, control, jetstreamWs, rkeyOf, statusOf, tapQueue, waitFor, type QueueTap } from "./ingest-support.ts";

const SKEW_US = 3_000_000;
let tap: QueueTap;
const relay = () => env.RELAY.getByName("relay");

/** The same events as each instance stamps them: base times 1 ms apart, plus the instance's clock offset. */
interface Batch {
  keys: string[];
  stamped(offsetUs: number): string[];
}

function batch(tag: string, count: number, startUs: number): Batch {
  const keys = Array.from({ length: count }, (_, i) => `${tag}-${i}`);
  return {
    keys,
    stamped: (offsetUs) => keys.map((rkey, i) => commitEvent({ did: "did:plc:skewskewskewskew0001", timeUs: startUs + i * 1000 + offsetUs, collection: "app.bsky.feed.post", rkey })),
  };
}

async function publish(events: Batch, on: [instance: string, offsetUs: number][]): Promise<void> {
  for (const [instance, offsetUs] of on) await control(instance, "append", { events: events.stamped(offsetUs) });
}

const enqueuedKeys = () => new Set(tap.events().map((e) => rkeyOf(e.raw ?? "")));
const missing = (...batches: Batch[]) => {
  const keys = enqueuedKeys();
  return batches.flatMap((b) => b.keys).filter((k) => !keys.has(k));
};
const allEnqueued = (b: Batch, what: string) => waitFor(() => missing(b).length === 0, what, 20_000);
const connectedTo = (instance: string, what: string) =>
  waitFor(async () => {
    const s = await statusOf();
    return s.state === "connected" && s.endpoint?.includes(`/${instance}/subscribe`);
  }, what, 20_000);
const cursorsAsked = async (...instances: string[]) =>
  JSON.stringify(Object.fromEntries(await Promise.all(instances.map(async (i) => [i, (await connections(i)).map((c) => (c.refused ? `refused ${c.refused}` : c.cursor))]))));

/** Forgets the previous test's relay (storage, alarm, memory) and starts one on endpoints a,b, live on a. */
async function freshRelay(a: string, b: string, overrides: Record<string, string>): Promise<void> {
  await control(a, "reset", {});
  await control(b, "reset", {});
  configure(a, {
    JETSTREAM_URL: `${jetstreamWs()}/${a}/subscribe,${jetstreamWs()}/${b}/subscribe`,
    JETSTREAM_ALARM_SECONDS: "60",
    WEBHOOK_URL: `${inject("webhookBase")}/hook-skew`,
    ...overrides,
  });
  await runInDurableObject(relay(), async (_instance, state) => {
    await state.storage.deleteAlarm();
    await state.storage.deleteAll();
  });
  await abortAllDurableObjects();
  await connectedTo(a, `a fresh relay connected to ${a}`);
  await waitFor(async () => (await connections(a)).some((c) => c.open), `open on ${a}`);
}

beforeAll(() => {
  tap = tapQueue();
});

describe("failover between instances whose clocks differ by 6 s", () => {
  it("loses nothing when the first attempt on the new endpoint is refused (the new instance stamps 6 s earlier)", async () => {
    const [A, B] = ["skf-a", "skf-b"];
    await freshRelay(A, B, { JETSTREAM_FAILOVER_AFTER: "2" });
    const both: [string, number][] = [[A, SKEW_US], [B, -SKEW_US]];
    const startUs = Date.now() * 1000;

    const first = batch("f1", 100, startUs);
    await publish(first, both);
    await allEnqueued(first, "the first events enqueued from a");

    // b already holds the next events when the relay gets there; its first attempt on b is refused.
    const second = batch("f2", 300, startUs + 100_000);
    await publish(second, [[B, -SKEW_US]]);
    await control(B, "misbehave", { action: "refuse", status: 502, count: 1 });
    await control(A, "misbehave", { action: "refuse", status: 502, count: 1000 });
    await control(A, "misbehave", { action: "drop" });
    await publish(second, [[A, SKEW_US]]);
    await connectedTo(B, "connected to b");
    expect((await connections(B))[0].refused, "the first attempt on b was refused").toBe(502);

    // Published live on both; once its events are in the queue, so is everything b sent before them.
    const closing = batch("f3", 5, startUs + 10_000_000);
    await publish(closing, both);
    await allEnqueued(closing, "the closing events enqueued from b");
    expect(missing(first, second, closing), `cursors asked: ${await cursorsAsked(A, B)}`).toEqual([]);
    await control(A, "misbehave", { action: "refuse", status: 502, count: 0 });
  });

  it.each([
    { direction: "the first endpoint stamps 6 s earlier than the second", offsetA: -SKEW_US, offsetB: SKEW_US, tag: "ea" },
    { direction: "the first endpoint stamps 6 s later than the second", offsetA: SKEW_US, offsetB: -SKEW_US, tag: "la" },
  ])("loses nothing when restarted after a failover ($direction)", async ({ offsetA, offsetB, tag }) => {
    const [A, B] = [`sk${tag}-a`, `sk${tag}-b`];
    await freshRelay(A, B, { JETSTREAM_FAILOVER_AFTER: "1" });
    const both: [string, number][] = [[A, offsetA], [B, offsetB]];
    const startUs = Date.now() * 1000;

    const first = batch(`${tag}1`, 100, startUs);
    await publish(first, both);
    await allEnqueued(first, "the first events enqueued from a");

    // a goes down: the relay fails over to b and forwards what follows from there.
    await control(A, "misbehave", { action: "refuse", status: 502, count: 1000 });
    await control(A, "misbehave", { action: "drop" });
    await connectedTo(B, "connected to b after the failover");
    const second = batch(`${tag}2`, 300, startUs + 100_000);
    await publish(second, both);
    await allEnqueued(second, "the second events enqueued from b");
    // The webhook has everything (no older unacknowledged event to resume from), then the alarm saves the position.
    await waitFor(async () => (await relay().getStats()).delivery.unackedMessages === 0, "every message delivered", 30_000);
    expect(await runDurableObjectAlarm(relay())).toBe(true);

    // a is back; the relay is evicted; events are published while it is down.
    await control(A, "misbehave", { action: "refuse", status: 502, count: 0 });
    await abortAllDurableObjects();
    await waitFor(async () => [...(await connections(A)), ...(await connections(B))].every((c) => !c.open), "the evicted relay's socket closed");
    const third = batch(`${tag}3`, 300, startUs + 400_000);
    await publish(third, both);

    // No RPC: the alarm alone brings it back (on either endpoint).
    await runDurableObjectAlarm(relay());
    await waitFor(async () => (await statusOf()).state === "connected", "connected after the restart", 20_000);
    const closing = batch(`${tag}4`, 5, startUs + 20_000_000);
    await publish(closing, both);
    await allEnqueued(closing, "the closing events enqueued after the restart");
    expect(missing(first, second, third, closing), `resumed on ${(await statusOf()).endpoint}; cursors asked: ${await cursorsAsked(A, B)}`).toEqual([]);
  });
});
