// Events from the v2 wire through the consumer to the real webhook receiver, in both body formats
// (WEBHOOK_EVENT_FORMAT), one per request and in batch mode; a receiver verifying Standard Webhooks
// signatures sees the same webhook-id for an event from either wire. The queue messages carry compact
// v2 events ({raw: payload text, receivedAt}), as the relay object enqueues them.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { DEAD_LETTER_OBJECT_NAME, type Env, type WholeEventsBody } from "../../worker/contract.ts";
import { eventId } from "../../worker/delivery/event-id.ts";
import { LIVE, messageBody } from "../../worker/queue/message.ts";
import { commitEvent, deadLetterPage, eventually, receiver, recordingPorts, replayJob, runBatch, testEnv, uniqueDid, uniquePath } from "./delivery-support.ts";
import { FIXTURES, v2PayloadOf } from "./v2-payloads.ts";

const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const GOLDEN = FIXTURES["jetstream-v2-golden_v1"];
const CORPUS = FIXTURES["jetstream-v2-corpus-expected_v1"];

/** A live queue message of compact events, as the relay object writes it. */
const liveMessage = (raws: string[]) => messageBody(LIVE, `ledger-${crypto.randomUUID()}`, raws.map((raw) => ({ raw, receivedAt: Date.now() })));
const timeUsOf = (legacy: string) => (JSON.parse(legacy) as { time_us: number }).time_us;

/** What a receiver verifying the signature sees of each request: its webhook-id and its verified body. */
function verified(requests: { body: string; headers: Record<string, string> }[]) {
  const webhook = new Webhook(SECRET);
  return requests.map((r) => ({ id: r.headers["webhook-id"], body: r.body, event: webhook.verify(r.body, r.headers) }));
}

describe("v2 events, one per request", () => {
  it("as-received: each body is the payload as received, signed, with its legacy twin's webhook-id", async () => {
    const path = uniquePath();
    const payloads = GOLDEN.map((legacy, i) => v2PayloadOf(legacy, 31527015322 + i));
    const message = liveMessage(payloads);
    const { report, result } = await runBatch([message], testEnv(path, { WEBHOOK_SECRET: SECRET }), recordingPorts().ports);

    const received = verified(await receiver.requests({ path }));
    expect(received.map((r) => r.body).sort()).toEqual([...payloads].sort());
    for (const r of received) {
      const legacy = GOLDEN[payloads.indexOf(r.body)];
      expect(r.id).toBe(eventId(legacy));
      expect(r.event).toEqual(JSON.parse(r.body));
    }
    expect(result.explicitAcks).toHaveLength(1);
    expect(report).toMatchObject({ settled: [message.ledgerId], delivered: GOLDEN.length, deadLettered: 0 });
    // did and time_us were read from the v2 payloads (per-DID lanes, the relay's delivered position).
    expect(report.newestDeliveredTimeUs).toBe(Math.max(...GOLDEN.map(timeUsOf)));
  });

  it("v1: each body is the legacy event, byte for byte, signed, with the same webhook-id", async () => {
    const path = uniquePath();
    const payloads = GOLDEN.map((legacy, i) => v2PayloadOf(legacy, 31527015322 + i));
    const { report } = await runBatch([liveMessage(payloads)], testEnv(path, { WEBHOOK_SECRET: SECRET, WEBHOOK_EVENT_FORMAT: "v1" }), recordingPorts().ports);

    const received = verified(await receiver.requests({ path }));
    expect(received.map((r) => r.body).sort()).toEqual([...GOLDEN].sort());
    for (const r of received) {
      expect(r.id).toBe(eventId(r.body));
      expect(r.event).toEqual(JSON.parse(r.body));
    }
    expect(report).toMatchObject({ delivered: GOLDEN.length, deadLettered: 0 });
  });

  it("gives an event the same webhook-id from a legacy host, a v2 host and another v2 instance, in either format", async () => {
    const legacy = CORPUS[3];
    const fromV2Host = v2PayloadOf(legacy, 31527015325);
    const fromOtherInstance = v2PayloadOf(legacy, 884211, timeUsOf(legacy) + 4711);
    const fromLegacyWireOfV2Host = JSON.stringify({ ...JSON.parse(legacy), cursor: 31527015325 });
    const ids: string[] = [];
    for (const format of ["as-received", "v1"]) {
      const path = uniquePath();
      await runBatch([liveMessage([legacy, fromV2Host, fromOtherInstance, fromLegacyWireOfV2Host])], testEnv(path, { WEBHOOK_SECRET: SECRET, WEBHOOK_EVENT_FORMAT: format, WEBHOOK_CONCURRENCY: "1" }), recordingPorts().ports);
      const received = verified(await receiver.requests({ path }));
      expect(received).toHaveLength(4);
      ids.push(...received.map((r) => r.id));
      if (format === "v1") expect(received.map((r) => r.body)).toEqual([legacy, legacy, legacy.replace(String(timeUsOf(legacy)), String(timeUsOf(legacy) + 4711)), fromLegacyWireOfV2Host]);
      else expect(received.map((r) => r.body)).toEqual([legacy, fromV2Host, fromOtherInstance, fromLegacyWireOfV2Host]);
    }
    expect(new Set(ids)).toEqual(new Set([eventId(legacy)]));
  });
});

