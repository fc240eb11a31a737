// Cases 3, 4 and 5, on the webhook's side of the relay (one worker for the three, one after the other):
// 3. the webhook is down for a while (5xx, then connection refused): everything arrives once it is back;
// 4. a poison event (permanent 4xx) lands in the dead-letter store, and `jetstream-relay dlq replay` (the
//    real CLI, as a subprocess) delivers it once the webhook accepts it;
// 5. an event larger than a queue message (128 KB) is delivered, byte for byte.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DeadLetterPage, HealthReport } from "../../worker/api-types.ts";
import { runCli } from "../cli/support/run-cli.ts";
import { mixedEvents, timesIn } from "../support/event-mix.ts";
import { expectedTimes, type Rig, startRig, tally, waitFor } from "../support/relay-rig.ts";

describe("webhook side", () => {
  let rig: Rig;
  const startUs = Date.now() * 1000 - 300_000_000;
  let offset = 0;
  const sent: string[] = [];
  const publish = async (events: string[]) => {
    sent.push(...events);
    await rig.append("a", events);
  };
  const next = (count: number) => {
    const events = mixedEvents({ count, startUs: startUs + offset * 1000, salt: 3, offset });
    offset += count;
    return events;
  };
  const health = async () => (await rig.relay<HealthReport>("/health")).body;

  beforeAll(async () => {
    rig = await startRig({
      gate: true,
      vars: {
        // An outage must not exhaust the attempts; /health reports failing delivery after 2 s.
        WEBHOOK_MAX_ATTEMPTS: "100",
        HEALTH_DELIVERY_SECONDS: "2",
      },
    });
  });
  afterAll(async () => {
    await rig?.close();
  });

  it("delivers everything once the webhook is back after 5xx and refused connections", async () => {
    await publish(next(200));
    await rig.waitForAll(sent, "the events before the outage");

    await rig.gate!.set({ kind: "error", status: 503 });
    await publish(next(300));
    await waitFor("retries against the failing webhook", async () => (await rig.stats()).delivery.retried > 0 && rig.gate!.refusedWithStatus >= 3);
    await waitFor("/health to report failing delivery", async () => (await health()).reasons.some((r) => r.code === "delivery-failing"), 30_000);

    await rig.gate!.set({ kind: "refuse" });
    await publish(next(300));
    await waitFor("failed attempts while connections are refused", async () => {
      const stats = await rig.stats();
      return stats.delivery.lastError !== null && !/503/.test(stats.delivery.lastError);
    }, 30_000);

    await rig.gate!.set({ kind: "open" });
    const counts = await rig.waitForAll(sent, "every event after the webhook came back", 120_000);
    expect(tally(counts, expectedTimes(sent)).missing).toEqual([]);
    const stats = await rig.stats();
    expect(stats.delivery.deadLettered).toBe(0);
    await waitFor("/health to recover", async () => !(await health()).reasons.some((r) => r.code === "delivery-failing"), 30_000);
  });

  it("dead-letters a poison event and delivers it with `jetstream-relay dlq replay`", async () => {
    const events = next(100);
    const poison = events.find((raw) => expectedTimes([raw]).length === 1 && raw.includes('"app.bsky.feed.post"'))!;
    const poisonRkey = (JSON.parse(poison) as { commit: { rkey: string } }).commit.rkey;
    const poisonTime = timesIn(poison)[0];
    // The webhook refuses this event once, for good (422 is not retried).
    await rig.webhookRule({ match: poisonRkey, action: "respond", status: 422, body: "unprocessable", times: 1 });
    await publish(events);

    const others = sent.filter((raw) => raw !== poison);
    await rig.waitForAll(others, "every other event (a poison event blocks nothing)");
    const page = await waitFor("the poison event in the dead-letter store", async () => {
      const { body } = await rig.relay<DeadLetterPage>("/dlq", { admin: true });
      return body.total === 1 ? body : undefined;
    }, 30_000);
    expect((page.events[0].event as { commit: { rkey: string } }).commit.rkey).toBe(poisonRkey);
    expect(page.events[0].error).toMatch(/422/);
    expect((await rig.acknowledged()).has(poisonTime)).toBe(false);
    expect((await rig.stats()).delivery.deadLettered).toBe(1);

    const replay = await runCli(["dlq", "replay", "--all", "--url", rig.worker.url], { env: { JETSTREAM_RELAY_TOKEN: rig.adminToken }, timeoutMs: 60_000 });
    expect(replay.stderr).not.toContain(rig.adminToken);
    expect(replay.code, replay.stderr).toBe(0);

    await waitFor("the replayed event at the webhook", async () => (await rig.acknowledged()).get(poisonTime) === 1, 60_000);
    const delivered = (await rig.requests()).filter((r) => r.body.includes(poisonRkey) && r.answer === 200);
    expect(delivered[0].headers["webhook-id"]).toBe(page.events[0].id);
    await waitFor("the dead-letter store to empty", async () => (await rig.relay<DeadLetterPage>("/dlq", { admin: true })).body.total === 0, 30_000);
  });

  it("delivers an event larger than a queue message (128 KB), byte for byte", async () => {
    const timeUs = startUs + offset * 1000;
    offset += 1;
    // Synthetic: real posts are limited to 300 graphemes; this record is inflated to 200 KB of text
    // (with multi-byte characters) to exceed the queue's 128 KB message limit.
    const large = JSON.stringify({
      did: "did:plc:synthetic0large0record000",
      time_us: timeUs,
      kind: "commit",
      commit: {
        rev: "3lsyntheticlg2",
        operation: "create",
        collection: "app.bsky.feed.post",
        rkey: "3lsyntheticlg2",
        record: { $type: "app.bsky.feed.post", createdAt: new Date().toISOString(), langs: ["en"], text: "synthetic large record — ünïcödé ✓ ".repeat(5_500) },
        cid: "bafyreisyntheticlargerecordsyntheticlargerecordsynth",
      },
    });
    expect(Buffer.byteLength(large)).toBeGreaterThan(128_000);
    const around = next(50);
    await publish([...around.slice(0, 25), large, ...around.slice(25)]);

    await rig.waitForAll(sent, "the large event and those around it");
    const received = (await rig.requests()).filter((r) => r.answer === 200 && r.body.includes('"did:plc:synthetic0large0record000"'));
    expect(received).toHaveLength(1);
    expect(received[0].body).toBe(large);
    expect((await rig.stats()).queue.oversizedEvents).toBeGreaterThanOrEqual(1);
  });
});
