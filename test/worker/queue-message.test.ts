// What travels through the queue (worker/queue/): messages say their origin, the consumer reads every
// version a deployed queue may still hold (v1 said it in string prefixes), and each origin settles as
// it should. Consumer runs deliver to the real webhook receiver and keep dead letters in a real store.
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { eventId } from "../../worker/delivery/event-id.ts";
import { DEAD_LETTER, followUpOrigin, LIVE, messageBody, replayOrigin, RETRY, type MessageOrigin, type QueueMessageBody, type QueuedEvent } from "../../worker/queue/message.ts";
import { Packer } from "../../worker/queue/packer.ts";
import { readMessage } from "../../worker/queue/read-message.ts";
import { commitEvent, deadLetterPage, receiver, recordingPorts, runBatch, testEnv, uniqueDid, uniquePath } from "./delivery-support.ts";

describe("reading a queue message", () => {
  it("takes the origin of a v2 message as it says", () => {
    const events = [{ raw: "{}", receivedAt: 1 }];
    for (const from of [LIVE, RETRY, DEAD_LETTER, replayOrigin("replay-9")]) {
      expect(readMessage(messageBody(from, "L-1", events))).toEqual({ from, ledgerId: "L-1", events });
    }
  });

  it("refuses a body that is not a message (it is dead-lettered as it is)", () => {
    const events: unknown[] = [];
    for (const body of [
      null,
      "text",
      { v: 2, origin: "live", events },
      { v: 2, origin: "live", ledgerId: "L", events: "none" },
      { v: 2, origin: "elsewhere", ledgerId: "L", events },
      { v: 2, origin: "replay", ledgerId: "L", events },
      { v: 2, ledgerId: "L", events },
      { v: 3, origin: "live", ledgerId: "L", events },
    ]) {
      expect(readMessage(body)).toBeNull();
    }
  });

  it("reads v1 messages (written before the origin was explicit) by their prefixes", () => {
    const compact = { raw: "{}", receivedAt: 1 };
    expect(readMessage({ v: 1, ledgerId: "ab12cd34-7", events: [compact] })).toEqual({ from: LIVE, ledgerId: "ab12cd34-7", events: [compact] });
    expect(readMessage({ v: 1, ledgerId: "retry-u1", events: [compact] })).toMatchObject({ from: RETRY, ledgerId: "retry-u1" });
    expect(readMessage({ v: 1, ledgerId: "replay-1-3", events: [compact], replayId: "replay-1" })).toMatchObject({ from: replayOrigin("replay-1") });
    // A replay's follow-up kept its replayId under a "retry-" ledger id: still the replay's.
    expect(readMessage({ v: 1, ledgerId: "retry-u2", events: [compact], replayId: "replay-1" })).toMatchObject({ from: replayOrigin("replay-1") });
    const inline = { raw: "{}", did: "did:plc:a", timeUs: 1, receivedAt: 1, attempts: 0, fromDeadLetters: true };
    const byReference = { blob: "dead-letter:evt_1", did: "did:plc:a", timeUs: 2, receivedAt: 1, attempts: 2, fromDeadLetters: true };
    expect(readMessage({ v: 1, ledgerId: "dlq-u3", events: [inline, byReference, null] })).toEqual({
      from: DEAD_LETTER,
      ledgerId: "dlq-u3",
      events: [
        { raw: "{}", did: "did:plc:a", timeUs: 1, receivedAt: 1, attempts: 0 },
        { blob: "evt_1", did: "did:plc:a", timeUs: 2, receivedAt: 1, attempts: 2 },
        null,
      ],
    });
  });
});

describe("building a queue message", () => {
  it("the packer stamps its origin on every message, a replay's with its id", () => {
    const add = (packer: Packer) => packer.add({ event: { raw: "{}", receivedAt: 1 }, bytes: 20, timeUs: 1, cursorBefore: null });
    const live = new Packer();
    add(live);
    expect(live.peekBatch(() => "L-1")!.messages[0].body).toEqual({ v: 2, origin: "live", ledgerId: "L-1", events: [{ raw: "{}", receivedAt: 1 }] });
    const replay = new Packer(undefined, replayOrigin("replay-5"));
    add(replay);
    expect(replay.peekBatch(() => "replay-5-1")!.messages[0].body).toEqual({ v: 2, origin: "replay", replayId: "replay-5", ledgerId: "replay-5-1", events: [{ raw: "{}", receivedAt: 1 }] });
  });

  it("a follow-up keeps its events' stream: live events go on as retries, the others as they were", () => {
    expect([LIVE, RETRY, DEAD_LETTER, replayOrigin("r")].map(followUpOrigin)).toEqual([RETRY, RETRY, DEAD_LETTER, replayOrigin("r")]);
  });
});