describe("v2 events in batch mode", () => {
  it("each event of the array follows the format; the batch's event ids are the legacy twins'", async () => {
    const legacies = CORPUS.slice(0, 7);
    // Both wires in one message: legacy events go unchanged in either format.
    const raws = legacies.map((legacy, i) => (i % 3 === 0 ? legacy : v2PayloadOf(legacy, 31527015322 + i)));
    const bodies: Record<string, string[]> = {};
    for (const format of ["as-received", "v1"]) {
      const path = uniquePath();
      const { report } = await runBatch([liveMessage(raws)], testEnv(path, { WEBHOOK_SECRET: SECRET, WEBHOOK_EVENT_FORMAT: format, WEBHOOK_BATCH_SIZE: "5", WEBHOOK_CONCURRENCY: "1" }), recordingPorts().ports);
      const received = verified(await receiver.requests({ path }));
      expect(received).toHaveLength(2);
      expect(report).toMatchObject({ delivered: 7, requests: 2 });
      const requests = await receiver.requests({ path });
      expect(requests.map((r) => r.headers["jetstream-relay-event-ids"])).toEqual([legacies.slice(0, 5), legacies.slice(5)].map((part) => part.map((legacy) => eventId(legacy)).join(",")));
      for (const r of received) expect(r.id).toMatch(/^bat_[0-9a-f]{32}$/);
      bodies[format] = received.map((r) => r.body);
    }
    expect(bodies["as-received"]).toEqual([`[${raws.slice(0, 5).join(",")}]`, `[${raws.slice(5).join(",")}]`]);
    expect(bodies.v1).toEqual([`[${legacies.slice(0, 5).join(",")}]`, `[${legacies.slice(5).join(",")}]`]);
  });
});

describe("a v2 event without a legacy shape", () => {
  it("is dead-lettered as received with the reason in v1, and sent as received in as-received; the rest is delivered", async () => {
    const did = uniqueDid();
    const good = v2PayloadOf(commitEvent(did, "ok", 1_783_175_888_000_001), 11);
    const withoutRev = v2PayloadOf(commitEvent(did, "norev", 1_783_175_888_000_002), 12).replace(/"rev":"[^"]*",/, "");

    const v1Path = uniquePath();
    const recorder = recordingPorts();
    const { report } = await runBatch([liveMessage([good, withoutRev])], testEnv(v1Path, { WEBHOOK_EVENT_FORMAT: "v1" }), recorder.ports);
    expect((await receiver.requests({ path: v1Path })).map((r) => r.body)).toEqual([commitEvent(did, "ok", 1_783_175_888_000_001)]);
    expect(report).toMatchObject({ delivered: 1, deadLettered: 1, failed: 1 });
    expect(report.lastError?.message).toBe("the event cannot be sent as WEBHOOK_EVENT_FORMAT=v1: the commit has no rev; kept here, not sent");
    const letters = (await deadLetterPage(recorder.store)).events;
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ id: eventId(withoutRev), event: JSON.parse(withoutRev), error: report.lastError?.message });

    const asReceivedPath = uniquePath();
    await runBatch([liveMessage([good, withoutRev])], testEnv(asReceivedPath), recordingPorts().ports);
    expect((await receiver.requests({ path: asReceivedPath })).map((r) => r.body)).toEqual([good, withoutRev]);
  });
});

describe("through the local queue", () => {
  it("delivers compact v2 events as received, each with its legacy twin's webhook-id", async () => {
    const dids = [uniqueDid(), uniqueDid()];
    const legacies = dids.flatMap((did) => [commitEvent(did, "1"), commitEvent(did, "2")]);
    const payloads = legacies.map((legacy, i) => v2PayloadOf(legacy, 700 + i));
    await env.EVENTS.send(liveMessage(payloads));
    const received = await eventually(async () => {
      const requests = (await Promise.all(dids.map((did) => receiver.requests({ path: "/hook", match: did })))).flat();
      return requests.length >= payloads.length ? requests : undefined;
    });
    expect(received.map((r) => r.body).sort()).toEqual([...payloads].sort());
    for (const r of received) expect(r.headers["webhook-id"]).toBe(eventId(legacies[payloads.indexOf(r.body)]));
    // Each DID's events in order.
    for (const did of dids) expect(received.filter((r) => r.body.includes(did)).map((r) => r.body)).toEqual(payloads.filter((p) => p.includes(did)));
  });
});

describe("dead letters of v2 events", () => {
  const letter = (raw: string) => ({ id: eventId(raw), raw, error: "webhook answered HTTP 503", attempts: 10, failedAt: Date.now() });

  it("are replayed with their did and time read from the payload, and delivered as received with their id", async () => {
    const dids = [uniqueDid(), uniqueDid()];
    const legacies = [commitEvent(dids[0], "dl1", 1_783_175_888_000_001), commitEvent(dids[1], "dl2", 1_783_175_888_000_002)];
    const payloads = legacies.map((legacy, i) => v2PayloadOf(legacy, 500 + i));

    // What the store enqueues: each event whole, with its did and time (per-DID order needs the did).
    const tapped = env.DEAD_LETTERS.getByName(`test-${crypto.randomUUID()}`);
    await tapped.add(payloads.map(letter));
    const sent: WholeEventsBody[] = [];
    await runInDurableObject(tapped, (instance) => {
      const own = instance as unknown as { env: Env };
      own.env = { ...own.env, EVENTS: { sendBatch: async (messages: { body: WholeEventsBody }[]) => void sent.push(...messages.map((m) => m.body)) } } as unknown as Env;
    });
    expect((await replayJob(tapped, { all: true })).sent).toBe(2);
    expect(sent.flatMap((body) => body.events).map((e) => [e.raw, e.did, e.timeUs])).toEqual([
      [payloads[0], dids[0], 1_783_175_888_000_001],
      [payloads[1], dids[1], 1_783_175_888_000_002],
    ]);

    // Through the real queue to the receiver.
    const store = env.DEAD_LETTERS.getByName(DEAD_LETTER_OBJECT_NAME);
    await store.add(payloads.map(letter));
    expect((await replayJob(store, { ids: payloads.map((raw) => eventId(raw)) })).sent).toBe(2);
    const received = await eventually(async () => {
      const requests = (await Promise.all(dids.map((did) => receiver.requests({ path: "/hook", match: did })))).flat();
      return requests.length >= 2 ? requests : undefined;
    });
    expect(received.map((r) => [r.body, r.headers["webhook-id"]]).sort()).toEqual(payloads.map((raw, i) => [raw, eventId(legacies[i])]).sort());
    await eventually(async () => ((await Promise.all(payloads.map((raw) => store.getRaw(eventId(raw))))).every((raw) => raw === null) ? true : undefined));
  });

  it("too large for a row keeps the whole v2 event, and a replay sends it by reference with its did and time", async () => {
    const store = env.DEAD_LETTERS.getByName(`test-${crypto.randomUUID()}`);
    const did = uniqueDid();
    const legacy = JSON.stringify({ did, time_us: 1_783_175_888_000_042, kind: "commit", commit: { rev: "rh", operation: "create", collection: "app.bsky.feed.post", rkey: "h", record: { text: "p".repeat(2_000_000) }, cid: "bafyh" } });
    const huge = v2PayloadOf(legacy, 4242);
    await store.add([{ ...letter(huge), id: "evt_huge" }]);
    const [entry] = (await deadLetterPage(store)).events;
    expect(entry.event).toEqual(JSON.parse(huge));
    expect(await store.getRaw("evt_huge")).toBe(huge);
    const sent: WholeEventsBody[] = [];
    await runInDurableObject(store, (instance) => {
      const own = instance as unknown as { env: Env };
      own.env = { ...own.env, EVENTS: { sendBatch: async (messages: { body: WholeEventsBody }[]) => void sent.push(...messages.map((m) => m.body)) } } as unknown as Env;
    });
    expect((await replayJob(store, { all: true })).sent).toBe(1);
    expect(sent.flatMap((body) => body.events)).toEqual([{ blob: "evt_huge", did, timeUs: 1_783_175_888_000_042, receivedAt: expect.any(Number), attempts: 0 }]);
  });
});