/** One event of each origin, as v1 (what a queue may still hold after a deploy) and as v2 wrote it. */
type Case = { name: string; from: MessageOrigin; body: (raw: string, id: string) => QueueMessageBody };
const whole = (raw: string): QueuedEvent => {
  const { did, time_us } = JSON.parse(raw) as { did: string; time_us: number };
  return { raw, did, timeUs: time_us, receivedAt: Date.now(), attempts: 0 };
};
/** A dead letter replayed by reference: its text is read from the dead-letter store. */
const byReference = (raw: string, blob: string): QueuedEvent => {
  const { raw: _, ...event } = whole(raw);
  return { ...event, blob };
};
const CASES: Case[] = [
  { name: "live, v1", from: LIVE, body: (raw) => ({ v: 1, ledgerId: `ab12cd34-${crypto.randomUUID()}`, events: [{ raw, receivedAt: Date.now() }] }) },
  { name: "live, v2", from: LIVE, body: (raw) => messageBody(LIVE, `ab12cd34-${crypto.randomUUID()}`, [{ raw, receivedAt: Date.now() }]) },
  { name: "retry, v1", from: RETRY, body: (raw) => ({ v: 1, ledgerId: `retry-${crypto.randomUUID()}`, events: [whole(raw)] }) },
  { name: "retry, v2", from: RETRY, body: (raw) => messageBody(RETRY, crypto.randomUUID(), [whole(raw)]) },
  { name: "replay, v1", from: replayOrigin("replay-a"), body: (raw) => ({ v: 1, ledgerId: "replay-a-1", replayId: "replay-a", events: [{ raw, receivedAt: Date.now() }] }) },
  { name: "replay, v2", from: replayOrigin("replay-b"), body: (raw) => messageBody(replayOrigin("replay-b"), "replay-b-1", [{ raw, receivedAt: Date.now() }]) },
  {
    name: "dead-letter, v1",
    from: DEAD_LETTER,
    body: (raw, id) => ({ v: 1, ledgerId: `dlq-${crypto.randomUUID()}`, events: [{ ...byReference(raw, `dead-letter:${id}`), fromDeadLetters: true } as QueuedEvent] }),
  },
  { name: "dead-letter, v2", from: DEAD_LETTER, body: (raw, id) => messageBody(DEAD_LETTER, crypto.randomUUID(), [byReference(raw, id)]) },
];

describe("the consumer, for each origin and both versions", () => {
  it.each(CASES)("$name: the follow-up keeps the stream, settles as it should, and the event is delivered once", async ({ from, body }) => {
    const path = uniquePath();
    const did = uniqueDid();
    const raw = commitEvent(did, "1");
    const id = eventId(raw);
    await receiver.rule({ path, match: did, action: "respond", status: 503, times: 1 });
    // No relay blobs here: a dead letter's reference must be read from the store, never from the relay.
    const recorder = recordingPorts();
    if (from.origin === "dead-letter") {
      await recorder.store.add([{ id, raw, error: "HTTP 503", attempts: 10, failedAt: Date.now() }]);
      await runInDurableObject(recorder.store, (_instance, state) => {
        state.storage.sql.exec("UPDATE dead_letters SET replaying = 1");
      });
    }
    const env = testEnv(path, { WEBHOOK_RETRY_BASE_SECONDS: "1" });
    const original = body(raw, id);

    const first = await runBatch([original], env, recorder.ports);
    expect(first.result.explicitAcks).toHaveLength(1);
    expect(recorder.sent).toHaveLength(1);
    const followUp = recorder.sent[0].body;
    expect(followUp).toMatchObject({ v: 2, ...followUpOrigin(from), events: [{ did, attempts: 1 }] });
    expect(followUp.ledgerId).not.toBe(original.ledgerId);
    const live = from.origin === "live" || from.origin === "retry";
    expect(first.report.settled).toEqual(from.origin === "dead-letter" ? [] : [original.ledgerId]);
    expect(first.report.pending).toEqual(live ? [{ ledgerId: followUp.ledgerId, oldestTimeUs: JSON.parse(raw).time_us }] : []);

    const second = await runBatch([followUp], env, recorder.ports);
    expect(second.report).toMatchObject({ delivered: 1, retried: 0, pending: [], blobsDone: [] });
    expect(second.report.settled).toEqual(from.origin === "dead-letter" ? [] : [followUp.ledgerId]);
    expect(second.report.newestDeliveredTimeUs).toBe(from.origin === "dead-letter" ? undefined : JSON.parse(raw).time_us);
    const received = await receiver.requests({ path });
    expect(received.map((r) => [r.body, r.answer])).toEqual([
      [raw, 503],
      [raw, 200],
    ]);
    if (from.origin === "dead-letter") expect(await recorder.store.getRaw(id)).toBeNull(); // delivered: it leaves the store
  });

  it("dead-letters a v2 message of an unknown origin as a malformed message, and settles nothing for it", async () => {
    const recorder = recordingPorts();
    const odd = { v: 2, origin: "elsewhere", ledgerId: "L-odd", events: [{ raw: commitEvent(uniqueDid(), "1"), receivedAt: 1 }] };
    const { result, report } = await runBatch([odd as unknown as QueueMessageBody], testEnv(uniquePath()), recorder.ports);
    expect(result.explicitAcks).toHaveLength(1);
    expect(report).toMatchObject({ delivered: 0, deadLettered: 1, settled: [] });
    expect((await deadLetterPage(recorder.store)).events.map((e) => [e.event, e.error])).toEqual([[odd, "malformed queue message"]]);
  });
});
